import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import type { NamedOrder } from './gql/graphql.ts';
import { codes, execute, query } from './support/api.ts';
import { newestFirst, seedDemo, type SeededArticle } from './support/demo.ts';

const Authors = graphql(`
  query Authors($filter: AuthorListFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {
    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          articleCount
        }
      }
    }
  }
`);

const Topics = graphql(`
  query Topics($filter: TopicListFilter, $orderBy: [NamedOrder!], $first: Int, $last: Int, $before: String) {
    topics(filter: $filter, orderBy: $orderBy, first: $first, last: $last, before: $before) {
      totalCount
      pageInfo {
        hasPreviousPage
        startCursor
      }
      edges {
        node {
          name
          slug
          articleCount
        }
      }
    }
  }
`);

const AuthorArticles = graphql(`
  query AuthorArticles($id: ID!, $filter: ArticleFilter, $first: Int, $after: String, $last: Int, $before: String) {
    author(id: $id) {
      name
      articles(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          node {
            url
            authors {
              name
            }
          }
        }
      }
    }
  }
`);

const TopicArticles = graphql(`
  query TopicArticles($slug: String!, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $first: Int) {
    topic(slug: $slug) {
      articles(filter: $filter, orderBy: $orderBy, first: $first) {
        totalCount
        edges {
          node {
            url
            priority
          }
        }
      }
    }
  }
`);

let articles: SeededArticle[];
beforeAll(async () => {
  articles = await seedDemo();
});

