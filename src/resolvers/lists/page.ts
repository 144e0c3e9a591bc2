import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { isAlways, type Condition } from './condition.ts';
import { toConnection, type Connection, type KeyValue, type PageWindow, type SortTerm } from './connection.ts';
import { readingOrder, windowCondition } from './keyset.ts';
import { toPrismaWhere, type Where } from './prismaWhere.ts';
import { toSql, type SqlScope } from './sqlWhere.ts';

/**
 * Reading one page of a list, by either backend: `prismaPage` when Prisma can order the rows
 * (every stored column), `sqlPage` when the order is computed (search rank, name similarity).
 * Both read `window.take` rows (the page size plus one, to learn whether more exist) past the
 * window's cursors, in the order of `readingOrder`, and count only when a total is asked for.
 */

type Sql = Prisma.Sql;

/** What a Prisma page query applies: the caller's findMany receives it. */
export interface PrismaPageQuery {
  where: Where;
  orderBy: Record<string, unknown>[];
  take: number;
}

/** The Prisma orderBy of a window: the terms then the id, reversed when paging backwards. */
export function prismaOrderBy(
  terms: readonly SortTerm[],
  window: Pick<PageWindow, 'backward'>,
  leaf: (order: Record<string, string>) => Record<string, unknown> = (order) => order,
): Record<string, unknown>[] {
  return readingOrder(terms, window).map(({ column, direction }) => leaf({ [column]: direction.toLowerCase() }));
}

/**
 * The Prisma query of one page: `condition` and the window's keyset, ordered and limited.
 * `leaf` places each keyset condition and order on one column, e.g. `(x) => ({ article: x })` to
 * page through a link table; `wrap` places the filter, whole (by default as `leaf` does).
 */
export function prismaPageQuery(
  condition: Condition,
  terms: readonly SortTerm[],
  window: PageWindow,
  leaf?: (where: Where) => Where,
  wrap = leaf,
): PrismaPageQuery {
  const filter = toPrismaWhere(condition);
  const keyset = windowCondition(terms, window);
  return {
    where: {
      AND: [
        // no filter: nothing to wrap (a wrapped `{ article: {} }` still costs a join per link row)
        ...(isAlways(condition) ? [] : [wrap ? wrap(filter) : filter]),
        ...(isAlways(keyset) ? [] : [toPrismaWhere(keyset, leaf)]),
      ],
    },
    orderBy: prismaOrderBy(terms, window, leaf),
    take: window.take,
  };
}

/**
 * One page of a list Prisma can order: `findMany` runs the page query, `count(cap?)` counts the
 * matches (at most `cap + 1` of them when capped) and runs only if a total is asked for.
 */
export async function prismaPage<Row extends { id: number }>(
  condition: Condition,
  terms: readonly SortTerm[],
  window: PageWindow,
  findMany: (query: PrismaPageQuery) => Promise<Row[]>,
  count: (where: Where, cap?: number) => Promise<number>,
): Promise<Connection<Row>> {
  const rows = await findMany(prismaPageQuery(condition, terms, window));
  const where = toPrismaWhere(condition);
  return toConnection(rows, terms, window, (cap) => count(where, cap));
}

/** A sort term with the SQL expression that computes it. */
export interface SqlSortTerm extends SortTerm {
  expression: Sql;
}

/** Where a listed row's sort keys are, outside the statement part that computed them. */
export interface ListedRow {
  /** The i-th sort key (the term's value, the rank for RELEVANCE). */
  key: (index: number) => Sql;
  id: Sql;
  /** The row's group (`SqlPageSpec.collapse.group`). */
  story: Sql;
}

/** One page of a list ordered in SQL. */
export interface SqlPageSpec {
  /** FROM clause, e.g. `"Article" a CROSS JOIN websearch_to_tsquery(...) query`. */
  from: Sql;
  where: Sql;
  /** The row's id, e.g. `a."id"`. */
  id: Sql;
  terms: readonly SqlSortTerm[];
  window: PageWindow;
  /**
   * Also count every match in the same statement (a window count before the page limit). Worth
   * it only when the order must rank every match anyway (relevance); otherwise the page is read
   * from an index and a count would force reading everything.
   */
  withTotal: boolean;
  /**
   * One row per group (a collapsed list): `group` is the row's group (its story), and only rows
   * for which `keep` holds are listed, tested on the rows in reading order as the page is filled
   * (after the sort, before the limit), so only the rows read are tested.
   */
  collapse?: { group: Sql; keep: (row: ListedRow) => Sql };
}

