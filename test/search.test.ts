import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter, ArticleOrder, AuthorSearchQuery, SearchQuery } from './gql/graphql.ts';
import { codes, execute, query, recordStatements } from './support/api.ts';

/**
 * Full-text search, highlights and capped counts, on fixtures whose words are chosen so the
 * expected matches and their order are known by construction (not by asking the database).
 */

const Search = graphql(`
  query Search(
    $search: String
    $filter: ArticleFilter
    $orderBy: [ArticleOrder!]
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    articles(
      search: $search
      filter: $filter
      orderBy: $orderBy
      first: $first
      after: $after
      last: $last
      before: $before
    ) {
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
        startCursor
      }
      edges {
        node {
          title
        }
      }
    }
  }
`);

const SearchTotals = graphql(`
  query SearchTotals($search: String, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $cap: Int!) {
    articles(search: $search, filter: $filter, orderBy: $orderBy, first: 2) {
      totalCount
      count(cap: $cap) {
        value
        isCapped
      }
      edges {
        node {
          title
        }
      }
    }
  }
`);

const Highlights = graphql(`
  query Highlights($search: String!, $start: String!, $stop: String!, $escape: Boolean!) {
    articles(search: $search, first: 5) {
      edges {
        node {
          title
        }
        body: highlight
        custom: highlight(field: BODY, startMarker: $start, stopMarker: $stop, escapeHtml: $escape, maxFragments: 0)
        title: highlight(field: TITLE)
      }
    }
  }
`);

const SearchHistogram = graphql(`
  query SearchHistogram($search: String) {
    articleHistogram(search: $search, interval: YEAR, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") {
      start
      count
    }
  }
`);

const Plain = graphql(`
  query PlainWithHighlight {
    articles(first: 1) {
      edges {
        highlight
      }
    }
  }
`);

interface Fixture {
  title: string;
  description?: string;
  summary?: string;
  body?: string;
  priority?: number;
  isAustralian?: boolean;
  source?: string;
  publishedAt?: string;
}

let serial = 0;
async function file(fixture: Fixture): Promise<number> {
  serial += 1;
  const url = `https://search.example/${serial}`;
  const row = await prisma.article.create({
    data: {
      title: fixture.title,
      url,
      urlKey: url,
      source: fixture.source ?? 'The Search Times',
      publishedAt: new Date(fixture.publishedAt ?? Date.UTC(2026, 0, 1, 0, serial)),
      priority: fixture.priority ?? 3,
      isAustralian: fixture.isAustralian ?? false,
      description: fixture.description ?? '',
      summary: fixture.summary ?? '',
      body: fixture.body ?? '',
    },
  });
  return row.id;
}

const filler = 'Officials met on Tuesday to discuss the budget and several unrelated matters of state.';

/** The wombat stories: title matches outrank body matches; priorities cycle 1-5. */
const wombats: {
  id: number;
  title: string;
  priority: number;
  inTitle: boolean;
  publishedAt: string;
  isAustralian: boolean;
  source: string;
}[] = [];

beforeAll(async () => {
  await file({ title: 'Quolls return to the mainland after a century', body: filler });
  await file({ title: 'Budget estimates hearing', body: `${filler} A quoll was seen near Canberra.` });
  await file({ title: 'Wildlife corridors', description: 'A quoll crossing is planned.', body: filler });
  await file({ title: 'Reef survey', body: 'The Great Barrier Reef shows recovery in the north.' });
  await file({ title: 'Barrier words', body: 'A reef is a barrier, and great at that, but not the phrase.' });
  await file({ title: 'Numbat census counts more animals' });
  await file({ title: 'Bilby breeding program expands' });
  await file({ title: 'Election night', body: 'The elections were held on Saturday.' });
  await file({ title: 'Escaping', body: 'Tom & Jerry say "quokka" is <3 better than a bilby.' });
  for (let i = 0; i < 25; i++) {
    const inTitle = i % 3 === 0;
    const entry = {
      title: inTitle ? `Wombat report ${i}` : `Regional report ${i}`,
      priority: (i % 5) + 1,
      inTitle,
      // June and August 2025: July has none (the month histogram shows it as zero).
      publishedAt: new Date(Date.UTC(2025, i < 12 ? 5 : 7, 1 + i)).toISOString(),
      isAustralian: i % 2 === 0,
      source: i % 4 === 0 ? 'Wombat Weekly' : 'The Search Times',
    };
    const id = await file({ ...entry, body: inTitle ? filler : `${filler} A wombat dug under the fence.` });
    wombats.push({ id, ...entry });
  }
});