const countBy = (pick: (a: SeededArticle) => string[]) => {
  const counts = new Map<string, number>();
  for (const article of articles) for (const name of pick(article)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
};

describe('authors and topics lists', () => {
  it('lists authors A-Z by default with article counts that match the bylines', async () => {
    const counts = countBy((a) => a.authors);
    const names: string[] = [];
    let after: string | null | undefined;
    do {
      const { authors } = await query(Authors, { first: 30, after });
      expect(authors.totalCount).toBe(80);
      for (const { node } of authors.edges) {
        names.push(node.name);
        expect(node.articleCount).toBe(counts.get(node.name));
      }
      after = authors.pageInfo.hasNextPage ? authors.pageInfo.endCursor : null;
    } while (after);
    expect(names).toHaveLength(80);
    expect(new Set(names).size).toBe(80);
    const { authors } = await query(Authors, { first: 100 });
    expect(authors.edges.map((edge) => edge.node.name)).toEqual(names);
  });

  it('orders by article count (busiest first, ties by id) and pages through it', async () => {
    const orderBy: NamedOrder[] = [{ field: 'ARTICLE_COUNT', direction: 'DESC' }];
    const { authors: all } = await query(Authors, { orderBy, first: 100 });
    const counts = all.edges.map((edge) => edge.node.articleCount);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const firstPage = await query(Authors, { orderBy, first: 7 });
    const second = await query(Authors, { orderBy, first: 7, after: firstPage.authors.pageInfo.endCursor });
    expect(second.authors.edges.map((edge) => edge.node.id)).toEqual(
      all.edges.slice(7, 14).map((edge) => edge.node.id),
    );
  });

  it('filters authors by name, case-insensitively, with a matching totalCount', async () => {
    const { authors } = await query(Authors, { filter: { name: { contains: 'KOWALSKI' } }, first: 100 });
    const expected = [...countBy((a) => a.authors).keys()].filter((name) => name.includes('Kowalski'));
    expect(authors.totalCount).toBe(expected.length);
    expect(authors.edges.map((edge) => edge.node.name).sort()).toEqual(expected.sort());
  });

  it('lists topics with counts, filters by slug, and pages backwards', async () => {
    const counts = countBy((a) => a.topics);
    const { topics } = await query(Topics, { first: 100 });
    expect(topics.totalCount).toBe(40);
    for (const { node } of topics.edges) expect(node.articleCount).toBe(counts.get(node.name) ?? 0);
    const lastPage = await query(Topics, { last: 15 });
    expect(lastPage.topics.edges.map((edge) => edge.node.slug)).toEqual(
      topics.edges.slice(25).map((edge) => edge.node.slug),
    );
    const before = await query(Topics, { last: 15, before: lastPage.topics.pageInfo.startCursor });
    expect(before.topics.edges.map((edge) => edge.node.slug)).toEqual(
      topics.edges.slice(10, 25).map((edge) => edge.node.slug),
    );
    const bySlug = await query(Topics, { filter: { slug: { startsWith: 'ai-' } } });
    expect(bySlug.topics.edges.map((edge) => edge.node.name).sort()).toEqual([
      'AI Regulation',
      'AI Safety',
      'AI Security',
    ]);
  });

  it('keeps articleCount current when bylines change (database trigger)', async () => {
    const author = await prisma.author.create({ data: { name: 'Counted Author' } });
    const article = await prisma.article.create({
      data: {
        title: 'Counting',
        url: 'https://count.example/1',
        urlKey: 'https://count.example/1',
        source: 'Count',
        publishedAt: new Date(),
        priority: 1,
        authors: { create: [{ authorId: author.id, position: 0 }] },
      },
    });
    expect((await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).articleCount).toBe(1);
    await prisma.article.delete({ where: { id: article.id } });
    expect((await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).articleCount).toBe(0);
    await prisma.author.delete({ where: { id: author.id } });
  });

  it('refuses a cursor from the authors list on the topics list', async () => {
    const { authors } = await query(Authors, { first: 2, orderBy: [{ field: 'ARTICLE_COUNT', direction: 'DESC' }] });
    expect(codes(await execute(Topics, { last: 2, before: authors.pageInfo.endCursor }))).toEqual(['INVALID_CURSOR']);
  });
});

describe('nested article connections', () => {
  it("pages through an author's articles forwards and backwards with a filtered totalCount", async () => {
    const name = 'Shirin Ghaffary';
    const author = await prisma.author.findFirstOrThrow({ where: { name } });
    const id = Buffer.from(`Author:${author.id}`).toString('base64');
    const mine = articles.filter((a) => a.authors.includes(name)).sort(newestFirst);
    const urls: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const data = await query(AuthorArticles, { id, first: 3, after });
      const page = data.author!.articles;
      expect(page.totalCount).toBe(mine.length);
      expect(page.pageInfo.hasPreviousPage).toBe(after != null);
      urls.push(...page.edges.map((edge) => edge.node.url));
      for (const edge of page.edges) expect(edge.node.authors.map((a) => a.name)).toContain(name);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(urls).toEqual(mine.map((a) => a.url));

    const last = await query(AuthorArticles, { id, last: 2 });
    expect(last.author!.articles.edges.map((edge) => edge.node.url)).toEqual(mine.slice(-2).map((a) => a.url));
    expect(last.author!.articles.pageInfo.hasPreviousPage).toBe(mine.length > 2);

    const filtered = await query(AuthorArticles, { id, first: 100, filter: { priority: { gte: 3 } } });
    const expected = mine.filter((a) => a.priority >= 3);
    expect(filtered.author!.articles.totalCount).toBe(expected.length);
    expect(filtered.author!.articles.edges.map((edge) => edge.node.url)).toEqual(expected.map((a) => a.url));
  });

  it("orders a topic's articles and applies the same filters as the top-level list", async () => {
    const { topic } = await query(TopicArticles, {
      slug: 'china',
      filter: { isAustralian: true },
      orderBy: [
        { field: 'PRIORITY', direction: 'ASC' },
        { field: 'PUBLISHED_AT', direction: 'DESC' },
      ],
      first: 100,
    });
    const expected = articles
      .filter((a) => a.topics.includes('China') && a.isAustralian)
      .sort((a, b) => a.priority - b.priority || newestFirst(a, b));
    expect(topic!.articles.totalCount).toBe(expected.length);
    expect(topic!.articles.edges.map((edge) => edge.node.url)).toEqual(expected.map((a) => a.url));
  });

  it('refuses bad page sizes on nested connections too', async () => {
    const id = Buffer.from('Author:1').toString('base64');
    expect(codes(await execute(AuthorArticles, { id, first: 101 }))).toEqual(['INVALID_PAGE_SIZE']);
    expect(codes(await execute(AuthorArticles, { id, after: 'garbage' }))).toEqual(['INVALID_CURSOR']);
  });
});
