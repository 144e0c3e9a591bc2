import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { EXAMPLE_RECORD, seedDemoData } from '../src/seed/demo.ts';
import { graphql } from './gql/index.ts';
import { codes, execute, query } from './support/api.ts';

const ArticleByUrl = graphql(`
  query ArticleByUrl($url: String!) {
    article(url: $url) {
      id
      title
      url
      source
      publishedAt
      createdAt
      priority
      isAustralian
      description
      summary
      body
      authors {
        id
        name
      }
      topics {
        name
        slug
      }
    }
  }
`);

const ArticleById = graphql(`
  query ArticleById($id: ID!) {
    article(id: $id) {
      id
      title
    }
  }
`);

const NodeById = graphql(`
  query NodeById($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Article {
        title
      }
      ... on Author {
        name
      }
      ... on Topic {
        slug
      }
    }
  }
`);

const AuthorById = graphql(`
  query AuthorById($id: ID!) {
    author(id: $id) {
      name
      articleCount
    }
  }
`);

const TopicBySlug = graphql(`
  query TopicBySlug($slug: String, $id: ID) {
    topic(slug: $slug, id: $id) {
      id
      name
      articleCount
    }
  }
`);

const encode = (type: string, id: number | string) => Buffer.from(`${type}:${id}`).toString('base64');

beforeAll(async () => {
  await seedDemoData(prisma);
});

describe('the demo dataset', () => {
  it('contains the tracker record with its facts, authors in byline order and topics', async () => {
    const { article } = await query(ArticleByUrl, { url: EXAMPLE_RECORD.url });
    expect(article).toMatchObject({
      title: 'OpenAI, Google, and Anthropic Collaborate to Combat Chinese AI Model Theft',
      source: 'The Australian Financial Review',
      publishedAt: '2026-04-07T01:24:00.000Z',
      priority: 4,
      isAustralian: true,
    });
    expect(article!.authors.map((author) => author.name)).toEqual(['Shirin Ghaffary', 'Maggie Eastland']);
    expect(article!.topics.map((topic) => topic.name)).toEqual([...EXAMPLE_RECORD.topics].sort());
  });

  it('has at least 500 articles, 80 authors and 40 topics, and seeding again adds nothing', async () => {
    expect(await prisma.article.count()).toBeGreaterThanOrEqual(500);
    expect(await prisma.author.count()).toBe(80);
    expect(await prisma.topic.count()).toBe(40);
    const before = await prisma.article.count();
    expect(await seedDemoData(prisma)).toBe(0);
    expect(await prisma.article.count()).toBe(before);
  });
});

describe('lookups by id, url and slug', () => {
  it('round-trips global ids through article, node, author and topic', async () => {
    const { article } = await query(ArticleByUrl, { url: EXAMPLE_RECORD.url });
    const byId = await query(ArticleById, { id: article!.id });
    expect(byId.article?.title).toBe(EXAMPLE_RECORD.title);

    const node = await query(NodeById, { id: article!.id });
    expect(node.node).toMatchObject({ __typename: 'Article', title: EXAMPLE_RECORD.title });

    const authorId = article!.authors[0]!.id;
    const author = await query(AuthorById, { id: authorId });
    expect(author.author?.name).toBe('Shirin Ghaffary');
    expect(author.author?.articleCount).toBeGreaterThanOrEqual(1);
    expect((await query(NodeById, { id: authorId })).node).toMatchObject({ __typename: 'Author' });

    const topic = await query(TopicBySlug, { slug: 'ai-security' });
    expect(topic.topic?.name).toBe('AI Security');
    expect((await query(TopicBySlug, { id: topic.topic!.id })).topic?.name).toBe('AI Security');
  });

  it('returns null for ids, urls and slugs that match nothing', async () => {
    expect((await query(ArticleById, { id: encode('Article', 999999) })).article).toBeNull();
    expect((await query(NodeById, { id: encode('Author', 999999) })).node).toBeNull();
    expect((await query(ArticleByUrl, { url: 'https://example.com/nope' })).article).toBeNull();
    expect((await query(TopicBySlug, { slug: 'no-such-topic' })).topic).toBeNull();
  });

  it('refuses a url far longer than any link filed (BAD_USER_INPUT), before parsing it', async () => {
    // 900 KB of characters each percent-encoded when parsed: refused by length, not worked through
    const result = await execute(ArticleByUrl, { url: `https://example.com/${'a|'.repeat(450_000)}` });
    expect(result.data?.article ?? null).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.message).toBe('"url": Must be at most 2048 characters');
    // a link of 2,048 characters, longer once encoded, is looked up
    const longest = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
    expect((await query(ArticleByUrl, { url: longest })).article).toBeNull();
  });

  it.each([
    ['not base64 at all', '!!!'],
    ['base64 of garbage', Buffer.from('garbage').toString('base64')],
    ['a non-numeric id', encode('Article', 'abc')],
    ['an id out of range', encode('Article', '99999999999')],
    ['an empty string', ''],
  ])('refuses a malformed id (%s) with INVALID_ID', async (_label, id) => {
    const result = await execute(ArticleById, { id });
    expect(result.data?.article ?? null).toBeNull();
    expect(codes(result)).toEqual(['INVALID_ID']);
    expect(JSON.stringify(result.errors)).not.toMatch(/stack|SELECT|prisma/i);
  });

  it('refuses an id of another type with INVALID_ID', async () => {
    const { article } = await query(ArticleByUrl, { url: EXAMPLE_RECORD.url });
    expect(codes(await execute(AuthorById, { id: article!.id }))).toEqual(['INVALID_ID']);
    expect(codes(await execute(ArticleById, { id: article!.authors[0]!.id }))).toEqual(['INVALID_ID']);
  });

  it('refuses a node id of a type that is not a node with INVALID_ID', async () => {
    expect(codes(await execute(NodeById, { id: encode('PageInfo', 1) }))).toEqual(['INVALID_ID']);
  });

  it('asks for exactly one of id and slug', async () => {
    expect(codes(await execute(TopicBySlug, {}))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await execute(TopicBySlug, { slug: 'ai', id: encode('Topic', 1) }))).toEqual(['BAD_USER_INPUT']);
  });
});
