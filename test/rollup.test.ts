import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { compactRollup } from '../src/db/rollupCompaction.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter } from './gql/graphql.ts';
import { execute, query, recordStatements } from './support/api.ts';
import { globalId, seedDemo, type SeededArticle } from './support/demo.ts';
import { callers } from './support/keys.ts';
import { rollupDrift } from './support/rollup.ts';
import { serverUrl } from './support/targets.ts';

/**
 * The count rollup (ArticleRollup, kept by triggers) answers totals and facets of filters on
 * priority, Australian relevance, source, whole months and one topic. Its answers must be the
 * ones counting the articles gives, after every kind of write, concurrent ones included (on the
 * PostgreSQL server).
 */

const Totals = graphql(`
  query RollupTotals($filter: ArticleFilter) {
    articles(filter: $filter, first: 1) {
      totalCount
      count(cap: 3) {
        value
        isCapped
      }
    }
  }
`);

const Facets = graphql(`
  query RollupFacets($filter: ArticleFilter) {
    articleFacets(filter: $filter, topTopics: 100, topSources: 100) {
      total
      topics {
        topic {
          id
        }
        count
      }
      sources {
        source
        count
      }
      priorities {
        priority
        count
      }
      australian {
        isAustralian
        count
      }
      months {
        month
        count
      }
    }
  }
`);

const CreateArticle = graphql(`
  mutation RollupCreate($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          topics {
            id
          }
        }
      }
    }
  }
`);
const UpdateArticle = graphql(`
  mutation RollupUpdate($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
    }
  }
`);
const DeleteArticle = graphql(`
  mutation RollupDelete($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
    }
  }
`);
const MergeTopics = graphql(`
  mutation RollupMerge($input: MergeTopicsInput!) {
    mergeTopics(input: $input) {
      __typename
    }
  }
`);

let articles: SeededArticle[];
let editor: Record<string, string>;
let admin: Record<string, string>;
let topicIds: number[];

beforeAll(async () => {
  articles = await seedDemo();
  ({ editor, admin } = await callers());
  topicIds = (await prisma.topic.findMany({ orderBy: { articleCount: 'desc' }, select: { id: true } })).map(
    (t) => t.id,
  );
});

/** Always true, and outside the rollup's columns: the same filter answered by counting articles. */
const counted = (filter: ArticleFilter): ArticleFilter => ({
  AND: [filter, { createdAt: { gte: '1970-01-01T00:00:00.000Z' } }],
});

/** Filters the rollup answers (built from the data, so each matches some articles). */
function rollupFilters(): ArticleFilter[] {
  const topic = globalId('Topic', topicIds[0]!);
  const source = articles[0]!.source;
  const month = new Date(articles[0]!.publishedAt);
  const monthStart = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1));
  const nextMonth = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
  const justBefore = (date: Date) => new Date(date.getTime() - 1).toISOString();
  return [
    {},
    { priority: { gte: 3 } },
    { priority: { in: [1, 5] }, isAustralian: true },
    { source: { equals: source.toUpperCase() } },
    { source: { contains: source.slice(1, 4) }, priority: { lt: 4 } },
    { publishedAt: { gte: monthStart.toISOString(), lt: nextMonth.toISOString() } },
    { publishedAt: { gt: justBefore(monthStart), lte: justBefore(nextMonth) } },
    { topics: { some: { id: { equals: topic } } }, priority: { gte: 3 } },
    { topics: { some: { id: { in: [topic] } } }, isAustralian: false, publishedAt: { lt: nextMonth.toISOString() } },
    { OR: [{ priority: { equals: 5 } }, { NOT: { isAustralian: true } }] },
    { NOT: { OR: [{ source: { startsWith: source.slice(0, 2) } }, { priority: { lte: 2 } }] } },
  ];
}

/** Filters it does not: a bound inside a month, two topics, a topic with a source, other columns. */
/** One topic by priority, relevance and any dates: counted on the topic's links (their copies). */
function linkFilters(): ArticleFilter[] {
  const topic = globalId('Topic', topicIds[1]!);
  const dates = articles.map((article) => new Date(article.publishedAt).getTime()).sort((a, b) => a - b);
  const middle = new Date(dates[Math.floor(dates.length / 2)]! + 7).toISOString();
  return [
    { topics: { some: { id: { equals: topic } } }, publishedAt: { gte: middle } },
    { topics: { some: { id: { equals: topic } } }, publishedAt: { lt: middle }, priority: { in: [2, 3, 4] } },
    { AND: [{ topics: { some: { id: { in: [topic] } } } }, { NOT: { publishedAt: { lte: middle } } }] },
  ];
}

