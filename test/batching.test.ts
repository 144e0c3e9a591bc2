import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { query, recordStatements } from './support/api.ts';
import { globalId, seedDemo } from './support/demo.ts';

/**
 * The number of SQL statements for one operation must not grow with the page size: relations
 * are folded into the list query (plugin-prisma selections, LATERAL joins) and per-parent
 * lookups go through DataLoader.
 */

const ArticlesWithRelations = graphql(`
  query ArticlesWithRelations($first: Int!) {
    articles(first: $first, filter: { priority: { gte: 1 } }) {
      totalCount
      edges {
        node {
          title
          authors {
            name
            articleCount
          }
          topics {
            name
            slug
          }
        }
      }
    }
  }
`);

const AuthorsWithArticles = graphql(`
  query AuthorsWithArticles($first: Int!) {
    authors(first: $first, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {
      totalCount
      edges {
        node {
          name
          articleCount
          articles(first: 5) {
            totalCount
            edges {
              node {
                title
                publishedAt
              }
            }
          }
        }
      }
    }
  }
`);

const TopicsWithArticles = graphql(`
  query TopicsWithArticles($first: Int!) {
    topics(first: $first) {
      totalCount
      edges {
        node {
          name
          articleCount
          articles(first: 5, filter: { priority: { gte: 2 } }) {
            totalCount
            edges {
              node {
                title
                authors {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
`);

const Nodes = graphql(`
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on Article {
        title
        authors {
          name
        }
      }
    }
  }
`);

let articleIds: number[];
beforeAll(async () => {
  const seeded = await seedDemo();
  articleIds = seeded.map((a) => a.id).slice(0, 50);
});

async function statementsFor<T>(run: () => Promise<T>): Promise<number> {
  const { statements } = await recordStatements(run);
  return statements.length;
}

describe('SQL statements per operation do not grow with page size', () => {
  it('articles with authors, topics and totalCount', async () => {
    const one = await statementsFor(() => query(ArticlesWithRelations, { first: 1 }));
    const hundred = await statementsFor(() => query(ArticlesWithRelations, { first: 100 }));
    expect(hundred).toBe(one);
    expect(hundred).toBeLessThanOrEqual(2);
  });

  it('authors with articleCount and their first 5 articles (with totals)', async () => {
    const one = await statementsFor(() => query(AuthorsWithArticles, { first: 1 }));
    // 79 of the 80 authors: the page is not the whole result, so the total is counted.
    const many = await statementsFor(() => query(AuthorsWithArticles, { first: 79 }));
    expect(many).toBe(one);
    expect(many).toBeLessThanOrEqual(3);
  });

  it('a first page holding the whole result needs no count statement', async () => {
    const partial = await statementsFor(() => query(AuthorsWithArticles, { first: 79 }));
    const whole = await statementsFor(() => query(AuthorsWithArticles, { first: 80 }));
    expect(whole).toBe(partial - 1);
    const result = await query(AuthorsWithArticles, { first: 80 });
    expect(result.authors.totalCount).toBe(80);
  });

  it('topics with articleCount and their first 5 articles with authors', async () => {
    const one = await statementsFor(() => query(TopicsWithArticles, { first: 1 }));
    const many = await statementsFor(() => query(TopicsWithArticles, { first: 39 }));
    expect(many).toBe(one);
    expect(many).toBeLessThanOrEqual(3);
  });

  it('nodes of 1 and of 50 ids', async () => {
    const ids = articleIds.map((id) => globalId('Article', id));
    const one = await statementsFor(() => query(Nodes, { ids: ids.slice(0, 1) }));
    const { statements, result } = await recordStatements(() => query(Nodes, { ids }));
    expect(result.nodes).toHaveLength(50);
    expect(result.nodes.every((node) => node && 'title' in node && node.authors.length > 0)).toBe(true);
    expect(statements.length).toBe(one);
  });

  it('counts the statements a big page really sends (the recorder is live)', async () => {
    const { statements } = await recordStatements(() => prisma.article.count());
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/COUNT/i);
  });
});
