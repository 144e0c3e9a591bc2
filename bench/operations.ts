/**
 * The benchmarked operations: each GraphQL request and, for reads, the hand-written SQL that
 * returns the same JSON document (the floor). The floor builds the whole response in one
 * statement with json_build_object, the best a bare server can do; the bench checks that the
 * API's answer equals the floor's before it times either.
 */

import { DEFAULT_SAMPLE_ABOVE } from '../src/resolvers/articles/facets.ts';
import { SYLLABLES } from './generate.ts';

export interface Operation {
  name: string;
  title: string;
  query: string;
  /** Variables for the i-th request (i from 0): varied where a real client would vary them. */
  variables: (i: number) => Record<string, unknown>;
  /** The floor's SQL: parameters from the same variables; returns one row with a `body` text. */
  floor?: { sql: string; params: (variables: Record<string, unknown>) => unknown[] };
  /** Needs an EDITOR key. */
  write?: boolean;
  /** Sent as this trusted document's id (`{ documentId, variables }`) instead of the query text. */
  documentId?: string;
}

export interface Fixtures {
  /** A topic of middling popularity (its database id). */
  topicId: number;
  /** Article ids to fetch by id. */
  articleIds: number[];
  /** A prolific author. */
  authorId: number;
  searchText: string;
  /** Articles the update mix may change (each once, at version 1). */
  updatableIds: number[];
  authorNames: string[];
  topicNames: string[];
}

/**
 * The body of the i-th story the write mix files: about 4 KB of the vocabulary's made-up words
 * (never a searched one), its own text, so the story detector reads, fingerprints and looks it up
 * as it would a new story's (a story of its own: the stories the reads list do not change).
 */
export function benchBody(i: number): string {
  let x = (Math.imul(i + 1, 2654435761) ^ process.pid) >>> 0;
  const words: string[] = [];
  for (let k = 0; k < 600; k++) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
    x = Math.imul(x ^ (x >>> 12), 0x297a2d39) >>> 0;
    const n = SYLLABLES.length;
    // a digit at the end: the vocabulary's words (2-4 of the same syllables) are letters only, so
    // no word of this body is ever a word the benchmarked searches look for (with 600 words drawn
    // per run, one sometimes was, and the facets of a search then differed from the floor's)
    words.push(`${SYLLABLES[x % n]}${SYLLABLES[(x >>> 8) % n]}${SYLLABLES[(x >>> 16) % n]}${x % 10}`);
  }
  return words.join(' ');
}

export const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
const idOf = (value: unknown) => Number(Buffer.from(String(value), 'base64').toString('utf8').split(':')[1]);

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const gid = (type: string, column: string) => `encode(convert_to('${type}:' || ${column}, 'UTF8'), 'base64')`;
const bylineNames = (article: string) =>
  `(SELECT COALESCE(json_agg(json_build_object('name', au."name") ORDER BY aa."position"), '[]')
    FROM "ArticleAuthor" aa JOIN "Author" au ON au."id" = aa."authorId" WHERE aa."articleId" = ${article})`;
const topicNames = (article: string) =>
  `(SELECT COALESCE(json_agg(json_build_object('name', tp."name") ORDER BY tp."name"), '[]')
    FROM "ArticleTopic" at JOIN "Topic" tp ON tp."id" = at."topicId" WHERE at."articleId" = ${article})`;

const CANONICAL_WHERE = `a."priority" >= 3 AND EXISTS (
  SELECT 1 FROM "ArticleTopic" t WHERE t."articleId" = a."id" AND t."topicId" = $1)`;

function canonicalFloor(withTotal: boolean): string {
  return `WITH page AS (
    SELECT a."id", a."title", a."source", a."publishedAt", a."priority" FROM "Article" a
    WHERE ${CANONICAL_WHERE} ORDER BY a."publishedAt" DESC, a."id" DESC LIMIT 20)
  SELECT json_build_object('data', json_build_object('articles', json_build_object(
    ${withTotal ? `'totalCount', (SELECT count(*) FROM "Article" a WHERE ${CANONICAL_WHERE}),` : ''}
    'edges', COALESCE((SELECT json_agg(json_build_object('node', json_build_object(
      'id', ${gid('Article', 'p."id"')}, 'title', p."title", 'source', p."source",
      'publishedAt', ${iso('p."publishedAt"')}, 'priority', p."priority",
      'authors', ${bylineNames('p."id"')}, 'topics', ${topicNames('p."id"')}))
      ORDER BY p."publishedAt" DESC, p."id" DESC) FROM page p), '[]'))))::text AS body`;
}

