import type { Db } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { codePoints, isBlank } from '../input/text.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { FILTER_LIMITS } from './filters.ts';
import { NAMED_COLUMNS, RELEVANCE_COLUMN, sortTerms, type NamedOrderField, type OrderInput } from './ordering.ts';
import {
  pageWindow,
  toConnection,
  type Connection,
  type ConnectionArgs,
  type KeyValue,
  type PageWindow,
  type SortTerm,
} from './pagination.ts';
import { and } from './sqlFilters.ts';
import { sqlCount, sqlPage, type SqlSortTerm } from './sqlPage.ts';

/**
 * Full-text search over articles and similarity search over author and topic names: the parts
 * of a list that Prisma cannot express. SQL finds and orders the page's ids; Prisma then loads
 * those rows with the selection the GraphQL query planned, as for every other list.
 */

type Sql = Prisma.Sql;

/** The text search configuration of the stored vectors (see the full_text_search migration). */
export const SEARCH_CONFIG = 'english';

/** A search text: trimmed, not blank (nothing visible), at most the filter string limit in characters. */
export function checkSearchText(value: string, argumentName: string): string {
  const text = value.trim();
  if (isBlank(text))
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${argumentName}" must contain a word`, { argumentName });
  if (codePoints(text) > FILTER_LIMITS.maxStringLength) {
    throw new UserInputError(
      ErrorCode.BAD_USER_INPUT,
      `"${argumentName}" is longer than ${FILTER_LIMITS.maxStringLength} characters`,
      { argumentName },
    );
  }
  return text;
}

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

/** Whether the page must rank every match anyway, which makes counting them in passing free. */
function ranksAll(terms: readonly SortTerm[]): boolean {
  return terms.some((term) => term.column === RELEVANCE_COLUMN);
}

export interface SearchPageSpec {
  from: Sql;
  where: Sql;
  alias: string;
  rank: Sql;
  terms: SortTerm[];
  window: PageWindow;
  /** The query asks for totalCount or count: count in the page statement when that is free. */
  countWanted: boolean;
  /** Loads the rows of the page's ids (any order) with the planned selection. */
  load: (ids: number[]) => Promise<{ id: number }[]>;
}

/** One page of a searched list, as a connection whose cursors carry the computed keys. */
export async function searchPage<Row extends { id: number }>(db: Db, spec: SearchPageSpec): Promise<Connection<Row>> {
  const sqlTerms: SqlSortTerm[] = spec.terms.map((term) => ({
    ...term,
    expression: term.column === RELEVANCE_COLUMN ? spec.rank : Prisma.raw(`${spec.alias}."${term.column}"`),
  }));
  const page = await sqlPage(db, {
    from: spec.from,
    where: spec.where,
    id: Prisma.raw(`${spec.alias}."id"`),
    terms: sqlTerms,
    window: spec.window,
    withTotal: spec.countWanted && ranksAll(spec.terms),
  });
  const loaded = page.rows.length ? await spec.load(page.rows.map((row) => row.id)) : [];
  const byId = new Map(loaded.map((row) => [row.id, row as Row]));
  // A row deleted between the two statements is left out of the page.
  const rows = page.rows.filter((row) => byId.has(row.id));
  const keys = new Map<number, KeyValue[]>(rows.map((row) => [row.id, row.keys]));
  const nodes = rows.map((row) => byId.get(row.id)!);
  const knownTotal = page.total ?? (page.rows.length === 0 && !spec.window.after && !spec.window.before ? 0 : null);
  return toConnection(nodes, spec.terms, spec.window, (cap) => sqlCount(db, spec.from, spec.where, cap), {
    keysOf: (node) => keys.get(node.id)!,
    total: knownTotal,
  });
}

/**
 * Names that resemble `text`, misspelt or partial: pg_trgm's word similarity (the `<%` operator,
 * served by the trigram index on name) above its default threshold of 0.6. Ranked by word
 * similarity plus whole-name similarity, so "ghafary" puts "Shirin Ghaffary" first.
 */
export function nameSearch(
  table: 'Author' | 'Topic',
  alias: string,
  text: string,
): { from: Sql; where: Sql; rank: Sql } {
  const name = Prisma.raw(`${alias}."name"`);
  return {
    from: Prisma.raw(`"${table}" ${alias}`),
    where: Prisma.sql`${text} <% ${name}`,
    rank: Prisma.sql`(word_similarity(${text}, ${name}) + similarity(${text}, ${name}))::float8`,
  };
}

/** A page of authors or topics whose names resemble `text` (most similar first by default). */
export function searchByName<Row extends { id: number }>(
  db: Db,
  table: 'Author' | 'Topic',
  text: string,
  conditions: Sql[],
  args: ConnectionArgs & { orderBy?: readonly OrderInput<NamedOrderField>[] | null },
  load: (ids: number[]) => Promise<{ id: number }[]>,
  options: { countWanted: boolean },
): Promise<Connection<Row>> {
  const terms = sortTerms(args.orderBy, NAMED_COLUMNS, [{ field: 'RELEVANCE', direction: 'DESC' }]);
  const search = nameSearch(table, 'n', checkSearchText(text, 'filter.nameSearch'));
  return searchPage<Row>(db, {
    from: search.from,
    where: and([search.where, ...conditions]),
    alias: 'n',
    rank: search.rank,
    terms,
    window: pageWindow(terms, args),
    countWanted: options.countWanted,
    load,
  });
}
