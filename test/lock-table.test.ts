import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import type { Viewer } from '../src/resolvers/access/viewer.ts';
import { upsertArticles } from '../src/resolvers/articles/bulk.ts';
import { upsertArticle, type CreateArticleInput } from '../src/resolvers/articles/writes.ts';
import { detectStory, holdDetector } from '../src/resolvers/stories/detect.ts';
import { importRecords } from '../src/transfer/import.ts';
import { lockNames, MAX_NAME_LOCKS } from '../src/resolvers/writing/transaction.ts';
import { seedDemoData } from '../src/seed/demo.ts';
import { recordStatements } from './support/api.ts';
import { serverUrl } from './support/targets.ts';

/**
 * PostgreSQL keeps every lock of every database of a server in one shared table
 * (max_locks_per_transaction x max_connections entries, 6,400 by default): a transaction that
 * takes an advisory lock per story bucket or per name of hundreds of articles fails with 53200
 * "out of shared memory", and so does every other session of the server that asks for a lock
 * meanwhile. A transaction's advisory locks stay few whatever it files.
 */

const editor: Viewer = { kind: 'apiKey', keyId: 0, name: 'lock-table', role: 'EDITOR' };

/** Runs `work` while another connection polls the advisory locks of this database (PostgreSQL server only). */
async function polledLocks<T>(work: () => Promise<T>): Promise<{ result: T; polled: number[] }> {
  const polled: number[] = [];
  if (!serverUrl) return { result: await work(), polled };
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  let done = false;
  const poller = (async () => {
    while (!done) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM pg_locks
         WHERE "locktype" = 'advisory' AND "database" = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      polled.push(rows[0]!.n);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    return { result: await work(), polled };
  } finally {
    done = true;
    await poller;
    await client.end();
  }
}

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

describe('advisory locks of one transaction', () => {
  // first: the seed loads only into an empty database
  it('the demo dataset (505 articles in one transaction) is placed without a bucket lock', async () => {
    const { polled, result: recorded } = await polledLocks(() => recordStatements(() => seedDemoData(prisma)));
    const { statements, result } = recorded;
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
  it('locks a few names one by one under the table lock shared, and many names with the table lock alone', async () => {
    const held = await prisma.$transaction(async (tx) => {
      const few = await lockNames(tx, 'Author', ['Ada One', 'Ada Two', 'Ada Three']);
      const afterFew = await ownAdvisoryLocks(tx);
      return { few, afterFew };
    });
    expect(held).toEqual({ few: 'each', afterFew: 4 });
    const many = await prisma.$transaction(async (tx) => {
      const mode = await lockNames(
        tx,
        'Topic',
        Array.from({ length: 1000 }, (_, i) => `Theme ${i}`),
        Array.from({ length: 1000 }, (_, i) => `theme-${i}`),
      );
      return { mode, locks: await ownAdvisoryLocks(tx) };
    });
    expect(many).toEqual({ mode: 'table', locks: 1 });
    // the boundary: MAX_NAME_LOCKS names one by one, one more takes the table
    const boundary = await prisma.$transaction(async (tx) => [
      await lockNames(
        tx,
        'Author',
        Array.from({ length: MAX_NAME_LOCKS }, (_, i) => `Edge ${i}`),
      ),
      await ownAdvisoryLocks(tx),
    ]);
    expect(boundary).toEqual(['each', MAX_NAME_LOCKS + 1]);
  });

  it('files a batch of 200 records naming 20 new authors and 50 new topics each (14,000 names)', async () => {
    const records: CreateArticleInput[] = Array.from({ length: 200 }, (_, i) => ({
      title: `Council minutes volume ${i}`,
      url: `https://names.example/minutes/${i}`,
      source: 'Names',
      publishedAt: new Date(Date.UTC(2025, 0, 1 + (i % 28))),
      priority: 3,
      authors: Array.from({ length: 20 }, (_, j) => ({ name: `Clerk ${i}-${j}` })),
      topics: Array.from({ length: 50 }, (_, j) => ({ name: `Agenda item ${i}-${j}` })),
    }));
    const { result, polled } = await polledLocks(() =>
      upsertArticles(
        prisma,
        records.map((input) => ({ input })),
        editor,
      ),
    );
    expect(result.map((outcome) => outcome.status)).toEqual(records.map(() => 'created'));
    if (serverUrl) {
      // about 24,000 advisory locks before (names and slugs one by one): 53200 "out of shared memory"
      expect(polled.length).toBeGreaterThan(0);
      expect(Math.max(...polled)).toBeLessThanOrEqual(4);
    }
    const [counts] = await prisma.$queryRaw<{ authors: number; topics: number; bylines: number; tags: number }[]>`
      SELECT (SELECT count(*)::int FROM "Author" WHERE "name" LIKE 'Clerk %') AS "authors",
             (SELECT count(*)::int FROM "Topic" WHERE "name" LIKE 'Agenda item %') AS "topics",
             (SELECT count(*)::int FROM "ArticleAuthor" aa JOIN "Article" a ON a."id" = aa."articleId"
               WHERE a."url" LIKE 'https://names.example/minutes/%') AS "bylines",
             (SELECT count(*)::int FROM "ArticleTopic" at JOIN "Article" a ON a."id" = at."articleId"
               WHERE a."url" LIKE 'https://names.example/minutes/%') AS "tags"`;
    expect(counts).toEqual({ authors: 4000, topics: 10000, bylines: 4000, tags: 10000 });
    // byline order kept
    const [first] = await prisma.$queryRaw<{ names: string[] }[]>`
      SELECT array_agg(au."name" ORDER BY aa."position") AS "names"
      FROM "ArticleAuthor" aa JOIN "Author" au ON au."id" = aa."authorId" JOIN "Article" a ON a."id" = aa."articleId"
      WHERE a."url" = 'https://names.example/minutes/7'`;
    expect(first!.names).toEqual(Array.from({ length: 20 }, (_, j) => `Clerk 7-${j}`));
  });

  it('gives topics created many at once the slugs they get one by one, and one topic per name key', async () => {
    // one by one (a write naming few topics): "C++" takes `c`, then "C#" `c-2`
    const single = await upsertArticle(
      prisma,
      {
        title: 'Languages compared, one',
        url: 'https://slugs.example/one',
        source: 'Slugs',
        publishedAt: new Date('2025-02-01T00:00:00Z'),
        priority: 2,
        topics: [{ name: 'C++' }, { name: 'C#' }],
      },
      editor,
    );
    expect(single.created).toBe(true);
    // many at once: the table lock, slugs chosen in order past those taken, spellings of one key merged
    const fillers = Array.from({ length: MAX_NAME_LOCKS }, (_, i) => ({ name: `Filler topic ${i}` }));
    const [outcome] = await upsertArticles(
      prisma,
      [
        {
          input: {
            title: 'Languages compared, two',
            url: 'https://slugs.example/two',
            source: 'Slugs',
            publishedAt: new Date('2025-02-02T00:00:00Z'),
            priority: 2,
            topics: [{ name: 'C' }, { name: 'C--' }, { name: 'Rust Lang' }, ...fillers],
          },
        },
        {
          input: {
            title: 'Languages compared, three',
            url: 'https://slugs.example/three',
            source: 'Slugs',
            publishedAt: new Date('2025-02-03T00:00:00Z'),
            priority: 2,
            topics: [{ name: 'rust  lang' }, { name: 'C' }],
          },
        },
      ],
      editor,
    );
    expect(outcome!.status).toBe('created');
    const topics = await prisma.$queryRaw<{ name: string; slug: string }[]>`
      SELECT "name", "slug" FROM "Topic" WHERE "name" IN ('C++', 'C#', 'C', 'C--', 'Rust Lang', 'rust  lang')
      ORDER BY "slug"`;
    expect(topics).toEqual([
      { name: 'C++', slug: 'c' },
      { name: 'C#', slug: 'c-2' },
      { name: 'C', slug: 'c-3' },
      { name: 'C--', slug: 'c-4' },
      { name: 'Rust Lang', slug: 'rust-lang' },
    ]);
    const tagged = await prisma.$queryRaw<{ names: string[] }[]>`
      SELECT array_agg(t."name" ORDER BY t."name") AS "names"
      FROM "ArticleTopic" at JOIN "Topic" t ON t."id" = at."topicId" JOIN "Article" a ON a."id" = at."articleId"
      WHERE a."url" = 'https://slugs.example/three'`;
    expect(tagged[0]!.names).toEqual(['C', 'Rust Lang']);
  });
});

describe.skipIf(!serverUrl)('writes while a name-heavy import runs (PostgreSQL server)', () => {
  it('files writes naming new authors and topics meanwhile, within their lock wait', async () => {
    // 300 records naming 20 new authors and 50 new topics each: a batch holding its table's name
    // lock for all of 200 of them (14,000 names, several seconds) failed the writes waiting behind it
    async function* source() {
      for (let i = 0; i < 300; i++) {
        yield {
          line: i + 1,
          record: {
            title: `Parish notices ${i}`,
            url: `https://heavy.example/${i}`,
            source: 'Heavy',
            publishedAt: new Date(Date.UTC(2024, 5, 1 + (i % 28))).toISOString(),
            priority: 2,
            authors: Array.from({ length: 20 }, (_, j) => `Warden ${i}-${j}`),
            topics: Array.from({ length: 50 }, (_, j) => `Notice ${i}-${j}`),
          },
        };
      }
    }
    let importing = true;
    const imported = (async () => {
      const statuses: string[] = [];
      try {
        for await (const outcome of importRecords(prisma, source(), editor)) statuses.push(outcome.status);
      } finally {
        importing = false;
      }
      return statuses;
    })();
    const writes: Promise<unknown>[] = [];
    for (let n = 0; importing; n++) {
      writes.push(
        upsertArticle(
          prisma,
          {
            title: `Meanwhile ${n}`,
            url: `https://meanwhile.example/${n}`,
            source: 'Meanwhile',
            publishedAt: new Date(Date.UTC(2025, 3, 1, 0, n)),
            priority: 3,
            authors: [{ name: `Passer-by ${n}` }],
            topics: [{ name: `Aside ${n}` }],
          },
          editor,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const statuses = await imported;
    expect(statuses.filter((status) => status !== 'created')).toEqual([]);
    expect(statuses).toHaveLength(300);
    const settled = await Promise.allSettled(writes);
    expect(writes.length).toBeGreaterThan(10);
    expect(
      settled
        .filter((result) => result.status === 'rejected')
        .map((result) => String((result as PromiseRejectedResult).reason)),
    ).toEqual([]);
  });
});
