import { setTimeout as sleep } from 'node:timers/promises';
import { Counter } from 'prom-client';
import { replicasCaughtUp, type Db } from '../../db/client.ts';
import { config } from '../../config.ts';
import { CommitOutcomeUnknown, databaseFailure, isRetryable, sqlState, WriteContention } from '../../db/errors.ts';
import { RequestTimedOut } from '../../deadline.ts';
import { currentDeadline, currentScope, inHeldSlot } from '../../requestScope.ts';
import { ForbiddenError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { dataChanged } from '../../responseCache.ts';
import { hasRole, type Role, type Viewer } from '../access/viewer.ts';

/**
 * Pieces every write shares: the role check, who wrote, the transaction helper and the lock
 * order.
 *
 * Lock order. Every write path takes its locks in this order, each kind in ascending order:
 *   1. articles, by id (the article written, or every article a merge changes); an import
 *      restoring separations takes the separation lock (SEPARATION_LOCK, exclusive) after
 *      inserting its articles, then the articles they name (stories/writes.ts: restoreSeparations);
 *   2. author names being created or renamed to: advisory locks on their name keys (lockNames),
 *      taken before the insert or rename that adds the key to the unique index, after the
 *      table's name lock (shared; a write naming more than MAX_NAME_LOCKS: exclusive, alone);
 *   3. authors, by id (a byline's old and new authors, a merge's sources and target, a renamed one);
 *   4. topic names and slugs being created or renamed to (advisory locks, as 2);
 *   5. topics, by id (likewise);
 *   6. the story detector lock (shared; a bulk import batch: exclusive), then story buckets:
 *      advisory locks, ascending (the story detector, stories/detect.ts);
 *   7. stories, by id (the Article triggers of the stories migration lock them in id order when
 *      an article joins, leaves or changes date or source; the story mutations lock them after
 *      their articles; restoreArticle inserts its article into a story of its own and moves it to
 *      the story it was pinned to after linking its authors and topics). No statement locks an
 *      article once it holds a story: a story's lead has no foreign key (prisma/schema.prisma);
 *   8. saved searches, by id (a merge retargets those naming its sources: retargetSavedSearches).
 * Two writes therefore never wait for each other in a cycle, so PostgreSQL has no deadlock to
 * break; `writeTransaction` still retries one, and serialization failures, as a safety net.
 */

/** The Prisma client inside an interactive transaction (what writeTransaction hands to `work`). */
export type Tx = Prisma.TransactionClient;

/** Throws ForbiddenError unless the viewer's API key has `role` (see hasRole: ADMIN implies EDITOR). */
export function requireRole(viewer: Viewer, role: Role): void {
  if (!hasRole(viewer, role)) throw new ForbiddenError(role);
}

/** The name recorded as createdBy/updatedBy: the API key's. */
export function recordedName(viewer: Viewer): string | null {
  return viewer.kind === 'apiKey' ? viewer.name : null;
}

/** Prisma interactive transaction bounds, ms: waiting for a connection, and the whole transaction. */
export const TRANSACTION_BOUNDS_MS = { maxWait: 10_000, timeout: 60_000 } as const;
/** Attempts of one write before giving up on conflicts. */
export const WRITE_ATTEMPTS = 5;

/**
 * Thrown inside a write transaction when a row it read changed under it (a name that vanished
 * between insert and select, an article bylined by a source mid-merge): roll back and run the
 * whole transaction again.
 */
export class RetryTransaction extends Error {
  override name = 'RetryTransaction';
}

/** Writes answered before every read replica had replayed them (REPLICA_WAIT_MS passed). */
export const replicaWaitTimeouts = new Counter({
  name: 'newsgraph_replica_wait_timeouts_total',
  help: 'Writes answered before every read replica had replayed them (REPLICA_WAIT_MS passed)',
  registers: [],
});

/**
 * Write transactions run again, by reason: `deadlock` (40P01) and `serialization` (40001) should
 * stay at 0 given the lock order; `changed` counts RetryTransaction; `lock` counts waits past
 * LOCK_TIMEOUT_MS (55P03), the line of writes on one author's or topic's row (its article count)
 * being longer than that. Registered by createMetrics.
 */
export const writeRetries = new Counter({
  name: 'newsgraph_write_retries_total',
  help: 'Write transactions run again: deadlock, serialization, lock (a lock wait past LOCK_TIMEOUT_MS) or changed (a row read changed under it)',
  labelNames: ['reason'],
  registers: [],
});

function retryReason(error: unknown): 'deadlock' | 'serialization' | 'lock' | 'changed' {
  if (error instanceof RetryTransaction) return 'changed';
  const state = sqlState(error);
  return state === '40P01' ? 'deadlock' : state === '55P03' ? 'lock' : 'serialization';
}

/** A statement of the transaction waited past lock_timeout (55P03, lock_not_available): it was rolled back. */
const isLockWait = (error: unknown) => sqlState(error) === '55P03';

/** What to do once each transaction commits (afterCommitOf), by its client. */
const commitHooks = new WeakMap<Tx, (() => void)[]>();

/**
 * Runs `hook` once `tx` (a writeTransaction's) has committed, after the replicas and the cache
 * have moved; never if it rolls back (nor for an attempt that is retried). A hook must not throw.
 */
export function afterCommitOf(tx: Tx, hook: () => void): void {
  const hooks = commitHooks.get(tx);
  if (!hooks) throw new Error('afterCommitOf outside writeTransaction');
  hooks.push(hook);
}

/**
 * Runs `work` in one transaction and commits it, retrying the whole of it (up to WRITE_ATTEMPTS,
 * with a short random back-off) when PostgreSQL aborts it as a deadlock victim or a
 * serialization failure (SQLSTATE 40P01, 40001), or when `work` throws RetryTransaction.
 * A wait for a lock past LOCK_TIMEOUT_MS (55P03) is retried too (unless `lockWaits: 'fail'`):
 * the rows every write of one author or topic updates (its article count) are held until each
 * commits, so a burst of such writes queues, and the last of twenty could wait longer than one
 * lock wait may; nothing was written, and the attempt queues again. A lock held for good still
 * ends the write, with the last attempt's DATABASE_TIMEOUT (reason lock), after WRITE_ATTEMPTS
 * waits or the request's deadline, whichever comes first.
 * Under a request deadline (see deadline.ts) it does not begin, retry or commit once the request
 * has timed out: the transaction rolls back and RequestTimedOut is thrown.
 * Errors of `work` (ValidationError, NotFoundError...) roll the transaction back and propagate.
 * On a PostgreSQL server, a COMMIT whose answer is lost (the connection dropped after the
 * server committed) is looked up by the transaction's id (commitOutcome): found committed, the
 * write succeeds and what follows a commit runs, rather than a 503 for a write that was made;
 * found aborted, the error propagates; not told within COMMIT_OUTCOME_WAIT_MS (the database
 * still unreachable), CommitOutcomeUnknown (503 DATABASE_UNAVAILABLE, reason `commit unknown`).
 * `bookkeeping`: a write the client did not ask for (a key's lastUsedAt), which a timed-out
 * request does not make, but whose commit does not stop the request from being answered 503;
 * it never waits for a lock twice. `lockWaits: 'fail'`: for a transaction that sets its own,
 * longer lock_timeout (a bulk batch).
 */
export async function writeTransaction<T>(
  db: Db,
  work: (tx: Tx) => Promise<T>,
  options: { bookkeeping?: boolean; lockWaits?: 'retry' | 'fail' } = {},
): Promise<T> {
  const retryLockWaits = !options.bookkeeping && options.lockWaits !== 'fail';
  const deadline = currentDeadline();
  const server = config().database.kind === 'postgres';
  for (let attempt = 1; ; attempt++) {
    if (deadline?.isExpired) throw new RequestTimedOut();
    let committing = false;
    let result!: T;
    let hooks: (() => void)[] = [];
    let xid: string | null = null;
    try {
      // in one of the request's slots, taken before it begins: its statements take no other
      result = await inHeldSlot(() =>
        db.$transaction(async (tx) => {
          hooks = [];
          commitHooks.set(tx, hooks);
          const value = await work(tx);
          // on a server, the connection can drop after COMMIT took effect and before its answer:
          // the transaction's id lets the outcome be looked up then (commitOutcome)
          if (server && !options.bookkeeping) xid = await transactionId(tx);
          result = value;
          deadline?.beginCommit(options.bookkeeping);
          committing = !options.bookkeeping;
          return value;
        }, TRANSACTION_BOUNDS_MS),
      );
    } catch (error) {
      // the answer to COMMIT was lost: committed is committed (the client is told, events go out)
      const lost = xid !== null && !!databaseFailure(error);
      const outcome = lost ? await commitOutcome(db, xid!) : undefined;
      const committed = outcome === 'committed';
      if (committed) commitsRecovered.inc();
      // unknown counts as committed here: never "nothing was written" for what may have been
      if (committing) deadline?.endCommit(outcome === 'committed' || (lost && outcome === undefined));
      if (committed) return finish(result, hooks, options.bookkeeping);
      // not known either way: never answered as "nothing was written"
      if (lost && outcome === undefined) throw new CommitOutcomeUnknown(error);
      const lockWait = retryLockWaits && isLockWait(error);
      if (!(error instanceof RetryTransaction || isRetryable(error) || lockWait)) throw error;
      // the lock is still held after every wait: the lock wait's own DATABASE_TIMEOUT
      if (lockWait && attempt >= WRITE_ATTEMPTS) throw error;
      writeRetries.inc({ reason: retryReason(error) });
      if (attempt >= WRITE_ATTEMPTS) throw new WriteContention(WRITE_ATTEMPTS, error);
      await sleep(Math.round(Math.random() * 20 * 2 ** attempt));
      continue;
    }
    if (committing) deadline?.endCommit(true);
    return finish(result, hooks, options.bookkeeping);
  }
}

/** What follows a commit (afterCommit, then the hooks), and the write's value: nothing here may turn the write into an error. */
async function finish<T>(value: T, hooks: readonly (() => void)[], bookkeeping = false): Promise<T> {
  if (!bookkeeping) await afterCommit();
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // committed: a follower's failure is its own (publishing is best effort), never the write's
    }
  }
  return value;
}

