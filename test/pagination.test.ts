import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter, ArticleOrder } from './gql/graphql.ts';
import { codes, execute, query } from './support/api.ts';
import { newestFirst, seedDemo, type SeededArticle } from './support/demo.ts';

const Page = graphql(`
  query Page(
    $filter: ArticleFilter
    $orderBy: [ArticleOrder!]
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          url
          priority
          title
        }
      }
    }
  }
`);

let articles: SeededArticle[];
beforeAll(async () => {
  articles = await seedDemo();
});

type Args = { filter?: ArticleFilter; orderBy?: ArticleOrder[] };

/** Walks a list forwards with `first`, returning the urls in order and every page seen. */
async function walkForward(args: Args, size: number) {
  const urls: string[] = [];
  let after: string | null | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const { articles: page } = await query(Page, { ...args, first: size, after });
    urls.push(...page.edges.map((edge) => edge.node.url));
    expect(page.pageInfo.hasPreviousPage).toBe(after != null);
    expect(page.edges.length).toBeLessThanOrEqual(size);
    if (page.edges.length) {
      expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
    }
    if (!page.pageInfo.hasNextPage) return urls;
    expect(page.edges.length).toBe(size);
    after = page.pageInfo.endCursor;
  }
  throw new Error('did not finish');
}

/** Walks a list backwards from its end with `last`, returning the urls in list order. */
async function walkBackward(args: Args, size: number) {
  const pages: string[][] = [];
  let before: string | null | undefined;
  for (let count = 0; count < 1000; count++) {
    const { articles: page } = await query(Page, { ...args, last: size, before });
    pages.unshift(page.edges.map((edge) => edge.node.url));
    expect(page.pageInfo.hasNextPage).toBe(before != null);
    if (!page.pageInfo.hasPreviousPage) return pages.flat();
    expect(page.edges.length).toBe(size);
    before = page.pageInfo.startCursor;
  }
  throw new Error('did not finish');
}