/** Filters neither answers: two topics, a topic with a source, other columns and quantifiers. */
function countedFilters(): ArticleFilter[] {
  const [first, second] = topicIds.map((id) => globalId('Topic', id));
  const middle = new Date(articles[0]!.publishedAt).toISOString();
  return [
    { publishedAt: { gte: middle } },
    { topics: { some: { id: { in: [first!, second!] } } } },
    { topics: { some: { id: { equals: first! } } }, source: { contains: 'a' } },
    { topics: { every: { id: { equals: first! } } } },
    { title: { contains: 'the' } },
    { OR: [{ priority: { gte: 4 } }, { topics: { some: { id: { equals: first! } } } }] },
  ];
}

const Histogram = graphql(`
  query RollupHistogram($filter: ArticleFilter) {
    articleHistogram(
      filter: $filter
      interval: WEEK
      timeZone: "Australia/Sydney"
      from: "2020-01-01T00:00:00.000Z"
      to: "2027-01-01T00:00:00.000Z"
    ) {
      start
      count
    }
  }
`);

/** Which table a request's count read: the rollup, a topic's links, or the articles. */
function countedOn(statements: string[]): 'rollup' | 'links' | 'articles' {
  if (statements.some((sql) => sql.includes('"ArticleRollup"'))) return 'rollup';
  return statements.some((sql) => sql.includes('FROM "ArticleTopic" a')) ? 'links' : 'articles';
}

/**
 * Every filter's totals, facets and histogram equal counting the articles, and each kind of
 * filter is counted where it should be.
 */
async function expectSameAnswers(): Promise<void> {
  const kinds = [
    ...rollupFilters().map((filter) => ({ filter, on: 'rollup' })),
    ...linkFilters().map((filter) => ({ filter, on: 'links' })),
    ...countedFilters().map((filter) => ({ filter, on: 'articles' })),
  ];
  for (const { filter, on } of kinds) {
    const label = JSON.stringify(filter);
    const { statements, result } = await recordStatements(() => query(Totals, { filter }));
    expect(countedOn(statements), label).toBe(on);
    if (on === 'rollup') {
      // without a publication bound the count sums the all-months rows, not every month's
      const allMonths = statements.some((sql) => sql.includes(`"publishedMonth" = '-infinity'`));
      expect(allMonths, label).toBe(!('publishedAt' in filter));
    }
    expect(result, label).toEqual(await query(Totals, { filter: counted(filter) }));
    expect(await query(Facets, { filter }), label).toEqual(await query(Facets, { filter: counted(filter) }));
    const histogram = await recordStatements(() => query(Histogram, { filter }));
    // a histogram's bounds split months: only the topic's links answer it without the articles
    const viaLinks = on === 'links' || (on === 'rollup' && 'topics' in filter);
    expect(countedOn(histogram.statements), label).toBe(viaLinks ? 'links' : 'articles');
    expect(histogram.result, label).toEqual(await query(Histogram, { filter: counted(filter) }));
  }
}