/** Commits whose answer was lost (the connection dropped) and that were found committed (commitOutcome). */
export const commitsRecovered = new Counter({
  name: 'newsgraph_commits_recovered_total',
  help: 'Write transactions whose COMMIT answer was lost (connection dropped) and that were found committed',
  registers: [],
});

/** The transaction's id (txid_current_if_assigned, PostgreSQL 10+), or null when it wrote nothing. */
async function transactionId(tx: Tx): Promise<string | null> {
  const [row] = await tx.$queryRaw<{ xid: string | null }[]>`SELECT txid_current_if_assigned()::text AS "xid"`;
  return row?.xid ?? null;
}

/**
 * Whether transaction `xid` committed, asked on another connection (txid_status, PostgreSQL
 * 10+; section 9.27.5 of the manual): what a client does when the answer to its COMMIT was lost.
 * `committed` or `aborted`; undefined when it cannot be told within `waitMs` (asked every 200 ms
 * while the transaction is still being ended or the database does not answer), or is too old to
 * be known.
 */
export async function commitOutcome(
  db: Db,
  xid: string,
  waitMs = COMMIT_OUTCOME_WAIT_MS,
): Promise<'committed' | 'aborted' | undefined> {
  const until = Date.now() + waitMs;
  for (;;) {
    let status: string | null | undefined;
    try {
      [{ status } = { status: undefined }] = await db.$queryRaw<{ status: string | null }[]>`
        SELECT txid_status(${xid}::bigint) AS "status"`;
    } catch (error) {
      // what dropped the connection often drops the others too: ask again while the wait lasts
      if (!databaseFailure(error)) return undefined;
      status = 'unanswered';
    }
    if (status === 'committed' || status === 'aborted') return status;
    if (status !== 'in progress' && status !== 'unanswered') return undefined;
    // the dropped backend's transaction is still being ended, or the database is coming back
    if (Date.now() + 200 > until) return undefined;
    await sleep(200);
  }
}

