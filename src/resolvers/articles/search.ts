import { Prisma } from '../../generated/prisma/client.ts';

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

/** An article matches a search when its stored vector matches the query (GIN index). */
export function articleSearch(text: string): { from: Sql; where: Sql; rank: Sql } {
  return {
    from: Prisma.sql`"Article" a CROSS JOIN ${tsQuery(text)} AS query`,
    where: Prisma.sql`a."searchVector" @@ query`,
    // ts_rank's default weights: A 1.0 (title), B 0.4 (description, summary), D 0.1 (body).
    rank: Prisma.sql`ts_rank(a."searchVector", query)::float8`,
  };
}
