import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { all, type Condition } from '../lists/condition.ts';
import { sqlCount } from '../lists/page.ts';
import { tableScope, toSql } from '../lists/sqlWhere.ts';

/**
 * Exact counts without reading every matching article. From the count rollup (the ArticleRollup table, kept by database triggers; see the
 * count_rollups migration): how many articles have each (source, priority, isAustralian, month of
 * publication), and each topic's articles by (priority, isAustralian, month). A filter made only of
 * those columns, with at most one topic, is answered by summing a few hundred rows instead of
 * reading every matching article; any other filter is counted the ordinary way. The answer is the
 * same either way (the rollup changes in the same transaction as the articles), so these counts
 * are exact. A filter on one topic's articles by their priority, Australian relevance and
 * publication (any bounds) is also answered from the topic's links alone (`topicLinkPlan`), whose
 * copies of those columns are kept by the same migration's triggers.
 */

/** Which rollup rows answer a filter, and the filter on their columns. */
export interface RollupPlan {
  /** 0: every article's row; otherwise the rows of this topic's articles. */
  topicId: number;
  /** On the rollup's columns (`publishedAt` bounds became `publishedMonth` ones). */
  condition: Condition;
  /** The condition tests `source` (only the article rows, topicId 0, have it). */
  usesSource: boolean;
  /** The condition bounds the month: only the rows by month answer it, not the all-months rows. */
  byMonth: boolean;
}

const MONTH_COLUMN = 'publishedMonth';

/**
 * The month key of the all-months rows: each key's count over every month (the
 * rollup_all_months migration), kept beside its rows by month. A query sums one kind or the
 * other (`rowsOf`), never both.
 */
const ALL_MONTHS = `'-infinity'::timestamptz`;

/** True when `instant` is the first millisecond of a UTC month. */
function isMonthStart(instant: Date): boolean {
  return (
    instant.getUTCDate() === 1 &&
    instant.getUTCHours() === 0 &&
    instant.getUTCMinutes() === 0 &&
    instant.getUTCSeconds() === 0 &&
    instant.getUTCMilliseconds() === 0
  );
}

/**
 * A publication bound as a bound on the month key, when it falls between months: `>= M` and
 * `< M` for a month start M, and `> M - 1 ms`, `<= M - 1 ms` (instants are stored to the
 * millisecond). Other bounds split a month: null.
 */
function monthBound(condition: Extract<Condition, { kind: 'compare' }>): Condition | null {
  const value = condition.value;
  if (!(value instanceof Date)) return null;
  const { comparison } = condition;
  if ((comparison === 'gte' || comparison === 'lt') && isMonthStart(value)) {
    return { kind: 'compare', column: MONTH_COLUMN, comparison, value };
  }
  const next = new Date(value.getTime() + 1);
  // past the last instant an article can have (year 9999) there is no month to compare with
  if ((comparison === 'gt' || comparison === 'lte') && isMonthStart(next) && next.getUTCFullYear() <= 9999) {
    return { kind: 'compare', column: MONTH_COLUMN, comparison: comparison === 'gt' ? 'gte' : 'lt', value: next };
  }
  return null;
}

/**
 * The condition on the columns of the rollup (`target` 'rollup': publication bounds between
 * months only) or of a topic link (`target` 'link': its copies of priority, isAustralian and
 * publishedAt, no source), or null when a part needs the article itself.
 */
function onCopiedColumns(
  condition: Condition,
  target: 'rollup' | 'link',
  seen: { source: boolean; month: boolean },
): Condition | null {
  switch (condition.kind) {
    case 'all':
    case 'any': {
      const parts = condition.parts.map((part) => onCopiedColumns(part, target, seen));
      return parts.every((part) => part != null) ? { kind: condition.kind, parts: parts as Condition[] } : null;
    }
    case 'not': {
      const part = onCopiedColumns(condition.part, target, seen);
      return part && { kind: 'not', part };
    }
    case 'compare':
      if (condition.column === 'publishedAt') {
        seen.month = true;
        return target === 'rollup' ? monthBound(condition) : condition;
      }
      return condition.column === 'priority' || condition.column === 'isAustralian' ? condition : null;
    case 'in':
      return condition.column === 'priority' ? condition : null;
    case 'text':
    case 'textIn':
      if (condition.column !== 'source' || target === 'link') return null;
      seen.source = true;
      return condition;
    case 'related':
      return null;
  }
}

/** The topic of `topics: { some: { id: { equals: T } } }` (or `in: [T]`), else null. */
function singleTopic(condition: Condition): number | null {
  if (condition.kind !== 'related' || condition.relation !== 'topics' || condition.quantifier !== 'some') return null;
  const inner = condition.condition;
  if (inner.kind === 'compare' && inner.column === 'id' && inner.comparison === 'equals') return Number(inner.value);
  if (inner.kind === 'in' && inner.column === 'id' && inner.values.length === 1) return inner.values[0]!;
  return null;
}