describe('relay pagination over articles', () => {
  it('walks every article forwards and backwards across page boundaries, in the default order', async () => {
    const expected = [...articles].sort(newestFirst).map((a) => a.url);
    expect(await walkForward({}, 37)).toEqual(expected);
    expect(await walkBackward({}, 37)).toEqual(expected);
  });

  it('walks a filtered list the same way in both directions, with a stable totalCount', async () => {
    const filter = { priority: { gte: 3 }, isAustralian: true };
    const expected = articles
      .filter((a) => a.priority >= 3 && a.isAustralian)
      .sort(newestFirst)
      .map((a) => a.url);
    expect(await walkForward({ filter }, 9)).toEqual(expected);
    expect(await walkBackward({ filter }, 9)).toEqual(expected);
    const { articles: page } = await query(Page, { filter, first: 5 });
    const second = await query(Page, { filter, first: 5, after: page.pageInfo.endCursor });
    expect(page.totalCount).toBe(expected.length);
    expect(second.articles.totalCount).toBe(expected.length);
  });

  it('uses 20 as the default page size, and first: 0 returns only the total', async () => {
    const { articles: page } = await query(Page, {});
    expect(page.edges).toHaveLength(20);
    const empty = await query(Page, { first: 0 });
    expect(empty.articles.edges).toEqual([]);
    expect(empty.articles.totalCount).toBe(articles.length);
    expect(empty.articles.pageInfo.hasNextPage).toBe(true);
    expect(empty.articles.pageInfo.endCursor).toBeNull();
  });

  it('continues where it left off when rows are inserted between pages (no duplicates, no gaps)', async () => {
    const filter = { source: { equals: 'Between Pages Gazette' } };
    const base = new Date('2025-06-01T00:00:00Z').getTime();
    const create = (n: number, at: number) =>
      prisma.article.create({
        data: {
          title: `Between ${n}`,
          url: `https://between.example/${n}`,
          urlKey: `https://between.example/${n}`,
          source: 'Between Pages Gazette',
          publishedAt: new Date(at),
          priority: 3,
        },
      });
    for (let n = 0; n < 20; n++) await create(n, base - n * 3_600_000);
    const first = await query(Page, { filter, first: 8 });
    const seen = first.articles.edges.map((edge) => edge.node.url);
    expect(seen[0]).toBe('https://between.example/0');
    // newer than the whole page (before the cursor) and inside the unseen part (after it)
    await create(100, base + 3_600_000);
    await create(101, base - 10.5 * 3_600_000);
    const next = await query(Page, { filter, first: 100, after: first.articles.pageInfo.endCursor });
    const after = next.articles.edges.map((edge) => edge.node.url);
    expect(after).not.toContain('https://between.example/100');
    expect(after).toEqual([
      ...[8, 9, 10].map((n) => `https://between.example/${n}`),
      'https://between.example/101',
      ...[11, 12, 13, 14, 15, 16, 17, 18, 19].map((n) => `https://between.example/${n}`),
    ]);
    expect(new Set([...seen, ...after]).size).toBe(seen.length + after.length);
  });

  it('pages backwards from a cursor across rows inserted in between', async () => {
    const filter = { source: { equals: 'Backwards Bulletin' } };
    const base = new Date('2025-02-01T00:00:00Z').getTime();
    const create = (n: number, at: number) =>
      prisma.article.create({
        data: {
          title: `Backwards ${n}`,
          url: `https://backwards.example/${n}`,
          urlKey: `https://backwards.example/${n}`,
          source: 'Backwards Bulletin',
          publishedAt: new Date(at),
          priority: 3,
        },
      });
    for (let n = 0; n < 12; n++) await create(n, base - n * 3_600_000);
    // the last page of the list (oldest rows), then everything before it
    const tail = await query(Page, { filter, last: 4 });
    expect(tail.articles.edges.map((edge) => edge.node.url)).toEqual(
      [8, 9, 10, 11].map((n) => `https://backwards.example/${n}`),
    );
    await create(100, base - 4.5 * 3_600_000); // between rows 4 and 5: not yet seen
    await create(101, base - 20 * 3_600_000); // after the whole tail: behind the cursor
    const before = await query(Page, { filter, last: 100, before: tail.articles.pageInfo.startCursor });
    expect(before.articles.edges.map((edge) => edge.node.url)).toEqual([
      ...[0, 1, 2, 3, 4].map((n) => `https://backwards.example/${n}`),
      'https://backwards.example/100',
      ...[5, 6, 7].map((n) => `https://backwards.example/${n}`),
    ]);
    expect(before.articles.pageInfo.hasPreviousPage).toBe(false);
    expect(before.articles.pageInfo.hasNextPage).toBe(true);
  });

  it('breaks ties by id so every row appears once, in every ordering', async () => {
    const at = new Date('2024-12-25T00:00:00Z');
    await prisma.article.createMany({
      data: Array.from({ length: 30 }, (_, n) => ({
        title: n % 2 ? 'Same title' : 'Same Title',
        url: `https://ties.example/${n}`,
        urlKey: `https://ties.example/${n}`,
        source: 'Tie Times',
        publishedAt: at,
        priority: 2 + (n % 2),
      })),
    });
    const filter = { source: { equals: 'Tie Times' } };
    const ids = (
      await prisma.article.findMany({ where: { source: 'Tie Times' }, select: { id: true, url: true } })
    ).sort((a, b) => b.id - a.id);
    // all equal on publishedAt: the id (descending, following the last term) decides
    expect(await walkForward({ filter }, 7)).toEqual(ids.map((row) => row.url));
    const orders: ArticleOrder[][] = [
      [
        { field: 'PRIORITY', direction: 'DESC' },
        { field: 'PUBLISHED_AT', direction: 'DESC' },
      ],
      [{ field: 'TITLE', direction: 'ASC' }],
      [
        { field: 'TITLE', direction: 'DESC' },
        { field: 'PRIORITY', direction: 'ASC' },
      ],
      [{ field: 'CREATED_AT', direction: 'ASC' }],
    ];
    for (const orderBy of orders) {
      const all = (await query(Page, { filter, orderBy, first: 100 })).articles.edges.map((edge) => edge.node.url);
      expect(all).toHaveLength(30);
      expect(await walkForward({ filter, orderBy }, 7)).toEqual(all);
      expect(await walkBackward({ filter, orderBy }, 7)).toEqual(all);
    }
  });

  it('orders by priority then newest, matching an independent sort', async () => {
    const orderBy: ArticleOrder[] = [
      { field: 'PRIORITY', direction: 'DESC' },
      { field: 'PUBLISHED_AT', direction: 'DESC' },
    ];
    // the demo rows only: other tests in this file add rows from these two sources
    const filter = {
      isAustralian: false,
      NOT: { source: { in: ['Between Pages Gazette', 'Tie Times', 'Backwards Bulletin'] } },
    };
    const expected = articles
      .filter((a) => !a.isAustralian)
      .sort((a, b) => b.priority - a.priority || newestFirst(a, b))
      .map((a) => a.url);
    expect(await walkForward({ filter, orderBy }, 50)).toEqual(expected);
  });

  it('supports after and before together (a window between two cursors)', async () => {
    const { articles: all } = await query(Page, { first: 30 });
    const window = await query(Page, { first: 100, after: all.edges[4]!.cursor, before: all.edges[15]!.cursor });
    expect(window.articles.edges.map((edge) => edge.node.url)).toEqual(
      all.edges.slice(5, 15).map((edge) => edge.node.url),
    );
    expect(window.articles.pageInfo.hasNextPage).toBe(false);
  });
});

