import { config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { sqlState } from '../../db/errors.ts';
import { ErrorCode, UserInputError } from '../../errors.ts';
import { inHeldSlot } from '../../requestScope.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { articleCondition, type ArticleFilterInput } from '../lists/filter.ts';
import { and, tableScope, toSql } from '../lists/sqlWhere.ts';
import { rollupColumnsWhere, rollupCountSql, rollupPlan, rollupWhere, type RollupPlan } from './rollup.ts';
import { plannedSearch } from './search.ts';

type Sql = Prisma.Sql;

/**
 * How the articles of a result set (the same filter and search as `articles`) break down: by
 * topic, source, priority, Australian relevance and month of publication. One SQL statement. A
 * filter the count rollup answers (rollup.ts) groups its rows instead of the articles, exactly.
 * Otherwise the matches are counted; below 2 x `sampleAbove` matches, all of them are read once
 * and grouped five ways, else a uniform sample of them, whose counts are scaled and marked as
 * estimates, as Typesense samples facet counts beyond a threshold (`facet_sample_threshold`,
 * https://typesense.org/docs/latest/api/search.html): for a filter, about `sampleAbove` to
 * 2 x `sampleAbove` matches scaled to the exact total; for a search, 1/128 or 1/16 of the matches
 * read through partial indexes, the total estimated too (matchedFacetRows).
 *
 * The sample: a match is in it when its hashed id, `hashint4(id) & 1023`, is below a bucket
 * limit k: for a filter the smallest power of two whose expected sample (total x k / 1024) holds
 * at least `sampleAbove` matches, for a search 8 or 64 (SAMPLE_INDEX_LIMITS). The hash does not
 * depend on any counted column, so every article is equally likely to be in it, and the same ids
 * give the same sample on every database. (A btree index on the hash, intersected with the
 * search's GIN bitmap, was tried first: at a million articles the intersection outgrew work_mem,
 * went lossy, and rechecking its pages read more stored vectors than counting every match. The
 * partial GIN indexes hold only the sample's vectors.)
 */

/**
 * Arguments of `articleFacets`: the `articles` filter and search, and how many topics and sources
 * to list (0 to MAX_FACET_ENTRIES each).
 */
export interface FacetArgs {
  filter?: ArticleFilterInput | null;
  search?: string | null;
  topTopics: number;
  topSources: number;
  /** The smallest sample to estimate from (SAMPLE_ABOVE_RANGE): below twice this many matches every match is counted; null: always every match. */
  sampleAbove?: number | null;
  /** STORY: count stories (those with a matching article) instead of articles, exactly. */
  collapse?: 'STORY' | null;
}

/**
 * The breakdowns of the matching articles; `total` is how many match (an estimate when
 * `totalExact` is false). The breakdowns are exact unless `sample` is set: then each count is the
 * sample's count times `total / sample.articles`, rounded.
 */
export interface Facets {
  total: number;
  /** False when `total` is an estimate (a search's sample); counting every match makes it exact. */
  totalExact: boolean;
  /** Set when the breakdowns were counted on a sample: how many matching articles it held, and their share of `total` (0 to 1). */
  sample: { articles: number; fraction: number } | null;
  /** Topic ids with counts, most frequent first (ties: lower id first). */
  topics: { topicId: number; count: number }[];
  /** Most frequent first (ties: A-Z). */
  sources: { source: string; count: number }[];
  /** 1 to 5, each present (zero when no article has it). */
  priorities: { priority: number; count: number }[];
  /** true, then false; both present. */
  australian: { value: boolean; count: number }[];
  /** Every month (UTC) from the earliest to the latest matching article, zero-filled. */
  months: { month: string; start: Date; count: number }[];
}

/** Most topics (`topTopics`) and most sources (`topSources`) one facet query may list. */
export const MAX_FACET_ENTRIES = 100;

/**
 * `sampleAbove`'s default: estimates from at least 2,500 sampled matches, within about 1.2
 * percentage points of a 10% share (95% confidence), as a facet list shows "about" counts.
 */
export const DEFAULT_SAMPLE_ABOVE = 2_500;

/** The values `sampleAbove` accepts: a smaller sample would make estimates too rough to show. */
export const SAMPLE_ABOVE_RANGE = { min: 1_000, max: 1_000_000 } as const;

/** Hash buckets of the sample: `hashint4(id) & (SAMPLE_BUCKETS - 1)`. */
const SAMPLE_BUCKETS = 1024;

function checkTop(value: number, argumentName: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FACET_ENTRIES) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"${argumentName}" must be between 0 and ${MAX_FACET_ENTRIES}; got ${value}`,
      { argumentName },
    );
  }
  return value;
}

/** "YYYY-MM" of every month from `first` to `last` inclusive. */
export function monthsBetween(first: string, last: string): string[] {
  const out: string[] = [];
  let [year, month] = first.split('-').map(Number) as [number, number];
  const [lastYear, lastMonth] = last.split('-').map(Number) as [number, number];
  while (year < lastYear || (year === lastYear && month <= lastMonth)) {
    out.push(`${year}-${String(month).padStart(2, '0')}`);
    month += 1;
    if (month > 12) [year, month] = [year + 1, 1];
  }
  return out;
}

function checkSampleAbove(value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < SAMPLE_ABOVE_RANGE.min || value > SAMPLE_ABOVE_RANGE.max) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"sampleAbove" must be null or between ${SAMPLE_ABOVE_RANGE.min} and ${SAMPLE_ABOVE_RANGE.max}; got ${value}`,
      { argumentName: 'sampleAbove' },
    );
  }
  return value;
}

