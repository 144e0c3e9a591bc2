import Parser from 'rss-parser';
import { SaxesParser } from 'saxes';
import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { decodeGlobalID } from '../src/schema/builder.ts';
import { httpDate } from '../src/feeds.ts';
import { graphql } from './gql/index.ts';
import type { ArticleFilter, ArticleOrder } from './gql/graphql.ts';
import { codes, EDITED_CURSORS, execute, yoga } from './support/api.ts';
import { callers, type Caller } from './support/keys.ts';
import { subscribeSse } from './support/sse.ts';

/**
 * Saved searches: a saved question answers as `articles` does with the same arguments; bad
 * questions are refused as `articles` refuses them, as typed errors, writing nothing; versions,
 * roles, feed URLs and their validators.
 */

const Create = graphql(`
  mutation SavedCreate($input: CreateSavedSearchInput!) {
    createSavedSearch(input: $input) {
      __typename
      ... on CreateSavedSearchSuccess {
        savedSearch {
          id
          name
          filter
          search
          orderBy
          version
          createdBy
          feeds {
            rss
            atom
            json
          }
        }
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);

const Update = graphql(`
  mutation SavedUpdate($input: UpdateSavedSearchInput!) {
    updateSavedSearch(input: $input) {
      __typename
      ... on UpdateSavedSearchSuccess {
        savedSearch {
          id
          name
          filter
          search
          orderBy
          version
        }
      }
      ... on VersionConflictError {
        currentVersion
      }
      ... on ValidationError {
        fields {
          path
          code
        }
      }
    }
  }
`);

const Delete = graphql(`
  mutation SavedDelete($input: SavedSearchRefInput!) {
    deleteSavedSearch(input: $input) {
      __typename
      ... on DeleteSavedSearchSuccess {
        deletedId
      }
    }
  }
`);

const Rotate = graphql(`
  mutation SavedRotate($input: SavedSearchRefInput!) {
    rotateSavedSearchFeedToken(input: $input) {
      __typename
      ... on RotateSavedSearchFeedTokenSuccess {
        savedSearch {
          feeds {
            rss
          }
        }
      }
    }
  }
`);

const SavedPage = graphql(`
  query SavedPage($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $since: DateTime!) {
    savedSearch(id: $id) {
      newSince(time: $since)
      articles(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          endCursor
          startCursor
        }
        edges {
          cursor
          node {
            id
            title
          }
        }
      }
    }
  }
`);

const Articles = graphql(`
  query SavedEquivalent(
    $filter: ArticleFilter
    $search: String
    $orderBy: [ArticleOrder!]
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    articles(
      filter: $filter
      search: $search
      orderBy: $orderBy
      first: $first
      after: $after
      last: $last
      before: $before
    ) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
        startCursor
      }
      edges {
        cursor
        node {
          id
          title
        }
      }
    }
  }
`);

const List = graphql(`
  query SavedList {
    savedSearches(first: 50) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const FileArticle = graphql(`
  mutation SavedFile($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          authors {
            id
          }
        }
      }
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
let authorId: string;

beforeAll(async () => {
  as = await callers();
  const words = ['budget', 'reef', 'election', 'wombat'];
  for (let i = 0; i < 24; i++) {
    const result = await execute(
      FileArticle,
      {
        input: {
          title: `Report ${i} on the ${words[i % 4]}`,
          url: `https://example.com/saved/${i}`,
          source: i % 2 ? 'The Age' : 'ABC News',
          publishedAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
          priority: (i % 5) + 1,
          isAustralian: i % 3 === 0,
          body: `A report about the ${words[i % 4]} number ${i}, filed for the saved search tests.`,
          authors: [{ name: i % 4 === 0 ? 'Ada Saved' : 'Grace Other' }],
        },
      },
      as.editor,
    );
    if (i === 0) {
      const data = result.data!.createArticle as { article: { authors: { id: string }[] } };
      authorId = data.article.authors[0]!.id;
    }
  }
});

async function create(input: Record<string, unknown>, caller: Caller = 'editor') {
  return execute(Create, { input: input as never }, as[caller]);
}

async function created(input: Record<string, unknown>) {
  const result = await create(input);
  const payload = result.data?.createSavedSearch;
  if (payload?.__typename !== 'CreateSavedSearchSuccess') throw new Error(JSON.stringify(result));
  return payload.savedSearch;
}

