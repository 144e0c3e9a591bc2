import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { query } from './support/api.ts';

const Titles = graphql(`
  query Titles($filter: ArticleFilter) {
    articles(filter: $filter, first: 100, orderBy: [{ field: TITLE }]) {
      totalCount
      edges {
        node {
          title
        }
      }
    }
  }
`);

const TITLES = [
  'Growth of 100% in model_size',
  'Growth of 1000 in modelXsize',
  'Growth of 100 in model size',
  'O\'Brien says "no" to AI; DROP TABLE "Article"; --',
  'Back\\slash in title',
  'Backslash in title',
];

beforeAll(async () => {
  await prisma.article.createMany({
    data: TITLES.map((title, n) => ({
      title,
      url: `https://escaping.example/${n}`,
      urlKey: `https://escaping.example/${n}`,
      source: n % 2 ? '50% Off_Weekly' : '50 Off Weekly',
      publishedAt: new Date('2026-01-01T00:00:00Z'),
      priority: 3,
      body: n === 2 ? 'Body with 25% of_text' : '',
    })),
  });
});

async function titles(filter: object): Promise<string[]> {
  const { articles } = await query(Titles, { filter });
  return articles.edges.map((edge) => edge.node.title).sort();
}

describe('text filters treat %, _, quotes and backslashes as plain characters', () => {
  it('contains "%" and "_" match only titles with those characters', async () => {
    expect(await titles({ title: { contains: '%' } })).toEqual(['Growth of 100% in model_size']);
    expect(await titles({ title: { contains: 'model_size' } })).toEqual(['Growth of 100% in model_size']);
    expect(await titles({ title: { contains: '_' } })).toEqual(['Growth of 100% in model_size']);
  });

  it('startsWith and equals do not treat % or _ as wildcards', async () => {
    expect(await titles({ title: { startsWith: 'Growth of 100%' } })).toEqual(['Growth of 100% in model_size']);
    expect(await titles({ title: { startsWith: '%' } })).toEqual([]);
    expect(await titles({ title: { equals: 'Growth of 100_ in model_size' } })).toEqual([]);
    expect(await titles({ source: { equals: '50% off_weekly' } })).toHaveLength(3);
    expect(await titles({ source: { equals: '50_ Off Weekly' } })).toEqual([]);
  });

  it('quotes, SQL and backslashes are matched literally', async () => {
    expect(await titles({ title: { contains: `"no" to AI; DROP TABLE "Article"; --` } })).toEqual([TITLES[3]]);
    expect(await titles({ title: { contains: "o'brien" } })).toEqual([TITLES[3]]);
    expect(await titles({ title: { contains: 'Back\\slash' } })).toEqual(['Back\\slash in title']);
    expect(await titles({ title: { contains: '\\' } })).toEqual(['Back\\slash in title']);
    expect(await prisma.article.count()).toBe(TITLES.length);
  });

  it('text search escapes wildcards across every field', async () => {
    expect(await titles({ text: '25% of_text' })).toEqual(['Growth of 100 in model size']);
    expect(await titles({ text: '100%' })).toEqual(['Growth of 100% in model_size']);
    expect(await titles({ text: 'with 25%' })).toEqual(['Growth of 100 in model size']);
    // a wildcard never stands in for a missing character
    expect(await titles({ text: 'with 2_%' })).toEqual([]);
  });
});