type FacetRow = { facet: string; key: string | null; count: number; rank: number };

/**
 * Counts the articles matching `args.filter` and `args.search` in one statement. BAD_USER_INPUT
 * for `topTopics`/`topSources` outside 0..MAX_FACET_ENTRIES, `sampleAbove` outside
 * SAMPLE_ABOVE_RANGE, a blank, too long or only excluding search, and bad filter values.
 *
 * Outside the rollup, with `sampleAbove`, the matches are counted within `options.exactBudgetMs`
 * (default exactBudgetMs(); null: no budget): the statement runs in a transaction with that
 * statement_timeout, and when it runs past it, the 1/16 sample estimates every count instead
 * (totalExact and exact false) within half that, and past that the 1/128 sample, under the
 * statement limit only; so matches that are costly to find (a phrase of common words, a `text`
 * filter over a million articles) are not a timeout.
 */
export async function articleFacets(
  db: Db,
  args: FacetArgs,
  options: { exactBudgetMs?: number | null } = {},
): Promise<Facets> {
  const topTopics = checkTop(args.topTopics, 'topTopics');
  const topSources = checkTop(args.topSources, 'topSources');
  const sampleAbove = checkSampleAbove(args.sampleAbove);
  const condition = articleCondition(args.filter);
  const search = args.search != null ? await plannedSearch(db, args.search, 'search') : null;
  if (args.collapse === 'STORY') {
    const from = search ? search.from : Prisma.sql`"Article" a`;
    const filter = toSql(condition, tableScope('a'));
    return toFacets(
      await storyFacetRows(db, from, search ? and([search.where, filter]) : filter, topTopics, topSources),
    );
  }
  // what the filter alone matches, when the count rollup answers it
  const bound = rollupPlan(condition);
  const rollup = search ? null : bound;
  if (rollup && rollup.topicId === 0 && !(rollup.usesSource && topTopics > 0)) {
    return toFacets(await rollupFacetRows(db, rollup, topTopics, topSources));
  }
  const filter = toSql(condition, tableScope('a'));
  const from = search ? search.from : Prisma.sql`"Article" a`;
  const where = search ? and([search.where, filter]) : filter;
  // what matches is at most what the filter does: counted from the rollup when it answers it
  const ceiling = bound ? rollupCountSql(bound) : null;
  const parts = search ? { search: search.where, filter } : null;
  const budget = options.exactBudgetMs === undefined ? exactBudgetMs() : options.exactBudgetMs;
  const rows = (sampleOnly: SampleOnly) =>
    matchedFacetRows(
      db,
      from,
      where,
      sampleAbove,
      topTopics,
      topSources,
      // a sample alone: a search's through its partial GIN indexes, a filter's through the
      // partial indexes of the ids in the sample's buckets, the filter tested on each
      sampleOnly != null ? (parts ?? { search: Prisma.sql`TRUE`, filter }) : parts,
      ceiling,
      sampleOnly,
    );
  if (sampleAbove == null || budget == null) return toFacets(await rows(null));
  // every match counted within the budget, else the 1/16 sample's estimate within half that,
  // else the 1/128 sample's (a filter tested on each sampled article can be slow too)
  const exact = await withinBudget(db, budget, rows(null));
  if (exact) return toFacets(exact);
  const large = await withinBudget(db, Math.max(1, Math.floor(budget / 2)), rows(SAMPLE_INDEX_LIMITS[1]));
  return toFacets(large ?? (await rows(SAMPLE_INDEX_LIMITS[0])));
}

