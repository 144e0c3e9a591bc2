import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter } from './gql/graphql.ts';
import pg from 'pg';
import { articleFacets, type FacetArgs } from '../src/resolvers/articles/facets.ts';
import { codes, execute, query, recordStatements } from './support/api.ts';
import { serverUrl } from './support/targets.ts';
import { RequestScope, withScope } from '../src/requestScope.ts';

/**
 * Facets of large result sets: beyond `sampleAbove` matches (and outside the count rollup) the
 * breakdowns are counted on a uniform sample of the matches, scaled to the exact total and
 * marked `exact: false`. The expected numbers are computed here from the fixture's own
 * attributes; only the sample's membership (a hash of the id) is read from the database.
 */

const SampledFacets = graphql(`
  query SampledFacets($search: String, $filter: ArticleFilter, $sampleAbove: Int) {
    articleFacets(search: $search, filter: $filter, topTopics: 3, topSources: 3, sampleAbove: $sampleAbove) {
      total
      totalExact
      exact
      sample {
        articles
        fraction
      }
      topics {
        topic {
          name
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

/** The articles over the articles whose hashed id is below `limit` of 1,024 buckets. */
async function sampleShare(limit: number): Promise<number> {
  const [row] = await prisma.$queryRaw<[{ all: number; sample: number }]>`
    SELECT count(*)::int AS "all", (count(*) FILTER (WHERE (hashint4("id") & 1023) < ${limit}))::int AS "sample"
    FROM "Article"`;
  return row.all / row.sample;
}

const MATCHING = 3_000;
const SOURCES = ['Numbat News', 'Termite Times', 'Banded Bulletin', 'Woodland Weekly'];
const TOPICS = ['Insectivores', 'Woodlands', 'Conservation', 'Nocturnal'];

type Seeded = { id: number; source: string; priority: number; isAustralian: boolean; month: string; topics: string[] };
let seeded: Seeded[] = [];

beforeAll(async () => {
  // skewed on purpose, so that the sample's order of sources and topics is the same as the whole's
  const source = (n: number) => SOURCES[n % 10 < 5 ? 0 : n % 10 < 8 ? 1 : n % 10 < 9 ? 2 : 3]!;
  const month = (n: number) => `2025-0${1 + (n % 7 === 0 ? 2 : n % 3)}`;
  await prisma.article.createMany({
    data: Array.from({ length: MATCHING }, (_, n) => ({
      title: `Numbat sighting ${n}`,
      url: `https://numbat.example/${n}`,
      urlKey: `https://numbat.example/${n}`,
      source: source(n),
      publishedAt: new Date(`${month(n)}-1${n % 10}T00:00:00Z`),
      priority: (n % 5) + 1,
      isAustralian: n % 4 !== 0,
    })),
  });
  const articles = await prisma.article.findMany({
    where: { urlKey: { startsWith: 'https://numbat.example/' } },
    orderBy: { id: 'asc' },
  });
  const topics = await Promise.all(
    TOPICS.map((name) => prisma.topic.create({ data: { name, slug: name.toLowerCase() } })),
  );
  const links: { articleId: number; topicId: number }[] = [];
  seeded = articles.map((article) => {
    const n = Number(article.url.split('/').at(-1));
    // Insectivores on every article, Woodlands on 2 in 3, Conservation on 1 in 3, Nocturnal on 1 in 10
    const names = TOPICS.filter((_, t) => [true, n % 3 !== 0, n % 3 === 0, n % 10 === 0][t]);
    for (const name of names) links.push({ articleId: article.id, topicId: topics[TOPICS.indexOf(name)]!.id });
    return {
      id: article.id,
      source: article.source,
      priority: article.priority,
      isAustralian: article.isAustralian,
      month: article.publishedAt.toISOString().slice(0, 7),
      topics: names,
    };
  });
  await prisma.articleTopic.createMany({ data: links });
});

