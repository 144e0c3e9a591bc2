import { setTimeout as sleep } from 'node:timers/promises';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import { RequestTimedOut } from '../deadline.ts';
import { ClientClosedRequest, currentScope } from '../requestScope.ts';
import { databaseFailure, isStalePlan } from './errors.ts';
import { FairTurns } from './fairTurns.ts';
import { isPlainRead } from './replicas.ts';

/** Prisma's driver adapter factory type (of the factories made here), re-exported. */
export type { SqlDriverAdapterFactory };

/**
 * Settings of the pg.Pool postgresAdapter opens; unset: 10 connections, a 5,000 ms connection
 * timeout, the server's own statement and lock timeouts, and named prepared statements. Every
 * connection runs with CONNECTION_SETTINGS (JIT compilation off, work_mem at least 32 MB).
 */
export interface PostgresPoolOptions {
  /** Maximum pool size. */
  max?: number;
  /** Server-side limit on any one statement (PostgreSQL statement_timeout), in ms; 0 for none. */
  statementTimeoutMs?: number;
  /** Server-side limit on waiting for a lock (PostgreSQL lock_timeout), in ms; 0 for none. */
  lockTimeoutMs?: number;
  /**
   * Server-side limit on a transaction left open with nothing running
   * (idle_in_transaction_session_timeout), in ms: PostgreSQL ends such a session, so a
   * transaction its client lost (a bug, a hung await) cannot keep a pooled connection for ever.
   */
  idleInTransactionTimeoutMs?: number;
  /** How long to wait for a connection (from the pool or the server) before failing, in ms. */
  connectionTimeoutMs?: number;
  /** Name statements so each connection prepares them once (statementNames); default on. */
  preparedStatements?: boolean;
  /**
   * Try a plain read again when its connection is lost (retryingLostReads); default on. Off for
   * the embedded database, whose lost connection is its watchdog stopping a slow statement.
   */
  retryLostReads?: boolean;
}

/**
 * Most distinct statements one process prepares by name. Each connection keeps its own copy of
 * each it ran (tens of KB of server memory for a complex one), so this bounds what clients sending
 * many filter shapes can make every connection hold; the API's usual traffic uses far fewer.
 */
export const MAX_PREPARED_STATEMENTS = 300;

/** Statement names (see statementNames), and a way to prepare every text again under new ones. */
export interface StatementNames {
  (query: { sql: string }): string;
  /** New names for every text from now on (a table changed under the prepared statements). */
  renew(): void;
}

/**
 * Statements planned for their values every time (sent unnamed): a full-text search or a
 * LIKE/ILIKE pattern matches 0.001% or 30% of the articles depending on the bound text alone.
 * A named statement's plan is cached: after five runs PostgreSQL may switch to a generic plan,
 * made without the values (https://www.postgresql.org/docs/current/sql-prepare.html), and a
 * generic plan of the facets of a search read all 56k matches of a frequent word to find the
 * first and last month (394 to 819 ms; planned for the text, 25 to 32 ms, at a million articles).
 */
const VALUE_SENSITIVE = /websearch_to_tsquery|\bI?LIKE\b/i;

/**
 * Names for the statements Prisma sends, so that each connection parses and plans a statement
 * once and then only binds and executes it (PostgreSQL's extended query protocol, named prepared
 * statements: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY).
 * One name per distinct SQL text, for the first `limit` names of the process (renewals included);
 * later texts run unnamed (parsed and planned each time, as before), so however many shapes of
 * filter clients send, a connection holds at most that many prepared statements. Searches and
 * patterns always run unnamed (VALUE_SENSITIVE).
 */
export function statementNames(limit = MAX_PREPARED_STATEMENTS): StatementNames {
  let names = new Map<string, string>();
  let given = 0;
  const name = (({ sql }) => {
    if (VALUE_SENSITIVE.test(sql)) return '';
    let found = names.get(sql);
    if (found === undefined && given < limit) {
      found = `newsgraph_${given++}`;
      names.set(sql, found);
    }
    // pg runs a statement with an empty name unnamed
    return found ?? '';
  }) as StatementNames;
  name.renew = () => {
    names = new Map();
  };
  return name;
}

/**
 * The adapter with every statement (transactions' too) watched for a stale prepared statement
 * (isStalePlan): the texts are then named anew, so each connection prepares them again and the
 * next request succeeds; the failed one answers 503 DATABASE_UNAVAILABLE (`schema changed`).
 */
function renewingStaleStatements(adapter: PrismaPg, names: StatementNames): PrismaPg {
  const watch = (target: Pick<SqlDriverAdapter, 'queryRaw' | 'executeRaw'>) => {
    const queryRaw = target.queryRaw.bind(target);
    const executeRaw = target.executeRaw.bind(target);
    const renewOnStale = (error: unknown): never => {
      if (isStalePlan(error)) names.renew();
      throw error;
    };
    target.queryRaw = (query) => queryRaw(query).catch(renewOnStale);
    target.executeRaw = (query) => executeRaw(query).catch(renewOnStale);
  };
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => {
    const connected = await connect();
    watch(connected);
    const startTransaction = connected.startTransaction.bind(connected);
    connected.startTransaction = async (isolationLevel) => {
      const tx = await startTransaction(isolationLevel);
      watch(tx);
      return tx;
    };
    return connected;
  };
  return adapter;
}