/**
 * How long facets outside the rollup may spend counting every match, in ms: half the
 * statement time limit (STATEMENT_TIMEOUT_MS) on a PostgreSQL server; none on the embedded
 * database (which stops a statement only by restarting) or without a limit. Past it, the answer
 * is a sample's estimate (matchedFacetRows), as Elasticsearch answers a search that ran past
 * its `timeout` with what it found (`timed_out`) rather than an error.
 */
function exactBudgetMs(): number | null {
  const settings = config();
  if (settings.database.kind !== 'postgres' || settings.statementTimeoutMs <= 0) return null;
  return Math.max(2, Math.floor(settings.statementTimeoutMs / 2));
}

/** A sample that answers by itself (its bucket limit, SAMPLE_INDEX_LIMITS), or null: as sampleAbove decides. */
type SampleOnly = (typeof SAMPLE_INDEX_LIMITS)[number] | null;

/**
 * Runs `statement` in a transaction whose statement_timeout is `ms`; undefined when it ran past
 * that (SQLSTATE 57014; nothing was written, as it only reads). Other errors are thrown.
 */
async function withinBudget<T>(db: Db, ms: number, statement: Prisma.PrismaPromise<T>): Promise<T | undefined> {
  try {
    // in one of the request's slots, taken before it begins
    const [, result] = await inHeldSlot(() =>
      db.$transaction([db.$queryRaw`SELECT set_config('statement_timeout', ${String(ms)}, true)`, statement]),
    );
    return result;
  } catch (error) {
    if (sqlState(error) === '57014') return undefined;
    throw error;
  }
}

/**
 * Bucket limits of the partial GIN indexes of a search's sample (the facet_sample_indexes
 * migration), smallest first: the stored vectors of the articles whose hashed id is below 8, and
 * below 64, of the 1,024 buckets (1/128 and 1/16 of the articles).
 */
export const SAMPLE_INDEX_LIMITS = [8, 64] as const;

/**
 * The facets of the matching articles themselves.
 *
 * A filter alone: every match read once and counted (`total`, exact), then all of them or the
 * sample of the smallest power-of-two bucket limit that holds about `sampleAbove` grouped.
 *
 * A search: PostgreSQL reads every match's row even to count a text search's matches (the GIN
 * index does not count them alone): 45k pages for a search's 56k matches at a million articles.
 * So a search reads the 1/128 sample of the articles first, through its partial index; when that
 * holds fewer than `sampleAbove` matches, the 1/16 sample through its own; it groups the first
 * that holds `sampleAbove`, and the total too is then an estimate, and says so: the sample's
 * matches x the articles / the articles in the sample's buckets (a bucket's share varies around
 * its nominal one), at most what the filter alone matches when the count rollup answers the
 * filter. When neither holds enough (fewer than about 16 x `sampleAbove` matches) every match is
 * read and counted exactly. Each read is a branch gated on the one before (a one-time filter), in
 * one statement. The span of the months runs from the first to the last match either way (the
 * publication index, walked until a match).
 *
 * `sampleOnly` (8 or 64): never every match; the sample of that bucket limit answers, however
 * few it holds (with 64, the 1/128 one still does when it holds `sampleAbove`), and the months
 * span its own matches. For a search whose exact count ran past its time (articleFacets): few
 * matches among many candidates, as a phrase of common words, or a costly filter.
 */