/** How long commitOutcome asks the database again (ms) before the outcome is left unknown (a try that waits for a connection may end later). */
export const COMMIT_OUTCOME_WAIT_MS = 3_000;

/**
 * What follows a committed write (bookkeeping shows in no answer, so not after it): the replicas
 * get it before anyone is told of it (db/replicas.ts), then cached answers from before it are not
 * served after it. Replicas still behind after REPLICA_WAIT_MS are counted, and the cache moves
 * again once they catch up, so that no answer a lagging replica gave in between outlives the lag.
 * Within one request, once replicas were late, later writes do not wait again. Never throws.
 */
async function afterCommit(): Promise<void> {
  const scope = currentScope();
  const behind = scope?.replicasLate ? await replicasCaughtUp(0) : await replicasCaughtUp();
  await dataChanged();
  if (behind > 0) {
    replicaWaitTimeouts.inc();
    if (scope) scope.replicasLate = true;
    void replicasCaughtUp(REPLICA_CATCH_UP_MS).then((still) => (still === 0 ? dataChanged() : undefined));
  }
}

/** How long, after a late write, the cache waits in the background for the replicas before it moves again (ms). */
const REPLICA_CATCH_UP_MS = 60_000;

type LockMode = 'FOR UPDATE' | 'FOR NO KEY UPDATE';