describe('a saved search answers as articles does', () => {
  const questions: { name: string; filter?: ArticleFilter; search?: string; orderBy?: ArticleOrder[] }[] = [
    { name: 'everything' },
    { name: 'priority', filter: { priority: { gte: 3 } } },
    {
      name: 'combined',
      filter: { OR: [{ isAustralian: true }, { source: { equals: 'The Age' } }], NOT: { priority: { equals: 1 } } },
    },
    {
      name: 'dated',
      filter: { publishedAt: { gte: '2026-01-05T00:00:00Z', lt: '2026-01-20T00:00:00Z' } },
      orderBy: [{ field: 'PRIORITY', direction: 'DESC' }],
    },
    { name: 'searched', search: 'reef OR wombat' },
    { name: 'searched by date', search: 'report', orderBy: [{ field: 'PUBLISHED_AT', direction: 'ASC' }] },
  ];

  for (const question of questions) {
    it(`${question.name}: every page, forwards and backwards, and the totals`, async () => {
      const saved = await created({ ...question });
      const since = '2000-01-01T00:00:00Z';
      const equivalent = { filter: question.filter, search: question.search, orderBy: question.orderBy };
      let after: string | null | undefined;
      let pages = 0;
      for (;;) {
        const mine = await execute(SavedPage, { id: saved.id, first: 5, after, since }, as.editor);
        const theirs = await execute(Articles, { ...equivalent, first: 5, after }, as.editor);
        expect(mine.errors).toBeUndefined();
        expect(mine.data!.savedSearch!.articles).toEqual(theirs.data!.articles);
        expect(mine.data!.savedSearch!.newSince).toBe(theirs.data!.articles.totalCount);
        pages += 1;
        if (!theirs.data!.articles.pageInfo.hasNextPage) break;
        after = theirs.data!.articles.pageInfo.endCursor;
      }
      expect(pages).toBeGreaterThan(0);
      const mineLast = await execute(SavedPage, { id: saved.id, last: 3, since }, as.editor);
      const theirsLast = await execute(Articles, { ...equivalent, last: 3 }, as.editor);
      expect(mineLast.data!.savedSearch!.articles).toEqual(theirsLast.data!.articles);
    });
  }

  it('keeps the filter as filed: global IDs and instants in the form a client sends', async () => {
    const filter = {
      authors: { some: { id: { equals: authorId } } },
      publishedAt: { gte: '2026-01-01T00:00:00.000Z' },
    };
    const saved = await created({ name: 'by author', filter });
    expect(saved.filter).toEqual(filter);
    const page = await execute(SavedPage, { id: saved.id, first: 50, since: '2000-01-01T00:00:00Z' }, as.editor);
    const direct = await execute(Articles, { filter: filter as ArticleFilter, first: 50 }, as.editor);
    expect(page.data!.savedSearch!.articles!.totalCount).toBe(6);
    expect(page.data!.savedSearch!.articles).toEqual(direct.data!.articles);
  });

  it('newSince counts matches filed at or after the time', async () => {
    const saved = await created({ name: 'recent', filter: { priority: { gte: 1 } } });
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = before.toISOString();
    const zero = await execute(SavedPage, { id: saved.id, first: 1, since }, as.editor);
    expect(zero.data!.savedSearch!.newSince).toBe(0);
    await execute(
      FileArticle,
      {
        input: {
          title: 'A new one after the mark',
          url: 'https://example.com/saved/new-since',
          source: 'ABC News',
          publishedAt: '2025-01-01T00:00:00Z',
          priority: 2,
        },
      },
      as.editor,
    );
    const one = await execute(SavedPage, { id: saved.id, first: 1, since }, as.editor);
    expect(one.data!.savedSearch!.newSince).toBe(1);
  });
});