function matchedFacetRows(
  db: Db,
  from: Sql,
  where: Sql,
  sampleAbove: number | null,
  topTopics: number,
  topSources: number,
  search: { search: Sql; filter: Sql } | null,
  ceiling: Sql | null,
  sampleOnly: SampleOnly = null,
): Prisma.PrismaPromise<FacetRow[]> {
  const buckets = Prisma.raw(String(SAMPLE_BUCKETS));
  const bucket = Prisma.raw(`(hashint4(a."id") & ${SAMPLE_BUCKETS - 1})`);
  const columns = Prisma.sql`a."id", a."source", a."priority", a."isAustralian", a."publishedAt"`;
  const [small, large] = SAMPLE_INDEX_LIMITS.map((limit) => Prisma.raw(String(limit)));
  // every article, from the count rollup
  const everything = rollupCountSql(rollupPlan(articleCondition(null))!);
  const head =
    search && sampleAbove != null
      ? Prisma.sql`
    -- the 1/128 sample, then (when it holds fewer than sampleAbove) the 1/16 sample, then (when
    -- that does too) every match; the literal bounds let the planner use the sample's partial
    -- indexes, and each read after the first is gated by a one-time filter on the one before.
    -- A sample is read by its search first and filtered after (OFFSET 0 keeps the planner from
    -- merging the filter in): a filter driving the plan (a topic's 133k links) would test every
    -- one of its articles' stored vectors, 2 s for each read, where a sample is bounded
    small AS MATERIALIZED (
      SELECT ${columns}
      FROM (SELECT a.* FROM ${from} WHERE ${search.search} AND ${bucket} < ${small} OFFSET 0) a
      WHERE ${search.filter}
    ),
    large AS MATERIALIZED (
      SELECT ${columns}
      FROM (
        SELECT a.* FROM ${from}
        WHERE ${search.search} AND (SELECT count(*) FROM small) < ${sampleAbove} AND ${bucket} < ${large}
          AND ${sampleOnly === SAMPLE_INDEX_LIMITS[0] ? Prisma.sql`FALSE` : Prisma.sql`TRUE`}
        OFFSET 0
      ) a
      WHERE ${search.filter}
    ),
    limits AS (
      SELECT CASE WHEN (SELECT count(*) FROM small) >= ${sampleAbove} THEN ${small}
                  WHEN (SELECT count(*) FROM large) >= ${sampleAbove} THEN ${large}
                  ELSE ${sampleOnly != null ? Prisma.raw(String(sampleOnly)) : buckets} END AS "k"
    ),
    every AS MATERIALIZED (
      SELECT ${columns} FROM ${from} WHERE ${where} AND (SELECT l."k" FROM limits l) = ${buckets}
    ),
    matched AS (
      SELECT * FROM small WHERE (SELECT l."k" FROM limits l) = ${small}
      UNION ALL SELECT * FROM large WHERE (SELECT l."k" FROM limits l) = ${large}
      UNION ALL SELECT * FROM every
    ),
    -- the sample's matches x the articles / the articles in the sample's buckets (counted through
    -- the partial indexes of their ids), at most what the filter alone matches
    total AS (
      SELECT CASE WHEN l."k" = ${buckets} THEN (SELECT count(*) FROM every)::int
                  ELSE LEAST(
                    round((SELECT count(*) FROM matched) * ${everything}::numeric / GREATEST(
                      CASE l."k" WHEN ${small} THEN (SELECT count(*) FROM "Article" a WHERE ${bucket} < ${small})
                                 ELSE (SELECT count(*) FROM "Article" a WHERE ${bucket} < ${large}) END, 1)),
                    ${ceiling ?? Prisma.sql`NULL`})::int END AS "n",
             l."k" = ${buckets} AS "exact"
      FROM limits l
    ),
    -- sampled, so many match: the publication index walked from each end to the first match
    -- (written as ORDER BY ... LIMIT 1: PostgreSQL turns min() into that walk only for a query
    -- of one table, and a filter's EXISTS joins another; the aggregate read 489k links, 16 s)
    span AS (${
      sampleOnly != null
        ? Prisma.sql`
      -- the estimate of counts that ran out of time: the sample's own span
      SELECT min(m."publishedAt") AS "first", max(m."publishedAt") AS "last" FROM matched m`
        : Prisma.sql`
      SELECT CASE WHEN (SELECT l."k" FROM limits l) = ${buckets}
                  THEN (SELECT min(m."publishedAt") FROM every m)
                  ELSE (SELECT a."publishedAt" FROM ${from} WHERE ${where} ORDER BY a."publishedAt" LIMIT 1) END AS "first",
             CASE WHEN (SELECT l."k" FROM limits l) = ${buckets}
                  THEN (SELECT max(m."publishedAt") FROM every m)
                  ELSE (SELECT a."publishedAt" FROM ${from} WHERE ${where} ORDER BY a."publishedAt" DESC LIMIT 1) END AS "last"`
    })`
      : Prisma.sql`
    every AS MATERIALIZED (SELECT ${columns}, ${bucket} AS "bucket" FROM ${from} WHERE ${where}),
    total AS (SELECT count(*)::int AS "n", TRUE AS "exact" FROM every),
    limits AS (
      SELECT CASE WHEN ${sampleAbove}::int IS NULL OR t."n" <= ${sampleAbove}::int THEN ${buckets}
                  ELSE (SELECT min(2 ^ g)::int FROM generate_series(0, 10) g
                        WHERE t."n"::float8 * 2 ^ g >= ${buckets}::float8 * ${sampleAbove}::int) END AS "k"
      FROM total t
    ),
    matched AS MATERIALIZED (SELECT e.* FROM every e, limits l WHERE e."bucket" < l."k"),
    span AS (SELECT min(e."publishedAt") AS "first", max(e."publishedAt") AS "last" FROM every e)`;
  return db.$queryRaw<FacetRow[]>`
    WITH ${head}
    SELECT 'total' AS "facet", (SELECT t."exact"::text FROM total t) AS "key", (SELECT t."n" FROM total t) AS "count",
           0::int AS "rank"
    UNION ALL
    SELECT 'sampled', NULL, count(*)::int, 0 FROM matched
    UNION ALL
    -- the months run from the first to the last match, sampled or not
    SELECT 'first', to_char(s."first" AT TIME ZONE 'UTC', 'YYYY-MM'), 0, 0 FROM span s
    UNION ALL
    SELECT 'last', to_char(s."last" AT TIME ZONE 'UTC', 'YYYY-MM'), 0, 0 FROM span s
    UNION ALL
    SELECT 'priority', m."priority"::text, count(*)::int, 0 FROM matched m GROUP BY m."priority"
    UNION ALL
    SELECT 'australian', m."isAustralian"::text, count(*)::int, 0 FROM matched m GROUP BY m."isAustralian"
    UNION ALL
    SELECT 'month', to_char(m."publishedAt" AT TIME ZONE 'UTC', 'YYYY-MM'), count(*)::int, 0
    FROM matched m GROUP BY 2
    UNION ALL
    -- ties A-Z in the collation titles and names sort by (rank: UNION ALL keeps no order)
    (SELECT 'source', m."source", count(*)::int,
            (row_number() OVER (ORDER BY count(*) DESC, m."source" COLLATE "und-x-icu", m."source" COLLATE "C"))::int
     FROM matched m GROUP BY m."source" ORDER BY 4 LIMIT ${topSources})
    UNION ALL
    (SELECT 'topic', t."topicId"::text, count(*)::int,
            (row_number() OVER (ORDER BY count(*) DESC, t."topicId"))::int
     -- each match's links through the (articleId, topicId) key, as a nested loop: the planner
     -- cannot know which branch fills "matched" and, guessing all of them, would hash every link
     FROM matched m CROSS JOIN LATERAL (
       SELECT l."topicId" FROM "ArticleTopic" l WHERE l."articleId" = m."id" OFFSET 0
     ) t
     GROUP BY t."topicId" ORDER BY 4 LIMIT ${topTopics})`;
}

