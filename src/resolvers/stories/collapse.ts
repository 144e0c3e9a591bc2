import { Prisma } from '../../generated/prisma/client.ts';
import { isAlways, type Condition } from '../lists/condition.ts';
import type { SortTerm } from '../lists/connection.ts';
import { tieBreakDirection } from '../lists/keyset.ts';
import type { ListedRow } from '../lists/page.ts';
import { RELEVANCE_COLUMN } from '../lists/order.ts';
import { and, or, tableScope, toSql } from '../lists/sqlWhere.ts';

/**
 * Collapsed lists (`collapse: STORY`): one row per story, the story's first matching member in
 * the list's order (the best ranked for a search, the newest by default). A row is its story's
 * representative when no other member that matches comes before it, so the representative does
 * not depend on the page, and keyset pagination over representatives visits every story once.
 */

type Sql = Prisma.Sql;

/** How the list orders and matches, for a member `alias` of a story. */
export interface CollapseSpec {
  terms: readonly SortTerm[];
  filter: Condition;
  /** The search match of a row (e.g. `b."searchVector" @@ query`), or none. */
  matches?: (alias: string) => Sql;
  /** What `matches` and `rank` refer to besides the row, e.g. `CROSS JOIN websearch_to_tsquery(...) AS query`. */
  joins?: Sql;
  /** The relevance of a row, for RELEVANCE terms. */
  rank?: (alias: string) => Sql;
}

/** Member `alias` comes before the listed row in the terms' order (then by id, in the last term's direction). */
function precedes(spec: CollapseSpec, alias: string, row: ListedRow): Sql {
  const value = (column: string) =>
    column === RELEVANCE_COLUMN ? spec.rank!(alias) : Prisma.raw(`${alias}."${column}"`);
  const keys = [
    ...spec.terms.map((term, index) => ({
      mine: value(term.column),
      theirs: row.key(index),
      direction: term.direction,
    })),
    { mine: Prisma.raw(`${alias}."id"`), theirs: row.id, direction: tieBreakDirection(spec.terms) },
  ];
  return or(
    keys.map((key, index) =>
      and([
        ...keys.slice(0, index).map((prior) => Prisma.sql`${prior.mine} = ${prior.theirs}`),
        Prisma.sql`${key.mine} ${Prisma.raw(key.direction === 'DESC' ? '>' : '<')} ${key.theirs}`,
      ]),
    ),
  );
}

/**
 * The condition that a listed row is its story's representative: no other member of its story
 * that matches (filter and search) comes before it. Tested on the page's rows as they are read
 * in order (sqlPage), through the (storyId, publishedAt, id) index, so a page tests its own rows
 * and the members they meet, not every match against every other.
 */
export function representative(spec: CollapseSpec, row: ListedRow): Sql {
  const other = 'b';
  const filter = isAlways(spec.filter) ? [] : [toSql(spec.filter, tableScope(other))];
  const matches = spec.matches ? [spec.matches(other)] : [];
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM "Article" ${Prisma.raw(other)} ${spec.joins ?? Prisma.empty}
    WHERE ${Prisma.raw(`${other}."storyId"`)} = ${row.story} AND ${Prisma.raw(`${other}."id"`)} <> ${row.id}
      AND ${and([...matches, ...filter, precedes(spec, other, row)])})`;
}
