import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter } from './gql/graphql.ts';
import { codes, execute, query } from './support/api.ts';
import { globalId, newestFirst, seedDemo, type SeededArticle } from './support/demo.ts';

const FilteredArticles = graphql(`
  query FilteredArticles($filter: ArticleFilter, $first: Int) {
    articles(filter: $filter, first: $first) {
      totalCount
      edges {
        node {
          url
        }
      }
    }
  }
`);

const Facets = graphql(`
  query FilterFacets($filter: ArticleFilter) {
    articleFacets(filter: $filter, topTopics: 100, topSources: 100) {
      total
      topics {
        topic {
          name
        }
        count
      }
      sources {
        source
        count
      }
      priorities {
        priority
        count
      }
      australian {
        isAustralian
        count
      }
      months {
        month
        start
        count
      }
    }
  }
`);

let articles: SeededArticle[];
const authorIds = new Map<string, number>();
const topicIds = new Map<string, number>();
const topicSlugs = new Map<string, string>();

beforeAll(async () => {
  articles = await seedDemo();
  for (const author of await prisma.author.findMany()) authorIds.set(author.name, author.id);
  for (const topic of await prisma.topic.findMany()) {
    topicIds.set(topic.name, topic.id);
    topicSlugs.set(topic.name, topic.slug);
  }
});

/** Checks the API against an independent predicate over the demo data: count and first page. */
async function expectFilter(filter: ArticleFilter, predicate: (article: SeededArticle) => boolean) {
  const expected = articles.filter(predicate).sort(newestFirst);
  const { articles: page } = await query(FilteredArticles, { filter, first: 100 });
  expect(page.totalCount).toBe(expected.length);
  expect(page.edges.map((edge) => edge.node.url)).toEqual(expected.slice(0, 100).map((article) => article.url));
  await expectFacets(filter, expected);
  return expected.length;
}

/** Counts of `values`, as [value, count] pairs, most frequent first (ties by `tie`). */
function tally<T>(values: T[], tie: (a: T, b: T) => number): [T, number][] {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || tie(a[0], b[0]));
}

/**
 * articleFacets for the same filter, against counts computed here from the expected articles.
 * Facets run the filter's Condition with the SQL backend, the list with the Prisma one, so this
 * also checks that the two backends agree on every filter of this file.
 */