/**
 * The facets of the stories with a matching article (`collapse: STORY`): each count is how many
 * stories have a matching article with that value (a story whose matches differ in priority
 * counts under each), exactly, in one statement; the months span the matches.
 */
function storyFacetRows(db: Db, from: Sql, where: Sql, topTopics: number, topSources: number) {
  return db.$queryRaw<FacetRow[]>`
    WITH every AS MATERIALIZED (
      SELECT a."id", a."storyId", a."source", a."priority", a."isAustralian", a."publishedAt" FROM ${from} WHERE ${where}
    )
    SELECT 'total' AS "facet", 'true' AS "key", count(DISTINCT e."storyId")::int AS "count", 0::int AS "rank" FROM every e
    UNION ALL
    SELECT 'first', to_char(min(e."publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM'), 0, 0 FROM every e
    UNION ALL
    SELECT 'last', to_char(max(e."publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM'), 0, 0 FROM every e
    UNION ALL
    SELECT 'priority', e."priority"::text, count(DISTINCT e."storyId")::int, 0 FROM every e GROUP BY e."priority"
    UNION ALL
    SELECT 'australian', e."isAustralian"::text, count(DISTINCT e."storyId")::int, 0 FROM every e GROUP BY e."isAustralian"
    UNION ALL
    SELECT 'month', to_char(e."publishedAt" AT TIME ZONE 'UTC', 'YYYY-MM'), count(DISTINCT e."storyId")::int, 0
    FROM every e GROUP BY 2
    UNION ALL
    (SELECT 'source', g."source", g."n", (row_number() OVER (ORDER BY g."n" DESC, g."source" COLLATE "und-x-icu", g."source" COLLATE "C"))::int
     FROM (SELECT e."source", count(DISTINCT e."storyId")::int AS "n" FROM every e GROUP BY e."source") g
     ORDER BY 4 LIMIT ${topSources})
    UNION ALL
    (SELECT 'topic', g."topicId"::text, g."n", (row_number() OVER (ORDER BY g."n" DESC, g."topicId"))::int
     FROM (SELECT l."topicId", count(DISTINCT e."storyId")::int AS "n"
           FROM every e JOIN "ArticleTopic" l ON l."articleId" = e."id" GROUP BY l."topicId") g
     ORDER BY 4 LIMIT ${topTopics})`;
}

