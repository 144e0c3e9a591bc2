import { Prisma } from '../../generated/prisma/client.ts';
import { isAlways, type Condition } from '../lists/condition.ts';
import type { SortTerm } from '../lists/connection.ts';
import { tieBreakDirection } from '../lists/keyset.ts';
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
  /** The relevance of a row, for RELEVANCE terms. */
  rank?: (alias: string) => Sql;
}

/** `earlier` comes before `later` in the terms' order (then by id, in the last term's direction). */
function precedes(spec: CollapseSpec, earlier: string, later: string): Sql {
  const value = (alias: string, column: string) =>
    column === RELEVANCE_COLUMN ? spec.rank!(alias) : Prisma.raw(`${alias}."${column}"`);
  const keys = [
    ...spec.terms.map((term) => ({ column: term.column, direction: term.direction })),
    { column: 'id', direction: tieBreakDirection(spec.terms) },
  ];
  return or(
    keys.map((key, index) =>
      and([
        ...keys
          .slice(0, index)
          .map((prior) => Prisma.sql`${value(earlier, prior.column)} = ${value(later, prior.column)}`),
        Prisma.sql`${value(earlier, key.column)} ${Prisma.raw(key.direction === 'DESC' ? '>' : '<')} ${value(later, key.column)}`,
      ]),
    ),
  );
}

/**
 * The condition that row `a` is its story's representative: no other member of its story that
 * matches (filter and search) comes before it. Through the (storyId, publishedAt, id) index.
 */
export function representative(spec: CollapseSpec, alias = 'a'): Sql {
  const other = 'b';
  const filter = isAlways(spec.filter) ? [] : [toSql(spec.filter, tableScope(other))];
  const matches = spec.matches ? [spec.matches(other)] : [];
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM "Article" ${Prisma.raw(other)}
    WHERE ${Prisma.raw(`${other}."storyId" = ${alias}."storyId" AND ${other}."id" <> ${alias}."id"`)}
      AND ${and([...matches, ...filter, precedes(spec, other, alias)])})`;
}