describe('count rollup', () => {
  it('gives the counts and facets counting the articles gives', async () => {
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    await expectSameAnswers();
  });

  it('follows every kind of write, and compaction changes no count', async () => {
    const topics = topicIds.slice(0, 3).map((id) => ({ id: globalId('Topic', id) }));
    const created = await execute(
      CreateArticle,
      {
        input: {
          title: 'Rollup story',
          url: 'https://rollup.example/1',
          source: 'Rollup Wire',
          publishedAt: '2025-02-28T23:59:59.999Z',
          priority: 4,
          isAustralian: true,
          topics: topics.slice(0, 2),
        },
      },
      editor,
    );
    expect(created.data?.createArticle.__typename, JSON.stringify(created)).toBe('CreateArticleSuccess');
    const id = (created.data?.createArticle as { article: { id: string } }).article.id;
    const updates = [
      { priority: 2 },
      { publishedAt: '2025-03-01T00:00:00.000Z' },
      { isAustralian: false, source: 'Another Wire' },
      { topics: { add: [topics[2]!], remove: [topics[0]!] } },
      { topics: { set: [topics[0]!] }, priority: 5 },
    ];
    for (const [index, change] of updates.entries()) {
      const result = await execute(UpdateArticle, { input: { id, expectedVersion: index + 1, ...change } }, editor);
      expect(result.data?.updateArticle.__typename).toBe('UpdateArticleSuccess');
      expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    }
    // a demo article with topics goes, and its links with it (a cascade)
    const linked = articles.find((article) => article.topics.length > 0)!;
    const deleted = await execute(DeleteArticle, { input: { id: globalId('Article', linked.id) } }, admin);
    expect(deleted.data?.deleteArticle.__typename).toBe('DeleteArticleSuccess');
    const merged = await execute(
      MergeTopics,
      { input: { targetId: topics[0]!.id, sourceIds: [globalId('Topic', topicIds[4]!)] } },
      admin,
    );
    expect(merged.data?.mergeTopics.__typename).toBe('MergeTopicsSuccess');
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    await expectSameAnswers();

    const before = await prisma.articleRollup.count();
    expect(await compactRollup(prisma)).toBeGreaterThan(0);
    const [shape] = await prisma.$queryRaw<{ keys: number; rows: number }[]>`
      SELECT count(DISTINCT ("topicId", "source", "priority", "isAustralian", "publishedMonth"))::int AS "keys",
             count(*)::int AS "rows" FROM "ArticleRollup"`;
    const rows = shape!.rows;
    expect(rows).toBe(shape!.keys);
    expect(rows).toBeLessThan(before);
    expect(await prisma.articleRollup.count({ where: { n: { lte: 0 } } })).toBe(0);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    await expectSameAnswers();
  });

  it('keeps articleCount per statement: many links of one topic or author added, moved and removed at once', async () => {
    // as an import writes: one statement links every article to one topic, and bylines likewise
    const topic = await prisma.topic.create({ data: { name: 'Bulk Linked', slug: 'bulk-linked' } });
    const other = await prisma.topic.create({ data: { name: 'Bulk Moved', slug: 'bulk-moved' } });
    const author = await prisma.author.create({ data: { name: 'Bulk Byline' } });
    const ids = (await prisma.article.findMany({ select: { id: true } })).map((article) => article.id);
    await prisma.$executeRaw`
      INSERT INTO "ArticleTopic" ("articleId", "topicId") SELECT unnest(${ids}::int[]), ${topic.id}`;
    await prisma.$executeRaw`
      INSERT INTO "ArticleAuthor" ("articleId", "authorId", "position")
      SELECT unnest(${ids}::int[]), ${author.id}, 1000`;
    expect((await prisma.topic.findUniqueOrThrow({ where: { id: topic.id } })).articleCount).toBe(ids.length);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    // half of them move to another topic in one statement; an update that moves nothing changes nothing
    await prisma.$executeRaw`
      UPDATE "ArticleTopic" SET "topicId" = ${other.id} WHERE "topicId" = ${topic.id} AND "articleId" % 2 = 0`;
    await prisma.$executeRaw`UPDATE "ArticleTopic" SET "topicId" = "topicId" WHERE "topicId" = ${other.id}`;
    const moved = ids.filter((id) => id % 2 === 0).length;
    expect((await prisma.topic.findUniqueOrThrow({ where: { id: other.id } })).articleCount).toBe(moved);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    await prisma.$executeRaw`DELETE FROM "ArticleTopic" WHERE "topicId" IN (${topic.id}, ${other.id})`;
    await prisma.$executeRaw`DELETE FROM "ArticleAuthor" WHERE "authorId" = ${author.id}`;
    expect((await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).articleCount).toBe(0);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
  });

  it.runIf(serverUrl)('stays exact under concurrent writes of the same keys (PostgreSQL server)', async () => {
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        execute(
          CreateArticle,
          {
            input: {
              title: `Concurrent rollup ${i}`,
              url: `https://rollup.example/concurrent/${i}`,
              source: 'Rollup Wire',
              publishedAt: '2024-05-15T00:00:00.000Z',
              priority: 3,
              topics: [{ name: 'Concurrent rollup topic' }],
            },
          },
          editor,
        ),
      ),
    );
    const created = made.map(
      (result) => (result.data?.createArticle as { article: { id: string; topics: { id: string }[] } }).article,
    );
    const ids = created.map((article) => article.id);
    const topic = created[0]!.topics[0]!;
    expect(ids).toHaveLength(20);
    // at once: half move to another month and priority while compaction runs and the rest go
    await Promise.all([
      ...ids
        .slice(0, 10)
        .map((id, i) =>
          execute(
            UpdateArticle,
            { input: { id, expectedVersion: 1, priority: 1 + (i % 5), publishedAt: '2024-06-01T00:00:00.000Z' } },
            editor,
          ),
        ),
      ...ids.slice(10).map((id) => execute(DeleteArticle, { input: { id } }, admin)),
      compactRollup(prisma),
      compactRollup(prisma),
    ]);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    const filter = { topics: { some: { id: { equals: topic.id } } }, publishedAt: { gte: '2024-05-01T00:00:00.000Z' } };
    expect((await query(Totals, { filter })).articles.totalCount).toBe(10);
  });
  it.runIf(serverUrl)('copies an update that races a new link onto it (PostgreSQL server)', async () => {
    const article = await prisma.article.findFirstOrThrow({ orderBy: { id: 'asc' } });
    const topic = await prisma.topic.create({ data: { name: 'Rollup race', slug: 'rollup-race' } });
    for (const order of ['link first', 'update first'] as const) {
      await prisma.articleTopic.deleteMany({ where: { topicId: topic.id } });
      const pause = () => new Promise((resolve) => setTimeout(resolve, 400));
      const link = prisma.$transaction(
        async (tx) => {
          if (order === 'update first') await pause();
          await tx.$executeRaw`INSERT INTO "ArticleTopic" ("articleId", "topicId") VALUES (${article.id}, ${topic.id})`;
          if (order === 'link first') await pause();
        },
        { timeout: 10_000 },
      );
      const update = prisma.$transaction(
        async (tx) => {
          if (order === 'link first') await new Promise((resolve) => setTimeout(resolve, 100));
          await tx.$executeRaw`UPDATE "Article" SET "priority" = 6 - "priority", "publishedAt" = "publishedAt" - interval '40 days' WHERE "id" = ${article.id}`;
          if (order === 'update first') await pause();
        },
        { timeout: 10_000 },
      );
      await Promise.all([link, update]);
      expect(await rollupDrift(), order).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    }
  });

  it('compacts on a timer, and an interval with no new row only looks up the newest', async () => {
    const { startRollupCompaction } = await import('../src/db/rollupCompaction.ts');
    const silent = { debug: () => undefined, warn: () => undefined } as never;
    const { statements } = await recordStatements(async () => {
      const compaction = startRollupCompaction(prisma, silent, 50);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await compaction.stop();
    });
    const compactions = statements.filter((sql) => sql.includes('newsgraph_compact_rollup')).length;
    expect(compactions).toBe(1);
    expect(statements.filter((sql) => sql.includes('max("id")')).length).toBeGreaterThan(compactions);
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
  });

  it('refuses a link to a missing article as its foreign key does', async () => {
    const topic = await prisma.topic.findFirstOrThrow();
    await expect(
      prisma.$executeRaw`INSERT INTO "ArticleTopic" ("articleId", "topicId") VALUES (${2_000_000_000}, ${topic.id})`,
    ).rejects.toThrow(/23503|foreign key/);
    const author = await prisma.author.findFirstOrThrow();
    await expect(
      prisma.$executeRaw`INSERT INTO "ArticleAuthor" ("articleId", "authorId", "position") VALUES (${2_000_000_000}, ${author.id}, 0)`,
    ).rejects.toThrow(/23503|foreign key/);
  });

  it('empties the counts of what TRUNCATE empties', async () => {
    await prisma.$executeRawUnsafe('TRUNCATE "ArticleTopic"');
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    expect(await prisma.articleRollup.count({ where: { topicId: { not: 0 } } })).toBe(0);
    await prisma.$executeRawUnsafe('TRUNCATE "Article" CASCADE');
    expect(await rollupDrift()).toEqual({ keys: 0, copies: 0, articleCounts: 0 });
    expect((await query(Totals, { filter: { priority: { gte: 1 } } })).articles.totalCount).toBe(0);
  });
});
