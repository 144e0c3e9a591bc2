import type { Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { and, timestamp } from './sqlFilters.ts';
import { tieBreakDirection, type Direction, type KeyValue, type PageWindow, type SortTerm } from './pagination.ts';

/**
 * Keyset pagination in SQL, for lists Prisma cannot order (by search rank or name similarity).
 * It returns the ids and sort keys of one page; the caller loads the rows themselves with
 * Prisma, so the GraphQL selection is planned as for every other list.
 */

type Sql = Prisma.Sql;

/** A sort term with the SQL expression that computes it. */
export interface SqlSortTerm extends SortTerm {
  expression: Sql;
}

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
}

export interface SqlPage {
  rows: { id: number; keys: KeyValue[] }[];
  /** Number of matches when counted with the page, or null. */
  total: number | null;
}

function keyParam(term: { kind: SortTerm['kind'] }, value: KeyValue): Sql {
  if (value instanceof Date) return timestamp(value);
  if (term.kind === 'float') return Prisma.sql`${value}::float8`;
  return Prisma.sql`${value}`;
}

/** `(k0, ..., id)` after (or before) the cursor values, expanded for mixed directions. */
function keysetSql(terms: readonly SqlSortTerm[], values: readonly KeyValue[], side: 'after' | 'before'): Sql {
  const all = [
    ...terms.map((term, index) => ({ ...term, ref: Prisma.raw(`s."k${index}"`) })),
    { kind: 'int' as const, direction: tieBreakDirection(terms), ref: Prisma.raw('s."id"') },
  ];
  const branches = all.map((term, index) => {
    const op = Prisma.raw((side === 'after') === (term.direction === 'ASC') ? '>' : '<');
    const equalities = all.slice(0, index).map((prior, j) => Prisma.sql`${prior.ref} = ${keyParam(prior, values[j]!)}`);
    return and([...equalities, Prisma.sql`${term.ref} ${op} ${keyParam(term, values[index]!)}`]);
  });
  return Prisma.sql`(${Prisma.join(branches, ' OR ')})`;
}

export async function sqlPage(db: Db, spec: SqlPageSpec): Promise<SqlPage> {
  const { terms, window } = spec;
  const flip = (direction: Direction): Direction =>
    window.backward ? (direction === 'ASC' ? 'DESC' : 'ASC') : direction;
  const keys = terms.map((term, index) => Prisma.sql`${term.expression} AS ${Prisma.raw(`"k${index}"`)}`);
  const total = spec.withTotal ? [Prisma.sql`count(*) OVER ()::int AS "total"`] : [];
  const conditions: Sql[] = [];
  if (window.after) conditions.push(keysetSql(terms, window.after, 'after'));
  if (window.before) conditions.push(keysetSql(terms, window.before, 'before'));
  const order = [
    ...terms.map((term, index) => Prisma.raw(`s."k${index}" ${flip(term.direction)}`)),
    Prisma.raw(`s."id" ${flip(tieBreakDirection(terms))}`),
  ];
  const rows = await db.$queryRaw<Record<string, unknown>[]>`
    SELECT s.* FROM (
      SELECT ${Prisma.join([Prisma.sql`${spec.id} AS "id"`, ...keys, ...total])}
      FROM ${spec.from}
      WHERE ${spec.where}
    ) s
    WHERE ${and(conditions)}
    ORDER BY ${Prisma.join(order)}
    LIMIT ${window.take}`;
  return {
    rows: rows.map((row) => ({
      id: row.id as number,
      keys: [...terms.map((_, index) => row[`k${index}`] as KeyValue), row.id as number],
    })),
    total: spec.withTotal ? ((rows[0]?.total as number | undefined) ?? null) : null,
  };
}

/** Number of rows matching, counting at most `cap + 1` of them when a cap is given. */
export async function sqlCount(db: Db, from: Sql, where: Sql, cap?: number): Promise<number> {
  const limit = cap != null ? Prisma.sql`LIMIT ${cap + 1}` : Prisma.empty;
  const [row] = await db.$queryRaw<{ count: number }[]>`
    SELECT count(*)::int AS "count" FROM (SELECT 1 FROM ${from} WHERE ${where} ${limit}) s`;
  return row!.count;
}
