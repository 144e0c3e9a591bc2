import type { SqlDriverAdapterFactory, SqlQuery } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { currentScope } from '../requestScope.ts';

/**
 * Read replicas (DATABASE_REPLICA_URLS): PostgreSQL streaming replicas take the reads of query
 * operations, the primary everything else. Routing is per statement and per request:
 * - a statement goes to a replica only inside a request whose operation is a query (the yoga
 *   plugin marks its RequestScope), outside a transaction, and only when it is a plain read (a
 *   SELECT or WITH without a write or a row lock); a transaction of such a request goes to a
 *   replica as a whole (a query's transactions only read);
 * - a mutation's statements, its answer's reads included, the API key check, start-up,
 *   migrations and CLIs all use the primary;
 * - after a write commits, the request waits (up to REPLICA_WAIT_MS) until every replica has
 *   replayed it (pg_last_wal_replay_lsn), before the mutation answers and before the response
 *   cache moves to a new version: the client's next read, on any replica, sees its write. When
 *   a replica is later than that, the cache moves again once it catches up
 *   (writing/transaction.ts), so that its older answers outlive its lag in no cache.
 * Replicas are chosen round-robin. Errors of a replica are a read's errors (no fall-back).
 */

/**
 * A statement that only reads: SELECT or WITH, with no data-modifying CTE, no row lock, no
 * sequence or advisory lock, and not marked `/* writes *\/` (a SELECT of a function that writes,
 * such as rollup compaction's).
 */
export function isPlainRead(sql: string): boolean {
  const text = sql.trimStart();
  if (!/^(SELECT|WITH)\b/i.test(text) || text.includes('/* writes */')) return false;
  return !/\b(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b|\bnextval\s*\(|\bpg_advisory/i.test(
    text,
  );
}

/** An adapter factory that sends the reads of query operations to `replicas` (see the module comment). */
export function routingFactory(
  primary: SqlDriverAdapterFactory,
  replicas: readonly SqlDriverAdapterFactory[],
): SqlDriverAdapterFactory {
  return {
    provider: primary.provider,
    adapterName: primary.adapterName,
    async connect() {
      const main = await primary.connect();
      const readers = await Promise.all(replicas.map((replica) => replica.connect()));
      let next = 0;
      const queryRaw = main.queryRaw.bind(main);
      const dispose = main.dispose.bind(main);
      main.queryRaw = (query: SqlQuery) => {
        if (!readers.length || !currentScope()?.readsFromReplica || !isPlainRead(query.sql)) return queryRaw(query);
        const reader = readers[next++ % readers.length]!;
        return reader.queryRaw(query);
      };
      // a transaction of a query operation only reads (the facets of a search run with their own
      // statement_timeout in one): it goes to a replica as a whole
      const startTransaction = main.startTransaction.bind(main);
      main.startTransaction = (isolationLevel) => {
        if (!readers.length || !currentScope()?.readsFromReplica) return startTransaction(isolationLevel);
        return readers[next++ % readers.length]!.startTransaction(isolationLevel);
      };
      main.dispose = async () => {
        await Promise.all([dispose(), ...readers.map((reader) => reader.dispose())]);
      };
      return main;
    },
  };
}

/**
 * Waits until every replica has replayed the primary's WAL as of now (the caller's commit), for
 * at most `timeoutMs` in all (a replica or primary that does not answer counts as behind),
 * polling every 5 ms; resolves with how many replicas are still behind (0: all caught up). Never
 * rejects. Statements go straight to the pools, outside Prisma and any request's share.
 */
export async function waitForReplicas(
  primary: pg.Pool,
  replicas: readonly pg.Pool[],
  timeoutMs: number,
): Promise<number> {
  if (!replicas.length) return 0;
  let behind = [...replicas];
  let stopped = false;
  const work = (async () => {
    const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = rows[0]!.lsn;
    while (behind.length && !stopped) {
      const caughtUp = await Promise.all(
        behind.map((replica) =>
          replica
            .query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn])
            .then((result) => result.rows[0]?.ok === true)
            .catch(() => false),
        ),
      );
      behind = behind.filter((_, i) => !caughtUp[i]);
      if (behind.length) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([work, timeout]);
  stopped = true;
  clearTimeout(timer);
  return behind.length;
}