describe('bad pagination input', () => {
  it.each([
    ['first over the maximum', { first: 101 }, 'INVALID_PAGE_SIZE'],
    ['negative first', { first: -1 }, 'INVALID_PAGE_SIZE'],
    ['last over the maximum', { last: 101 }, 'INVALID_PAGE_SIZE'],
    ['negative last', { last: -5 }, 'INVALID_PAGE_SIZE'],
    ['first and last together', { first: 5, last: 5 }, 'INVALID_PAGE_SIZE'],
    ['a malformed after cursor', { after: 'not a cursor!' }, 'INVALID_CURSOR'],
    ['a malformed before cursor', { before: 'bm90IGpzb24' }, 'INVALID_CURSOR'],
    [
      'a cursor of wrong shape',
      { after: Buffer.from('["publishedAt:DESC",[1,2,3]]').toString('base64url') },
      'INVALID_CURSOR',
    ],
    [
      'a cursor with a tampered value',
      { after: Buffer.from('["publishedAt:DESC",["not a date",5]]').toString('base64url') },
      'INVALID_CURSOR',
    ],
    [
      'a cursor with an injected value',
      { after: Buffer.from(`["publishedAt:DESC",["2026-01-01T00:00:00Z","1; DROP TABLE"]]`).toString('base64url') },
      'INVALID_CURSOR',
    ],
    ['a huge cursor', { after: 'A'.repeat(5000) }, 'INVALID_CURSOR'],
    // the page is checked before the filter: the first error is the same on every list path
    ['a bad cursor beside a bad filter', { after: 'x', filter: { priority: { equals: 99_999 } } }, 'INVALID_CURSOR'],
    [
      'a bad page size beside a bad filter',
      { first: 101, filter: { priority: { equals: 99_999 } } },
      'INVALID_PAGE_SIZE',
    ],
    [
      'a field ordered twice',
      { orderBy: [{ field: 'TITLE' as const }, { field: 'TITLE' as const, direction: 'DESC' as const }] },
      'BAD_USER_INPUT',
    ],
  ])('refuses %s with a coded error and no data', async (_label, variables, code) => {
    const result = await execute(Page, variables);
    expect(result.status).toBe(200);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual([code]);
    expect(JSON.stringify(result.errors)).not.toMatch(/at .*\.ts|SELECT|prisma/i);
  });

  it('refuses a cursor issued for another ordering', async () => {
    const { articles: page } = await query(Page, { first: 2, orderBy: [{ field: 'TITLE', direction: 'ASC' }] });
    const result = await execute(Page, { first: 2, after: page.pageInfo.endCursor });
    expect(codes(result)).toEqual(['INVALID_CURSOR']);
  });

  it('refuses a non-integer page size at validation (GraphQL Int)', async () => {
    const result = await execute(Page, { first: 2.5 as unknown as number });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});