/**
 * The same facets summed from the count rollup (rollup.ts), for a filter it answers over every
 * article's row: the topics from the per-topic rows with the same condition (so not when the
 * condition tests the source, which those rows do not have). Keys whose rows sum to zero are
 * left out, as no article has them.
 */
function rollupFacetRows(db: Db, plan: RollupPlan, topTopics: number, topSources: number): Promise<FacetRow[]> {
  // by month, for the month facet
  const where = rollupWhere(plan, true);
  // every topic's rows, under the same condition (all-months rows, unless it bounds the month)
  const topics = topTopics > 0 ? rollupColumnsWhere(plan) : Prisma.sql`FALSE`;
  return db.$queryRaw<FacetRow[]>`
    WITH matched AS MATERIALIZED (
      SELECT r."source", r."priority", r."isAustralian", r."publishedMonth", sum(r."n")::int AS "n"
      FROM "ArticleRollup" r WHERE ${where} GROUP BY 1, 2, 3, 4 HAVING sum(r."n") <> 0
    )
    SELECT 'total' AS "facet", NULL::text AS "key", COALESCE(sum(m."n"), 0)::int AS "count", 0::int AS "rank"
    FROM matched m
    UNION ALL
    SELECT 'priority', m."priority"::text, sum(m."n")::int, 0 FROM matched m GROUP BY m."priority"
    UNION ALL
    SELECT 'australian', m."isAustralian"::text, sum(m."n")::int, 0 FROM matched m GROUP BY m."isAustralian"
    UNION ALL
    SELECT 'month', to_char(m."publishedMonth" AT TIME ZONE 'UTC', 'YYYY-MM'), sum(m."n")::int, 0
    FROM matched m GROUP BY 2
    UNION ALL
    (SELECT 'source', m."source", sum(m."n")::int,
            (row_number() OVER (ORDER BY sum(m."n") DESC, m."source" COLLATE "und-x-icu", m."source" COLLATE "C"))::int
     FROM matched m GROUP BY m."source" ORDER BY 4 LIMIT ${topSources})
    UNION ALL
    (SELECT 'topic', r."topicId"::text, sum(r."n")::int,
            (row_number() OVER (ORDER BY sum(r."n") DESC, r."topicId"))::int
     FROM "ArticleRollup" r WHERE r."topicId" <> 0 AND ${topics}
     GROUP BY r."topicId" HAVING sum(r."n") <> 0 ORDER BY 4 LIMIT ${topTopics})`;
}