const canonicalQuery = (withTotal: boolean) => `query Canonical${withTotal ? 'WithTotal' : ''}($topic: ID!) {
  articles(first: 20, filter: { priority: { gte: 3 }, topics: { some: { id: { equals: $topic } } } }) {
    ${withTotal ? 'totalCount' : ''}
    edges { node { id title source publishedAt priority authors { name } topics { name } } }
  }
}`;

/**
 * The facets' floor: every breakdown of the articles matching `where` (on `a`), in one statement.
 * With `sampleAbove` (a search, with the API's default), as the API samples a search
 * (src/resolvers/articles/facets.ts): the first of the 1/128 and 1/16 hashed-id samples (read
 * through their partial indexes) holding sampleAbove matches gives every count, the total
 * included, scaled by the articles over the articles in its buckets (the total at most the
 * articles there are); when neither does, every match is counted. `exact`, `totalExact` and `sample` say which.
 */
const facetsFloor = (where: string, sampleAbove?: number) => {
  const sampled = sampleAbove != null;
  const est = (count: string) =>
    sampled ? `(CASE WHEN k.k = 1024 THEN ${count} ELSE round(${count}::numeric * k.total / k.size)::int END)` : count;
  const columns = 'a."id", a."source", a."priority", a."isAustralian", a."publishedAt"';
  return `WITH ${
    sampled
      ? `s8 AS MATERIALIZED (SELECT ${columns} FROM "Article" a WHERE ${where} AND (hashint4(a."id") & 1023) < 8),
        s64 AS MATERIALIZED (SELECT ${columns} FROM "Article" a
          WHERE ${where} AND (hashint4(a."id") & 1023) < 64 AND (SELECT count(*) FROM s8) < ${sampleAbove}),
        buckets AS (SELECT CASE WHEN (SELECT count(*) FROM s8) >= ${sampleAbove} THEN 8
                                WHEN (SELECT count(*) FROM s64) >= ${sampleAbove} THEN 64 ELSE 1024 END AS k),
        every AS MATERIALIZED (SELECT ${columns} FROM "Article" a WHERE ${where} AND (SELECT k FROM buckets) = 1024),
        m AS MATERIALIZED (SELECT * FROM s8 WHERE (SELECT k FROM buckets) = 8
          UNION ALL SELECT * FROM s64 WHERE (SELECT k FROM buckets) = 64 UNION ALL SELECT * FROM every),
        k AS (SELECT b.k, s.size,
                     CASE WHEN b.k = 1024 THEN s.size
                          ELSE LEAST(round(s.size * n.articles::numeric / CASE b.k
                                 WHEN 8 THEN (SELECT count(*) FROM "Article" a WHERE (hashint4(a."id") & 1023) < 8)
                                 ELSE (SELECT count(*) FROM "Article" a WHERE (hashint4(a."id") & 1023) < 64) END),
                               n.articles)::int END AS total
              -- every article: the rollup's all-months rows of no topic
              FROM (SELECT sum(r."n") AS articles FROM "ArticleRollup" r
                    WHERE r."topicId" = 0 AND r."publishedMonth" = '-infinity'::timestamptz) n,
                   buckets b, (SELECT count(*)::int AS size FROM m) s),`
      : `m AS MATERIALIZED (
          SELECT ${columns} FROM "Article" a WHERE ${where}),
        k AS (SELECT (SELECT count(*) FROM m) AS total),`
  }
        months AS (SELECT to_char(m."publishedAt" AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*)::int AS n FROM m GROUP BY 1),
        span AS (${
          sampled
            ? `SELECT to_char(min(a."publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM') AS lo,
                 to_char(max(a."publishedAt") AT TIME ZONE 'UTC', 'YYYY-MM') AS hi FROM "Article" a WHERE ${where}`
            : 'SELECT min(month) AS lo, max(month) AS hi FROM months'
        }),
        topics AS (SELECT t."topicId", count(*)::int AS n FROM "ArticleTopic" t JOIN m ON m."id" = t."articleId"
                   GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10),
        sources AS (SELECT m."source", count(*)::int AS n FROM m GROUP BY 1 ORDER BY 2 DESC, m."source" COLLATE "und-x-icu", m."source" COLLATE "C" LIMIT 10)
        SELECT json_build_object('data', json_build_object('articleFacets', json_build_object(
          'total', k.total,${
            sampled
              ? `
          'totalExact', k.k = 1024,
          'exact', k.k = 1024,
          'sample', CASE WHEN k.k = 1024 THEN NULL ELSE json_build_object('articles', k.size) END,`
              : ''
          }
          'topics', COALESCE((SELECT json_agg(json_build_object('topic', json_build_object(
              'id', ${gid('Topic', 'tp."id"')}, 'name', tp."name"), 'count', ${est('t.n')}) ORDER BY t.n DESC, t."topicId")
            FROM topics t JOIN "Topic" tp ON tp."id" = t."topicId"), '[]'),
          'sources', COALESCE((SELECT json_agg(json_build_object('source', s."source", 'count', ${est('s.n')})
            ORDER BY s.n DESC, s."source" COLLATE "und-x-icu", s."source" COLLATE "C") FROM sources s), '[]'),
          'priorities', (SELECT json_agg(json_build_object('priority', p, 'count',
            ${est('(SELECT count(*) FROM m WHERE m."priority" = p)')}) ORDER BY p) FROM generate_series(1, 5) p),
          'australian', (SELECT json_agg(json_build_object('isAustralian', v, 'count',
            ${est('(SELECT count(*) FROM m WHERE m."isAustralian" = v)')}) ORDER BY v DESC) FROM (VALUES (true), (false)) x(v)),
          'months', COALESCE((SELECT json_agg(json_build_object('month', to_char(g, 'YYYY-MM'),
              'count', ${est('COALESCE(months.n, 0)')}) ORDER BY g)
            FROM span, generate_series(to_date(span.lo, 'YYYY-MM'), to_date(span.hi, 'YYYY-MM'), interval '1 month') g
            LEFT JOIN months ON months.month = to_char(g, 'YYYY-MM')), '[]'))))::text AS body FROM k`;
};

export function operations(f: Fixtures): Operation[] {
  const topicVariables = () => ({ topic: globalId('Topic', f.topicId) });
  return [
    {
      name: 'canonical',
      title: 'List: 20 newest, priority >= 3, one topic, with authors, topics, totalCount',
      query: canonicalQuery(true),
      variables: topicVariables,
      floor: { sql: canonicalFloor(true), params: (v) => [idOf(v.topic)] },
    },
    {
      name: 'canonical-no-total',
      title: 'The same list without totalCount',
      query: canonicalQuery(false),
      variables: topicVariables,
      floor: { sql: canonicalFloor(false), params: (v) => [idOf(v.topic)] },
    },
    {
      name: 'search',
      title: 'Full-text search page (20, by relevance) with body highlights',
      query: `query Search($q: String!) {
  articles(search: $q, first: 20) {
    edges { highlight node { id title source publishedAt } }
  }
}`,
      variables: () => ({ q: f.searchText }),
      floor: {
        // The API's order: title matches, then head (title, description, summary) matches, then the
        // rest, each by ts_rank; a later run is ranked only when the earlier ones are short.
        sql: `WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query),
        titled AS (SELECT t."id" FROM "Article" t, q WHERE to_tsvector('english'::regconfig, t."title") @@ q.query),
        head AS (SELECT h."id" FROM "Article" h, q
          WHERE (to_tsvector('english'::regconfig, h."title")
                 || to_tsvector('english'::regconfig, h."description" || ' ' || h."summary")) @@ q.query),
        page AS (SELECT * FROM (
          (SELECT a."id", a."title", a."source", a."publishedAt", 20 + ts_rank(a."searchVector", q.query) AS rank
           FROM "Article" a, q WHERE a."searchVector" @@ q.query AND a."id" IN (SELECT "id" FROM titled)
           ORDER BY rank DESC, a."id" DESC LIMIT 20)
          UNION ALL
          (SELECT a."id", a."title", a."source", a."publishedAt", 10 + ts_rank(a."searchVector", q.query) AS rank
           FROM "Article" a, q WHERE a."searchVector" @@ q.query AND a."id" IN (SELECT "id" FROM head)
             AND a."id" NOT IN (SELECT "id" FROM titled)
           ORDER BY rank DESC, a."id" DESC LIMIT 20)
          UNION ALL
          (SELECT a."id", a."title", a."source", a."publishedAt", ts_rank(a."searchVector", q.query) AS rank
           FROM "Article" a, q WHERE a."searchVector" @@ q.query
             AND a."id" NOT IN (SELECT "id" FROM head) AND a."id" NOT IN (SELECT "id" FROM titled)
           ORDER BY rank DESC, a."id" DESC LIMIT 20)) tiers LIMIT 20)
        SELECT json_build_object('data', json_build_object('articles', json_build_object(
          'edges', COALESCE((SELECT json_agg(json_build_object(
            'highlight', ts_headline('english', a."body", q.query,
              'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'),
            'node', json_build_object('id', ${gid('Article', 'p."id"')}, 'title', p."title", 'source', p."source",
              'publishedAt', ${iso('p."publishedAt"')})) ORDER BY p.rank DESC, p."id" DESC)
          FROM page p JOIN "Article" a ON a."id" = p."id", q), '[]'))))::text AS body`,
        params: (v) => [v.q],
      },
    },
    {
      name: 'histogram',
      title: 'Histogram: a year of Sydney days of the canonical list (365 buckets)',
      query: `query Histogram($topic: ID!, $from: DateTime!, $to: DateTime!) {
  articleHistogram(
    filter: { priority: { gte: 3 }, topics: { some: { id: { equals: $topic } } } }
    interval: DAY
    timeZone: "Australia/Sydney"
    from: $from
    to: $to
  ) { start count }
}`,
      // 2025 in Sydney: midnight 1 January (UTC+11) to midnight 1 January 2026
      variables: () => ({ ...topicVariables(), from: '2024-12-31T13:00:00.000Z', to: '2025-12-31T13:00:00.000Z' }),
      floor: {
        sql: `WITH days AS (
          SELECT g AS day FROM generate_series(timestamp '2025-01-01', timestamp '2025-12-31', interval '1 day') g),
        counts AS (
          SELECT date_trunc('day', a."publishedAt" AT TIME ZONE 'Australia/Sydney') AS day, count(*)::int AS n
          FROM "Article" a WHERE ${CANONICAL_WHERE} AND a."publishedAt" >= $2::timestamptz AND a."publishedAt" < $3::timestamptz
          GROUP BY 1)
        SELECT json_build_object('data', json_build_object('articleHistogram', (SELECT json_agg(json_build_object(
            'start', ${iso("(d.day AT TIME ZONE 'Australia/Sydney')")}, 'count', COALESCE(c.n, 0)) ORDER BY d.day)
          FROM days d LEFT JOIN counts c ON c.day = d.day)))::text AS body`,
        params: (v) => [idOf(v.topic), v.from, v.to],
      },
    },
    {
      name: 'facets',
      title: 'Facets of priority >= 3: top 10 topics and sources, priorities, Australian, months',
      query: `query Facets {
  articleFacets(filter: { priority: { gte: 3 } }, topTopics: 10, topSources: 10) {
    total
    topics { topic { id name } count }
    sources { source count }
    priorities { priority count }
    australian { isAustralian count }
    months { month count }
  }
}`,
      variables: () => ({}),
      floor: {
        sql: facetsFloor('a."priority" >= 3'),
        params: () => [],
      },
    },
    {
      name: 'facets-search',
      title: 'Facets of the full-text search: top 10 topics and sources, priorities, Australian, months',
      query: `query FacetsSearch($q: String!) {
  articleFacets(search: $q, topTopics: 10, topSources: 10) {
    total
    totalExact
    exact
    sample { articles }
    topics { topic { id name } count }
    sources { source count }
    priorities { priority count }
    australian { isAustralian count }
    months { month count }
  }
}`,
      variables: () => ({ q: f.searchText }),
      floor: {
        sql: facetsFloor(`a."searchVector" @@ websearch_to_tsquery('english', $1)`, DEFAULT_SAMPLE_ABOVE),
        params: (v) => [v.q],
      },
    },
    {
      name: 'article',
      title: 'One article by id with every field, authors and topics',
      query: `query Article($id: ID!) {
  article(id: $id) {
    id title url source publishedAt createdAt updatedAt priority isAustralian
    description summary body version
    authors { id name }
    topics { id name slug }
  }
}`,
      variables: (i) => ({ id: globalId('Article', f.articleIds[i % f.articleIds.length]!) }),
      floor: {
        sql: `SELECT json_build_object('data', json_build_object('article', (
          SELECT json_build_object('id', ${gid('Article', 'a."id"')}, 'title', a."title", 'url', a."url",
            'source', a."source", 'publishedAt', ${iso('a."publishedAt"')}, 'createdAt', ${iso('a."createdAt"')},
            'updatedAt', ${iso('a."updatedAt"')}, 'priority', a."priority", 'isAustralian', a."isAustralian",
            'description', a."description", 'summary', a."summary", 'body', a."body", 'version', a."version",
            'authors', (SELECT COALESCE(json_agg(json_build_object('id', ${gid('Author', 'au."id"')}, 'name', au."name")
                ORDER BY aa."position"), '[]')
              FROM "ArticleAuthor" aa JOIN "Author" au ON au."id" = aa."authorId" WHERE aa."articleId" = a."id"),
            'topics', (SELECT COALESCE(json_agg(json_build_object('id', ${gid('Topic', 'tp."id"')}, 'name', tp."name",
                'slug', tp."slug") ORDER BY tp."name"), '[]')
              FROM "ArticleTopic" at JOIN "Topic" tp ON tp."id" = at."topicId" WHERE at."articleId" = a."id"))
          FROM "Article" a WHERE a."id" = $1)))::text AS body`,
        params: (v) => [idOf(v.id)],
      },
    },
    {
      name: 'author-page',
      title: "An author's page: name, count and 20 newest articles",
      query: `query AuthorPage($id: ID!) {
  author(id: $id) {
    name articleCount
    articles(first: 20) { edges { node { id title publishedAt priority } } }
  }
}`,
      variables: () => ({ id: globalId('Author', f.authorId) }),
      floor: {
        sql: `SELECT json_build_object('data', json_build_object('author', (
          SELECT json_build_object('name', au."name", 'articleCount', au."articleCount",
            'articles', json_build_object('edges', COALESCE((SELECT json_agg(json_build_object('node', json_build_object(
                'id', ${gid('Article', 'p."id"')}, 'title', p."title", 'publishedAt', ${iso('p."publishedAt"')},
                'priority', p."priority")) ORDER BY p."publishedAt" DESC, p."id" DESC)
              FROM (SELECT a."id", a."title", a."publishedAt", a."priority" FROM "ArticleAuthor" aa
                    JOIN "Article" a ON a."id" = aa."articleId" WHERE aa."authorId" = au."id"
                    ORDER BY a."publishedAt" DESC, a."id" DESC LIMIT 20) p), '[]')))
          FROM "Author" au WHERE au."id" = $1)))::text AS body`,
        params: (v) => [idOf(v.id)],
      },
    },
    {
      name: 'mutations',
      title:
        'Mutation mix: upsert a new story (with 2 authors, 2 topics and a 4 KB body the story detector reads), update the summary of another',
      write: true,
      query: `mutation Mix($article: CreateArticleInput!, $update: UpdateArticleInput!) {
  upsertArticle(input: $article) { __typename ... on UpsertArticleSuccess { created article { id version } } }
  updateArticle(input: $update) { __typename ... on UpdateArticleSuccess { article { id version summary } } }
}`,
      variables: (i) => ({
        article: {
          title: `Bench story ${i} ${process.pid}`,
          url: `https://bench.example/${process.pid}/${i}`,
          source: 'The Bench Times',
          publishedAt: new Date(Date.UTC(2026, 9, 1) + i * 1000).toISOString(),
          // Priority 1-2: outside the benchmarked lists and facets (priority >= 3).
          priority: (i % 2) + 1,
          isAustralian: i % 2 === 0,
          summary: 'A story filed by the benchmark.',
          body: benchBody(i),
          authors: [
            { name: f.authorNames[i % f.authorNames.length] },
            { name: f.authorNames[(i + 7) % f.authorNames.length] },
          ],
          topics: [
            { name: f.topicNames[i % f.topicNames.length] },
            { name: f.topicNames[(i + 3) % f.topicNames.length] },
          ],
        },
        update: {
          id: globalId('Article', f.updatableIds[i % f.updatableIds.length]!),
          expectedVersion: 1 + Math.floor(i / f.updatableIds.length),
          // Words outside the search: the searched results do not change.
          summary: `Summary revised by the benchmark, request ${i}.`,
        },
      }),
    },
  ];
}
