import type { Db } from './db/client.ts';
import type { Logger } from './observability.ts';
import { purgeExpiredTrash } from './resolvers/articles/writes.ts';

/**
 * The trash's retention: every API process, once a minute after it starts and then every
 * TRASH_PURGE_INTERVAL_MS, purges the articles trashed more than TRASH_RETENTION_DAYS ago (with
 * their revisions), a thousand per transaction. Processes sharing a database may all run it: a
 * row is purged once, whoever gets there first; with nothing due a round is one index read.
 */

/** How often each API process looks for expired trash, in milliseconds. */
export const TRASH_PURGE_INTERVAL_MS = 3_600_000;
const FIRST_ROUND_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Purges expired trash every `intervalMs` until `stop()`, which resolves once a round in progress
 * has ended. `retentionDays` 0 turns the schedule off. A failed round is logged and tried again at
 * the next interval.
 */
export function startTrashPurge(
  db: Db,
  retentionDays: number,
  log: Logger,
  intervalMs = TRASH_PURGE_INTERVAL_MS,
): { stop(): Promise<void> } {
  if (retentionDays === 0) return { stop: async () => {} };
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const round = () => {
    running = running.then(async () => {
      try {
        const before = new Date(Date.now() - retentionDays * DAY_MS);
        let purged = 0;
        for (let batch = -1; batch !== 0 && !stopped;) {
          batch = await purgeExpiredTrash(db, before);
          purged += batch;
        }
        if (purged) log.info({ purged }, `trash: ${purged} article(s) older than ${retentionDays} days purged`);
      } catch (error) {
        log.warn({ err: error }, 'trash purge failed; retrying at the next interval');
      }
    });
  };
  const first = setTimeout(round, Math.min(FIRST_ROUND_MS, intervalMs));
  const timer = setInterval(round, intervalMs);
  first.unref();
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      return running;
    },
  };
}
