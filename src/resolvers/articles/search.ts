import type { Db } from '../../db/client.ts';
import { ErrorCode, UserInputError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { checkSearchText } from '../lists/filter.ts';
import type { RankTier } from '../lists/ranked.ts';

/**
 * Full-text search of articles (PostgreSQL text search, https://www.postgresql.org/docs/current/textsearch.html):
 * the stored `searchVector` (title A, description and summary B, body D) against a web-search query.
 */

type Sql = Prisma.Sql;

/** The text search configuration of the stored vectors (see the full_text_search migration). */
export const SEARCH_CONFIG = 'english';

/**
 * The tsquery of a web-search text: words are ANDed, "quoted phrases" match in order, `-word`
 * excludes, `or` is an alternative. websearch_to_tsquery accepts any text without syntax errors.
 */
export function tsQuery(text: string): Sql {
  return Prisma.sql`websearch_to_tsquery(${Prisma.raw(`'${SEARCH_CONFIG}'`)}, ${text})`;
}

/**
 * The search a client sent as `argumentName`, checked (checkSearchText) and planned
 * (articleSearch). BAD_USER_INPUT when its query has no word to find but only excludes: `-said`,
 * `the -said` (`the` is a stop word), `budget or -said`. Such a query matches nearly every
 * article and cannot use the word indexes (PostgreSQL's `querytree` of it is `T`), so at a
 * million articles it ran past the statement time limit. Only a text with a `-` can negate, so
 * only such a text costs one statement first, asking the database (whose parser, stop words
 * included, builds the query).
 */
export async function plannedSearch(db: Db, value: string, argumentName: string): Promise<ArticleSearch> {
  const text = checkSearchText(value, argumentName);
  if (text.includes('-')) {
    const [row] = await db.$queryRaw<{ tree: string }[]>`SELECT querytree(${tsQuery(text)}) AS tree`;
    if (row?.tree === 'T') {
      throw new UserInputError(
        ErrorCode.BAD_USER_INPUT,
        `"${argumentName}" only excludes words (-word); add a word the articles must contain`,
        { argumentName },
      );
    }
  }
  return articleSearch(text);
}

/** A planned search: its FROM (the table and the query), row condition, rank and tiers. */
export interface ArticleSearch {
  from: Sql;
  where: Sql;
  rank: Sql;
  tiers: RankTier[];
  /** The query as a FROM item named `query`, for `matchesOf` and `rankOf` in another statement part. */
  queryJoin: Sql;
  /** The match of another row `alias` of "Article" (for collapsed lists), with `queryJoin`. */
  matchesOf: (alias: string) => Sql;
  /** The rank of another row `alias`, tiers included: what the ranked list orders `a` by. */
  rankOf: (alias: string) => Sql;
}

/**
 * A text-search document of some of an article's text, as the search_tiers migration indexes it
 * (GIN): one to_tsvector per group of columns, concatenated with `||` as the stored
 * `searchVector` is, so word positions (and so "phrases") agree with it.
 */
function partVector(alias: string, groups: readonly (readonly string[])[]): Sql {
  const vector = (columns: readonly string[]) =>
    `to_tsvector('${SEARCH_CONFIG}'::regconfig, ${columns.map((column) => `${alias}."${column}"`).join(` || ' ' || `)})`;
  return Prisma.raw(groups.length === 1 ? vector(groups[0]!) : `(${groups.map(vector).join(' || ')})`);
}

/**
 * The parts of an article that rank its matches in tiers, first tier first: the title, then the
 * head (title, description and summary, grouped as in `searchVector`).
 */
const TIER_PARTS = [[['title']], [['title'], ['description', 'summary']]] as const;

/**
 * What lifts a tier above the next: more than ts_rank can give (at most about 1.6 with the
 * default weights, for a one-word query).
 */
export const TIER_LIFT = 10;

/**
 * An article matches a search when its stored vector matches the query (GIN index). Relevance
 * has three tiers: articles whose title matches the query by itself come first, then those whose
 * head (title, description, summary) does, then those that match only with their body; within a
 * tier, by ts_rank of the whole vector. Each tier is a row condition (`holds`, through its own
 * GIN index) and the same as an id set found once per statement (`member`), so a first page of a
 * search with many body matches ranks only the title matches, as search engines rank the best
 * field first.
 */
export function articleSearch(text: string): ArticleSearch {
  return {
    from: Prisma.sql`"Article" a CROSS JOIN ${tsQuery(text)} AS query`,
    where: Prisma.sql`a."searchVector" @@ query`,
    // ts_rank's default weights: A 1.0 (title), B 0.4 (description, summary), D 0.1 (body).
    rank: Prisma.sql`ts_rank(a."searchVector", query)::float8`,
    tiers: TIER_PARTS.map((groups, index) => ({
      holds: Prisma.sql`${partVector('a', groups)} @@ query`,
      member: Prisma.sql`a."id" IN (SELECT t."id" FROM "Article" t WHERE ${partVector('t', groups)} @@ ${tsQuery(text)})`,
      lift: TIER_LIFT * (TIER_PARTS.length - index),
      // the stored vector begins with these parts, word positions included: without negation
      // (`-word`, a '!' in the tsquery's text) a part's match is the article's
      impliesMatch: Prisma.sql`strpos(query::text, '!') = 0`,
    })),
    queryJoin: Prisma.sql`CROSS JOIN ${tsQuery(text)} AS query`,
    matchesOf: (alias) => Prisma.raw(`${alias}."searchVector" @@ query`),
    rankOf: (alias) =>
      Prisma.raw(
        `(ts_rank(${alias}."searchVector", query)::float8 + CASE ${TIER_PARTS.map(
          (groups, index) =>
            `WHEN ${partVector(alias, groups).text} @@ query THEN ${TIER_LIFT * (TIER_PARTS.length - index)}`,
        ).join(' ')} ELSE 0 END)`,
      ),
  };
}