async function expectFacets(filter: ArticleFilter, expected: SeededArticle[]) {
  const { articleFacets: facets } = await query(Facets, { filter });
  expect(facets.total).toBe(expected.length);
  const topicOrder = (a: string, b: string) => topicIds.get(a)! - topicIds.get(b)!;
  const topics = tally(
    expected.flatMap((a) => a.topics),
    topicOrder,
  );
  expect(facets.topics.map((f) => [f.topic.name, f.count])).toEqual(topics.slice(0, 100));
  const sources = tally(
    expected.map((a) => a.source),
    (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  );
  expect(facets.sources.map((f) => [f.source, f.count])).toEqual(sources.slice(0, 100));
  expect(facets.priorities).toEqual(
    [1, 2, 3, 4, 5].map((priority) => ({ priority, count: expected.filter((a) => a.priority === priority).length })),
  );
  expect(facets.australian).toEqual(
    [true, false].map((isAustralian) => ({
      isAustralian,
      count: expected.filter((a) => a.isAustralian === isAustralian).length,
    })),
  );
  const months = new Map<string, number>();
  for (const article of expected) {
    const month = article.publishedAt.toISOString().slice(0, 7);
    months.set(month, (months.get(month) ?? 0) + 1);
  }
  const nonEmpty = facets.months.filter((m) => m.count > 0);
  expect(Object.fromEntries(nonEmpty.map((m) => [m.month, m.count]))).toEqual(Object.fromEntries(months));
  // Zero-filled and contiguous: each month starts where the previous one ends.
  for (const [index, month] of facets.months.entries()) {
    expect(month.start).toBe(`${month.month}-01T00:00:00.000Z`);
    if (index > 0) {
      const previous = new Date(facets.months[index - 1]!.start);
      previous.setUTCMonth(previous.getUTCMonth() + 1);
      expect(month.start).toBe(previous.toISOString());
    }
  }
  if (expected.length === 0) expect(facets.months).toEqual([]);
}

const lower = (value: string) => value.toLowerCase();
const T = (iso: string) => new Date(iso).getTime();

describe('ArticleFilter scalar operators (each checked against an independent oracle)', () => {
  it('priority: equals, in, gt, gte, lt, lte', async () => {
    expect(await expectFilter({ priority: { equals: 3 } }, (a) => a.priority === 3)).toBeGreaterThan(0);
    await expectFilter({ priority: { in: [1, 5] } }, (a) => a.priority === 1 || a.priority === 5);
    await expectFilter({ priority: { gt: 3 } }, (a) => a.priority > 3);
    await expectFilter({ priority: { gte: 4 } }, (a) => a.priority >= 4);
    await expectFilter({ priority: { lt: 2 } }, (a) => a.priority < 2);
    await expectFilter({ priority: { lte: 2 } }, (a) => a.priority <= 2);
    await expectFilter({ priority: { gte: 2, lte: 4 } }, (a) => a.priority >= 2 && a.priority <= 4);
    await expectFilter({ priority: { in: [] } }, () => false);
  });

  it('publishedAt and createdAt: gt, gte, lt, lte (with boundary instants)', async () => {
    const boundary = articles[10]!.publishedAt.toISOString();
    await expectFilter({ publishedAt: { gt: boundary } }, (a) => a.publishedAt.getTime() > T(boundary));
    await expectFilter({ publishedAt: { gte: boundary } }, (a) => a.publishedAt.getTime() >= T(boundary));
    await expectFilter({ publishedAt: { lt: boundary } }, (a) => a.publishedAt.getTime() < T(boundary));
    await expectFilter({ publishedAt: { lte: boundary } }, (a) => a.publishedAt.getTime() <= T(boundary));
    const from = '2025-03-01T00:00:00.000Z';
    const to = '2025-06-01T00:00:00+10:00';
    expect(
      await expectFilter(
        { createdAt: { gte: from, lt: to } },
        (a) => a.createdAt.getTime() >= T(from) && a.createdAt.getTime() < T(to),
      ),
    ).toBeGreaterThan(0);
    const created = articles[20]!.createdAt.toISOString();
    await expectFilter({ createdAt: { gt: created } }, (a) => a.createdAt.getTime() > T(created));
    await expectFilter({ createdAt: { lte: created } }, (a) => a.createdAt.getTime() <= T(created));
  });

  it('isAustralian', async () => {
    expect(await expectFilter({ isAustralian: true }, (a) => a.isAustralian)).toBeGreaterThan(0);
    expect(await expectFilter({ isAustralian: false }, (a) => !a.isAustralian)).toBeGreaterThan(0);
  });

  it('source and title: equals, in, contains, startsWith, case-insensitively', async () => {
    await expectFilter(
      { source: { equals: 'the australian financial review' } },
      (a) => a.source === 'The Australian Financial Review',
    );
    await expectFilter(
      { source: { in: ['REUTERS', 'bloomberg'] } },
      (a) => a.source === 'Reuters' || a.source === 'Bloomberg',
    );
    await expectFilter({ source: { contains: 'TIMES' } }, (a) => lower(a.source).includes('times'));
    await expectFilter({ source: { startsWith: 'the' } }, (a) => lower(a.source).startsWith('the'));
    const title = articles[42]!.title;
    expect(await expectFilter({ title: { equals: title.toUpperCase() } }, (a) => lower(a.title) === lower(title))).toBe(
      1,
    );
    await expectFilter({ title: { in: [lower(title), 'no such title'] } }, (a) => lower(a.title) === lower(title));
    await expectFilter({ title: { contains: 'Chip' } }, (a) => lower(a.title).includes('chip'));
    await expectFilter({ title: { startsWith: 'regulators' } }, (a) => lower(a.title).startsWith('regulators'));
    await expectFilter(
      { title: { contains: 'ai', startsWith: 'Banks' } },
      (a) => lower(a.title).includes('ai') && lower(a.title).startsWith('banks'),
    );
  });

  it('text: contains in title, description, summary or body', async () => {
    const fields = (a: SeededArticle) => [a.title, a.description, a.summary, a.body].map(lower);
    expect(
      await expectFilter({ text: 'Deepfake' }, (a) => fields(a).some((f) => f.includes('deepfake'))),
    ).toBeGreaterThan(0);
    // only in bodies of some articles: the demo body repeats the subject in sentences
    await expectFilter({ text: 'in coming months' }, (a) => fields(a).some((f) => f.includes('in coming months')));
    await expectFilter({ text: 'distillation' }, (a) => fields(a).some((f) => f.includes('distillation')));
  });

  it('reads a filter string as a label is written: invisible characters dropped, each run of spaces one space', async () => {
    const article = articles.find((a) => a.source.includes(' '))!;
    const [first, ...rest] = article.source.split(' ');
    const sameSource = (a: SeededArticle) => a.source === article.source;
    for (const spelling of [
      `\u200b${article.source}\u00ad`,
      `${first}\u00a0 \t${rest.join(' ')}`,
      ` ${article.source}\u2060 `,
    ]) {
      await expectFilter({ source: { equals: spelling } }, sameSource);
      await expectFilter({ source: { in: [spelling] } }, sameSource);
    }
    const word = article.title.split(' ').find((w) => w.length > 4)!;
    const hidden = `${word.slice(0, 2)}\u200b${word.slice(2)}\u00ad`;
    await expectFilter({ title: { contains: hidden } }, (a) => lower(a.title).includes(lower(word)));
    const fields = (a: SeededArticle) => [a.title, a.description, a.summary, a.body].map(lower);
    await expectFilter({ text: hidden }, (a) => fields(a).some((f) => f.includes(lower(word))));
  });

  it('text: nothing but spaces and invisible characters is no condition; no run of 3 letters or digits is refused', async () => {
    for (const empty of ['', '   ', '\u200b\u2060', ' \u00ad ']) await expectFilter({ text: empty }, () => true);
    for (const short of [
      '"',
      'ab',
      '\u0301\u0301\u0301',
      'a\u0301\u0301',
      'x\u0301\u0301',
      'ab\u0301c',
      '\u00b2\u00b3\u00b9',
      '\u200ba\u200bb\u200b',
      '\u2800\u2800\u2800',
    ]) {
      const answer = await execute(FilteredArticles, { filter: { text: short } });
      expect(codes(answer), JSON.stringify(short)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors![0]!.message).toMatch(/needs 3 letters or digits in a row/);
    }
    // what pg_trgm reads as a word: letters and digits of any script, Devanagari's vowel signs
    // included; a combining accent only once composed with its letter (NFC)
    for (const word of ['हिंदी', 'Cafe\u0301s', '\u0661\u0662\u0663', '\u093e\u093f\u0940']) {
      expect(codes(await execute(FilteredArticles, { filter: { text: word } })), word).toEqual([]);
    }
  });
});

describe('ArticleFilter relation operators', () => {
  it('authors: some, every, none by name and by id', async () => {
    const name = 'Shirin Ghaffary';
    expect(
      await expectFilter({ authors: { some: { name: { equals: name } } } }, (a) => a.authors.includes(name)),
    ).toBeGreaterThan(0);
    const id = authorIds.get(name)!;
    await expectFilter({ authors: { some: { id: { equals: globalId('Author', id) } } } }, (a) =>
      a.authors.includes(name),
    );
    const two = ['Maggie Eastland', [...authorIds.keys()][5]!];
    await expectFilter(
      { authors: { some: { id: { in: two.map((n) => globalId('Author', authorIds.get(n)!)) } } } },
      (a) => a.authors.some((n) => two.includes(n)),
    );
    await expectFilter(
      { authors: { none: { name: { startsWith: 'a' } } } },
      (a) => !a.authors.some((n) => lower(n).startsWith('a')),
    );
    await expectFilter({ authors: { every: { name: { contains: 'e' } } } }, (a) =>
      a.authors.every((n) => lower(n).includes('e')),
    );
  });

  it('topics: some, every, none by name, slug and id', async () => {
    await expectFilter({ topics: { some: { slug: { equals: 'ai-safety' } } } }, (a) => a.topics.includes('AI Safety'));
    await expectFilter({ topics: { some: { name: { in: ['china', 'AUSTRALIA'] } } } }, (a) =>
      a.topics.some((t) => t === 'China' || t === 'Australia'),
    );
    await expectFilter(
      { topics: { none: { id: { equals: globalId('Topic', topicIds.get('AI')!) } } } },
      (a) => !a.topics.includes('AI'),
    );
    await expectFilter({ topics: { every: { name: { startsWith: 'a' } } } }, (a) =>
      a.topics.every((t) => lower(t).startsWith('a')),
    );
    await expectFilter({ topics: { some: { slug: { startsWith: 'ai' } } } }, (a) =>
      a.topics.some((t) => topicSlugs.get(t)!.startsWith('ai')),
    );
  });

  it('AND, OR and NOT compose, including nested', async () => {
    await expectFilter(
      { AND: [{ priority: { gte: 3 } }, { isAustralian: true }] },
      (a) => a.priority >= 3 && a.isAustralian,
    );
    await expectFilter(
      { OR: [{ priority: { equals: 5 } }, { source: { equals: 'Wired' } }] },
      (a) => a.priority === 5 || a.source === 'Wired',
    );
    await expectFilter({ NOT: { isAustralian: true } }, (a) => !a.isAustralian);
    await expectFilter(
      {
        priority: { gte: 2 },
        OR: [
          { topics: { some: { name: { equals: 'China' } } } },
          { NOT: { authors: { some: { name: { startsWith: 'M' } } } } },
        ],
        NOT: { AND: [{ isAustralian: false }, { priority: { equals: 2 } }] },
      },
      (a) =>
        a.priority >= 2 &&
        (a.topics.includes('China') || !a.authors.some((n) => lower(n).startsWith('m'))) &&
        !(a.isAustralian === false && a.priority === 2),
    );
    await expectFilter({ OR: [] }, () => false);
    await expectFilter({ AND: [] }, () => true);
  });

  it('agrees on empty conditions in both backends (the list and the facets)', async () => {
    await expectFilter({ NOT: {} }, () => false);
    await expectFilter({ NOT: { OR: [] } }, () => true);
    await expectFilter({ OR: [{}, { priority: { equals: 1 } }] }, () => true);
    await expectFilter({ title: { in: [] } }, () => false);
    await expectFilter({ priority: {} }, () => true);
    // a quantifier over no condition: every article has all (or none) of its authors matching it
    await expectFilter({ authors: { every: {} } }, () => true);
    await expectFilter({ authors: { none: {} } }, (a) => a.authors.length === 0);
    await expectFilter({ topics: { some: {} } }, (a) => a.topics.length > 0);
    await expectFilter({ authors: { some: { name: {} } } }, (a) => a.authors.length > 0);
  });

  it('narrows to the tracker record with a combined filter', async () => {
    expect(
      await expectFilter(
        {
          isAustralian: true,
          priority: { equals: 4 },
          authors: { some: { name: { equals: 'maggie eastland' } } },
          topics: { some: { slug: { equals: 'frontier-models' } } },
          publishedAt: { gte: '2026-04-07T00:00:00Z', lt: '2026-04-08T00:00:00Z' },
        },
        (a) =>
          a.isAustralian &&
          a.priority === 4 &&
          a.authors.includes('Maggie Eastland') &&
          a.topics.includes('Frontier Models') &&
          a.publishedAt.getTime() >= T('2026-04-07T00:00:00Z') &&
          a.publishedAt.getTime() < T('2026-04-08T00:00:00Z'),
      ),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('hostile or malformed filters', () => {
  it('refuses nesting deeper than the limit with BAD_USER_INPUT', async () => {
    let filter: ArticleFilter = { isAustralian: true };
    for (let i = 0; i < 8; i++) filter = { NOT: filter };
    expect(codes(await execute(FilteredArticles, { filter }))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses lists longer than 100 values with BAD_USER_INPUT', async () => {
    const filter = { priority: { in: Array.from({ length: 101 }, (_, i) => i) } };
    expect(codes(await execute(FilteredArticles, { filter }))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a malformed date with BAD_USER_INPUT', async () => {
    for (const value of ['yesterday', '2026-13-45', '2026-04-07T10:00:00']) {
      expect(codes(await execute(FilteredArticles, { filter: { publishedAt: { gt: value } } }))).toEqual([
        'BAD_USER_INPUT',
      ]);
    }
  });

  it('refuses an author id given as a topic id with INVALID_ID', async () => {
    const filter = { topics: { some: { id: { equals: globalId('Author', 1) } } } };
    const result = await execute(FilteredArticles, { filter });
    expect(codes(result)).toEqual(['INVALID_ID']);
  });
});