/**
 * `condition` split into its one `topics: { some: { id } }` conjunct (null when it has none) and
 * the rest; null when it has several.
 */
function splitTopic(condition: Condition): { topicId: number | null; rest: Condition } | null {
  const parts = condition.kind === 'all' ? condition.parts : [condition];
  const topics = parts.map(singleTopic);
  const found = topics.filter((topic) => topic != null);
  if (found.length > 1) return null;
  return { topicId: found[0] ?? null, rest: all(parts.filter((_, index) => topics[index] == null)) };
}

/**
 * How the rollup answers `condition` (an article filter, condition.ts), or null when it cannot:
 * any combination of conditions on priority, isAustralian, source (text matches) and
 * publication bounds that fall between UTC months; or, ANDed with those but without source, one
 * `topics: { some: { id } }` of a single topic.
 */
export function rollupPlan(condition: Condition): RollupPlan | null {
  const split = splitTopic(condition);
  if (!split) return null;
  const seen = { source: false, month: false };
  const rest = onCopiedColumns(split.rest, 'rollup', seen);
  if (!rest) return null;
  if (split.topicId != null) {
    return seen.source ? null : { topicId: split.topicId, condition: rest, usesSource: false, byMonth: seen.month };
  }
  return { topicId: 0, condition: rest, usesSource: seen.source, byMonth: seen.month };
}

/**
 * The rows a sum over `"ArticleRollup" r` reads: the all-months rows (few) unless the plan bounds
 * the month or the caller breaks the counts down by month (`byMonth`).
 */
function rowsOf(plan: RollupPlan, byMonth: boolean): Prisma.Sql {
  // a literal, so the planner matches the all-months rows' partial index
  return Prisma.raw(`r."publishedMonth" ${plan.byMonth || byMonth ? '>' : '='} ${ALL_MONTHS}`);
}

/**
 * The plan's condition on the rollup's columns, for a query over `"ArticleRollup" r` of any
 * topic's rows: the rows by month when `byMonth` (or the plan bounds the month), else the
 * all-months rows.
 */
export function rollupColumnsWhere(plan: RollupPlan, byMonth = false): Prisma.Sql {
  return Prisma.sql`${rowsOf(plan, byMonth)} AND ${toSql(plan.condition, tableScope('r'))}`;
}

/**
 * The SQL condition selecting the plan's rollup rows, for a query over `"ArticleRollup" r`: the
 * rows by month when `byMonth` (or the plan bounds the month), else the all-months rows.
 */
export function rollupWhere(plan: RollupPlan, byMonth = false): Prisma.Sql {
  return Prisma.sql`r."topicId" = ${plan.topicId} AND ${rollupColumnsWhere(plan, byMonth)}`;
}

/** The number of articles the plan's filter matches, as a scalar subquery over the rollup. */
export function rollupCountSql(plan: RollupPlan): Prisma.Sql {
  return Prisma.sql`(SELECT COALESCE(sum(r."n"), 0) FROM "ArticleRollup" r WHERE ${rollupWhere(plan)})`;
}

/** The number of articles the plan's filter matches: one statement over the rollup. */
export async function rollupCount(db: Db, plan: RollupPlan): Promise<number> {
  const [row] = await db.$queryRaw<{ count: number }[]>`SELECT ${rollupCountSql(plan)}::int AS "count"`;
  return row!.count;
}

/** One topic's articles by their copied columns (topicLinkPlan). */
export interface TopicLinkPlan {
  topicId: number;
  /** On ArticleTopic's columns (the same names as the article's). */
  condition: Condition;
}

/**
 * A filter on one topic's articles that the topic's links answer alone, from their copies of the
 * article's priority, isAustralian and publishedAt (any bounds): `topics: { some: { id } }` of a
 * single topic ANDed with conditions on those columns. Null otherwise. The rows of
 * `"ArticleTopic"` with that `topicId` and `condition` are then the matching articles, one each,
 * reached through the (topicId, publishedAt) index.
 */
export function topicLinkPlan(condition: Condition): TopicLinkPlan | null {
  const split = splitTopic(condition);
  if (split?.topicId == null) return null;
  const rest = onCopiedColumns(split.rest, 'link', { source: false, month: false });
  return rest && { topicId: split.topicId, condition: rest };
}

/** The SQL condition selecting the plan's links, for a query over `"ArticleTopic" a`. */
export function topicLinkWhere(plan: TopicLinkPlan): Prisma.Sql {
  return Prisma.sql`a."topicId" = ${plan.topicId} AND ${toSql(plan.condition, tableScope('a'))}`;
}

/** The number of one topic's articles matching the plan's condition, counted on its links (at most `cap + 1`). */
export function topicLinkCount(db: Db, plan: TopicLinkPlan, cap?: number): Promise<number> {
  return sqlCount(db, Prisma.sql`"ArticleTopic" a`, topicLinkWhere(plan), cap);
}