/**
 * Settings of every connection the API opens, for statements that run for milliseconds over
 * result sets of up to hundreds of thousands of rows:
 * - `jit = off`: PostgreSQL compiles a plan whose estimated cost passes `jit_above_cost`, and the
 *   guesses at a CTE's rows inflate it: the facets of a search spent 700 ms compiling, then ran
 *   in 200 ms (https://www.postgresql.org/docs/current/jit-decision.html).
 * - `work_mem` at least 32 MB (a larger setting is kept): a bitmap of a broad search's matches
 *   (275k of a million articles, on 106k heap pages) outgrew the default 4 MB and went lossy, so
 *   PostgreSQL rechecked, detoasting, every stored vector on those pages, or chose to read and
 *   detoast all of them: counting them took 3.6 s (past the 5 s statement limit under load)
 *   against 0.44 s with the bitmap exact. It is a limit per sort, hash or bitmap of a statement.
 */
export const CONNECTION_SETTINGS =
  "SET jit = off; SELECT set_config('work_mem', '32MB', false) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('32MB')";

/**
 * A pg.Pool whose connections go to waiting clients in rotation (FairTurns), not in order of
 * arrival: a client is its request scope's `client` (API key or address), `background` outside a
 * request. Each connect() takes a turn first, so pg's own queue stays empty; the turn is given back
 * when the connection is released (the pool's `release` event, once per checkout) or when
 * connecting fails. A request answered 503 REQUEST_TIMEOUT (deadline.ts) stops waiting, and gets no
 * connection after: RequestTimedOut. A wait past `connectionTimeoutMillis` fails as pg's does
 * ("timeout exceeded when trying to connect": 503 DATABASE_UNAVAILABLE, reason `pool`).
 */
export class FairPool extends pg.Pool {
  private readonly turns: FairTurns;

  constructor(config: pg.PoolConfig & { max: number }) {
    super(config);
    this.turns = new FairTurns(
      config.max,
      config.connectionTimeoutMillis ?? 0,
      () => new Error('timeout exceeded when trying to connect'),
    );
    this.on('release', () => this.turns.free());
  }

  /** Requests waiting for a connection: for their turn, or in pg's own queue. */
  waiting(): number {
    return this.turns.waitingCount() + this.waitingCount;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: Error | boolean) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: Error | boolean) => void,
    ) => void,
  ): Promise<pg.PoolClient> | void {
    const scope = currentScope();
    const deadline = scope?.deadline;
    // a request answered 503 REQUEST_TIMEOUT while it waits leaves the queue, and so does a read whose
    // client has gone: nobody reads their answers
    const cut = () =>
      deadline?.isExpired ? new RequestTimedOut() : scope?.abandoned ? new ClientClosedRequest() : undefined;
    const watch =
      scope &&
      ((cancel: (reason: Error) => void) => {
        const expiry = deadline?.onExpire(() => cancel(new RequestTimedOut()));
        const abandon = scope.onAbandoned(() => cancel(new ClientClosedRequest()));
        return () => {
          expiry?.();
          abandon();
        };
      });
    const early = cut();
    const turn = early ? Promise.reject(early) : this.turns.take(scope?.client ?? 'background', watch);
    const connected = turn.then(() => {
      const late = cut();
      if (late) {
        this.turns.free();
        throw late;
      }
      return super.connect().catch((error: unknown) => {
        this.turns.free();
        throw error;
      });
    });
    if (!callback) return connected;
    connected.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }
}

/** Driver adapter for a PostgreSQL server, over a pool we own (so its state can be reported). */
export function postgresAdapter(url: string, options: PostgresPoolOptions = {}): { adapter: PrismaPg; pool: pg.Pool } {
  const prepared = options.preparedStatements !== false;
  const pool = new FairPool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    // The pool hands a new connection out once its settings (CONNECTION_SETTINGS) are made and,
    // with named statements, it holds no prepared statement its client does not know of: the
    // embedded database's one session outlives each socket connection to it (a pooler's
    // sessions may too).
    onConnect: (client: pg.ClientBase) =>
      client.query(prepared ? `${CONNECTION_SETTINGS}; DEALLOCATE ALL` : CONNECTION_SETTINGS).then(() => undefined),
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
    ...(options.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
      : {}),
  });
  // a connection that breaks while idle (database restarted) is dropped, not fatal
  pool.on('error', () => undefined);
  const retrying = options.retryLostReads === false ? <T>(adapter: T) => adapter : retryingLostReads;
  if (!prepared) return { adapter: retrying(new PrismaPg(pool)), pool };
  const names = statementNames();
  return {
    adapter: retrying(renewingStaleStatements(new PrismaPg(pool, { statementNameGenerator: names }), names)),
    pool,
  };
}

/** The waits (ms) before each new try of a plain read whose connection was lost. */
export const LOST_READ_RETRY_DELAYS_MS = [50, 250];