/** The ids and sort keys (the cursor's values, id last) of a page, and the total when counted. */
export interface SqlPage {
  rows: { id: number; keys: KeyValue[] }[];
  /** Number of matches when counted with the page, or null. */
  total: number | null;
}

/** The keys of the inner select are `s."k0"`, `s."k1"`, ... and `s."id"`. */
const KEYS: SqlScope = { column: (name) => Prisma.raw(`s."${name}"`) };
const keyName = (_term: SortTerm, index: number) => `k${index}`;

/**
 * The ids and sort keys of one page, ordered by computed expressions: one statement. The caller
 * loads the rows themselves with Prisma, so the GraphQL selection is planned as for every list.
 */
export async function sqlPage(db: Db, spec: SqlPageSpec): Promise<SqlPage> {
  const { terms, window } = spec;
  const keys = terms.map((term, index) => Prisma.sql`${term.expression} AS ${Prisma.raw(`"k${index}"`)}`);
  const total = spec.withTotal ? [Prisma.sql`count(*) OVER ()::int AS "total"`] : [];
  const order = readingOrder(terms, window).map(({ index, direction }) =>
    Prisma.raw(`s."${index == null ? 'id' : `k${index}`}" ${direction}`),
  );
  const group = spec.collapse ? [Prisma.sql`${spec.collapse.group} AS "group"`] : [];
  const page = Prisma.sql`
    SELECT s.* FROM (
      SELECT ${Prisma.join([Prisma.sql`${spec.id} AS "id"`, ...keys, ...total, ...group])}
      FROM ${spec.from}
      WHERE ${spec.where}
    ) s
    WHERE ${toSql(windowCondition(terms, window, keyName), KEYS)}
    ORDER BY ${Prisma.join(order)}`;
  const rows = spec.collapse
    ? // the sorted rows, then the test on each as the limit pulls them (OFFSET 0 keeps the
      // planner from testing every row before the sort)
      await db.$queryRaw<Record<string, unknown>[]>`
        SELECT s.* FROM (${page} OFFSET 0) s
        WHERE ${spec.collapse.keep({
          key: (index) => Prisma.raw(`s."k${index}"`),
          id: Prisma.raw('s."id"'),
          story: Prisma.raw('s."group"'),
        })}
        ORDER BY ${Prisma.join(order)}
        LIMIT ${window.take}`
    : await db.$queryRaw<Record<string, unknown>[]>`${page} LIMIT ${window.take}`;
  return {
    rows: rows.map((row) => ({
      id: row.id as number,
      keys: [...terms.map((_, index) => row[`k${index}`] as KeyValue), row.id as number],
    })),
    total: spec.withTotal ? ((rows[0]?.total as number | undefined) ?? null) : null,
  };
}

/**
 * Number of rows matching, counting at most `cap + 1` of them when a cap is given; with `group`,
 * the number of distinct groups (stories) they fall in.
 */
export async function sqlCount(db: Db, from: Sql, where: Sql, cap?: number, group?: Sql): Promise<number> {
  const limit = cap != null ? Prisma.sql`LIMIT ${cap + 1}` : Prisma.empty;
  const [row] = group
    ? await db.$queryRaw<{ count: number }[]>`
        SELECT count(*)::int AS "count" FROM (SELECT DISTINCT ${group} FROM ${from} WHERE ${where} ${limit}) s`
    : await db.$queryRaw<{ count: number }[]>`
        SELECT count(*)::int AS "count" FROM (SELECT 1 FROM ${from} WHERE ${where} ${limit}) s`;
  return row!.count;
}

/** Merges the columns a cursor needs into a selection planned from the GraphQL query. */
export function selectWithKeys<S extends { select?: object; include?: object }>(
  selection: S,
  terms: readonly SortTerm[],
): { select?: NonNullable<S['select']>; include?: NonNullable<S['include']> } {
  if (selection.include || !selection.select)
    return { include: (selection.include ?? {}) as NonNullable<S['include']> };
  const keys = Object.fromEntries([['id', true], ...terms.map((term) => [term.column, true])]);
  return { select: { ...selection.select, ...keys } as NonNullable<S['select']> };
}