/**
 * The facets of the statement's rows. When a `sampled` row says fewer matches were grouped than
 * `total`, every count is scaled by total / the sample's size and rounded.
 */
function toFacets(rows: FacetRow[]): Facets {
  const facets: Facets = {
    total: 0,
    totalExact: true,
    sample: null,
    topics: [],
    sources: [],
    priorities: [],
    australian: [],
    months: [],
  };
  const sources: { source: string; count: number; rank: number }[] = [];
  const topics: { topicId: number; count: number; rank: number }[] = [];
  const priorities = new Map<number, number>();
  const australian = new Map<boolean, number>();
  const months = new Map<string, number>();
  let sampled: number | null = null;
  const span: { first?: string; last?: string } = {};
  for (const row of rows) {
    if (row.facet === 'total') {
      facets.total = row.count;
      facets.totalExact = row.key !== 'false';
    } else if (row.facet === 'sampled') sampled = row.count;
    else if (row.facet === 'first' || row.facet === 'last') span[row.facet] = row.key ?? undefined;
    else if (row.facet === 'priority') priorities.set(Number(row.key), row.count);
    else if (row.facet === 'australian') australian.set(row.key === 'true', row.count);
    else if (row.facet === 'month') months.set(row.key!, row.count);
    else if (row.facet === 'source') sources.push({ source: row.key!, count: row.count, rank: row.rank });
    else if (row.facet === 'topic') topics.push({ topicId: Number(row.key), count: row.count, rank: row.rank });
  }
  // in the database's order (UNION ALL keeps each branch's order only by accident)
  facets.sources = sources.sort((x, y) => x.rank - y.rank).map(({ source, count }) => ({ source, count }));
  facets.topics = topics.sort((x, y) => x.rank - y.rank).map(({ topicId, count }) => ({ topicId, count }));
  facets.priorities = [1, 2, 3, 4, 5].map((priority) => ({ priority, count: priorities.get(priority) ?? 0 }));
  facets.australian = [true, false].map((value) => ({ value, count: australian.get(value) ?? 0 }));
  const seen = [...months.keys()].sort();
  const first = span.first ?? seen[0];
  const last = span.last ?? seen.at(-1);
  if (first && last) {
    facets.months = monthsBetween(first, last).map((month) => ({
      month,
      start: new Date(`${month}-01T00:00:00.000Z`),
      count: months.get(month) ?? 0,
    }));
  }
  // an estimated total always comes with its sample, even one that matched nothing
  return sampled == null || (facets.totalExact && sampled === facets.total) ? facets : scaled(facets, sampled);
}

/** A sample's facets as estimates of the whole: each count times total / sample size, rounded. */
function scaled(sample: Facets, size: number): Facets {
  const total = sample.total;
  const estimate = <T extends { count: number }>(entries: T[]) =>
    entries.map((entry) => ({ ...entry, count: size ? Math.round((entry.count * total) / size) : 0 }));
  return {
    total,
    totalExact: sample.totalExact,
    sample: { articles: size, fraction: total ? size / total : 0 },
    topics: estimate(sample.topics),
    sources: estimate(sample.sources),
    priorities: estimate(sample.priorities),
    australian: estimate(sample.australian),
    months: estimate(sample.months),
  };
}
