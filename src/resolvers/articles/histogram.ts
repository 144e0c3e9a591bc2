import type { Db } from '../../db/client.ts';
import { sqlState } from '../../db/errors.ts';
import { ErrorCode, UserInputError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { boundMs } from '../../input/instant.ts';
import { articleCondition, type ArticleFilterInput } from '../lists/filter.ts';
import { and, tableScope, timestamp, toSql } from '../lists/sqlWhere.ts';
import { topicLinkPlan, topicLinkWhere } from './rollup.ts';
import { plannedSearch } from './search.ts';

/**
 * A histogram of publication instants: how many of the articles `articles(filter:, search:)`
 * would list were published in each day, week (ISO 8601: from Monday), month or year of a time
 * zone, between two instants. Buckets follow the zone's wall clock, so a daylight-saving day is
 * 23 or 25 hours long; each starts when the clock last enters it, and an article counts in the
 * last bucket starting at or before it (width_bucket), so a bucket holds exactly what was
 * published from its start to the next (PostgreSQL's date_trunc,
 * https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-TRUNC).
 * One statement; counts are exact.
 */

/** The width of a bucket. */
export type HistogramInterval = 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';

/** The arguments of `articleHistogram`; `from` is inclusive, `to` exclusive. */
export interface HistogramArgs {
  filter?: ArticleFilterInput | null;
  search?: string | null;
  interval: HistogramInterval;
  /** An IANA time zone name, e.g. "Australia/Sydney". */
  timeZone: string;
  from: Date;
  to: Date;
}

/** One bucket: its first instant (midnight, Monday, the 1st or 1 January in the zone) and its count. */
export interface HistogramBucket {
  start: Date;
  count: number;
}

/** Most buckets one histogram may have (a bit under three years of days). */
export const MAX_HISTOGRAM_BUCKETS = 1_000;

/**
 * The earliest `from`: the year holding it, in any zone (UTC-12 to UTC+14), starts after the first
 * instant a DateTime can show (0001-01-01T00:00:00Z).
 */
const EARLIEST_FROM = new Date('0002-01-02T00:00:00.000Z');

/** A bucket's longest length, ms: the span `to - from` may hold MAX_HISTOGRAM_BUCKETS of them. */
const LONGEST_MS: Record<HistogramInterval, number> = {
  DAY: 25 * 3_600_000,
  WEEK: 7 * 24 * 3_600_000 + 3_600_000,
  MONTH: 31 * 24 * 3_600_000 + 3_600_000,
  YEAR: 366 * 24 * 3_600_000,
};

const UNITS: Record<HistogramInterval, string> = { DAY: 'day', WEEK: 'week', MONTH: 'month', YEAR: 'year' };

function refuse(argumentName: string, message: string): never {
  throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${argumentName}": ${message}`, { argumentName });
}

function tooManyBuckets(): never {
  refuse('to', `at most ${MAX_HISTOGRAM_BUCKETS} buckets: narrow "from"-"to" or take a wider interval`);
}

/**
 * An IANA time zone name (as in the tz database: "UTC", "Australia/Sydney"), or BAD_USER_INPUT.
 * POSIX-style offsets ("UTC+10", whose sign PostgreSQL reads inverted) and abbreviations ("AEST")
 * are refused: only names whose rules (daylight saving) are known.
 */
export function checkTimeZone(name: string): string {
  const shaped = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name) && name.length <= 64;
  let known = false;
  if (shaped && !/^(UTC|GMT)[+-]/i.test(name)) {
    try {
      known = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone.length > 0;
    } catch {
      known = false;
    }
  }
  if (!known) refuse('timeZone', 'is not an IANA time zone name such as "UTC" or "Australia/Sydney"');
  return name;
}

/**
 * The buckets from the one holding `from` to the one before `to`, every bucket included (zero
 * counts too), each counting the matching articles published in it and in [from, to).
 * BAD_USER_INPUT for an unknown time zone, `from` before EARLIEST_FROM, `to` not after `from`, more than
 * MAX_HISTOGRAM_BUCKETS buckets, and bad filter or search values.
 */
