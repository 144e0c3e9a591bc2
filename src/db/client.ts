import { DriverAdapterError, type SqlDriverAdapter, type SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { config } from '../config.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import { currentScope } from '../requestScope.ts';
import { FairPool, postgresAdapter } from './adapters.ts';
import { EmbeddedPostgres } from './embedded.ts';
import { routingFactory, waitForReplicas } from './replicas.ts';

/**
 * The process's Prisma client, for the database chosen by configuration (a module, not a
 * context field). Every SQL statement it sends passes through `onStatement` listeners, which
 * tests and the benchmark use to count statements per operation.
 */

/** Receives the SQL text of each statement the process's client sends (see onStatement). */
export type StatementListener = (sql: string) => void;
const listeners = new Set<StatementListener>();

/** Calls `listener` with the text of every SQL statement sent; returns an unsubscribe function. */
export function onStatement(listener: StatementListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(sql: string): void {
  for (const listener of listeners) listener(sql);
}

/** Statements running now inside requests, and outside them (start-up, migrations, CLIs, imports). */
const inFlight = { scoped: 0, unscoped: 0 };

/**
 * One statement: counted (onStatement), and inside a request run within the request's share of
 * the database (RequestScope). On the embedded database it waits out a restart first, and what
 * a restart did to it is told as a server would tell it (embedded()).
 */
function statement<T>(sql: string, run: () => Promise<T>, inTransaction = false): Promise<T> {
  emit(sql);
  const scope = currentScope();
  const counted = async () => {
    const kind = scope ? 'scoped' : 'unscoped';
    inFlight[kind] += 1;
    try {
      return await (embedded ? onEmbedded(embedded, run) : run());
    } finally {
      inFlight[kind] -= 1;
    }
  };
  // a transaction's statements run on its connection, in the slot it took at BEGIN
  return scope && !inTransaction ? scope.statement(counted) : counted();
}

/** A connection to the embedded database could not be made: it is restarting (nothing ran). */
function notConnected(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || /connect (ENOENT|ECONNREFUSED)/.test(String(error));
}

/**
 * Runs a statement on the embedded database: after any restart in progress; again (up to
 * three times) when it could not connect because a restart began meanwhile; and when the
 * watchdog stopped it, fails as a server's statement_timeout would (57014, DATABASE_TIMEOUT).
 */
async function onEmbedded<T>(database: EmbeddedPostgres, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await database.ready();
    const stopped = database.stopped;
    try {
      return await run();
    } catch (error) {
      if (notConnected(error) && attempt < 3) continue;
      throw database.stopped !== stopped && !notConnected(error) ? statementTimeout() : error;
    }
  }
}

/** What PostgreSQL says when statement_timeout cancels a statement (SQLSTATE 57014). */
function statementTimeout(): DriverAdapterError {
  return new DriverAdapterError({
    kind: 'postgres',
    code: '57014',
    severity: 'ERROR',
    message: 'canceling statement due to statement timeout',
    detail: undefined,
    column: undefined,
    hint: undefined,
  });
}

function observed(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const queryRaw = adapter.queryRaw.bind(adapter);
  const executeRaw = adapter.executeRaw.bind(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.queryRaw = (query) => statement(query.sql, () => queryRaw(query));
  adapter.executeRaw = (query) => statement(query.sql, () => executeRaw(query));
  // A transaction's statements run on its own connection and never wait for a slot of the request
  // (inTransaction): its caller took one before it began (inHeldSlot). Waiting deadlocked a
  // request whose two slots were held by transactions waiting for theirs, as Prisma may run a
  // transaction's statements in another field's context.
  adapter.startTransaction = async (isolationLevel) => {
    const tx = await (embedded
      ? onEmbedded(embedded, () => startTransaction(isolationLevel))
      : startTransaction(isolationLevel));
    const txQuery = tx.queryRaw.bind(tx);
    const txExecute = tx.executeRaw.bind(tx);
    tx.queryRaw = (query) => statement(query.sql, () => txQuery(query), true);
    tx.executeRaw = (query) => statement(query.sql, () => txExecute(query), true);
    return tx;
  };
  return adapter;
}

function observedFactory(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => observed(await connect());
  return factory;
}

let embedded: EmbeddedPostgres | undefined;
let starting: Promise<SqlDriverAdapterFactory> | undefined;
let embeddedSettings: Record<string, string> = {};

/**
 * For a command that streams through the data once (import, export), not a server: the embedded
 * database, when this process starts it, gets a 16 MB buffer cache instead of PostgreSQL's
 * default 128 MB. PGlite's memory never shrinks, so the cache a bulk write fills stays resident:
 * importing 10,000 records into an embedded folder peaked at 656-691 MiB with the default and at
 * 481-521 MiB with 16 MB, in the same time (bench/FINDINGS.md). Call before the first statement;
 * no effect on a PostgreSQL server.
 */
export function useSmallEmbeddedCache(): void {
  embeddedSettings = { shared_buffers: '16MB' };
}
let pool: import('pg').Pool | undefined;
let replicaPools: import('pg').Pool[] = [];

function createFactory(): SqlDriverAdapterFactory {
  const target = config().database;
  const settings = config();
  if (target.kind === 'postgres') {
    const options = {
      max: settings.dbPoolSize,
      statementTimeoutMs: settings.statementTimeoutMs,
      lockTimeoutMs: settings.lockTimeoutMs,
      // a write transaction may last a minute (writing/transaction.ts); no statement idles that long
      idleInTransactionTimeoutMs: 60_000,
      connectionTimeoutMs: settings.dbConnectTimeoutMs,
      preparedStatements: settings.dbPreparedStatements,
    };
    const server = postgresAdapter(target.url, options);
    pool = server.pool;
    if (!settings.replicas.urls.length) return observedFactory(server.adapter);
    const replicas = settings.replicas.urls.map((url) => postgresAdapter(url, options));
    replicaPools = replicas.map((replica) => replica.pool);
    return routingFactory(
      observedFactory(server.adapter),
      replicas.map((replica) => observedFactory(replica.adapter)),
    );
  }
  // Started on first use, so importing the schema (codegen, type generation) touches no data.
  const start = () =>
    (starting ??= EmbeddedPostgres.start(target.dataDir, embeddedSettings).then((database) => {
      embedded = database;
      // one session: one connection
      const server = postgresAdapter(database.url, {
        max: 1,
        connectionTimeoutMs: settings.dbConnectTimeoutMs,
        preparedStatements: settings.dbPreparedStatements,
        // a lost connection here is the watchdog stopping a slow statement: never send it again
        retryLostReads: false,
      });
      pool = server.pool;
      // statements of requests only: start-up, migrations and imports may take longer
      database.watch(settings.statementTimeoutMs, () => inFlight.scoped > 0 && inFlight.unscoped === 0);
      return server.adapter;
    }));
  return observedFactory({
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: async () => (await start()).connect(),
  });
}

/**
 * The process's Prisma client: on a PostgreSQL server through a pool of DB_POOL_SIZE, or on the
 * embedded database, started on first use. Every statement is counted (onStatement) and, inside a
 * request, runs within the request's share of the database (RequestScope).
 */
export const prisma = new PrismaClient({ adapter: createFactory() });
/** The database handle resolvers and tools take: the type of `prisma`. */
export type Db = typeof prisma;

/**
 * Opens the database now rather than on first use. For the embedded database this takes the
 * folder (FolderInUseError when another process holds it) and starts it, so a server fails
 * before it listens.
 */
export async function connect(): Promise<void> {
  await prisma.$connect();
}

/** Applies pending migrations to this process's database (the embedded one it runs, or the server). */
export async function migrateDatabase(): Promise<string[]> {
  const { applyMigrations } = await import('./migrate.ts');
  const target = config().database;
  if (target.kind === 'postgres') return applyMigrations(target);
  await connect();
  // through the embedded database's own pool: it takes one connection at a time
  return applyMigrations({ kind: 'pool', pool: pool! });
}

/**
 * Migrations in prisma/migrations that this process's database has not applied (all of them
 * when it has none), read from Prisma's `_prisma_migrations` table; [] when it is up to date.
 */
export async function pendingMigrations(): Promise<string[]> {
  const { readMigrations } = await import('./migrate.ts');
  const wanted = readMigrations().migrationDirectories.map((directory) => directory.path);
  const [table] = await prisma.$queryRaw<{ present: boolean }[]>`
    SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`;
  if (!table?.present) return wanted;
  const rows = await prisma.$queryRaw<{ name: string }[]>`
    SELECT "migration_name" AS name FROM "_prisma_migrations"
    WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`;
  const applied = new Set(rows.map((row) => row.name));
  return wanted.filter((name) => !applied.has(name));
}

/**
 * After a write committed: waits until every read replica has replayed it, up to REPLICA_WAIT_MS;
 * resolves with how many are still behind (0 without replicas).
 */
export function replicasCaughtUp(timeoutMs = config().replicas.waitMs): Promise<number> {
  if (!replicaPools.length || !pool) return Promise.resolve(0);
  return waitForReplicas(pool, replicaPools, timeoutMs);
}

/**
 * Checks each read replica at start-up: reachable, and a standby (pg_is_in_recovery), so that a
 * replica URL naming the primary, a typo or a replica that is down stops the server with one line
 * (StartupError from the caller) instead of failing reads or slowing every write later.
 */
export async function checkReplicas(): Promise<void> {
  const urls = config().replicas.urls;
  await Promise.all(
    replicaPools.map(async (replica, i) => {
      const where = redactedUrl(urls[i]!);
      let standby: boolean | undefined;
      try {
        standby = (await replica.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]?.standby;
      } catch (error) {
        throw new Error(`DATABASE_REPLICA_URLS: ${where} does not answer (${(error as Error).message})`);
      }
      if (!standby)
        throw new Error(`DATABASE_REPLICA_URLS: ${where} is not a standby (it is a primary, not a replica)`);
    }),
  );
}

function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Connections by state, for metrics (the embedded database has at most one). */
export function poolStats(): { total: number; idle: number; waiting: number } {
  if (pool) {
    const waiting = pool instanceof FairPool ? pool.waiting() : pool.waitingCount;
    return { total: pool.totalCount, idle: pool.idleCount, waiting };
  }
  return { total: 0, idle: 0, waiting: 0 };
}

/** Closes the connections (and the embedded database); safe to call more than once. */
export async function disconnect(): Promise<void> {
  await prisma.$disconnect();
  await Promise.all(replicaPools.splice(0).map((replica) => replica.end().catch(() => undefined)));
  const database = embedded;
  embedded = undefined;
  starting = undefined;
  if (database) {
    await pool?.end().catch(() => undefined);
    pool = undefined;
    await database.close();
  }
}
