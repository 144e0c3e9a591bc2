import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { MAX_HISTOGRAM_BUCKETS } from '../src/resolvers/articles/histogram.ts';
import { graphql } from './gql/index.ts';
import { codes, execute, query, recordStatements } from './support/api.ts';

const Histogram = graphql(`
  query Histogram(
    $interval: HistogramInterval!
    $timeZone: String!
    $from: DateTime!
    $to: DateTime!
    $filter: ArticleFilter
    $search: String
  ) {
    articleHistogram(interval: $interval, timeZone: $timeZone, from: $from, to: $to, filter: $filter, search: $search) {
      start
      count
    }
  }
`);

/** Instants around Sydney's daylight-saving changes of 2026 (AEST +10, AEDT +11). */
const PUBLISHED = [
  '2026-04-04T13:30:00Z', // 5 April 00:30 AEDT: the 25-hour day (clocks go back at 03:00)
  '2026-04-05T13:30:00Z', // 5 April 23:30 AEST: still 5 April
  '2026-04-05T14:00:00Z', // 6 April 00:00 AEST
  '2026-10-03T14:00:00Z', // 4 October 00:00 AEST: the 23-hour day (clocks go forward at 02:00)
  '2026-10-04T12:59:59Z', // 4 October 23:59:59 AEDT
  '2026-10-04T13:00:00Z', // 5 October 00:00 AEDT
  '2026-12-31T13:00:00Z', // 1 January 2027 00:00 AEDT, 31 December in UTC
];

beforeAll(async () => {
  await prisma.article.createMany({
    data: PUBLISHED.map((iso, n) => ({
      title: n % 2 ? `Wombat census ${n}` : `Harbour bridge ${n}`,
      url: `https://histogram.example/${n}`,
      urlKey: `https://histogram.example/${n}`,
      source: 'Histogram Herald',
      publishedAt: new Date(iso),
      priority: (n % 5) + 1,
    })),
  });
});

const hours = (a: string, b: string) => (new Date(b).getTime() - new Date(a).getTime()) / 3_600_000;

/** Files one article of `source` published at each of `at` (ISO instants), runs `check`, then deletes them. */
async function withArticlesAt(source: string, at: readonly string[], check: () => Promise<void>): Promise<void> {
  const host = source.toLowerCase().replaceAll(' ', '-');
  await prisma.article.createMany({
    data: at.map((iso, n) => ({
      title: `${source} ${n}`,
      url: `https://${host}.example/${n}`,
      urlKey: `https://${host}.example/${n}`,
      source,
      publishedAt: new Date(iso),
      priority: 3,
    })),
  });
  try {
    await check();
  } finally {
    await prisma.article.deleteMany({ where: { source } });
  }
}