describe('a bad question is refused as articles refuses it, and nothing is written', () => {
  const cases: [string, Record<string, unknown>, string[], string][] = [
    ['a blank name', { name: '   ' }, ['input', 'name'], 'REQUIRED'],
    ['a text filter too short', { name: 'x', filter: { text: 'ab' } }, ['input', 'filter'], 'BAD_USER_INPUT'],
    [
      'a priority out of range',
      { name: 'x', filter: { priority: { gte: 40000 } } },
      ['input', 'filter'],
      'OUT_OF_RANGE',
    ],
    ['a search that only excludes', { name: 'x', search: '-said' }, ['input', 'search'], 'BAD_USER_INPUT'],
    [
      'RELEVANCE without a search',
      { name: 'x', orderBy: [{ field: 'RELEVANCE', direction: 'DESC' }] },
      ['input', 'orderBy'],
      'BAD_USER_INPUT',
    ],
    [
      'a NUL in the filter',
      { name: 'x', filter: { title: { contains: 'a\u0000b' } } },
      ['input', 'filter', 'title', 'contains'],
      'INVALID_CHARACTER',
    ],
    ['a lone surrogate in the search', { name: 'x', search: 'reef \ud800' }, ['input', 'search'], 'INVALID_CHARACTER'],
  ];
  for (const [label, input, path, code] of cases) {
    it(label, async () => {
      const count = await prisma.savedSearch.count();
      const result = await create(input);
      expect(result.status).toBe(200);
      const payload = result.data!.createSavedSearch;
      expect(payload.__typename).toBe('ValidationError');
      const fields = (payload as { fields: { path: string[]; code: string }[] }).fields;
      expect(fields).toContainEqual({
        path,
        code: expect.stringMatching(code === 'OUT_OF_RANGE' ? /OUT_OF_RANGE|BAD_USER_INPUT/ : new RegExp(`^${code}$`)),
      });
      expect(await prisma.savedSearch.count()).toBe(count);
    });
  }

  it('the same questions are refused by articles itself', async () => {
    expect(codes(await execute(Articles, { filter: { text: 'ab' } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await execute(Articles, { search: '-said' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('names only the field at fault (a bad filter is not also a bad order)', async () => {
    const result = await create({ name: 'x', filter: { title: { contains: 'x'.repeat(10_000) } } });
    const fields = (result.data!.createSavedSearch as { fields: { path: string[] }[] }).fields;
    expect(fields.map((field) => field.path.join('.'))).toEqual(['input.filter']);
  });

  it('pages of saved searches are sized as every list is', async () => {
    const Paged = graphql(`
      query SavedPaged($first: Int, $last: Int) {
        savedSearches(first: $first, last: $last) {
          edges {
            node {
              id
            }
          }
        }
      }
    `);
    for (const sizes of [{ first: 2 ** 31 - 1 }, { first: 101 }, { first: -1 }, { last: -1 }, { first: 1, last: 1 }]) {
      expect(codes(await execute(Paged, sizes, as.editor)), JSON.stringify(sizes)).toEqual(['INVALID_PAGE_SIZE']);
    }
    expect((await execute(Paged, { first: 100 }, as.editor)).errors).toBeUndefined();
  });

  it('pages of saved searches go on past a deleted cursor row, and refuse an edited cursor', async () => {
    const Paged = graphql(`
      query SavedCursorPage($first: Int, $after: String, $last: Int, $before: String) {
        savedSearches(first: $first, after: $after, last: $last, before: $before) {
          edges {
            cursor
            node {
              id
            }
          }
          pageInfo {
            endCursor
          }
        }
      }
    `);
    const made: string[] = [];
    for (let i = 0; i < 4; i++) made.push((await created({ name: `paged ${i}` })).id);
    const page = (await execute(Paged, { first: 2 }, as.editor)).data!.savedSearches;
    expect(page.edges.map((edge) => edge.node.id)).toEqual([made[3], made[2]]);
    // the row a cursor names goes: the pages on either side of it are still there
    await execute(Delete, { input: { id: made[2]! } }, as.editor);
    const next = await execute(Paged, { first: 2, after: page.pageInfo.endCursor }, as.editor);
    expect(next.data!.savedSearches.edges.map((edge) => edge.node.id)).toEqual([made[1], made[0]]);
    const back = await execute(Paged, { last: 1, before: page.edges[1]!.cursor }, as.editor);
    expect(back.data!.savedSearches.edges.map((edge) => edge.node.id)).toEqual([made[3]]);
    for (const cursor of EDITED_CURSORS) {
      expect(codes(await execute(Paged, { first: 2, after: cursor }, as.editor)), cursor).toEqual(['INVALID_CURSOR']);
      expect(codes(await execute(Paged, { last: 2, before: cursor }, as.editor)), cursor).toEqual(['INVALID_CURSOR']);
    }
  });

  it('node(id:) tells anonymous callers nothing of which saved searches exist', async () => {
    const saved = await created({ name: 'exists' });
    const missing = Buffer.from('SavedSearch:999999').toString('base64');
    const Node = graphql(`
      query SavedNode($id: ID!) {
        node(id: $id) {
          id
        }
      }
    `);
    for (const id of [saved.id, missing, Buffer.from('Webhook:1').toString('base64')]) {
      const result = await execute(Node, { id }, as.anonymous);
      expect(codes(result), id).toEqual(['FORBIDDEN']);
    }
    expect((await execute(Node, { id: saved.id }, as.editor)).data!.node).toEqual({ id: saved.id });
    expect((await execute(Node, { id: missing }, as.editor)).data!.node).toBeNull();
  });

  it('anonymous callers may neither save nor read saved searches', async () => {
    const result = await create({ name: 'nope' }, 'anonymous');
    expect(result.data!.createSavedSearch.__typename).toBe('ForbiddenError');
    expect(codes(await execute(List, {}, as.anonymous))).toEqual(['FORBIDDEN']);
    const list = await execute(List, {}, as.editor);
    expect(list.errors).toBeUndefined();
  });
});

describe('changes', () => {
  it('updates with the version read, clears with null, and refuses a stale version', async () => {
    const saved = await created({ name: 'to change', filter: { priority: { gte: 4 } }, search: 'reef' });
    const first = await execute(
      Update,
      { input: { id: saved.id, expectedVersion: 1, name: 'changed', search: null } },
      as.editor,
    );
    expect(first.data!.updateSavedSearch).toMatchObject({
      __typename: 'UpdateSavedSearchSuccess',
      savedSearch: { name: 'changed', search: null, filter: { priority: { gte: 4 } }, version: 2 },
    });
    const stale = await execute(Update, { input: { id: saved.id, expectedVersion: 1, name: 'again' } }, as.editor);
    expect(stale.data!.updateSavedSearch).toEqual({ __typename: 'VersionConflictError', currentVersion: 2 });
    const bad = await execute(
      Update,
      { input: { id: saved.id, expectedVersion: 2, filter: { text: 'x' } } },
      as.editor,
    );
    expect(bad.data!.updateSavedSearch.__typename).toBe('ValidationError');
    const row = await prisma.savedSearch.findUniqueOrThrow({
      where: { id: Number(Buffer.from(saved.id, 'base64').toString().split(':')[1]) },
    });
    expect(row.version).toBe(2);
    const nothing = await execute(Update, { input: { id: saved.id, expectedVersion: 2 } }, as.editor);
    expect((nothing.data!.updateSavedSearch as { fields: { code: string }[] }).fields[0]!.code).toBe(
      'NOTHING_TO_UPDATE',
    );
  });

  it('deletes, and a deleted one is not found', async () => {
    const saved = await created({ name: 'to delete' });
    const gone = await execute(Delete, { input: { id: saved.id } }, as.editor);
    expect(gone.data!.deleteSavedSearch).toEqual({ __typename: 'DeleteSavedSearchSuccess', deletedId: saved.id });
    const again = await execute(Delete, { input: { id: saved.id } }, as.editor);
    expect(again.data!.deleteSavedSearch.__typename).toBe('NotFoundError');
  });
});

const MergeAuthors = graphql(`
  mutation SavedMergeAuthors($input: MergeAuthorsInput!) {
    mergeAuthors(input: $input) {
      __typename
    }
  }
`);

const MergeTopics = graphql(`
  mutation SavedMergeTopics($input: MergeTopicsInput!) {
    mergeTopics(input: $input) {
      __typename
    }
  }
`);

describe('a saved search naming an author or topic merged away', () => {
  it('follows the merge: the same articles, the target id in its filter, a new version, and its feed', async () => {
    const file = async (n: number, author: string, topic: string) => {
      const result = await execute(
        FileArticle,
        {
          input: {
            title: `Merged away ${n}`,
            url: `https://example.com/merged-away/${n}`,
            source: 'Merge Wire',
            publishedAt: new Date(Date.UTC(2026, 5, 1 + n)).toISOString(),
            priority: 2,
            authors: [{ name: author }],
            topics: [{ name: topic }],
          },
        },
        as.editor,
      );
      expect(result.data?.createArticle.__typename).toBe('CreateArticleSuccess');
    };
    await file(1, 'Merged Source Writer', 'Merged Source Topic');
    await file(2, 'Merged Source Writer', 'Merged Source Topic');
    await file(3, 'Merged Target Writer', 'Merged Target Topic');
    const idOf = async (kind: 'author' | 'topic', name: string) =>
      Buffer.from(
        `${kind === 'author' ? 'Author' : 'Topic'}:${
          kind === 'author'
            ? (await prisma.author.findFirstOrThrow({ where: { name } })).id
            : (await prisma.topic.findFirstOrThrow({ where: { name } })).id
        }`,
      ).toString('base64');
    const [sourceAuthor, targetAuthor, sourceTopic, targetTopic] = await Promise.all([
      idOf('author', 'Merged Source Writer'),
      idOf('author', 'Merged Target Writer'),
      idOf('topic', 'Merged Source Topic'),
      idOf('topic', 'Merged Target Topic'),
    ]);
    const byAuthor = await created({
      name: 'by a merged author',
      filter: { authors: { some: { id: { in: [sourceAuthor, targetAuthor] } } } },
    });
    const byTopic = await created({
      name: 'by a merged topic',
      filter: { AND: [{ topics: { some: { id: { equals: sourceTopic } } } }, { source: { equals: 'Merge Wire' } }] },
    });
    const total = async (id: string) =>
      (await execute(SavedPage, { id, first: 10, since: '2026-01-01T00:00:00Z' }, as.editor)).data!.savedSearch!
        .articles!.totalCount;
    expect(await total(byAuthor.id)).toBe(3);
    expect(await total(byTopic.id)).toBe(2);
    // subscriptions opened before the merge: on the saved search, and on the source author's id
    const subscribe = (query: string, variables: Record<string, unknown>) =>
      subscribeSse(
        (url, init) => Promise.resolve(yoga.fetch(url, init)),
        'http://newsgraph.test/graphql',
        query,
        variables,
        as.editor,
      );
    const savedLive = await subscribe(
      'subscription ($id: ID) { articleMatched(savedSearchId: $id) { reason article { title } } }',
      { id: byTopic.id },
    );
    const authorLive = await subscribe(
      'subscription ($filter: ArticleFilter) { articleMatched(filter: $filter) { reason article { title } } }',
      { filter: { authors: { some: { id: { equals: sourceAuthor } } } } },
    );

    const merged = await Promise.all([
      execute(MergeAuthors, { input: { sourceIds: [sourceAuthor], targetId: targetAuthor } }, as.admin),
      execute(MergeTopics, { input: { sourceIds: [sourceTopic], targetId: targetTopic } }, as.admin),
    ]);
    expect(merged.map((r) => Object.values(r.data!)[0]!.__typename)).toEqual([
      'MergeAuthorsSuccess',
      'MergeTopicsSuccess',
    ]);
    // the same articles as before the merge, never an empty list
    expect(await total(byAuthor.id)).toBe(3);
    expect(await total(byTopic.id)).toBe(3);
    const after = await prisma.savedSearch.findMany({
      where: { id: { in: [byAuthor.id, byTopic.id].map((id) => Number(decodeGlobalID(id).id)) } },
      orderBy: { id: 'asc' },
    });
    expect(after.map((row) => [row.filter, row.version])).toEqual([
      [{ authors: { some: { id: { in: [targetAuthor] } } } }, byAuthor.version + 1],
      [
        { AND: [{ topics: { some: { id: { equals: targetTopic } } } }, { source: { equals: 'Merge Wire' } }] },
        byTopic.version + 1,
      ],
    ]);
    const feed = await yoga.fetch(byTopic.feeds.json.replace(/^https?:\/\/[^/]+/, 'http://newsgraph.test'));
    expect(((await feed.json()) as { items: unknown[] }).items).toHaveLength(3);
    try {
      // the merge moved articles that matched already: nothing new to tell
      expect(await authorLive.next(1_000)).toBeNull();
      // an article of the target, filed after the merge, is a new match of both questions
      await file(4, 'Merged Target Writer', 'Merged Target Topic');
      const created = { articleMatched: { reason: 'CREATED', article: { title: 'Merged away 4' } } };
      expect(await savedLive.next(5_000)).toEqual({ data: created });
      expect(await authorLive.next(5_000)).toEqual({ data: created });
    } finally {
      await savedLive.close();
      await authorLive.close();
    }
  });
});

/** What a reader shows of a text a feed gives as HTML (Atom type="html", RSS titles). */
const decodeHtml = (html: string) =>
  html.replace(
    /&(lt|gt|quot|#39|amp);/g,
    (_, name: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[name]!,
  );

describe('feeds', () => {
  const get = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    yoga.fetch(url.replace(/^https?:\/\/[^/]+/, 'http://newsgraph.test'), { method, headers });

  it('RSS 2.0 and Atom 1.0 parse with a feed parser and carry their required elements', async () => {
    const saved = await created({ name: 'Reef & wombat <watch>', search: 'reef OR wombat' });
    const parser = new Parser();
    for (const format of ['rss', 'atom'] as const) {
      const response = await get(saved.feeds.rss.replace(/\.rss$/, `.${format}`));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(
        format === 'rss' ? 'application/rss+xml' : 'application/atom+xml',
      );
      const text = await response.text();
      const feed = await parser.parseString(text);
      // RSS gives it as HTML (aggregators render channel titles so), Atom as text
      expect(format === 'rss' ? decodeHtml(feed.title!) : feed.title).toBe('Reef & wombat <watch>');
      expect(text).not.toContain('<watch>');
      expect(feed.items).toHaveLength(12);
      for (const item of feed.items) {
        expect(item.title).toMatch(/reef|wombat/);
        expect(item.link).toMatch(/^https:\/\/example\.com\/saved\//);
        expect(item.guid ?? item.id).toMatch(/^urn:newsgraph:article:\d+$/);
        expect(item.isoDate).toBeTruthy();
      }
      if (format === 'rss') {
        // RSS 2.0: channel title, link and description are required
        expect(text).toMatch(/<channel>[\s\S]*<title>[\s\S]*<link>[\s\S]*<description>/);
      } else {
        // Atom (RFC 4287 4.1.1): feed id, title and updated; each entry id, title and updated
        expect(text).toMatch(
          /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">[\s\S]*<id>[\s\S]*<title>[\s\S]*<updated>/,
        );
        expect((text.match(/<entry>/g) ?? []).length).toBe(12);
        expect((text.match(/<entry>[\s\S]*?<id>[\s\S]*?<\/entry>/g) ?? []).length).toBe(12);
      }
    }
  });

  it('JSON Feed 1.1 has its required members', async () => {
    const saved = await created({ name: 'json', filter: { priority: { gte: 5 } } });
    const response = await get(saved.feeds.json);
    expect(response.headers.get('content-type')).toContain('application/feed+json');
    const feed = (await response.json()) as { version: string; title: string; items: Record<string, unknown>[] };
    expect(feed.version).toBe('https://jsonfeed.org/version/1.1');
    expect(feed.title).toBe('json');
    expect(feed.items).toHaveLength(4);
    for (const item of feed.items) {
      expect(typeof item.id).toBe('string');
      expect(typeof item.content_text === 'string' || typeof item.content_html === 'string').toBe(true);
      expect(item.author).toBeUndefined();
      expect(item.authors).toEqual([{ name: expect.any(String) }]);
    }
  });

  it('answers 304 to its ETag and Last-Modified, and 200 again after a change', async () => {
    const saved = await created({ name: 'validators', filter: { source: { equals: 'ABC News' } } });
    const first = await get(saved.feeds.atom);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await get(saved.feeds.atom, { 'if-none-match': etag })).status).toBe(304);
    expect((await get(saved.feeds.atom, { 'if-modified-since': lastModified })).status).toBe(304);
    expect((await get(saved.feeds.atom, { 'if-none-match': '"other"' })).status).toBe(200);
    // an HTTP-date only (RFC 9110 5.6.7), and not one after now: anything else is ignored
    const later = new Date(Date.parse(lastModified) + 60_000);
    for (const [since, status] of [
      [lastModified, 304],
      [later.toISOString(), 200],
      ['Fri, 31 Dec 9999 23:59:59 GMT', 200],
      [new Date(Date.now() + 86_400_000).toUTCString(), 200],
      ['yesterday', 200],
    ] as const) {
      expect((await get(saved.feeds.atom, { 'if-modified-since': since })).status, since).toBe(status);
    }
    // the obsolete forms an HTTP-date may take
    const instant = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(httpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(instant);
    expect(httpDate('Sun Nov  6 08:49:37 1994')).toBe(instant);
    const head = await get(saved.feeds.atom, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await execute(
      FileArticle,
      {
        input: {
          title: 'A fresh ABC story',
          url: 'https://example.com/saved/fresh',
          source: 'ABC News',
          publishedAt: '2026-02-01T00:00:00Z',
          priority: 3,
        },
      },
      as.editor,
    );
    const changed = await get(saved.feeds.atom, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await get(saved.feeds.atom, { 'if-modified-since': lastModified })).status).toBe(200);
  });

  it('Last-Modified moves when an article leaves the feed, at once', async () => {
    const saved = await created({ name: 'leaving', filter: { title: { contains: 'leaving test' } } });
    const filed = await execute(
      FileArticle,
      {
        input: {
          title: 'A leaving test story',
          url: 'https://example.com/saved/leaving',
          source: 'ABC News',
          publishedAt: '2026-02-02T00:00:00Z',
          priority: 3,
        },
      },
      as.editor,
    );
    const id = (filed.data!.createArticle as { article: { id: string } }).article.id;
    const first = await get(saved.feeds.rss);
    const lastModified = first.headers.get('last-modified')!;
    expect((await first.text()).match(/<item>/g)).toHaveLength(1);
    const Leave = graphql(`
      mutation SavedLeave($input: UpdateArticleInput!) {
        updateArticle(input: $input) {
          __typename
        }
      }
    `);
    await execute(Leave, { input: { id, expectedVersion: 1, title: 'A story that left' } }, as.editor);
    const after = await get(saved.feeds.rss, { 'if-modified-since': lastModified });
    expect(after.status).toBe(200);
    expect(await after.text()).not.toContain('<item>');
    expect(Date.parse(after.headers.get('last-modified')!)).toBeGreaterThan(Date.parse(lastModified));
  });

  it('RSS and Atom leave out what XML cannot hold; every format escapes markup', async () => {
    const saved = await created({ name: 'hostile \ufffe titles', filter: { source: { equals: 'Hostile Wire' } } });
    await execute(
      FileArticle,
      {
        input: {
          title: 'Non-characters \ufffe\uffff ]]> <script>alert(1)</script> & more',
          url: 'https://example.com/saved/hostile',
          source: 'Hostile Wire',
          publishedAt: '2026-02-03T00:00:00Z',
          priority: 3,
          summary: 'A summary with ]]> and <b>tags</b>',
          authors: [{ name: 'Writer <b>"Bold"</b> & Co' }],
          topics: [{ name: 'Topic <i>"a" & b</i>' }],
        },
      },
      as.editor,
    );
    const parser = new Parser();
    for (const format of ['rss', 'atom']) {
      const text = await (await get(saved.feeds.rss.replace(/\.rss$/, `.${format}`))).text();
      // XML 1.0's Char production: nothing else may appear in the document
      expect(text).not.toMatch(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
      // well-formed XML (a strict parser), whatever the names in its attributes (Atom categories)
      const strict = new SaxesParser();
      let malformed: Error | undefined;
      strict.on('error', (error) => (malformed ??= error));
      strict.write(text).close();
      expect(malformed, format).toBeUndefined();
      // markup in any text is escaped for a reader that takes it as HTML: never an element, even in CDATA
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('<b>');
      expect(text).not.toContain('<i>');
      const feed = await parser.parseString(text);
      expect(decodeHtml(feed.items[0]!.title!)).toBe('Non-characters  ]]> <script>alert(1)</script> & more');
      if (format === 'atom') {
        // RFC 4287 4.2.2: every category has its term
        expect(text).toContain(
          '<category label="Topic &lt;i>&quot;a&quot; &amp; b&lt;/i>" term="Topic &lt;i>&quot;a&quot; &amp; b&lt;/i>"/>',
        );
      }
    }
    const json = (await (await get(saved.feeds.json)).json()) as { items: { title: string }[] };
    expect(json.items[0]!.title).toBe('Non-characters \ufffe\uffff ]]> <script>alert(1)</script> & more');
  });

  it('a rotated token retires the old URLs; unknown tokens and other methods are refused', async () => {
    const saved = await created({ name: 'rotate me' });
    expect((await get(saved.feeds.rss)).status).toBe(200);
    const rotated = await execute(Rotate, { input: { id: saved.id } }, as.editor);
    const payload = rotated.data!.rotateSavedSearchFeedToken as { savedSearch: { feeds: { rss: string } } };
    expect(payload.savedSearch.feeds.rss).not.toBe(saved.feeds.rss);
    expect((await get(saved.feeds.rss)).status).toBe(404);
    expect((await get(payload.savedSearch.feeds.rss)).status).toBe(200);
    expect((await get('http://newsgraph.test/feeds/unknown.rss')).status).toBe(404);
    expect((await get('http://newsgraph.test/feeds/x/../y.rss')).status).toBe(404);
    expect((await get(payload.savedSearch.feeds.rss, {}, 'POST')).status).toBe(405);
  });

  it('feed URLs are shown to editors only', async () => {
    const saved = await created({ name: 'secret token' });
    const Feeds = graphql(`
      query SavedFeeds($id: ID!) {
        node(id: $id) {
          ... on SavedSearch {
            feeds {
              rss
            }
          }
        }
      }
    `);
    expect(codes(await execute(Feeds, { id: saved.id }, as.anonymous))).toContain('FORBIDDEN');
    expect((await execute(Feeds, { id: saved.id }, as.editor)).errors).toBeUndefined();
  });
});

describe("a saved search whose stored question today's rules refuse (they tightened after it was saved)", () => {
  const Outdated = graphql(`
    query SavedOutdated($ids: [ID!]!) {
      nodes(ids: $ids) {
        ... on SavedSearch {
          name
          refusals {
            path
            code
          }
          newSince(time: "2000-01-01T00:00:00Z")
          articles(first: 1) {
            totalCount
          }
        }
      }
    }
  `);
  const feedOf = (url: string) => yoga.fetch(url.replace(/^https?:\/\/[^/]+/, 'http://newsgraph.test'));

  it('says so (SAVED_SEARCH_OUTDATED, with what is refused) in its list and feeds, and runs again once updated', async () => {
    const current = await created({ name: 'current rules', filter: { title: { contains: 'reef' } } });
    const questions = [
      { name: 'short text', filter: { text: 'ab' }, search: null, orderBy: [], path: ['filter'] },
      { name: 'only excludes', filter: {}, search: 'the -reef', orderBy: [], path: ['search'] },
      // saved by a version whose schema had other values (today's types cannot read them)
      { name: 'old value', filter: { priority: { gte: 'high' } }, search: null, orderBy: [], path: ['filter'] },
      { name: 'old order', filter: {}, search: null, orderBy: [{ field: 'POPULARITY' }], path: ['orderBy'] },
      // edited by hand: IDs that are not base64, of another type, or past the id range
      ...['!!', 'QXJ0aWNsZTox', 'QXV0aG9yOjk5OTk5OTk5OTk5'].map((id) => ({
        name: `stored id ${id}`,
        filter: { authors: { some: { id: { in: [id] } } } },
        search: null,
        orderBy: [],
        path: ['filter'],
      })),
    ];
    for (const question of questions) {
      const saved = await created({ name: question.name });
      // as a database of before the rule holds it
      await prisma.savedSearch.update({
        where: { id: Number(decodeGlobalID(saved.id).id) },
        data: { filter: question.filter, search: question.search, orderBy: question.orderBy },
      });
      const result = await execute(Outdated, { ids: [saved.id, current.id] }, as.editor);
      // the other saved search answers; this one's list and count are null, and the errors say why
      expect(result.data!.nodes).toEqual([
        {
          name: question.name,
          refusals: [{ path: question.path, code: 'BAD_USER_INPUT' }],
          newSince: null,
          articles: null,
        },
        expect.objectContaining({ name: 'current rules', refusals: [], articles: { totalCount: expect.any(Number) } }),
      ]);
      expect(codes(result)).toEqual(['SAVED_SEARCH_OUTDATED', 'SAVED_SEARCH_OUTDATED']);
      expect(result.errors![0]!.message).toMatch(new RegExp(`^The saved search "${question.name}" holds a question`));
      for (const url of Object.values(saved.feeds)) {
        const feed = await feedOf(url);
        expect(feed.status, url).toBe(409);
        expect(await feed.json()).toMatchObject({ errors: [{ extensions: { code: 'SAVED_SEARCH_OUTDATED' } }] });
      }
      expect((await feedOf(current.feeds.rss)).status).toBe(200);
      // and so is a subscription to it, whichever part is refused
      const live = await subscribeSse(
        (url, init) => Promise.resolve(yoga.fetch(url, init)),
        'http://newsgraph.test/graphql',
        'subscription ($id: ID) { articleMatched(savedSearchId: $id) { reason } }',
        { id: saved.id },
        as.editor,
      );
      const refused = (await live.next(2_000)) as { errors?: { extensions: { code: string } }[] } | null;
      await live.close();
      expect(refused?.errors?.[0]?.extensions.code, question.name).toBe('SAVED_SEARCH_OUTDATED');
      // an editor fixes it: it runs again
      const fixed = await execute(
        Update,
        { input: { id: saved.id, expectedVersion: 1, filter: { text: 'reef' }, search: null, orderBy: null } },
        as.editor,
      );
      expect(fixed.data!.updateSavedSearch.__typename).toBe('UpdateSavedSearchSuccess');
      const again = await execute(Outdated, { ids: [saved.id] }, as.editor);
      expect(again.errors).toBeUndefined();
      expect(again.data!.nodes[0]).toMatchObject({ refusals: [], articles: { totalCount: expect.any(Number) } });
      expect((await feedOf(saved.feeds.json)).status).toBe(200);
    }
  });
});