/**
 * Locks the rows of `table` with these ids, in id order (see the lock order above), and returns
 * the ids that exist. FOR NO KEY UPDATE for rows whose counters or columns change; FOR UPDATE for
 * rows about to be deleted (it also stops new references to them until commit).
 */
export async function lockRows(
  tx: Tx,
  table: 'Article' | 'Author' | 'Topic',
  ids: readonly number[],
  mode: LockMode = 'FOR NO KEY UPDATE',
): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const unique = [...new Set(ids)];
  const rows = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM ${Prisma.raw(`"${table}"`)} WHERE "id" = ANY(${unique}::int[]) ORDER BY "id" ${Prisma.raw(mode)}`;
  return new Set(rows.map((row) => row.id));
}

/** Advisory lock namespaces (pg_advisory_xact_lock(namespace, hash)) of names and slugs. */
const NAME_LOCKS = { Author: 7401, Topic: 7402, slug: 7403 } as const;
/**
 * The advisory lock (NAME_TABLE_LOCK, 1) of every author name and (NAME_TABLE_LOCK, 2) of every
 * topic name and slug: shared by a write that locks its few names one by one, exclusive for one
 * that names more than MAX_NAME_LOCKS.
 */
const NAME_TABLE_LOCK = 7406;
const NAME_TABLE_KEYS = { Author: 1, Topic: 2 } as const;
/**
 * Most names and slugs one lockNames call locks one by one. PostgreSQL keeps every lock of every
 * database of the server in one shared table (max_locks_per_transaction x max_connections
 * entries, 6,400 by default): a bulk import batch of 200 records naming 20 authors and 50 topics
 * each took 24,000 locks and failed with 53200 "out of shared memory", as could any other session
 * of the server meanwhile.
 */
export const MAX_NAME_LOCKS = 16;

/**
 * Step 2 or 4 of the lock order: takes transaction-scoped advisory locks on the name keys of
 * `names` (computed by the database's newsgraph_name_key) and on `slugs`, before a write adds
 * them to a unique index. Whoever inserts or renames to a name waits here for anyone else doing
 * so, before holding any author or topic row, so an insert waiting for a rename's uncommitted key
 * never meets the rename waiting for its row. Up to MAX_NAME_LOCKS names and slugs: the table's
 * name lock shared, then each, in (namespace, hash) order (hash collisions only make unrelated
 * names wait for each other); more: the table's name lock exclusively, alone, so a transaction
 * holds at most MAX_NAME_LOCKS + 1 of them per call whatever it files. Returns `table` when the
 * transaction now holds every name of the table (callers then need not lock a slug they derive:
 * createTopics), else `each`.
 */
export async function lockNames(
  tx: Tx,
  table: 'Author' | 'Topic',
  names: readonly string[],
  slugs: readonly string[] = [],
): Promise<'each' | 'table'> {
  if (!names.length && !slugs.length) return 'each';
  if (new Set(names).size + new Set(slugs).size > MAX_NAME_LOCKS) {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${NAME_TABLE_LOCK}::int, ${NAME_TABLE_KEYS[table]}::int)`;
    return 'table';
  }
  await tx.$executeRaw`
    SELECT 0 FROM pg_advisory_xact_lock_shared(${NAME_TABLE_LOCK}::int, ${NAME_TABLE_KEYS[table]}::int)
    UNION ALL
    SELECT 1 FROM (
      SELECT pg_advisory_xact_lock(l."namespace", l."hash") FROM (
        SELECT ${NAME_LOCKS[table]}::int AS "namespace", hashtext("newsgraph_name_key"(n)) AS "hash"
        FROM unnest(${[...names]}::text[]) AS n
        UNION
        SELECT ${NAME_LOCKS.slug}::int, hashtext(s) FROM unnest(${[...slugs]}::text[]) AS s
        ORDER BY 1, 2
      ) AS l
    ) AS l2`;
  return 'each';
}