describe('articleHistogram', () => {
  it('cuts days at midnight in the time zone: 25 and 23 hours on daylight-saving days', async () => {
    const { articleHistogram: april } = await query(Histogram, {
      interval: 'DAY',
      timeZone: 'Australia/Sydney',
      from: '2026-04-03T13:00:00Z', // 4 April 00:00 AEDT
      to: '2026-04-06T14:00:00Z', // 7 April 00:00 AEST
    });
    expect(april.map((bucket) => bucket.start)).toEqual([
      '2026-04-03T13:00:00.000Z',
      '2026-04-04T13:00:00.000Z',
      '2026-04-05T14:00:00.000Z',
    ]);
    expect(hours(april[1]!.start, april[2]!.start)).toBe(25);
    expect(april.map((bucket) => bucket.count)).toEqual([0, 2, 1]);

    const { articleHistogram: october } = await query(Histogram, {
      interval: 'DAY',
      timeZone: 'Australia/Sydney',
      from: '2026-10-03T14:00:00Z',
      to: '2026-10-05T13:00:00Z',
    });
    expect(october.map((bucket) => [bucket.start, bucket.count])).toEqual([
      ['2026-10-03T14:00:00.000Z', 2],
      ['2026-10-04T13:00:00.000Z', 1],
    ]);
    expect(hours(october[0]!.start, october[1]!.start)).toBe(23);
  });

  it('starts every day at its first instant where a clock skips midnight (Havana, 14 March 2021)', async () => {
    // Cuba moves its clocks from 00:00 to 01:00: 14 March begins at 01:00 CDT (05:00Z); 15 and
    // 16 March at 00:00 CDT (04:00Z)
    const at = ['2021-03-14T06:00:00Z', '2021-03-15T04:30:00Z', '2021-03-16T03:59:00Z'];
    await withArticlesAt('Havana Herald', at, async () => {
      const { articleHistogram: days } = await query(Histogram, {
        interval: 'DAY',
        timeZone: 'America/Havana',
        from: '2021-03-14T05:00:00Z',
        to: '2021-03-17T04:00:00Z',
        filter: { source: { equals: 'Havana Herald' } },
      });
      expect(days.map((bucket) => [bucket.start, bucket.count])).toEqual([
        ['2021-03-14T05:00:00.000Z', 1],
        ['2021-03-15T04:00:00.000Z', 2], // 00:30 and 23:59 CDT
        ['2021-03-16T04:00:00.000Z', 0],
      ]);
    });
  });

  it('starts every day at its first instant where a clock shows midnight twice (Havana, 7 November 2021)', async () => {
    // Cuba moves its clocks back from 01:00 CDT to 00:00 CST: 7 November begins at its first
    // midnight (00:00 CDT, 04:00Z) and is 25 hours long; 8 November begins at 00:00 CST (05:00Z)
    const at = ['2021-11-06T12:00:00Z', '2021-11-07T04:30:00Z', '2021-11-07T05:30:00Z', '2021-11-08T04:59:00Z'];
    await withArticlesAt('Havana Autumn Herald', at, async () => {
      const histogram = async (interval: 'DAY' | 'WEEK', from: string, to: string) =>
        (
          await query(Histogram, {
            interval,
            timeZone: 'America/Havana',
            from,
            to,
            filter: { source: { equals: 'Havana Autumn Herald' } },
          })
        ).articleHistogram;
      const days = await histogram('DAY', '2021-11-06T04:00:00Z', '2021-11-09T05:00:00Z');
      expect(days.map((bucket) => [bucket.start, bucket.count])).toEqual([
        ['2021-11-06T04:00:00.000Z', 1],
        ['2021-11-07T04:00:00.000Z', 3], // 00:30 CDT, 00:30 CST and 23:59 CST
        ['2021-11-08T05:00:00.000Z', 0],
      ]);
      expect(hours(days[1]!.start, days[2]!.start)).toBe(25);
      // Monday 1 November 00:00 CDT and Monday 8 November 00:00 CST (the last article is Sunday 23:59 CST)
      const weeks = await histogram('WEEK', '2021-11-01T04:00:00Z', '2021-11-15T05:00:00Z');
      expect(weeks.map((bucket) => [bucket.start, bucket.count])).toEqual([
        ['2021-11-01T04:00:00.000Z', 4],
        ['2021-11-08T05:00:00.000Z', 0],
      ]);
    });
  });

  it('counts each article in the bucket from whose start to the next it was published, wherever clocks jump around midnight', async () => {
    // St John's went back from 00:01 NDT to 23:01 NST on 7 November 2010 (its Sunday begins at the
    // second midnight, 03:30Z); Apia skipped 30 December 2011; Casey went back from 02:00 to 23:00
    // the day before on 5 March 2010; Lord Howe moves by half an hour; Havana skips and repeats midnight
    const cases = [
      ['America/St_Johns', '2010-11-06T02:30:00Z', '2010-11-08T03:30:00Z'],
      ['Pacific/Apia', '2011-12-28T10:00:00Z', '2012-01-01T10:00:00Z'],
      ['Antarctica/Casey', '2010-03-03T12:00:00Z', '2010-03-07T00:00:00Z'],
      ['Australia/Lord_Howe', '2021-04-02T13:00:00Z', '2021-04-06T13:00:00Z'],
      ['America/Havana', '2021-11-05T04:00:00Z', '2021-11-09T05:00:00Z'],
      ['America/Havana', '2021-03-12T05:00:00Z', '2021-03-17T04:00:00Z'],
    ] as const;
    const at: string[] = [];
    for (const [, from, to] of cases) {
      // every 20 minutes across the span
      for (let t = Date.parse(from); t < Date.parse(to); t += 20 * 60_000) at.push(new Date(t).toISOString());
    }
    await withArticlesAt('Clockwork Gazette', at, async () => {
      for (const [timeZone, from, to] of cases) {
        for (const interval of ['DAY', 'WEEK', 'MONTH'] as const) {
          const { articleHistogram: buckets } = await query(Histogram, {
            interval,
            timeZone,
            from,
            to,
            filter: { source: { equals: 'Clockwork Gazette' } },
          });
          const label = `${timeZone} ${from} ${interval}`;
          const starts = buckets.map((bucket) => Date.parse(bucket.start));
          expect(
            starts.every((start, i) => i === 0 || start > starts[i - 1]!),
            label,
          ).toBe(true);
          expect(starts[0]! <= Date.parse(from), label).toBe(true);
          // what each bucket counts is exactly what was published from its start (or from) to the next (or to)
          const ends = [...starts.slice(1), Date.parse(to)];
          const inside = starts.map(
            (start, i) =>
              at.filter((iso) => {
                const t = Date.parse(iso);
                return t >= Math.max(start, Date.parse(from)) && t < ends[i]!;
              }).length,
          );
          expect(inside, label).toEqual(buckets.map((bucket) => bucket.count));
        }
      }
      const { articleHistogram: stJohns } = await query(Histogram, {
        interval: 'DAY',
        timeZone: 'America/St_Johns',
        from: '2010-11-06T02:30:00Z',
        to: '2010-11-08T03:30:00Z',
        filter: { source: { equals: 'Clockwork Gazette' } },
      });
      expect(stJohns.map((bucket) => bucket.start)).toEqual(['2010-11-06T02:30:00.000Z', '2010-11-07T03:30:00.000Z']);
      expect(hours(stJohns[0]!.start, stJohns[1]!.start)).toBe(25);
    });
  });

  it('counts the same instants into other buckets in another zone, and includes empty buckets', async () => {
    const { articleHistogram: utc } = await query(Histogram, {
      interval: 'MONTH',
      timeZone: 'UTC',
      from: '2026-01-01T00:00:00Z',
      to: '2027-02-01T00:00:00Z',
    });
    expect(utc).toHaveLength(13);
    expect(utc[0]!.start).toBe('2026-01-01T00:00:00.000Z');
    const byMonth = Object.fromEntries(utc.map((bucket) => [bucket.start.slice(0, 7), bucket.count]));
    expect(byMonth).toMatchObject({ '2026-04': 3, '2026-10': 3, '2026-12': 1, '2027-01': 0, '2026-07': 0 });
    const { articleHistogram: sydney } = await query(Histogram, {
      interval: 'YEAR',
      timeZone: 'Australia/Sydney',
      from: '2025-12-31T13:00:00Z',
      to: '2027-12-31T13:00:00Z',
    });
    expect(sydney).toEqual([
      { start: '2025-12-31T13:00:00.000Z', count: 6 },
      { start: '2026-12-31T13:00:00.000Z', count: 1 },
    ]);
  });

  it('weeks start on Monday; from is inclusive, to exclusive; the first bucket holds from', async () => {
    const { articleHistogram: weeks } = await query(Histogram, {
      interval: 'WEEK',
      timeZone: 'UTC',
      from: '2026-10-04T13:00:00Z', // a Sunday: its week began Monday 28 September
      to: '2026-10-05T13:00:00Z',
    });
    expect(weeks).toEqual([
      { start: '2026-09-28T00:00:00.000Z', count: 1 },
      { start: '2026-10-05T00:00:00.000Z', count: 0 },
    ]);
  });

  it('applies the filter and the search, in one statement', async () => {
    const { statements, result } = await recordStatements(() =>
      query(Histogram, {
        interval: 'YEAR',
        timeZone: 'UTC',
        from: '2026-01-01T00:00:00Z',
        to: '2028-01-01T00:00:00Z',
        filter: { priority: { gte: 3 } },
        search: 'wombat',
      }),
    );
    const expected = PUBLISHED.filter((_, n) => n % 2 === 1 && (n % 5) + 1 >= 3).length;
    expect(result.articleHistogram.map((bucket) => bucket.count)).toEqual([expected, 0]);
    expect(statements).toHaveLength(1);
  });

  it('refuses unknown zones, offsets, reversed or too wide ranges with BAD_USER_INPUT, never a 500', async () => {
    const base = { interval: 'DAY' as const, from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' };
    for (const timeZone of [
      'Mars/Olympus',
      'UTC+10',
      'AEST',
      '',
      'Australia/Sydney; DROP TABLE "Article"',
      'a'.repeat(65),
    ]) {
      expect(codes(await execute(Histogram, { ...base, timeZone })), timeZone).toEqual(['BAD_USER_INPUT']);
    }
    expect(codes(await execute(Histogram, { ...base, timeZone: 'UTC', to: base.from }))).toEqual(['BAD_USER_INPUT']);
    const wide = { ...base, timeZone: 'UTC', to: '2030-01-01T00:00:00Z' };
    expect(codes(await execute(Histogram, wide))).toEqual(['BAD_USER_INPUT']);
    const widest = await execute(Histogram, {
      ...wide,
      interval: 'YEAR',
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T00:00:00Z',
    });
    expect(codes(widest)).toEqual(['BAD_USER_INPUT']);
    // a first bucket that would start before the year 1 (a year or month in a zone east or west of UTC)
    for (const [interval, timeZone] of [
      ['YEAR', 'Asia/Tokyo'],
      ['YEAR', 'America/New_York'],
      ['MONTH', 'America/New_York'],
      ['WEEK', 'America/Los_Angeles'],
    ] as const) {
      const early = { interval, timeZone, from: '0001-01-01T00:00:00Z', to: '0003-01-01T00:00:00Z' };
      const refused = await execute(Histogram, early);
      expect(codes(refused), `${interval} ${timeZone}`).toEqual(['BAD_USER_INPUT']);
      // what to send instead, in words a user reads (not "within the year 1 or after")
      expect(refused.errors![0]!.message).toBe(
        '"from": must be 0002-01-02T00:00:00.000Z or later, whatever the interval and time zone (the earliest "from" whose year, in any zone, starts after 0001-01-01T00:00:00Z, the earliest DateTime)',
      );
    }
    // the earliest `from` answers, in the zones furthest east and west
    for (const timeZone of ['Pacific/Kiritimati', 'Etc/GMT+12']) {
      const earliest = {
        interval: 'YEAR' as const,
        timeZone,
        from: '0002-01-02T00:00:00Z',
        to: '0004-01-01T00:00:00Z',
      };
      expect((await query(Histogram, earliest)).articleHistogram.length, timeZone).toBeGreaterThan(0);
    }
    // exactly the maximum of buckets answers; one more is refused, never cut short (1,041 days
    // pass the first bound of 1,000 x 25 hours)
    const day = (n: number) => new Date(Date.parse('2023-01-01T00:00:00Z') + n * 86_400_000).toISOString();
    const exactly = { ...base, timeZone: 'UTC', from: day(0), to: day(MAX_HISTOGRAM_BUCKETS) };
    expect((await query(Histogram, exactly)).articleHistogram).toHaveLength(MAX_HISTOGRAM_BUCKETS);
    for (const days of [MAX_HISTOGRAM_BUCKETS + 1, MAX_HISTOGRAM_BUCKETS + 2, MAX_HISTOGRAM_BUCKETS + 41]) {
      expect(codes(await execute(Histogram, { ...exactly, to: day(days) })), `${days} days`).toEqual([
        'BAD_USER_INPUT',
      ]);
    }
    for (const [interval, from, to] of [
      ['MONTH', '2000-01-01T00:00:00Z', '2084-08-01T00:00:00Z'],
      ['YEAR', '1100-01-01T00:00:00Z', '2102-01-01T00:00:00Z'],
    ] as const) {
      expect(codes(await execute(Histogram, { interval, timeZone: 'UTC', from, to })), interval).toEqual([
        'BAD_USER_INPUT',
      ]);
    }
    // the widest range allowed answers every bucket
    const { articleHistogram: days } = await query(Histogram, {
      ...base,
      timeZone: 'Australia/Sydney',
      to: new Date(Date.parse(base.from) + (MAX_HISTOGRAM_BUCKETS - 1) * 86_400_000).toISOString(),
    });
    expect(days.length).toBeGreaterThan(MAX_HISTOGRAM_BUCKETS - 3);
    expect(days.length).toBeLessThanOrEqual(MAX_HISTOGRAM_BUCKETS);
    expect(days.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(PUBLISHED.length);
  });
});
