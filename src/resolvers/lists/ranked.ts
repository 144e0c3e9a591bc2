import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { toConnection, type Connection, type KeyValue, type PageWindow, type SortTerm } from './connection.ts';
import { RELEVANCE_COLUMN } from './order.ts';
import { isAlways, type Condition } from './condition.ts';
import { sqlCount, sqlPage, type SqlSortTerm } from './page.ts';
import { and, tableScope, toSql } from './sqlWhere.ts';

/**
 * Ranked lists: pages ordered by a computed relevance (full-text rank, name similarity), the
 * lists Prisma cannot order. SQL finds and orders the page's ids (sqlPage); Prisma then loads
 * those rows with the selection the GraphQL query planned, as for every other list.
 */

type Sql = Prisma.Sql;

/** Whether the page must rank every match anyway, which makes counting them in passing free. */
function ranksAll(terms: readonly SortTerm[]): boolean {
  return terms.some((term) => term.column === RELEVANCE_COLUMN);
}

/** One page of a ranked list. */
export interface RankedPageSpec {
  /** FROM clause, e.g. `"Article" a CROSS JOIN websearch_to_tsquery(...) AS query`. */
  from: Sql;
  /** What makes a row a match (the search), e.g. `a."searchVector" @@ query`. */
  matches: Sql;
  /** The filter the matches must also meet, on the listed table. */
  filter: Condition;
  /** Alias of the listed table in `from`. */
  alias: string;
  /** The relevance of a match (float8), for RELEVANCE terms. */
  rank: Sql;
  terms: SortTerm[];
  window: PageWindow;
  /** The query asks for totalCount or count: count in the page statement when that is free. */
  countWanted: boolean;
  /** Loads the rows of the page's ids (any order) with the planned selection. */
  load: (ids: number[]) => Promise<{ id: number }[]>;
}

/**
 * One page of a ranked list, as a connection whose cursors carry the computed keys: one
 * statement for the ids (and the total, when free), one to load the rows.
 */
export async function rankedPage<Row extends { id: number }>(db: Db, spec: RankedPageSpec): Promise<Connection<Row>> {
  const sqlTerms: SqlSortTerm[] = spec.terms.map((term) => ({
    ...term,
    expression: term.column === RELEVANCE_COLUMN ? spec.rank : Prisma.raw(`${spec.alias}."${term.column}"`),
  }));
  const where = isAlways(spec.filter) ? spec.matches : and([spec.matches, toSql(spec.filter, tableScope(spec.alias))]);
  const page = await sqlPage(db, {
    from: spec.from,
    where,
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
  return toConnection(nodes, spec.terms, spec.window, (cap) => sqlCount(db, spec.from, where, cap), {
    keysOf: (node) => keys.get(node.id)!,
    total: knownTotal,
  });
}
