import type { Logger } from '../observability.ts';
import type { Db } from './client.ts';

/**
 * Keeps the count rollup small: every write adds signed delta rows to ArticleRollup (see the
 * count_rollups migration), and `newsgraph_compact_rollup()` merges each key's rows into one.
 * Counts are exact with or without it; compaction only keeps the rows a count sums few. Any
 * number of API processes may run it: the database lets one at a time do the work (an advisory
 * lock), the others return at once.
 */

/** How often each API process compacts the rollup, in milliseconds. */
export const ROLLUP_COMPACTION_INTERVAL_MS = 10_000;

/** Merges the rollup's delta rows now; resolves to the number of rows removed. */
export async function compactRollup(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<
    { removed: number }[]
  >`SELECT /* writes */ "newsgraph_compact_rollup"() AS "removed"`;
  return row!.removed;
}

/**
 * Compacts every `intervalMs` until `stop()`, which resolves once a compaction in progress has
 * finished (call it before closing the database); an interval in which no write added a row
 * since this process's last compaction costs one index lookup. A failed compaction is logged and
 * retried at the next interval.
 */
export function startRollupCompaction(
  db: Db,
  log: Logger,
  intervalMs = ROLLUP_COMPACTION_INTERVAL_MS,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  // the newest row after this process's last compaction: no row since, nothing to merge
  let compactedUpTo: string | null = null;
  const newest = async () =>
    (await db.$queryRaw<{ id: string | null }[]>`SELECT max("id")::text AS "id" FROM "ArticleRollup"`)[0]!.id;
  const timer = setInterval(() => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        if (compactedUpTo !== null && (await newest()) === compactedUpTo) return;
        const removed = await compactRollup(db);
        compactedUpTo = await newest();
        if (removed) log.debug({ removed }, `count rollup compacted: ${removed} rows merged`);
      } catch (error) {
        log.warn({ err: error }, 'count rollup compaction failed; retrying at the next interval');
      }
    });
  }, intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      return running;
    },
  };
}
