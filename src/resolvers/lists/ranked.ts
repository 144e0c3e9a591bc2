import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { toConnection, type Connection, type KeyValue, type PageWindow, type SortTerm } from './connection.ts';
import { readingOrder } from './keyset.ts';
import { RELEVANCE_COLUMN } from './order.ts';
import { isAlways, type Condition } from './condition.ts';
import { sqlCount, sqlPage, type SqlPageSpec } from './page.ts';
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

/**
 * A tier of a ranked list: the matches meeting `holds` (a row condition, e.g. through an index)
 * and no higher tier. `member` is the same condition as an id set (`a."id" IN (...)`), computed
 * once per statement rather than per row. `lift` is added to a member's rank: more than the
 * next tier's lift plus any rank.
 */
export interface RankTier {
  holds: Sql;
  member: Sql;
  lift: number;
  /**
   * True when meeting `holds` makes a row a match (e.g. a search without negation: a title
   * that matches makes the article match): the tier then tests the match only when it is false,
   * and reads no more of a row than `holds` and the rank need.
   */
  impliesMatch?: Sql;
}

/** One page of a ranked list. */
export interface RankedPageSpec {
  /** FROM clause, e.g. `"Article" a CROSS JOIN websearch_to_tsquery(...) AS query`. */
  from: Sql;
  /** What makes a row a match (the search), e.g. `a."searchVector" @@ query`. */
  matches: Sql;
  /** The filter the matches must also meet, on the listed table. */
  filter: Condition;
  /** One row per story (a collapsed list): its group and which rows to keep (sqlPage). */
  collapse?: SqlPageSpec['collapse'];
  /** Alias of the listed table in `from`. */
  alias: string;
  /** The relevance of a match (float8), for RELEVANCE terms. */
  rank: Sql;
  /**
   * Tiers of matches, highest first, each above the next and above the untiered rest whatever
   * `rank` says. Ordered by relevance first, a page reads the tier it meets first and ranks the
   * next only when that one runs short.
   */
  tiers?: RankTier[];
  terms: SortTerm[];
  window: PageWindow;
  /** The query asks for totalCount or count: count in the page statement when that is free. */
  countWanted: boolean;
  /** Loads the rows of the page's ids (any order) with the planned selection. */
  load: (ids: number[]) => Promise<{ id: number }[]>;
}

/**
 * One page of a ranked list, as a connection whose cursors carry the computed keys: a statement
 * for the ids (one per tier read, when ordered by relevance over tiers; the total in passing when
 * every match was ranked), one to load the rows.
 */
export async function rankedPage<Row extends { id: number }>(db: Db, spec: RankedPageSpec): Promise<Connection<Row>> {
  const filter = isAlways(spec.filter) ? [] : [toSql(spec.filter, tableScope(spec.alias))];
  const where = and([spec.matches, ...filter]);
  const pageOf = (rank: Sql, part: Sql, take: number, withTotal: boolean) =>
    sqlPage(db, {
      from: spec.from,
      where: part,
      id: Prisma.raw(`${spec.alias}."id"`),
      terms: spec.terms.map((term) => ({
        ...term,
        expression: term.column === RELEVANCE_COLUMN ? rank : Prisma.raw(`${spec.alias}."${term.column}"`),
      })),
      window: { ...spec.window, take },
      // a collapsed list counts stories, not the matches a window count would
      withTotal: withTotal && !spec.collapse,
      collapse: spec.collapse,
    });
  const tiers = spec.tiers ?? [];
  let page: { rows: { id: number; keys: KeyValue[] }[]; total: number | null };
  if (tiers.length && spec.terms[0]?.column === RELEVANCE_COLUMN) {
    // Relevance first: each tier is a run of the order; read them in turn until the page is full.
    const outside = (above: readonly RankTier[]) => above.map((tier) => Prisma.sql`NOT (${tier.member})`);
    const parts = [
      ...tiers.map((tier, index) => ({
        rank: Prisma.sql`(${spec.rank} + ${Prisma.raw(String(tier.lift))})`,
        part: and([
          tier.impliesMatch ? Prisma.sql`(${tier.impliesMatch} OR ${spec.matches})` : spec.matches,
          ...filter,
          tier.holds,
          ...outside(tiers.slice(0, index)),
        ]),
      })),
      { rank: spec.rank, part: and([where, ...outside(tiers)]) },
    ];
    if (readingOrder(spec.terms, spec.window)[0]!.direction === 'ASC') parts.reverse();
    const rows: { id: number; keys: KeyValue[] }[] = [];
    // every part ranked whole: their counts add up to the total, when each is known
    let total: number | null = 0;
    const cursor = spec.window.after != null || spec.window.before != null;
    for (const { rank, part } of parts) {
      if (rows.length >= spec.window.take) {
        total = null;
        break;
      }
      const read = await pageOf(rank, part, spec.window.take - rows.length, spec.countWanted);
      rows.push(...read.rows);
      const known = read.total ?? (read.rows.length === 0 && !cursor ? 0 : null);
      total = total != null && known != null ? total + known : null;
    }
    page = { rows, total };
  } else {
    const lift = tiers.length
      ? Prisma.sql` + CASE ${Prisma.join(
          tiers.map((tier) => Prisma.sql`WHEN ${tier.member} THEN ${Prisma.raw(String(tier.lift))}`),
          ' ',
        )} ELSE 0 END`
      : Prisma.empty;
    page = await pageOf(
      Prisma.sql`(${spec.rank}${lift})`,
      where,
      spec.window.take,
      spec.countWanted && ranksAll(spec.terms),
    );
  }
  const loaded = page.rows.length ? await spec.load(page.rows.map((row) => row.id)) : [];
  const byId = new Map(loaded.map((row) => [row.id, row as Row]));
  // A row deleted between the two statements is left out of the page.
  const rows = page.rows.filter((row) => byId.has(row.id));
  const keys = new Map<number, KeyValue[]>(rows.map((row) => [row.id, row.keys]));
  const nodes = rows.map((row) => byId.get(row.id)!);
  const knownTotal = page.total ?? (page.rows.length === 0 && !spec.window.after && !spec.window.before ? 0 : null);
  return toConnection(
    nodes,
    spec.terms,
    spec.window,
    (cap) => sqlCount(db, spec.from, where, cap, spec.collapse?.group),
    {
      keysOf: (node) => keys.get(node.id)!,
      total: knownTotal,
    },
  );
}