/** The ids of the sample with `buckets` of the 1,024 hash buckets (the sample's hash of the id, facets.ts). */
async function sampleIds(buckets: number): Promise<Set<number>> {
  const rows = await prisma.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "Article" WHERE (hashint4("id") & 1023) < ${buckets}`;
  return new Set(rows.map((row) => row.id));
}

const tally = <K>(articles: Seeded[], key: (article: Seeded) => K) => {
  const counts = new Map<K, number>();
  for (const article of articles) counts.set(key(article), (counts.get(key(article)) ?? 0) + 1);
  return counts;
};

/** The facets of `matched` as the API should give them: counted on `counted`, scaled to matched.length. */
function expected(matched: Seeded[], counted: Seeded[]) {
  const scale = (count: number) =>
    counted === matched ? count : Math.round((count * matched.length) / counted.length);
  // ties: sources A-Z, topics in creation order (as the API breaks them)
  const top = (counts: Map<string, number>, tie: (a: string, b: string) => number) =>
    [...counts].sort((a, b) => b[1] - a[1] || tie(a[0], b[0])).slice(0, 3);
  const topicCounts = new Map<string, number>();
  for (const article of counted)
    for (const name of article.topics) topicCounts.set(name, (topicCounts.get(name) ?? 0) + 1);
  const months = tally(counted, (a) => a.month);
  return {
    total: matched.length,
    totalExact: true,
    exact: counted === matched,
    sample: counted === matched ? null : { articles: counted.length, fraction: counted.length / matched.length },
    topics: top(topicCounts, (a, b) => TOPICS.indexOf(a) - TOPICS.indexOf(b)).map(([name, count]) => ({
      topic: { name },
      count: scale(count),
    })),
    sources: top(
      tally(counted, (a) => a.source),
      (a, b) => a.localeCompare(b),
    ).map(([source, count]) => ({ source, count: scale(count) })),
    priorities: [1, 2, 3, 4, 5].map((priority) => ({
      priority,
      count: scale(counted.filter((a) => a.priority === priority).length),
    })),
    australian: [true, false].map((isAustralian) => ({
      isAustralian,
      count: scale(counted.filter((a) => a.isAustralian === isAustralian).length),
    })),
    months: [...months.keys()].sort().map((month) => ({ month, count: scale(months.get(month)!) })),
  };
}

describe('facets of large result sets', () => {
  it('counts every match at or below sampleAbove, and says the counts are exact', async () => {
    for (const sampleAbove of [MATCHING, 10_000, null]) {
      const { articleFacets } = await query(SampledFacets, { search: 'numbat', sampleAbove });
      expect(articleFacets).toEqual(expected(seeded, seeded));
    }
  });

  it("counts a search's every match while its 1/16 sample holds fewer than sampleAbove", async () => {
    // 3,000 matches: 1/16 of them (about 190) is too small a sample for 1,000
    const { articleFacets } = await query(SampledFacets, { search: 'numbat', sampleAbove: 1_000 });
    expect(articleFacets).toEqual(expected(seeded, seeded));
  });

  it("estimates a filter's facets from a uniform sample above sampleAbove: an exact total, scaled counts", async () => {
    // 3,000 matches, at least 1,000 sampled: 512 of 1,024 buckets (256 would expect 750)
    const inSample = await sampleIds(512);
    const counted = seeded.filter((article) => inSample.has(article.id));
    const text: ArticleFilter = { title: { startsWith: 'Numbat sighting' } };
    const { articleFacets } = await query(SampledFacets, { filter: text, sampleAbove: 1_000 });
    expect(articleFacets).toEqual(expected(seeded, counted));
    expect(articleFacets.sample!.articles).toBeGreaterThanOrEqual(1_000);
    // the estimates stay close to the truth (a sample of half the matches)
    const exact = expected(seeded, seeded);
    for (const [index, { count }] of articleFacets.priorities.entries()) {
      expect(Math.abs(count - exact.priorities[index]!.count)).toBeLessThan(exact.priorities[index]!.count * 0.2);
    }
  });

  it('never samples a filter the count rollup answers', async () => {
    // priority and Australian relevance are summed from the rollup: exact however many match
    const rollup = await query(SampledFacets, { filter: { priority: { gte: 1 } }, sampleAbove: 1_000 });
    expect(rollup.articleFacets).toEqual(expected(seeded, seeded));
  });

  it('narrows the sample with the matches: a filtered search samples what it matches', async () => {
    const filter: ArticleFilter = { priority: { gte: 3 } };
    const matched = seeded.filter((article) => article.priority >= 3); // 1,800
    // 1,800 x 512 / 1,024 = 900 < 1,000: no smaller sample is big enough, so all are counted, exactly
    expect((await query(SampledFacets, { search: 'numbat', filter, sampleAbove: 1_000 })).articleFacets).toEqual(
      expected(matched, matched),
    );
  });

  it('takes one statement for the sampled counts and one for the topics shown', async () => {
    const { statements } = await recordStatements(() => query(SampledFacets, { search: 'numbat', sampleAbove: 1_000 }));
    // on a server, the counts of a search run in a transaction with their own statement_timeout
    const counts = expect.stringContaining('WITH');
    expect(statements.filter((sql) => !/^(BEGIN|COMMIT)/.test(sql))).toEqual([
      ...(serverUrl ? [expect.stringContaining("set_config('statement_timeout'"), counts] : [counts]),
      expect.stringContaining('"Topic"'),
    ]);
  });

  it.skipIf(!serverUrl)(
    'estimates a search or a filter from its 1/16, then its 1/128 sample when counting runs past the budget, and says so',
    async () => {
      // 3,000 matches: every one is counted (the 1/16 sample holds about 190 < 1,000), unless that
      // takes longer than its budget: a lock held on the articles makes each statement wait,
      // until the statement that should answer is the one waiting (told by its text)
      const searched = { search: 'numbat', topTopics: 3, topSources: 3, sampleAbove: 1_000 };
      // the same articles by a filter the rollup cannot count: its sample read by the ids' indexes
      const filtered = { ...searched, search: null, filter: { title: { startsWith: 'Numbat sighting' } } };
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      // released `at` ms after the counting statement began to wait: after its budget and before
      // the end of the 1/16 one's (half of it) lets the 1/16 sample answer; after that, the 1/128
      const estimated = async (args: FacetArgs, budget: number, at: number) => {
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE "Article" IN ACCESS EXCLUSIVE MODE');
        const pending = articleFacets(prisma, args, { exactBudgetMs: budget });
        let waiting = false;
        for (let i = 0; i < 1_000 && !waiting; i++) {
          const { rows } = await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          );
          waiting = rows.length > 0;
        }
        expect(waiting).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, at));
        await admin.query('ROLLBACK');
        return pending;
      };
      try {
        for (const [args, buckets, budget, at] of [
          [searched, 64, 1_000, 1_250],
          [searched, 8, 300, 1_200],
          [filtered, 64, 1_000, 1_250],
        ] as const) {
          const facets = await estimated(args, budget, at);
          const ids = await sampleIds(buckets);
          const inSample = seeded.filter((article) => ids.has(article.id));
          const total = Math.round(inSample.length * (await sampleShare(buckets)));
          expect(facets.totalExact).toBe(false);
          expect(facets.total).toBe(total);
          expect(facets.sample).toEqual({ articles: inSample.length, fraction: inSample.length / total });
          const scaledCount = (n: number) => Math.round((n * total) / inSample.length);
          expect(facets.priorities).toEqual(
            [1, 2, 3, 4, 5].map((priority) => ({
              priority,
              count: scaledCount(inSample.filter((article) => article.priority === priority).length),
            })),
          );
          // the months span the sample's own first and last match
          const months = [...new Set(inSample.map((article) => article.month))].sort();
          expect([facets.months[0]!.month, facets.months.at(-1)!.month]).toEqual([months[0], months.at(-1)]);
        }
        // with the time it needs, the same request counts every match
        const exact = await articleFacets(prisma, searched, { exactBudgetMs: 200 });
        expect([exact.total, exact.totalExact, exact.sample]).toEqual([MATCHING, true, null]);
        const all = await articleFacets(prisma, { ...filtered, sampleAbove: 10_000 }, { exactBudgetMs: 200 });
        expect([all.total, all.totalExact, all.sample]).toEqual([MATCHING, true, null]);
      } finally {
        await admin.query('ROLLBACK').catch(() => undefined);
        await admin.end();
      }
    },
  );

  it("begins a budgeted count only once a slot of the request is free, so queueing never outlasts Prisma's transaction timeout", async () => {
    // one slot, held 5.5 s by another of the request's statements: a transaction begun at once
    // would wait that long for it with a connection open, past the 5 s timeout (P2028, 503)
    const scope = new RequestScope({ statementsAtOnce: 1 });
    const args = { search: 'numbat', topTopics: 3, topSources: 3, sampleAbove: 1_000 };
    const facets = await withScope(scope, async () => {
      const busy = scope.statement(() => new Promise((resolve) => setTimeout(resolve, 5_500)));
      const counted = articleFacets(prisma, args, { exactBudgetMs: 2_000 });
      await busy;
      return counted;
    });
    expect([facets.total, facets.totalExact]).toEqual([MATCHING, true]);
  }, 20_000);

  it('answers two budgeted facets and an article in one request: a transaction never waits for a slot inside', async () => {
    // the transactions took both slots at BEGIN, then their statements, run by Prisma in the
    // article's context, waited for a slot: no answer until the request's 30 s limit, and the
    // connections stayed idle in transaction
    const [first] = seeded;
    const result = await execute(
      graphql(`
        query TwoFacetsAndAnArticle($id: ID!) {
          a: articleFacets(filter: { title: { contains: "Numbat" } }) {
            total
          }
          b: articleFacets(filter: { title: { contains: "sighting" } }) {
            total
          }
          one: article(id: $id) {
            id
          }
        }
      `),
      { id: Buffer.from(`Article:${first!.id}`).toString('base64') },
    );
    expect(result.errors).toBeUndefined();
    expect([result.data?.a.total, result.data?.b.total]).toEqual([MATCHING, MATCHING]);
  }, 15_000);

  it('runs the estimated months from the first to the last match, also when the sample misses them', async () => {
    // an early article outside the sample (its hashed id at or above 512 of 1,024)
    let early: { id: number } | undefined;
    for (let n = 0; !early; n++) {
      const url = `https://numbat.example/early-${n}`;
      const row = await prisma.article.create({
        data: {
          title: 'Numbat fossil',
          url,
          urlKey: url,
          source: 'Numbat News',
          priority: 1,
          publishedAt: new Date('1990-01-15T00:00:00Z'),
        },
      });
      const [{ bucket }] = await prisma.$queryRaw<
        [{ bucket: number }]
      >`SELECT hashint4(${row.id}::int) & 1023 AS "bucket"`;
      if (bucket >= 512) early = row;
      else await prisma.article.delete({ where: { id: row.id } });
    }
    try {
      const filter: ArticleFilter = { title: { startsWith: 'Numbat' } };
      const { articleFacets } = await query(SampledFacets, { filter, sampleAbove: 1_000 });
      expect(articleFacets.exact).toBe(false);
      expect(articleFacets.months[0]).toEqual({ month: '1990-01', count: 0 });
      expect(articleFacets.months.at(-1)!.month).toBe('2025-03');
      expect(articleFacets.months).toHaveLength((2025 - 1990) * 12 + 3);
    } finally {
      await prisma.article.delete({ where: { id: early.id } });
    }
  });

  it('refuses a sampleAbove outside 1,000 to 1,000,000 with BAD_USER_INPUT', async () => {
    for (const sampleAbove of [999, 0, -1, 1_000_001]) {
      expect(codes(await execute(SampledFacets, { search: 'numbat', sampleAbove }))).toEqual(['BAD_USER_INPUT']);
    }
  });

  it("estimates a large search from its 1/16 sample, read through the sample's index, total included", async () => {
    // 17,000 matches of another word: 1/16 of them (about 1,060) hold sampleAbove (1,000), 1/128
    // (about 130) do not
    const many = 17_000;
    await prisma.$executeRaw`
      INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "updatedAt", "priority", "isAustralian")
      SELECT 'Quoll survey ' || n, 'https://quoll.example/' || n, 'https://quoll.example/' || n,
             (ARRAY['Quoll Quarterly', 'Spotted Standard', 'Dasyurid Daily'])[1 + n % 3],
             timestamptz '2023-01-01 00:00Z' + n * interval '1 hour', now(), 1 + n % 5, n % 2 = 0
      FROM generate_series(1, ${many}) n`;
    try {
      // the sample, counted here: the quolls whose hashed id is below 64 of 1,024
      const rows = await prisma.$queryRaw<{ priority: number; n: number }[]>`
        SELECT "priority", count(*)::int AS "n" FROM "Article"
        WHERE "urlKey" LIKE 'https://quoll.example/%' AND (hashint4("id") & 1023) < 64 GROUP BY 1`;
      const inSample = rows.reduce((sum, row) => sum + row.n, 0);
      const { statements, result } = await recordStatements(() =>
        query(SampledFacets, { search: 'quoll', sampleAbove: 1_000 }),
      );
      const facets = result.articleFacets;
      expect(inSample).toBeGreaterThanOrEqual(1_000);
      expect(facets.exact).toBe(false);
      expect(facets.totalExact).toBe(false);
      expect(facets.sample!.articles).toBe(inSample);
      // scaled by the articles over the articles in the sample's buckets (about 16)
      const scale = await sampleShare(64);
      const total = Math.min(Math.round(inSample * scale), await prisma.article.count());
      expect(facets.total).toBe(total);
      expect(facets.priorities).toEqual(
        [1, 2, 3, 4, 5].map((priority) => ({
          priority,
          count: Math.round(((rows.find((row) => row.priority === priority)?.n ?? 0) * total) / inSample),
        })),
      );
      // the estimate is near the truth, and the months still run from the first match to the last
      expect(Math.abs(facets.total - many)).toBeLessThan(many * 0.15);
      expect(facets.months[0]!.month).toBe('2023-01');
      expect(facets.months.at(-1)!.month).toBe('2024-12');
      // read through the partial index of the sample: its predicate, a literal, is in the statement
      expect(statements.some((sql) => sql.includes('(hashint4(a."id") & 1023) < 64'))).toBe(true);
      // filtered by their sources, which the rollup counts: the same sample, the filter applied
      // to it, the total at most the filter's exact count, the months from the first to the last
      const sources = ['Quoll Quarterly', 'Spotted Standard', 'Dasyurid Daily'];
      const bySource = (
        await query(SampledFacets, { search: 'quoll', filter: { source: { in: sources } }, sampleAbove: 1_000 })
      ).articleFacets;
      expect(bySource.totalExact).toBe(false);
      expect(bySource.sample!.articles).toBe(inSample);
      expect(bySource.total).toBe(Math.min(Math.round(inSample * scale), many));
      expect([bySource.months[0]!.month, bySource.months.at(-1)!.month]).toEqual(['2023-01', '2024-12']);
      // the same matches as a filter: an exact total, the same sample (bucket limit 64), scaled to it
      const filter: ArticleFilter = { title: { startsWith: 'Quoll survey' } };
      const filtered = (await query(SampledFacets, { filter, sampleAbove: 1_000 })).articleFacets;
      expect(filtered.total).toBe(many);
      expect(filtered.totalExact).toBe(true);
      expect(filtered.sample!.articles).toBe(inSample);
    } finally {
      await prisma.$executeRaw`DELETE FROM "Article" WHERE "urlKey" LIKE 'https://quoll.example/%'`;
    }
  });

  it('estimates from the 1/128 sample first, when it alone holds sampleAbove matches', async () => {
    // 1,000 matches whose ids all hash below 8 of 1,024: the 1/128 sample holds sampleAbove
    // (1,000) by itself, so nothing else is read and everything is scaled from it
    await prisma.$executeRaw`
      INSERT INTO "Article" ("id", "title", "url", "urlKey", "source", "publishedAt", "updatedAt", "priority", "isAustralian")
      SELECT n, 'Dunnart census ' || n, 'https://dunnart.example/' || n, 'https://dunnart.example/' || n,
             'Dunnart Digest', timestamptz '2022-01-01 00:00Z' + (n % 1000) * interval '1 day', now(), 1 + n % 5, n % 2 = 0
      FROM (SELECT n FROM generate_series(900000000, 900300000) n WHERE (hashint4(n) & 1023) < 8 LIMIT 1000) ids`;
    try {
      const rows = await prisma.$queryRaw<{ priority: number; n: number }[]>`
        SELECT "priority", count(*)::int AS "n" FROM "Article"
        WHERE "urlKey" LIKE 'https://dunnart.example/%' GROUP BY 1`;
      expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(1_000);
      const { statements, result } = await recordStatements(() =>
        query(SampledFacets, { search: 'dunnart', sampleAbove: 1_000 }),
      );
      const facets = result.articleFacets;
      expect(facets.totalExact).toBe(false);
      expect(facets.exact).toBe(false);
      // 1,000 x the articles / the articles in the first 8 buckets (every dunnart and a few
      // others), never more than the articles there are (the filter's exact count)
      const articles = await prisma.article.count();
      const total = Math.min(Math.round(1_000 * (await sampleShare(8))), articles);
      expect(total).toBeLessThan(articles);
      expect(facets.total).toBe(total);
      expect(facets.sample).toEqual({ articles: 1_000, fraction: 1_000 / total });
      expect(facets.sources).toEqual([{ source: 'Dunnart Digest', count: total }]);
      expect(facets.priorities).toEqual(
        [1, 2, 3, 4, 5].map((priority) => ({
          priority,
          count: Math.round(((rows.find((row) => row.priority === priority)?.n ?? 0) * total) / 1_000),
        })),
      );
      // filtered to priority 2 (about 200), no sample holds sampleAbove: counted exactly
      const narrowed = await query(SampledFacets, {
        search: 'dunnart',
        filter: { priority: { equals: 2 } },
        sampleAbove: 1_000,
      });
      expect(narrowed.articleFacets.totalExact).toBe(true);
      expect(narrowed.articleFacets.total).toBe(rows.find((row) => row.priority === 2)?.n);
      // the months still run from the first match to the last, exactly
      const span = await prisma.$queryRaw<[{ first: string; last: string }]>`
        SELECT to_char(min("publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM') AS "first",
               to_char(max("publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM') AS "last"
        FROM "Article" WHERE "urlKey" LIKE 'https://dunnart.example/%'`;
      expect([facets.months[0]!.month, facets.months.at(-1)!.month]).toEqual([span[0].first, span[0].last]);
      // read through the 1/128 sample's partial index: its predicate, a literal, is in the statement
      expect(statements.some((sql) => sql.includes('(hashint4(a."id") & 1023) < 8'))).toBe(true);
    } finally {
      await prisma.$executeRaw`DELETE FROM "Article" WHERE "urlKey" LIKE 'https://dunnart.example/%'`;
    }
  });
});