/**
 * The adapter with plain reads outside a transaction (isPlainRead: a SELECT that writes, locks
 * and draws nothing) tried again on another connection when theirs was lost (`connection lost`:
 * terminated, reset, the server restarting), after each of LOST_READ_RETRY_DELAYS_MS. Such a read
 * changes nothing, so running it again is safe; one killed connection (a failover, an
 * administrator's pg_terminate_backend) then costs a delay, not an error, also for the read that
 * answers a mutation after its write committed. Transactions' statements are never retried here.
 * (A SELECT of a function that writes carries a `writes` comment marker, which isPlainRead refuses.)
 */
export function retryingLostReads<T extends Pick<SqlDriverAdapterFactory, 'connect'>>(adapter: T): T {
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => {
    const connected = await connect();
    const queryRaw = connected.queryRaw.bind(connected);
    connected.queryRaw = async (query) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await queryRaw(query);
        } catch (error) {
          const wait = LOST_READ_RETRY_DELAYS_MS[attempt];
          if (wait === undefined || databaseFailure(error)?.reason !== 'connection lost' || !isPlainRead(query.sql)) {
            throw error;
          }
          await sleep(wait);
        }
      }
    };
    return connected;
  };
  return adapter;
}

/**
 * Driver adapter for an open PGlite instance (one connection; the adapter serialises access).
 * pglite-prisma-adapter 0.7's `executeScript` does not wait for `exec`, so a failing migration
 * script was recorded as applied and its error surfaced as an unhandled rejection; here the script
 * runs to its end and its error rejects (one simple-protocol query: one implicit transaction).
 */
export function pgliteAdapter(db: PGlite): PrismaPGlite {
  const factory = new PrismaPGlite(db);
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    adapter.executeScript = async (script) => {
      await db.exec(script);
    };
    return adapter;
  };
  return factory;
}

/**
 * A PostgreSQL adapter factory for the schema engine. adapter-pg's `executeScript` splits a
 * script on every `;`, which breaks functions and triggers (`$$ ... ; ... $$`); send the whole
 * script in one simple-protocol query instead, as `psql` would.
 */
export function postgresMigrationAdapter(target: string | pg.Pool): {
  factory: SqlDriverAdapterFactory;
  close(): Promise<void>;
} {
  // a pool given is the caller's (the embedded database's, which takes one connection at a time)
  const pool = typeof target === 'string' ? new pg.Pool({ connectionString: target, max: 2 }) : target;
  const base = new PrismaPg(pool);
  const factory: SqlDriverAdapterFactory = {
    provider: base.provider,
    adapterName: base.adapterName,
    async connect() {
      const adapter = await base.connect();
      adapter.executeScript = async (script) => {
        await pool.query(script);
      };
      return adapter;
    },
  };
  return { factory, close: async () => (typeof target === 'string' ? pool.end() : undefined) };
}

/**
 * adapter-pg 7.10 cannot decode PostgreSQL's internal `"char"` type (OID 18), which the schema
 * engine's catalog queries return (relkind, contype, ...). Decode it as text. Only the migration
 * tooling needs this; application queries never select `"char"` columns.
 */
let charTypePatched = false;
/**
 * Makes pg decode `"char"` (OID 18) as text (OID 25), process-wide, for the schema engine (see
 * above). Idempotent.
 */
export async function decodeInternalCharAsText(): Promise<void> {
  if (charTypePatched) return;
  charTypePatched = true;
  const { default: Result } = await import('pg/lib/result.js');
  const addFields = Result.prototype.addFields;
  Result.prototype.addFields = function patchedAddFields(fields) {
    for (const field of fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
    return addFields.call(this, fields);
  };
}

/**
 * The schema engine sends whole multi-statement migration scripts through `executeRaw`, which
 * the extended query protocol (pg and PGlite alike) refuses. Route argument-less
 * multi-statement SQL to `executeScript`.
 */
export function acceptScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    const statements = query.sql
      .replace(/--.*$/gm, '')
      .split(';')
      .filter((part) => part.trim() !== '');
    if (query.args.length === 0 && statements.length > 1) {
      await adapter.executeScript(query.sql);
      return 0;
    }
    return executeRaw(query);
  };
  return adapter;
}

/**
 * A factory for the schema engine: `main` is the database to migrate, and the shadow database
 * (where the engine replays migration history) is always a fresh in-memory PGlite that is
 * closed afterwards. This never lets the engine pick a shadow database on the server (adapter-pg
 * 7.10 can silently use the main database as its shadow).
 */
export function migrationFactory(
  main: SqlDriverAdapterFactory,
  openShadow: () => Promise<PGlite>,
): SqlMigrationAwareDriverAdapterFactory & { closeShadows(): Promise<void> } {
  const shadows: PGlite[] = [];
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    async connect() {
      return acceptScripts(await main.connect());
    },
    async connectToShadowDb() {
      const shadow = await openShadow();
      shadows.push(shadow);
      return acceptScripts(await pgliteAdapter(shadow).connect());
    },
    async closeShadows() {
      await Promise.all(shadows.splice(0).map((db) => db.close().catch(() => undefined)));
    },
  };
}
