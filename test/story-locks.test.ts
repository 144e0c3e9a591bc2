import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { detectStory, holdDetector } from '../src/resolvers/stories/detect.ts';
import { seedDemoData } from '../src/seed/demo.ts';
import { recordStatements } from './support/api.ts';
import { serverUrl } from './support/targets.ts';

/**
 * A story's bucket locks are advisory locks, and PostgreSQL keeps every lock of every database of
 * a server in one shared table (max_locks_per_transaction x max_connections entries, 6,400 by
 * default): a transaction that places hundreds of articles must hold the detector lock alone
 * (holdDetector), or every other session of the server that asks for a lock meanwhile fails with
 * 53200 "out of shared memory".
 */

const ownAdvisoryLocks = async (tx: Pick<typeof prisma, '$queryRaw'>) =>
  (
    await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS "n" FROM pg_locks WHERE "locktype" = 'advisory' AND "pid" = pg_backend_pid()`
  )[0]!.n;

async function insertArticle(tx: Pick<typeof prisma, '$queryRaw'>, n: number): Promise<number> {
  const [row] = await tx.$queryRaw<{ id: number }[]>`
    INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "priority", "body", "updatedAt")
    VALUES (${`Harbour tunnel tolls rise again for commuters ${n}`}, ${`https://locks.example/${n}`},
            ${`locks.example/${n}`}, 'Locks', now(), 3,
            ${`The harbour tunnel toll rises for the third time this year, commuters said on the ${n}th day.`}, now())
    RETURNING "id"`;
  return row!.id;
}

describe('story detector locks', () => {
  // first: the seed loads only into an empty database
  it('the demo dataset (505 articles in one transaction) is placed without a bucket lock', async () => {
    const polled: number[] = [];
    let poller: Promise<void> = Promise.resolve();
    let done = false;
    if (serverUrl) {
      // what the rest of the server sees: the advisory locks of this database, while the seed runs
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      poller = (async () => {
        while (!done) {
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(*)::int AS "n" FROM pg_locks
             WHERE "locktype" = 'advisory' AND "database" = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          );
          polled.push(rows[0]!.n);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await client.end();
      })();
    }
    const { statements, result } = await recordStatements(async () => {
      try {
        return await seedDemoData(prisma);
      } finally {
        done = true;
        await poller;
      }
    });
    expect(result).toBe(505);
    expect(statements.filter((sql) => sql.includes('pg_advisory_xact_lock_shared'))).toEqual([]);
    if (serverUrl) {
      // the seed's own lock and the detector's, never its articles' buckets (about 12,000 before)
      expect(polled.length).toBeGreaterThan(10);
      expect(Math.max(...polled)).toBeLessThanOrEqual(2);
    }
    // the stories are the detector's all the same: the syndicated copies share one
    const [counted] = await prisma.$queryRaw<{ stories: number }[]>`
      SELECT count(DISTINCT "storyId")::int AS "stories" FROM "Article"`;
    expect(counted!.stories).toBeLessThan(505);
  });

  it('one article takes its bucket locks; a transaction holding the detector lock takes none', async () => {
    const counts = await prisma.$transaction(async (tx) => {
      await detectStory(tx, await insertArticle(tx, 1));
      const single = await ownAdvisoryLocks(tx);
      return { single };
    });
    // the shared detector lock and about two dozen buckets
    expect(counts.single).toBeGreaterThan(10);

    const held = await prisma.$transaction(async (tx) => {
      await holdDetector(tx);
      for (let n = 2; n < 12; n++) await detectStory(tx, await insertArticle(tx, n));
      return ownAdvisoryLocks(tx);
    });
    expect(held).toBe(1);
    // a later transaction is a new one: it takes its bucket locks again
    const after = await prisma.$transaction(async (tx) => {
      await detectStory(tx, await insertArticle(tx, 12));
      return ownAdvisoryLocks(tx);
    });
    expect(after).toBeGreaterThan(10);
  });
});