async function titles(search: string, extra: { filter?: ArticleFilter; orderBy?: ArticleOrder[] } = {}) {
  const { articles } = await query(Search, { search, first: 100, ...extra });
  return articles.edges.map((edge) => edge.node.title);
}

/** Every page of a search, `size` at a time, following endCursor. */
async function allPages(search: string, size: number, extra: { filter?: ArticleFilter; orderBy?: ArticleOrder[] }) {
  const seen: string[] = [];
  let after: string | null | undefined = null;
  for (let page = 0; page < 50; page++) {
    const { articles: connection }: SearchQuery = await query(Search, { search, first: size, after, ...extra });
    seen.push(...connection.edges.map((edge) => edge.node.title));
    if (!connection.pageInfo.hasNextPage) return seen;
    after = connection.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

describe('search syntax (web search)', () => {
  it('matches word forms: "quoll" finds Quolls, "elections" finds election', async () => {
    expect(new Set(await titles('quoll'))).toEqual(
      new Set(['Quolls return to the mainland after a century', 'Budget estimates hearing', 'Wildlife corridors']),
    );
    expect(await titles('election')).toEqual(['Election night']);
  });

  it('"quoted phrases" match words in order only', async () => {
    expect(await titles('"great barrier reef"')).toEqual(['Reef survey']);
    expect(new Set(await titles('great barrier reef'))).toEqual(new Set(['Reef survey', 'Barrier words']));
  });

  it('-word excludes, or gives alternatives', async () => {
    expect(new Set(await titles('quoll -mainland'))).toEqual(
      new Set(['Budget estimates hearing', 'Wildlife corridors']),
    );
    expect(new Set(await titles('numbat or bilby'))).toEqual(
      new Set(['Numbat census counts more animals', 'Bilby breeding program expands', 'Escaping']),
    );
    expect(await titles('numbat bilby')).toEqual([]);
  });

  it('-word excludes an article whose title matches by itself but whose body has the word', async () => {
    // the title tier skips the stored vector when the title's match implies it: never with -word
    const id = await file({ title: 'Quoll sanctuary opens', body: `${filler} It is far from the mainland.` });
    const head = await file({
      title: 'Sanctuary news',
      description: 'A quoll sanctuary opens',
      body: `${filler} Mainland visitors welcome.`,
    });
    try {
      expect(await titles('quoll -mainland')).not.toContain('Quoll sanctuary opens');
      expect(await titles('quoll -mainland')).not.toContain('Sanctuary news');
      expect(await titles('"quoll sanctuary" -mainland')).toEqual([]);
      expect(await titles('"quoll sanctuary"')).toEqual(['Quoll sanctuary opens', 'Sanctuary news']);
      expect(await titles('sanctuary -"far from the mainland"')).toEqual(['Sanctuary news']);
    } finally {
      await prisma.article.deleteMany({ where: { id: { in: [id, head] } } });
    }
  });

  it('refuses a search that only excludes words, everywhere a search is taken, after one statement', async () => {
    // such a query matches nearly every article without an index (querytree 'T'): a whole-table
    // scan that ran past the statement time limit at a million articles
    const only = ['-mainland', 'the -mainland', '-"great barrier"', 'budget or -mainland', '- quoll', '-- quoll'];
    for (const search of only) {
      const { statements, result } = await recordStatements(() => execute(SearchTotals, { search, cap: 10 }));
      expect(codes(result), search).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.message).toMatch(/"search" only excludes words/);
      expect(statements.length, search).toBe(1);
      expect(codes(await execute(SearchFacets, { search, topTopics: 1 })), search).toEqual(['BAD_USER_INPUT']);
      const histogram = await execute(SearchHistogram, { search });
      expect(codes(histogram), search).toEqual(['BAD_USER_INPUT']);
    }
    // a word to find with it, a hyphenated word, a dash on its own: answered
    expect(new Set(await titles('quoll -mainland'))).toEqual(
      new Set(['Budget estimates hearing', 'Wildlife corridors']),
    );
    expect((await query(SearchHistogram, { search: 'quoll -mainland' })).articleHistogram).toEqual([
      { start: '2026-01-01T00:00:00.000Z', count: 2 },
    ]);
    for (const search of ['well-known', 'quoll -', '-']) {
      expect((await execute(SearchTotals, { search, cap: 10 })).errors, search).toBeUndefined();
    }
  });

  it('refuses more than 20 "-", which PostgreSQL cannot parse past 32 in a row, and answers 20', async () => {
    for (const search of [
      '-'.repeat(33) + 'quoll',
      `quoll ${'-'.repeat(32)}`,
      ' -'.repeat(33),
      '-('.repeat(40) + 'quoll',
    ]) {
      const result = await execute(SearchTotals, { search, cap: 10 });
      expect(codes(result), search).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.message, search).toMatch(/at most 20/);
      expect(codes(await execute(SearchFacets, { search, topTopics: 1 })), search).toEqual(['BAD_USER_INPUT']);
      expect(codes(await execute(SearchHistogram, { search })), search).toEqual(['BAD_USER_INPUT']);
    }
    expect(await titles(`quoll ${'- '.repeat(20)}`)).toEqual(await titles('quoll'));
  });

  it('reads any space as a space and drops invisible characters, as PostgreSQL 15 and PGlite alike', async () => {
    const spaced = new Set(await titles('quoll -mainland'));
    for (const space of ['\u2003', '\u3000', '\u2009', '\u00a0', '\u2028']) {
      expect(new Set(await titles(`quoll${space}-mainland`)), JSON.stringify(space)).toEqual(spaced);
      expect(codes(await execute(Search, { search: `the${space}-mainland`, first: 5 }))).toEqual(['BAD_USER_INPUT']);
    }
    expect(await titles('quo\u00adll\u200b')).toEqual(await titles('quoll'));
    const highlighted = await query(Highlights, { search: 'quoll\u3000mainland', start: '[', stop: ']', escape: true });
    expect(highlighted.articles.edges.map((edge) => edge.title)).toEqual(
      (await query(Highlights, { search: 'quoll mainland', start: '[', stop: ']', escape: true })).articles.edges.map(
        (edge) => edge.title,
      ),
    );
  });

  it('never fails on odd syntax, and refuses blank or oversized text with BAD_USER_INPUT', async () => {
    for (const text of ['quoll & | ! <->', '\'); DROP TABLE "Article"; --', '"unclosed quote', ':* (( ))', '-']) {
      const result = await execute(Search, { search: text, first: 5 });
      expect(result.errors).toBeUndefined();
    }
    expect(await prisma.article.count()).toBe(34);
    expect(codes(await execute(Search, { search: '   ', first: 5 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await execute(Search, { search: 'x'.repeat(501), first: 5 }))).toEqual(['BAD_USER_INPUT']);
  });

  it('matches no article, without an error, when the text holds no word the index has: punctuation, stop words', async () => {
    for (const search of ['%', '!!!', '"', '🔥', 'the', 'the of and', '"the"']) {
      const result = await execute(SearchTotals, { search, cap: 10 });
      expect(result.errors, search).toBeUndefined();
      expect(result.data!.articles.totalCount, search).toBe(0);
      expect(result.data!.articles.edges, search).toEqual([]);
    }
    // a stop word beside a word is left out of the search, not a reason to find nothing
    const withWord = await execute(SearchTotals, { search: 'the quoll', cap: 10 });
    expect(withWord.data!.articles.totalCount).toBe(
      (await execute(SearchTotals, { search: 'quoll', cap: 10 })).data!.articles.totalCount,
    );
    expect(withWord.data!.articles.totalCount).toBeGreaterThan(0);
  });
});

describe('ranking', () => {
  it('a title match outranks a description match, which outranks a body match', async () => {
    expect(await titles('quoll')).toEqual([
      'Quolls return to the mainland after a century',
      'Wildlife corridors',
      'Budget estimates hearing',
    ]);
  });

  it('ranks title matches first, then head (title, description, summary) matches, then body-only ones', async () => {
    // ts_rank alone orders these otherwise: many close pairs in a summary or body outrank one title pair
    const title = await file({ title: 'Dugong herds follow the seagrass', body: filler });
    const head = await file({
      title: 'Coastal notes',
      summary: Array.from({ length: 10 }, () => 'dugong seagrass').join(' '),
    });
    const sparse = await file({ title: 'Dugong grazing', summary: `${'morning '.repeat(60)}seagrass`, body: filler });
    const body = await file({
      title: 'Monotremes',
      body: Array.from({ length: 10 }, () => 'dugong seagrass').join(' '),
    });
    const ranks = new Map(
      (
        await prisma.$queryRaw<{ id: number; rank: number }[]>`
          SELECT "id", ts_rank("searchVector", websearch_to_tsquery('english', 'dugong seagrass')) AS "rank"
          FROM "Article" WHERE "id" IN (${title}, ${head}, ${sparse}, ${body})`
      ).map((row) => [row.id, row.rank]),
    );
    expect(ranks.get(head)).toBeGreaterThan(ranks.get(title)!);
    expect(ranks.get(body)).toBeGreaterThan(ranks.get(sparse)!);
    const order = ['Dugong herds follow the seagrass', 'Coastal notes', 'Dugong grazing', 'Monotremes'];
    expect(await titles('dugong seagrass')).toEqual(order);
    expect(await titles('dugong seagrass', { orderBy: [{ field: 'RELEVANCE', direction: 'ASC' }] })).toEqual(
      [...order].reverse(),
    );
    // paged one by one, both ways, across the tiers
    expect(await allPages('dugong seagrass', 1, {})).toEqual(order);
    const backwards: string[] = [];
    let before: string | null | undefined;
    for (let page = 0; page < 6; page++) {
      const { articles } = await query(Search, { search: 'dugong seagrass', last: 1, before });
      backwards.unshift(...articles.edges.map((edge) => edge.node.title));
      if (!articles.pageInfo.hasPreviousPage) break;
      before = articles.pageInfo.startCursor;
    }
    expect(backwards).toEqual(order);
  });

  it('finds the tiers with the word positions of the stored vector: a phrase across title and description', async () => {
    // "the" ends the title: the stored vector (title, then description) puts the two words side by side
    await file({ title: 'Officials warn of flibbertigibbet the', description: 'wozzlecrank spreads', body: filler });
    await file({
      title: 'Weekly digest',
      body: Array.from({ length: 10 }, () => 'flibbertigibbet wozzlecrank').join(' then '),
    });
    expect(await titles('"flibbertigibbet wozzlecrank"')).toEqual([
      'Officials warn of flibbertigibbet the',
      'Weekly digest',
    ]);
  });

  it('RELEVANCE is the default order with a search, DESC by default, and refused without one', async () => {
    const byDefault = await titles('wombat');
    expect(await titles('wombat', { orderBy: [{ field: 'RELEVANCE' }] })).toEqual(byDefault);
    expect(byDefault.slice(0, 9).every((title) => title.startsWith('Wombat'))).toBe(true);
    expect(byDefault.slice(9).every((title) => title.startsWith('Regional'))).toBe(true);
    const ascending = await titles('wombat', { orderBy: [{ field: 'RELEVANCE', direction: 'ASC' }] });
    expect(ascending.slice(0, 16).every((title) => title.startsWith('Regional'))).toBe(true);
    const result = await execute(Search, { orderBy: [{ field: 'RELEVANCE' }], first: 5 });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('search with filters and pagination', () => {
  it('pages through a filtered search without gaps or repeats, in rank order (ties by id)', async () => {
    const filter: ArticleFilter = { priority: { gte: 3 }, isAustralian: true };
    const expected = wombats.filter((w, i) => w.priority >= 3 && i % 2 === 0);
    expect(expected.length).toBeGreaterThan(4);
    const single = await titles('wombat', { filter });
    expect(new Set(single)).toEqual(new Set(expected.map((w) => w.title)));
    // Equal ranks are ordered by id, descending: later-filed first within each rank.
    const titleMatches = expected.filter((w) => w.inTitle).map((w) => w.title);
    const bodyMatches = expected.filter((w) => !w.inTitle).map((w) => w.title);
    expect(single).toEqual([...titleMatches.reverse(), ...bodyMatches.reverse()]);
    for (const size of [1, 2, 3]) expect(await allPages('wombat', size, { filter })).toEqual(single);
  });

  it('orders a search by another field and pages through it', async () => {
    const orderBy: ArticleOrder[] = [{ field: 'PUBLISHED_AT', direction: 'DESC' }];
    const expected = [...wombats].sort((a, b) => b.publishedAt.localeCompare(a.publishedAt)).map((w) => w.title);
    expect(await allPages('wombat', 4, { orderBy })).toEqual(expected);
    const byPriority: ArticleOrder[] = [{ field: 'PRIORITY', direction: 'DESC' }, { field: 'RELEVANCE' }];
    const pages = await allPages('wombat', 3, { orderBy: byPriority });
    expect(pages).toEqual(await titles('wombat', { orderBy: byPriority }));
    const priorityOf = new Map(wombats.map((w) => [w.title, w.priority]));
    const priorities = pages.map((title) => priorityOf.get(title)!);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });

  it('pages backwards with last/before', async () => {
    const forward = await titles('wombat');
    const { articles: tail } = await query(Search, { search: 'wombat', last: 5 });
    expect(tail.edges.map((edge) => edge.node.title)).toEqual(forward.slice(-5));
    expect(tail.pageInfo.hasPreviousPage).toBe(true);
    const { articles: before } = await query(Search, { search: 'wombat', last: 5, before: tail.pageInfo.startCursor });
    expect(before.edges.map((edge) => edge.node.title)).toEqual(forward.slice(-10, -5));
  });

  it('refuses a cursor of another ordering with INVALID_CURSOR', async () => {
    const { articles } = await query(Search, { search: 'wombat', first: 2 });
    const result = await execute(Search, {
      search: 'wombat',
      first: 2,
      after: articles.pageInfo.endCursor,
      orderBy: [{ field: 'TITLE' }],
    });
    expect(codes(result)).toEqual(['INVALID_CURSOR']);
  });

  it('refuses a relevance cursor of another search, and keeps cursors of a column order across searches', async () => {
    const { articles } = await query(Search, { search: 'wombat', first: 2 });
    const other = await execute(Search, { search: 'quoll', first: 2, after: articles.pageInfo.endCursor });
    expect(codes(other)).toEqual(['INVALID_CURSOR']);
    expect(other.errors?.[0]?.message).toContain('a different search');
    // the same text, other blanks: the same ranking, so the same next page
    const next = await query(Search, { search: 'wombat', first: 2, after: articles.pageInfo.endCursor });
    const spaced = await query(Search, { search: '  wombat ', first: 2, after: articles.pageInfo.endCursor });
    expect(spaced.articles.edges).toEqual(next.articles.edges);
    // and in other case: the search ignores case, so the ranking is the same
    const cased = await query(Search, { search: 'WomBAT', first: 2, after: articles.pageInfo.endCursor });
    expect(cased.articles.edges).toEqual(next.articles.edges);
    expect(next.articles.edges).toHaveLength(2);
    // a title is a title whatever the search: that cursor pages any of them
    const byTitle = await query(Search, { search: 'wombat', first: 1, orderBy: [{ field: 'TITLE' }] });
    const elsewhere = await execute(Search, {
      search: 'quoll',
      first: 2,
      orderBy: [{ field: 'TITLE' }],
      after: byTitle.articles.pageInfo.endCursor,
    });
    expect(elsewhere.errors).toBeUndefined();
  });
});

describe('totals of a search', () => {
  it('totalCount and count(cap:) agree with the matches; the capped count says when it stopped', async () => {
    const { articles } = await query(SearchTotals, { search: 'wombat', cap: 1000 });
    expect(articles.totalCount).toBe(25);
    expect(articles.count).toEqual({ value: 25, isCapped: false });
    const capped = await query(SearchTotals, { search: 'wombat', cap: 10 });
    expect(capped.articles.count).toEqual({ value: 10, isCapped: true });
    const filtered = await query(SearchTotals, { search: 'wombat', filter: { priority: { equals: 5 } }, cap: 3 });
    expect(filtered.articles.totalCount).toBe(5);
    expect(filtered.articles.count).toEqual({ value: 3, isCapped: true });
    const other = await query(SearchTotals, { search: 'wombat', orderBy: [{ field: 'TITLE' }], cap: 24 });
    expect(other.articles.totalCount).toBe(25);
    expect(other.articles.count).toEqual({ value: 24, isCapped: true });
    expect(codes(await execute(SearchTotals, { search: 'wombat', cap: 0 }))).toEqual(['BAD_USER_INPUT']);
  });

  it('ranked by relevance: a statement per tier read; a separate count only when a tier was not ranked', async () => {
    const counts = (statements: string[]) =>
      statements.filter((sql) => sql.includes('AS "count" FROM (SELECT 1')).length;
    // 9 wombats in titles fill a page of 2 (3 read): the body matches are not ranked, so the total is counted
    const wombat = await recordStatements(() => query(SearchTotals, { search: 'wombat', cap: 10 }));
    expect(wombat.statements).toHaveLength(3);
    expect(counts(wombat.statements)).toBe(1);
    expect(wombat.result.articles.totalCount).toBe(wombats.length);
    // 1 quoll in a title, 1 in a description, 1 in a body only: every tier ranked, their counts add up
    const quoll = await recordStatements(() => query(SearchTotals, { search: 'quoll', cap: 10 }));
    expect(quoll.statements).toHaveLength(4);
    expect(counts(quoll.statements)).toBe(0);
    expect(quoll.result.articles.totalCount).toBe(3);
    expect(quoll.result.articles.edges.map((edge) => edge.node.title)).toEqual([
      'Quolls return to the mainland after a century',
      'Wildlife corridors',
    ]);
    const byTitle = await recordStatements(() =>
      query(SearchTotals, { search: 'wombat', orderBy: [{ field: 'TITLE' }], cap: 10 }),
    );
    expect(byTitle.statements).toHaveLength(3);
  });
});

describe('highlights', () => {
  it('marks the matching words of the chosen field, with the default or given markers', async () => {
    const { articles } = await query(Highlights, { search: 'quoll', start: '[[', stop: ']]', escape: true });
    const byTitle = new Map(articles.edges.map((edge) => [edge.node.title, edge]));
    const budget = byTitle.get('Budget estimates hearing')!;
    expect(budget.body).toContain('A <mark>quoll</mark> was seen near Canberra');
    expect(budget.custom).toContain('A [[quoll]] was seen');
    expect(budget.title).toBe('Budget estimates hearing');
    expect(byTitle.get('Quolls return to the mainland after a century')!.title).toBe(
      '<mark>Quolls</mark> return to the mainland after a century',
    );
  });

  it('escapes the text (not the markers) for HTML unless told not to', async () => {
    const escaped = await query(Highlights, { search: 'quokka', start: '<b>', stop: '</b>', escape: true });
    expect(escaped.articles.edges[0]!.custom).toContain('Tom &amp; Jerry say &quot;<b>quokka</b>&quot;');
    const raw = await query(Highlights, { search: 'quokka', start: '*', stop: '*', escape: false });
    expect(raw.articles.edges[0]!.custom).toContain('Tom & Jerry say "*quokka*"');
  });

  it('is made in SQL for the whole page in one statement; the body is not loaded into Node', async () => {
    const { statements } = await recordStatements(() =>
      query(Highlights, { search: 'wombat', start: '[', stop: ']', escape: true }),
    );
    // page ids, rows, and one ts_headline statement for every set of options on the page (3 here)
    expect(statements).toHaveLength(3);
    const headlines = statements.filter((sql) => sql.includes('ts_headline'));
    expect(headlines).toHaveLength(1);
    expect(headlines[0]!.match(/ts_headline/g)!.length).toBeGreaterThanOrEqual(3);
    const others = statements.filter((sql) => !sql.includes('ts_headline'));
    expect(others.some((sql) => sql.includes('"body"'))).toBe(false);
  });

  it('is null without a search, and refuses out-of-range options', async () => {
    const { articles } = await query(Plain);
    expect(articles.edges[0]!.highlight).toBeNull();
    const long = await execute(Highlights, { search: 'quoll', start: 'x'.repeat(33), stop: ']', escape: true });
    expect(codes(long)).toContain('BAD_USER_INPUT');
  });
});

describe('the stored search vector follows the text', () => {
  it('is recomputed by the database when a title or body changes', async () => {
    const id = await file({ title: 'Platypus sighting', body: filler });
    expect(await titles('platypus')).toEqual(['Platypus sighting']);
    await prisma.article.update({ where: { id }, data: { title: 'Echidna sighting' } });
    expect(await titles('platypus')).toEqual([]);
    expect(await titles('echidna')).toEqual(['Echidna sighting']);
    await prisma.article.update({ where: { id }, data: { body: 'A platypus, again.' } });
    expect(await titles('platypus')).toEqual(['Echidna sighting']);
    await prisma.article.delete({ where: { id } });
  });
});

const AuthorSearch = graphql(`
  query AuthorSearch($filter: AuthorListFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {
    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          name
        }
      }
    }
  }
`);

const TopicSearch = graphql(`
  query TopicSearch($filter: TopicListFilter, $orderBy: [NamedOrder!]) {
    topics(filter: $filter, orderBy: $orderBy, first: 50) {
      count(cap: 100) {
        value
        isCapped
      }
      edges {
        node {
          name
        }
      }
    }
  }
`);

describe('author and topic lookup by similar name (pg_trgm)', () => {
  beforeAll(async () => {
    for (const name of ['Shirin Ghaffary', 'Shirin Ebadi', 'Hamid Ghafari', 'Maggie Eastland', 'Matt Gaffney'])
      await prisma.author.create({ data: { name } });
    for (const [name, slug] of [
      ['Artificial Intelligence', 'artificial-intelligence'],
      ['Intelligence Agencies', 'intelligence-agencies'],
      ['Agriculture', 'agriculture'],
      ['Artificial Reefs', 'artificial-reefs'],
    ])
      await prisma.topic.create({ data: { name: name!, slug: slug! } });
  });

  const authorNames = async (filter: object, orderBy?: object[]) =>
    (await query(AuthorSearch, { filter, orderBy, first: 50 } as never)).authors.edges.map((edge) => edge.node.name);
  const topicNames = async (filter: object, orderBy?: object[]) =>
    (await query(TopicSearch, { filter, orderBy } as never)).topics.edges.map((edge) => edge.node.name);

  it('finds a misspelt surname, most similar first', async () => {
    expect(new Set(await authorNames({ nameSearch: 'ghafary' }))).toEqual(
      new Set(['Shirin Ghaffary', 'Hamid Ghafari']),
    );
    expect((await authorNames({ nameSearch: 'shirin ghafary' }))[0]).toBe('Shirin Ghaffary');
    expect((await authorNames({ nameSearch: 'hamid gafari' }))[0]).toBe('Hamid Ghafari');
    expect(await authorNames({ nameSearch: 'eastlan' })).toEqual(['Maggie Eastland']);
  });

  it('finds partial and misspelt topic names, ranked by similarity', async () => {
    expect(new Set(await topicNames({ nameSearch: 'inteligence' }))).toEqual(
      new Set(['Artificial Intelligence', 'Intelligence Agencies']),
    );
    expect((await topicNames({ nameSearch: 'artifical inteligence' }))[0]).toBe('Artificial Intelligence');
    expect(await topicNames({ nameSearch: 'agricultur' })).toEqual(['Agriculture']);
    const { topics } = await query(TopicSearch, { filter: { nameSearch: 'inteligence' } });
    expect(topics.count).toEqual({ value: 2, isCapped: false });
  });

  it('combines with the other conditions, another order, and pagination', async () => {
    expect(await authorNames({ nameSearch: 'ghafary', name: { startsWith: 'shirin' } })).toEqual(['Shirin Ghaffary']);
    const all = await authorNames({ nameSearch: 'ghafary' });
    expect(await authorNames({ nameSearch: 'ghafary' }, [{ field: 'NAME' }])).toEqual([...all].sort());
    const paged: string[] = [];
    let after: string | null | undefined = null;
    for (let page = 0; page < 10; page++) {
      const { authors }: AuthorSearchQuery = await query(AuthorSearch, {
        filter: { nameSearch: 'ghafary' },
        first: 1,
        after,
      });
      expect(authors.totalCount).toBe(all.length);
      paged.push(...authors.edges.map((edge) => edge.node.name));
      if (!authors.pageInfo.hasNextPage) break;
      after = authors.pageInfo.endCursor;
    }
    expect(paged).toEqual(all);
  });

  it('refuses a cursor of one nameSearch on another (INVALID_CURSOR)', async () => {
    const { authors } = await query(AuthorSearch, { filter: { nameSearch: 'ghafary' }, first: 1 });
    const other = await execute(AuthorSearch, {
      filter: { nameSearch: 'eastlan' },
      first: 1,
      after: authors.pageInfo.endCursor,
    });
    expect(codes(other)).toEqual(['INVALID_CURSOR']);
    // nor on the articles searched by the same text
    const articles = await execute(Search, { search: 'ghafary', first: 1, after: authors.pageInfo.endCursor });
    expect(codes(articles)).toEqual(['INVALID_CURSOR']);
  });

  it('refuses RELEVANCE without a nameSearch, and a blank nameSearch, with BAD_USER_INPUT', async () => {
    expect(codes(await execute(AuthorSearch, { orderBy: [{ field: 'RELEVANCE' }], first: 5 }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await execute(AuthorSearch, { filter: { nameSearch: ' ' }, first: 5 }))).toEqual(['BAD_USER_INPUT']);
  });
});

const SearchFacets = graphql(`
  query SearchFacets($search: String, $filter: ArticleFilter, $topTopics: Int!) {
    articleFacets(search: $search, filter: $filter, topTopics: $topTopics, topSources: 1) {
      total
      topics {
        topic {
          name
          slug
          articleCount
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
        count
      }
    }
  }
`);

describe('facets of a search', () => {
  const tags = new Map<number, string[]>();
  beforeAll(async () => {
    const marsupials = await prisma.topic.create({ data: { name: 'Marsupials', slug: 'marsupials' } });
    const burrowing = await prisma.topic.create({ data: { name: 'Burrowing', slug: 'burrowing' } });
    const fences = await prisma.topic.create({ data: { name: 'Fences', slug: 'fences' } });
    for (const [index, wombat] of wombats.entries()) {
      const topics = [
        ...(index % 2 === 0 ? [marsupials] : []),
        ...(index % 3 === 0 ? [burrowing] : []),
        ...(index === 7 ? [fences] : []),
      ];
      tags.set(
        wombat.id,
        topics.map((topic) => topic.name),
      );
      await prisma.articleTopic.createMany({
        data: topics.map((topic) => ({ articleId: wombat.id, topicId: topic.id })),
      });
    }
  });

  it('counts the same result set as the search, with every breakdown computed independently', async () => {
    const filter: ArticleFilter = { priority: { gte: 2 } };
    const matched = wombats.filter((w) => w.priority >= 2);
    const { articleFacets: facets } = await query(SearchFacets, { search: 'wombat', filter, topTopics: 2 });
    const { articles } = await query(SearchTotals, { search: 'wombat', filter, cap: 1000 });
    expect(facets.total).toBe(matched.length);
    expect(articles.totalCount).toBe(matched.length);
    const topicCount = (name: string) => matched.filter((w) => tags.get(w.id)!.includes(name)).length;
    expect(facets.topics.map((f) => [f.topic.name, f.count])).toEqual([
      ['Marsupials', topicCount('Marsupials')],
      ['Burrowing', topicCount('Burrowing')],
    ]);
    expect(facets.topics[0]!.topic.articleCount).toBe(13);
    const weekly = matched.filter((w) => w.source === 'Wombat Weekly').length;
    const times = matched.length - weekly;
    expect(facets.sources).toEqual([
      weekly > times ? { source: 'Wombat Weekly', count: weekly } : { source: 'The Search Times', count: times },
    ]);
    expect(facets.priorities).toEqual(
      [1, 2, 3, 4, 5].map((priority) => ({ priority, count: matched.filter((w) => w.priority === priority).length })),
    );
    expect(facets.australian).toEqual([
      { isAustralian: true, count: matched.filter((w) => w.isAustralian).length },
      { isAustralian: false, count: matched.filter((w) => !w.isAustralian).length },
    ]);
    expect(facets.months).toEqual([
      { month: '2025-06', count: matched.filter((w) => w.publishedAt.startsWith('2025-06')).length },
      { month: '2025-07', count: 0 },
      { month: '2025-08', count: matched.filter((w) => w.publishedAt.startsWith('2025-08')).length },
    ]);
  });

  it('takes one statement for the counts and one for the topics shown', async () => {
    // on a server, first the statement_timeout of the counts' transaction (facet-sample.test.ts)
    const counted = (sql: string[]) => sql.filter((text) => !/^(BEGIN|COMMIT|SELECT set_config)/.test(text));
    const { statements } = await recordStatements(() => query(SearchFacets, { search: 'wombat', topTopics: 3 }));
    expect(counted(statements)).toHaveLength(2);
    const none = await recordStatements(() => query(SearchFacets, { search: 'wombat', topTopics: 0 }));
    expect(counted(none.statements)).toHaveLength(1);
    expect(none.result.articleFacets.topics).toEqual([]);
  });

  it('is empty, not an error, when nothing matches; refuses bad arguments with BAD_USER_INPUT', async () => {
    const { articleFacets: facets } = await query(SearchFacets, { search: 'thylacine', topTopics: 5 });
    expect(facets.total).toBe(0);
    expect(facets.topics).toEqual([]);
    expect(facets.months).toEqual([]);
    expect(facets.priorities.every((p) => p.count === 0)).toBe(true);
    expect(codes(await execute(SearchFacets, { search: 'wombat', topTopics: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await execute(SearchFacets, { search: '', topTopics: 1 }))).toEqual(['BAD_USER_INPUT']);
  });
});