export async function articleHistogram(db: Db, args: HistogramArgs): Promise<HistogramBucket[]> {
  const zone = checkTimeZone(args.timeZone);
  const from = boundMs(args.from, 'gte');
  const to = boundMs(args.to, 'lt');
  if (from.getTime() < EARLIEST_FROM.getTime()) {
    refuse(
      'from',
      `must be ${EARLIEST_FROM.toISOString()} or later, whatever the interval and time zone (the earliest \"from\" whose year, in any zone, starts after 0001-01-01T00:00:00Z, the earliest DateTime)`,
    );
  }
  if (to.getTime() <= from.getTime()) refuse('to', 'must be later than "from"');
  // a first bound, before any SQL runs; the buckets themselves are counted below
  if (to.getTime() - from.getTime() > MAX_HISTOGRAM_BUCKETS * LONGEST_MS[args.interval]) {
    tooManyBuckets();
  }
  const unit = Prisma.raw(`'${UNITS[args.interval]}'`);
  const step = Prisma.raw(`'1 ${UNITS[args.interval]}'::interval`);
  const condition = articleCondition(args.filter);
  const search = args.search != null ? await plannedSearch(db, args.search, 'search') : null;
  // one topic's articles by priority, relevance and date: its links alone hold what is counted
  const links = search ? null : topicLinkPlan(condition);
  const filter = links ? topicLinkWhere(links) : toSql(condition, tableScope('a'));
  const range = Prisma.sql`a."publishedAt" >= ${timestamp(from)} AND a."publishedAt" < ${timestamp(to)}`;
  const where = and([...(search ? [search.where] : []), range, filter]);
  const table = search ? search.from : links ? Prisma.sql`"ArticleTopic" a` : Prisma.sql`"Article" a`;
  try {
    const rows = await db.$queryRaw<{ start: Date; count: number }[]>`
      WITH buckets AS (
        -- wall-clock starts in the zone (midnights, first days), stepped as wall-clock time (a first
        -- day that began at 01:00 does not shift every later start), from the one before "from"'s
        SELECT local, (local AT TIME ZONE ${zone}) AS "resolved"
        FROM generate_series(
          date_trunc(${unit}, ${timestamp(from)} AT TIME ZONE ${zone}) - ${step},
          ${timestamp(to)} AT TIME ZONE ${zone},
          ${step}
        ) AS local
      ), starts AS (
        -- each bucket starts when the clock last enters it from an earlier wall-clock time. The
        -- instants that show a start: PostgreSQL's resolution of it (of two, the later), and the
        -- same time at the offset in force a day before. A midnight shown twice within its day
        -- (Havana, 01:00 -> 00:00) starts the day at the first; one the clock returns to from the
        -- day before (St John's, 00:01 -> 23:01) at the second; a midnight skipped (Havana's spring)
        -- at the instant the day begins; a day skipped whole (Apia, 30 December 2011) is no bucket
        SELECT DISTINCT coalesce(max(c.at) FILTER (
                 WHERE (c.at AT TIME ZONE ${zone}) = b.local
                   AND ((c.at - interval '1 microsecond') AT TIME ZONE ${zone}) < b.local), b.resolved) AS "start"
        FROM buckets b
        CROSS JOIN LATERAL (VALUES (b.resolved),
          ((b.local - (((b.resolved - interval '1 day') AT TIME ZONE ${zone})
                       - ((b.resolved - interval '1 day') AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC')) AS c(at)
        GROUP BY b.local, b.resolved
      ), edges AS (
        -- the bucket holding "from" (the last start at or before it) and those after, before "to"
        SELECT array_agg(s."start" ORDER BY s."start") AS "starts" FROM starts s
        WHERE s."start" < ${timestamp(to)}
          AND s."start" >= (SELECT max(f."start") FROM starts f WHERE f."start" <= ${timestamp(from)})
      ), counted AS (
        -- each article in the last bucket starting at or before it
        SELECT width_bucket(a."publishedAt", (SELECT e."starts" FROM edges e)) AS "bucket", count(*)::int AS "count"
        FROM ${table}
        WHERE ${where}
        GROUP BY 1
      )
      SELECT e."starts"[g.i] AS "start", coalesce(c."count", 0)::int AS "count"
      FROM edges e CROSS JOIN LATERAL generate_subscripts(e."starts", 1) AS g(i)
      LEFT JOIN counted c ON c."bucket" = g.i
      ORDER BY g.i
      LIMIT ${MAX_HISTOGRAM_BUCKETS + 1}`;
    // days of 23 hours, and months and years of their calendar, fit more buckets in the span
    // than its first bound allows for: more than the maximum is refused, never cut short
    if (rows.length > MAX_HISTOGRAM_BUCKETS) {
      tooManyBuckets();
    }
    return rows.map((row) => ({ start: row.start, count: row.count }));
  } catch (error) {
    // a name ICU knows and the database's tz data does not (22023: time zone not recognized)
    if (sqlState(error) === '22023') refuse('timeZone', `"${zone}" is not known to the database`);
    throw error;
  }
}
