import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import type { Viewer } from '../src/resolvers/access/viewer.ts';
import { purgeExpiredTrash } from '../src/resolvers/articles/writes.ts';
import { mergeAuthors, mergeTopics } from '../src/resolvers/catalog/writes.ts';
import { graphql } from './gql/index.ts';
import { codes, EDITED_CURSORS, execute } from './support/api.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';
import { serverUrl } from './support/targets.ts';
import { startTrashPurge } from '../src/trashPurge.ts';
import type { Logger } from '../src/observability.ts';

/** Revision history (Article.revisions, restoreArticleVersion) and the trash (deleteArticle, trashedArticles, restoreArticle, purgeArticle). */

const Create = graphql(`
  mutation RevCreate($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          version
        }
      }
      ... on ArticleInTrashError {
        code
        trashedId
      }
    }
  }
`);

const Upsert = graphql(`
  mutation RevUpsert($input: CreateArticleInput!) {
    upsertArticle(input: $input) {
      __typename
      ... on UpsertArticleSuccess {
        created
        article {
          version
        }
      }
      ... on ArticleInTrashError {
        trashedId
      }
    }
  }
`);

const Update = graphql(`
  mutation RevUpdate($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
      ... on UpdateArticleSuccess {
        article {
          version
        }
      }
      ... on ArticleInTrashError {
        trashedId
      }
    }
  }
`);

const Restore = graphql(`
  mutation RevRestoreVersion($input: RestoreArticleVersionInput!) {
    restoreArticleVersion(input: $input) {
      __typename
      ... on RestoreArticleVersionSuccess {
        article {
          version
          title
          priority
          publishedAt
          authors {
            name
          }
          topics {
            name
          }
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

const Revisions = graphql(`
  query RevList($id: ID!, $first: Int, $after: String, $last: Int) {
    article(id: $id) {
      version
      revisions(first: $first, after: $after, last: $last) {
        edges {
          cursor
          node {
            version
            action
            by
            changes {
              field
              previous
            }
          }
        }
        pageInfo {
          hasNextPage
        }
      }
    }
  }
`);

const Trash = graphql(`
  mutation RevTrash($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
      ... on DeleteArticleSuccess {
        deletedId
      }
      ... on Error {
        code
      }
    }
  }
`);

const Untrash = graphql(`
  mutation RevUntrash($input: TrashedArticleInput!) {
    restoreArticle(input: $input) {
      __typename
      ... on RestoreArticleSuccess {
        article {
          id
          version
          title
          authors {
            name
          }
          topics {
            name
          }
        }
      }
      ... on DuplicateUrlError {
        existingId
      }
      ... on Error {
        code
      }
    }
  }
`);

const Purge = graphql(`
  mutation RevPurge($input: TrashedArticleInput!) {
    purgeArticle(input: $input) {
      __typename
      ... on PurgeArticleSuccess {
        purgedId
      }
      ... on Error {
        code
      }
    }
  }
`);

const TrashList = graphql(`
  query RevTrashList($first: Int) {
    trashedArticles(first: $first) {
      edges {
        node {
          id
          title
          url
          version
          authorNames
          topicNames
          deletedBy
        }
      }
    }
  }
`);

const TopicsOf = graphql(`
  query RevTopicsOf($id: ID!) {
    article(id: $id) {
      topics {
        name
      }
    }
  }
`);

const Lookup = graphql(`
  query RevLookup($id: ID!) {
    article(id: $id) {
      id
    }
    node(id: $id) {
      id
    }
  }
`);

const MergeAuthors = graphql(`
  mutation RevMergeAuthors($input: MergeAuthorsInput!) {
    mergeAuthors(input: $input) {
      __typename
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
let n = 0;
const admin: Viewer = { kind: 'apiKey', keyId: 0, name: 'test-admin', role: 'ADMIN' };
const dbIdOf = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);

function article(extra: Record<string, unknown> = {}) {
  n += 1;
  return {
    title: `Revision story ${n}`,
    url: `https://revisions.example/${n}`,
    source: 'Revision Source',
    publishedAt: '2025-01-02T03:04:05.000Z',
    priority: 2,
    authors: [{ name: `Rev Writer ${n}` }, { name: `Rev Second ${n}` }],
    topics: [{ name: 'Rev Topic' }],
    ...extra,
  };
}

async function create(extra: Record<string, unknown> = {}) {
  const input = article(extra);
  const result = await execute(Create, { input }, as.editor);
  const created = result.data?.createArticle;
  if (created?.__typename !== 'CreateArticleSuccess') throw new Error(JSON.stringify(result));
  return { id: created.article.id, input };
}

async function revisions(id: string, first = 100) {
  const result = await execute(Revisions, { id, first }, as.editor);
  return result.data!.article!.revisions.edges.map((edge) => edge.node);
}

beforeAll(async () => {
  as = await callers();
});

describe('revisions', () => {
  it('records a create, every change with the previous values, and nothing for an update that changes nothing', async () => {
    const { id, input } = await create();
    let list = await revisions(id);
    expect(list).toEqual([
      {
        version: 1,
        action: 'CREATED',
        by: 'test-editor',
        changes: expect.arrayContaining([{ field: 'title', previous: null }]),
      },
    ]);
    expect(list[0]!.changes.map((change) => change.field)).toEqual([
      'title',
      'url',
      'source',
      'publishedAt',
      'priority',
      'isAustralian',
      'description',
      'summary',
      'body',
      'authors',
      'topics',
    ]);

    const updated = await execute(
      Update,
      { input: { id, expectedVersion: 1, title: 'Changed title', authors: [...input.authors].reverse() } },
      as.admin,
    );
    expect(updated.data?.updateArticle).toEqual({ __typename: 'UpdateArticleSuccess', article: { version: 2 } });
    // an update to the same values, and an upsert of what is there, make no revision
    await execute(Update, { input: { id, expectedVersion: 2, title: 'Changed title' } }, as.admin);
    const same = await execute(
      Upsert,
      { input: { ...input, title: 'Changed title', authors: [...input.authors].reverse() } },
      as.admin,
    );
    expect(same.data?.upsertArticle).toMatchObject({ created: false, article: { version: 2 } });
    const upserted = await execute(Upsert, { input: { ...input, priority: 5 } }, as.admin);
    expect(upserted.data?.upsertArticle).toMatchObject({ created: false, article: { version: 3 } });

    list = await revisions(id);
    expect(list.map((revision) => [revision.version, revision.action, revision.by])).toEqual([
      [3, 'UPDATED', 'test-admin'],
      [2, 'UPDATED', 'test-admin'],
      [1, 'CREATED', 'test-editor'],
    ]);
    const writers = await prisma.author.findMany({ where: { name: { in: input.authors.map((a) => a.name) } } });
    const idOf = (name: string) => Buffer.from(`Author:${writers.find((w) => w.name === name)!.id}`).toString('base64');
    expect(list[1]!.changes).toEqual([
      { field: 'title', previous: input.title },
      {
        field: 'authors',
        previous: input.authors.map((author) => ({ id: idOf(author.name), name: author.name })),
      },
    ]);
    // the upsert put back the title and byline, and changed the priority
    expect(list[0]!.changes).toEqual([
      { field: 'title', previous: 'Changed title' },
      { field: 'priority', previous: 2 },
      {
        field: 'authors',
        previous: [...input.authors].reverse().map((author) => ({ id: idOf(author.name), name: author.name })),
      },
    ]);

    // pages, newest first
    const page = await execute(Revisions, { id, first: 2 }, as.editor);
    const edges = page.data!.article!.revisions.edges;
    expect(edges.map((edge) => edge.node.version)).toEqual([3, 2]);
    expect(page.data!.article!.revisions.pageInfo.hasNextPage).toBe(true);
    const next = await execute(Revisions, { id, first: 2, after: edges[1]!.cursor }, as.editor);
    expect(next.data!.article!.revisions.edges.map((edge) => edge.node.version)).toEqual([1]);
    for (const junk of ['junk', '0', '-1', '1.5', '99999999999']) {
      const refused = await execute(Revisions, { id, first: 2, after: junk }, as.editor);
      expect(refused.errors?.[0]?.extensions?.code, junk).toBe('INVALID_CURSOR');
    }
    // page sizes as every list takes them
    for (const sizes of [{ first: -1 }, { last: -1 }, { first: 101 }, { first: 1, last: 1 }]) {
      const refused = await execute(Revisions, { id, ...sizes }, as.editor);
      expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(sizes)).toBe('INVALID_PAGE_SIZE');
    }
  });

  it('is for editors only', async () => {
    const { id } = await create();
    const result = await execute(Revisions, { id }, as.anonymous);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('restores an earlier version as a new one, once, and refuses a stale or unknown version changing nothing', async () => {
    const { id, input } = await create({ topics: [{ name: 'Rev Topic' }, { name: 'Rev Other Topic' }] });
    await execute(
      Update,
      {
        input: {
          id,
          expectedVersion: 1,
          title: 'Second title',
          priority: 4,
          publishedAt: '2025-02-02T00:00:00.000Z',
          authors: [{ name: 'Someone Else' }],
          topics: { set: [{ name: 'Rev Topic' }] },
        },
      },
      as.editor,
    );
    const stale = await execute(Restore, { input: { id, version: 1, expectedVersion: 1 } }, as.editor);
    expect(stale.data?.restoreArticleVersion).toEqual({ __typename: 'VersionConflictError', currentVersion: 2 });
    for (const version of [0, 3, 99, -1]) {
      const before = await snapshot();
      const refused = await execute(Restore, { input: { id, version, expectedVersion: 2 } }, as.editor);
      expect(refused.data?.restoreArticleVersion).toEqual({
        __typename: 'ValidationError',
        fields: [{ path: ['input', 'version'], code: version < 1 ? 'OUT_OF_RANGE' : 'NOT_FOUND' }],
      });
      expect(await snapshot()).toEqual(before);
    }

    const restored = await execute(Restore, { input: { id, version: 1, expectedVersion: 2 } }, as.editor);
    expect(restored.data?.restoreArticleVersion).toEqual({
      __typename: 'RestoreArticleVersionSuccess',
      article: {
        version: 3,
        title: input.title,
        priority: 2,
        publishedAt: '2025-01-02T03:04:05.000Z',
        authors: input.authors.map((author) => ({ name: author.name })),
        topics: [{ name: 'Rev Other Topic' }, { name: 'Rev Topic' }],
      },
    });
    const list = await revisions(id);
    expect(list[0]).toMatchObject({ version: 3, action: 'RESTORED' });
    expect(list[0]!.changes.map((change) => change.field)).toEqual([
      'title',
      'publishedAt',
      'priority',
      'authors',
      'topics',
    ]);
    // already in that state: nothing changes, no version is made
    const again = await execute(Restore, { input: { id, version: 1, expectedVersion: 3 } }, as.editor);
    expect(again.data?.restoreArticleVersion).toMatchObject({ article: { version: 3 } });
    // version 2 is still reachable through the RESTORED revision
    const back = await execute(Restore, { input: { id, version: 2, expectedVersion: 3 } }, as.editor);
    expect(back.data?.restoreArticleVersion).toMatchObject({
      article: { version: 4, title: 'Second title', authors: [{ name: 'Someone Else' }] },
    });
  });

  it('records merges, and a restore links the author a merged one became, never a new one of the old name', async () => {
    const { id, input } = await create();
    const [first, second] = await Promise.all(
      input.authors.map((author) => prisma.author.findFirstOrThrow({ where: { name: author.name } })),
    );
    const target = await prisma.author.create({ data: { name: `Merge Target ${n}` } });
    const merged = await execute(
      MergeAuthors,
      {
        input: {
          sourceIds: [Buffer.from(`Author:${second!.id}`).toString('base64')],
          targetId: Buffer.from(`Author:${target.id}`).toString('base64'),
        },
      },
      as.admin,
    );
    expect(merged.data?.mergeAuthors.__typename).toBe('MergeAuthorsSuccess');
    const list = await revisions(id);
    expect(list[0]).toMatchObject({ version: 2, action: 'MERGED', by: 'test-admin' });
    expect(list[0]!.changes).toEqual([
      {
        field: 'authors',
        previous: [
          { id: Buffer.from(`Author:${first!.id}`).toString('base64'), name: first!.name },
          { id: Buffer.from(`Author:${second!.id}`).toString('base64'), name: second!.name },
        ],
      },
    ]);
    // version 1's byline is [first, second]; second lives on as target: that is the byline now, so nothing changes
    const restored = await execute(Restore, { input: { id, version: 1, expectedVersion: 2 } }, as.editor);
    expect(restored.data?.restoreArticleVersion).toMatchObject({
      article: { version: 2, authors: [{ name: first!.name }, { name: target.name }] },
    });
    expect(await prisma.author.count({ where: { name: second!.name } })).toBe(0);
    // a later change, then back to version 1: the merged author is followed, the change undone
    await prisma.articleAuthor.deleteMany({ where: { articleId: dbIdOf(id), authorId: first!.id } });
    const again = await execute(Restore, { input: { id, version: 1, expectedVersion: 2 } }, as.editor);
    expect(again.data?.restoreArticleVersion).toMatchObject({
      article: { version: 3, authors: [{ name: first!.name }, { name: target.name }] },
    });
    expect(await prisma.author.count({ where: { name: second!.name } })).toBe(0);
  });
});

describe('the trash', () => {
  it('trashes, lists, refuses the link, restores as it was, and purges for good', async () => {
    const { id, input } = await create();
    await execute(Update, { input: { id, expectedVersion: 1, summary: 'A summary' } }, as.editor);
    const author = await prisma.author.findFirstOrThrow({ where: { name: input.authors[0]!.name } });
    expect(author.articleCount).toBe(1);

    expect((await execute(Trash, { input: { id } }, as.editor)).data?.deleteArticle).toEqual({
      __typename: 'DeleteArticleSuccess',
      deletedId: id,
    });
    expect((await execute(Lookup, { id })).data).toEqual({ article: null, node: null });
    expect((await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).articleCount).toBe(0);
    expect((await execute(Trash, { input: { id } }, as.editor)).data?.deleteArticle).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
    const listed = await execute(TrashList, { first: 100 }, as.editor);
    expect(listed.data?.trashedArticles.edges.map((edge) => edge.node)).toContainEqual({
      id,
      title: input.title,
      url: input.url,
      version: 2,
      authorNames: input.authors.map((a) => a.name),
      topicNames: ['Rev Topic'],
      deletedBy: 'test-editor',
    });
    expect((await execute(TrashList, { first: 5 }, as.anonymous)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // its link, in any form, is refused with the trashed id; nothing is written
    const before = await snapshot();
    const again = await execute(
      Create,
      { input: { ...input, url: `${input.url.toUpperCase().replace('HTTPS://', 'https://')}/` } },
      as.editor,
    );
    expect(again.data?.createArticle).toEqual({
      __typename: 'ArticleInTrashError',
      code: 'ARTICLE_IN_TRASH',
      trashedId: id,
    });
    const upserted = await execute(Upsert, { input }, as.editor);
    expect(upserted.data?.upsertArticle).toEqual({ __typename: 'ArticleInTrashError', trashedId: id });
    const other = await create();
    const moved = await execute(Update, { input: { id: other.id, expectedVersion: 1, url: input.url } }, as.editor);
    expect(moved.data?.updateArticle).toEqual({ __typename: 'ArticleInTrashError', trashedId: id });
    expect((await snapshot()).articles).toBe(before.articles + 1);

    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toEqual({
      __typename: 'RestoreArticleSuccess',
      article: {
        id,
        version: 2,
        title: input.title,
        authors: input.authors.map((a) => ({ name: a.name })),
        topics: [{ name: 'Rev Topic' }],
      },
    });
    expect((await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).articleCount).toBe(1);
    expect((await revisions(id)).map((revision) => revision.version)).toEqual([2, 1]);
    expect((await execute(Untrash, { input: { id } }, as.editor)).data?.restoreArticle).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });

    // purge: a live article cannot be purged; a trashed one goes, with its history, and its link is free
    expect((await execute(Purge, { input: { id } }, as.admin)).data?.purgeArticle).toMatchObject({ code: 'NOT_FOUND' });
    await execute(Trash, { input: { id } }, as.editor);
    expect((await execute(Purge, { input: { id } }, as.editor)).data?.purgeArticle).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await execute(Purge, { input: { id } }, as.admin)).data?.purgeArticle).toEqual({
      __typename: 'PurgeArticleSuccess',
      purgedId: id,
    });
    expect(
      await prisma.articleRevision.count({
        where: { articleId: Number(Buffer.from(id, 'base64').toString().split(':')[1]) },
      }),
    ).toBe(0);
    expect((await execute(Untrash, { input: { id } }, as.editor)).data?.restoreArticle).toMatchObject({
      code: 'NOT_FOUND',
    });
    const refiled = await execute(Create, { input }, as.editor);
    expect(refiled.data?.createArticle.__typename).toBe('CreateArticleSuccess');
  });

  it("keeps a trashed article's topics in the order the article listed them (A-Z), not the order they were created", async () => {
    const suffix = ++n;
    // created Zulu first, so by id Zulu comes before Alpha
    const { id } = await create({ topics: [{ name: `Zulu Trash ${suffix}` }, { name: `alpha trash ${suffix}` }] });
    const listed = (await execute(TopicsOf, { id })).data?.article?.topics.map((topic) => topic.name);
    expect(listed).toEqual([`alpha trash ${suffix}`, `Zulu Trash ${suffix}`]);
    await execute(Trash, { input: { id } }, as.editor);
    const trashed = (await execute(TrashList, { first: 100 }, as.editor)).data?.trashedArticles.edges.find(
      (edge) => edge.node.id === id,
    );
    expect(trashed?.node.topicNames).toEqual(listed);
    // back as it was: the same version, no revision (the same topics, in whatever order kept)
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toMatchObject({ article: { version: 1 } });
    expect((await revisions(id)).map((revision) => revision.action)).toEqual(['CREATED']);
  });

  it('pages through the trash past a row restored or purged meanwhile, and refuses an edited cursor', async () => {
    const TrashPage = graphql(`
      query RevTrashPage($first: Int, $after: String, $last: Int, $before: String) {
        trashedArticles(first: $first, after: $after, last: $last, before: $before) {
          edges {
            cursor
            node {
              id
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
    `);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { id } = await create();
      await execute(Trash, { input: { id } }, as.editor);
      ids.push(id);
    }
    // most recently trashed first
    const page = (await execute(TrashPage, { first: 2 }, as.editor)).data!.trashedArticles;
    expect(page.edges.map((edge) => edge.node.id)).toEqual([ids[3], ids[2]]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    // the row the cursor names leaves the trash: the next page is still the next two
    await execute(Untrash, { input: { id: ids[2]! } }, as.editor);
    const next = await execute(TrashPage, { first: 2, after: page.pageInfo.endCursor }, as.editor);
    expect(next.data!.trashedArticles.edges.map((edge) => edge.node.id)).toEqual([ids[1], ids[0]]);
    await execute(Purge, { input: { id: ids[1]! } }, as.admin);
    const back = await execute(TrashPage, { last: 1, before: next.data!.trashedArticles.edges[0]!.cursor }, as.editor);
    expect(back.data!.trashedArticles.edges.map((edge) => edge.node.id)).toEqual([ids[3]]);
    for (const cursor of EDITED_CURSORS) {
      expect(codes(await execute(TrashPage, { first: 2, after: cursor }, as.editor)), cursor).toEqual([
        'INVALID_CURSOR',
      ]);
      expect(codes(await execute(TrashPage, { last: 2, before: cursor }, as.editor)), cursor).toEqual([
        'INVALID_CURSOR',
      ]);
    }
  });

  it('restores an article under the key its trash row has now, which a migration may have rewritten', async () => {
    const { id, input } = await create();
    await execute(Trash, { input: { id } }, as.editor);
    const rowId = Number(Buffer.from(id, 'base64').toString().split(':')[1]);
    // as a key migration leaves it: the column rewritten, the saved row as it was
    const rewritten = `${input.url}/as-migrated`;
    await prisma.trashedArticle.update({ where: { id: rowId }, data: { urlKey: rewritten } });
    expect((await execute(Untrash, { input: { id } }, as.editor)).data?.restoreArticle.__typename).toBe(
      'RestoreArticleSuccess',
    );
    expect((await prisma.article.findUniqueOrThrow({ where: { id: rowId } })).urlKey).toBe(rewritten);
  });

  it('restores an article whose author was deleted meanwhile by the name it had', async () => {
    const { id, input } = await create({ authors: [{ name: `Lonely Writer ${n + 1}` }] });
    await execute(Trash, { input: { id } }, as.editor);
    const lonely = await prisma.author.findFirstOrThrow({ where: { name: input.authors[0]!.name } });
    await prisma.author.delete({ where: { id: lonely.id } });
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toMatchObject({
      article: { version: 2, authors: [{ name: input.authors[0]!.name }] },
    });
    // the same name, another author: a new version, with the one it had
    const [latest] = await revisions(id);
    expect(latest).toMatchObject({
      version: 2,
      action: 'RESTORED',
      changes: [{ field: 'authors', previous: [{ id: Buffer.from(`Author:${lonely.id}`).toString('base64') }] }],
    });
  });

  it('restores an article whose authors and topics were merged meanwhile with the rows they were merged into, through a chain of merges, collapsing two into one', async () => {
    const { id, input } = await create({ topics: [{ name: `Merged Topic ${n + 1}` }, { name: 'Rev Topic' }] });
    await execute(Trash, { input: { id } }, as.editor);
    const [first, second] = await Promise.all(
      input.authors.map((author) => prisma.author.findFirstOrThrow({ where: { name: author.name } })),
    );
    const middle = await prisma.author.create({ data: { name: `Chain Middle ${n}` } });
    const last = await prisma.author.create({ data: { name: `Chain Last ${n}` } });
    const ref = (dbId: number) => ({ id: dbId });
    // first -> middle -> last, and second -> last: one author where the byline had two
    await mergeAuthors(prisma, { sourceIds: [ref(first!.id)], targetId: ref(middle.id) }, admin);
    await mergeAuthors(prisma, { sourceIds: [ref(middle.id)], targetId: ref(last.id) }, admin);
    await mergeAuthors(prisma, { sourceIds: [ref(second!.id)], targetId: ref(last.id) }, admin);
    const topic = await prisma.topic.findFirstOrThrow({ where: { name: input.topics[0]!.name } });
    const into = await prisma.topic.findFirstOrThrow({ where: { name: 'Rev Topic' } });
    await mergeTopics(prisma, { sourceIds: [ref(topic.id)], targetId: ref(into.id) }, admin);
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toMatchObject({
      article: { version: 2, authors: [{ name: last.name }], topics: [{ name: 'Rev Topic' }] },
    });
    // other links than the trashed ones: a new version, whose revision holds the links it had
    const gid = (type: string, dbId: number) => Buffer.from(`${type}:${dbId}`).toString('base64');
    expect((await revisions(id))[0]).toEqual({
      version: 2,
      action: 'RESTORED',
      by: 'test-editor',
      changes: [
        {
          field: 'authors',
          previous: [first!, second!].map((author) => ({ id: gid('Author', author.id), name: author.name })),
        },
        {
          field: 'topics',
          previous: [topic, into]
            .sort((a, b) => a.id - b.id)
            .map((row) => ({ id: gid('Topic', row.id), name: row.name })),
        },
      ],
    });
    // version 1 is the trashed byline, and restoring it follows the merges again: nothing to change
    const back = await execute(Restore, { input: { id, version: 1, expectedVersion: 2 } }, as.editor);
    expect(back.data?.restoreArticleVersion).toMatchObject({ article: { version: 2 } });
    for (const name of [first!.name, second!.name, middle.name]) {
      expect(await prisma.author.count({ where: { name } })).toBe(0);
    }
    expect(await prisma.topic.count({ where: { name: topic.name } })).toBe(0);
  });

  it('restores by the old name when the author it was merged into was deleted since', async () => {
    const { id, input } = await create({ authors: [{ name: `Orphan Writer ${n + 1}` }] });
    await execute(Trash, { input: { id } }, as.editor);
    const writer = await prisma.author.findFirstOrThrow({ where: { name: input.authors[0]!.name } });
    const target = await prisma.author.create({ data: { name: `Gone Target ${n}` } });
    const ref = (dbId: number) => ({ id: dbId });
    await mergeAuthors(prisma, { sourceIds: [ref(writer.id)], targetId: ref(target.id) }, admin);
    await prisma.author.delete({ where: { id: target.id } });
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toMatchObject({ article: { authors: [{ name: input.authors[0]!.name }] } });
  });

  it('collapses a link restored by its old name into the author that now has that name and is linked already', async () => {
    const { id, input } = await create();
    await execute(Trash, { input: { id } }, as.editor);
    const [first, second] = await Promise.all(
      input.authors.map((author) => prisma.author.findFirstOrThrow({ where: { name: author.name } })),
    );
    const target = await prisma.author.create({ data: { name: `Short Lived ${n}` } });
    await mergeAuthors(prisma, { sourceIds: [{ id: first!.id }], targetId: { id: target.id } }, admin);
    await prisma.author.delete({ where: { id: target.id } });
    // the second author now has the first one's name: both links name it
    await prisma.author.update({ where: { id: second!.id }, data: { name: first!.name } });
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toMatchObject({ article: { authors: [{ name: first!.name }] } });
  });

  it('says which article has the link when a live one took it meanwhile', async () => {
    const { id, input } = await create();
    await execute(Trash, { input: { id } }, as.editor);
    // only a write racing the trash can do this (see checkNotTrashed); made here behind the API's back
    const taker = await prisma.article.create({
      data: { title: 't', url: input.url, urlKey: input.url, source: 's', publishedAt: new Date(), priority: 1 },
    });
    const restored = await execute(Untrash, { input: { id } }, as.editor);
    expect(restored.data?.restoreArticle).toEqual({
      __typename: 'DuplicateUrlError',
      existingId: Buffer.from(`Article:${taker.id}`).toString('base64'),
      code: 'DUPLICATE_URL',
    });
    expect(
      await prisma.trashedArticle.count({ where: { id: Number(Buffer.from(id, 'base64').toString().split(':')[1]) } }),
    ).toBe(1);
  });

  it('publishes no event for a trashed article, and a CREATED one when it comes back', async () => {
    const { id } = await create();
    const dbId = Number(Buffer.from(id, 'base64').toString().split(':')[1]);
    await execute(Trash, { input: { id } }, as.editor);
    expect(await prisma.articleEvent.count({ where: { articleId: dbId } })).toBe(0);
    await execute(Untrash, { input: { id } }, as.editor);
    expect(await prisma.articleEvent.findMany({ where: { articleId: dbId }, select: { kind: true } })).toEqual([
      { kind: 'CREATED' },
    ]);
  });

  it('purges on schedule only what was trashed before the retention, and reads only when none is due', async () => {
    const old = await create();
    const fresh = await create();
    await execute(Trash, { input: { id: old.id } }, as.editor);
    await execute(Trash, { input: { id: fresh.id } }, as.editor);
    const oldId = Number(Buffer.from(old.id, 'base64').toString().split(':')[1]);
    await prisma.trashedArticle.update({
      where: { id: oldId },
      data: { deletedAt: new Date(Date.now() - 31 * 86_400_000) },
    });
    const cutoff = new Date(Date.now() - 30 * 86_400_000);
    expect(await purgeExpiredTrash(prisma, cutoff)).toBe(1);
    expect(await purgeExpiredTrash(prisma, cutoff)).toBe(0);
    const left = await prisma.trashedArticle.findMany({ select: { id: true } });
    expect(left.map((row) => row.id)).not.toContain(oldId);
    expect(left.map((row) => row.id)).toContain(Number(Buffer.from(fresh.id, 'base64').toString().split(':')[1]));
    expect(await prisma.articleRevision.count({ where: { articleId: oldId } })).toBe(0);
  });

  it('runs the purge on its timer: each interval, what passed the retention goes, the rest stays; retention 0 runs nothing', async () => {
    const dbId = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);
    const trashed = async (daysAgo: number) => {
      const { id } = await create();
      await execute(Trash, { input: { id } }, as.editor);
      await prisma.trashedArticle.update({
        where: { id: dbId(id) },
        data: { deletedAt: new Date(Date.now() - daysAgo * 86_400_000) },
      });
      return dbId(id);
    };
    const present = async (ids: number[]) =>
      (await prisma.trashedArticle.findMany({ where: { id: { in: ids } }, select: { id: true } }))
        .map((row) => row.id)
        .sort((a, b) => a - b);
    const logged: string[] = [];
    const log = { info: (_: unknown, message: string) => logged.push(message), warn: () => {} } as unknown as Logger;
    const waitFor = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    };

    const off = startTrashPurge(prisma, 0, log, 20);
    const kept = await trashed(400);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await off.stop();
    expect(await present([kept])).toEqual([kept]);

    const purge = startTrashPurge(prisma, 30, log, 50);
    try {
      const [expired, recent] = [await trashed(31), await trashed(29)];
      await waitFor(async () => (await present([kept, expired])).length === 0);
      expect(await present([kept, expired, recent])).toEqual([recent]);
      // trashed after the first rounds: the next interval's round takes it
      const later = await trashed(45);
      await waitFor(async () => (await present([later])).length === 0);
      expect(await present([later, recent])).toEqual([recent]);
    } finally {
      await purge.stop();
    }
    expect(logged.some((message) => /^trash: \d+ article\(s\) older than 30 days purged$/.test(message))).toBe(true);
  });
});

describe(`trash races (${serverUrl ? 'PostgreSQL server' : 'PGlite'})`, () => {
  const rounds = serverUrl ? 15 : 3;

  it('never leaves one link both live and in the trash, nor loses an article, when trashing races filing it again', async () => {
    for (let round = 0; round < rounds; round++) {
      const { id, input } = await create();
      const [trashed, refiled, upserted] = await Promise.all([
        execute(Trash, { input: { id } }, as.editor),
        execute(Create, { input }, as.editor),
        execute(Upsert, { input: { ...input, priority: 4 } }, as.editor),
      ]);
      expect(trashed.data?.deleteArticle.__typename).toBe('DeleteArticleSuccess');
      expect(['DuplicateUrlError', 'ArticleInTrashError']).toContain(refiled.data?.createArticle.__typename);
      expect(['UpsertArticleSuccess', 'ArticleInTrashError']).toContain(upserted.data?.upsertArticle.__typename);
      const urlKey = input.url;
      const live = await prisma.article.count({ where: { urlKey } });
      const inTrash = await prisma.trashedArticle.count({ where: { urlKey } });
      expect([live, inTrash]).toEqual([0, 1]);
    }
  });

  it('restores the byline the merges made when restoreArticle and restoreArticleVersion race merges of its authors', async () => {
    const gid = (dbId: number) => Buffer.from(`Author:${dbId}`).toString('base64');
    for (let round = 0; round < rounds; round++) {
      const names = ['One', 'Two', 'Three'].map((word) => ({ name: `Race ${word} ${n + 1}` }));
      const trashed = await create({ authors: names });
      const versioned = await create({ authors: names.map(({ name }) => ({ name: `${name} V` })) });
      await execute(Trash, { input: { id: trashed.id } }, as.editor);
      const changed = await execute(
        Update,
        { input: { id: versioned.id, expectedVersion: 1, authors: [{ name: `Race Other ${n}` }] } },
        as.editor,
      );
      expect(changed.data?.updateArticle.__typename).toBe('UpdateArticleSuccess');
      const authors = async (prefix: string) =>
        Promise.all(names.map(({ name }) => prisma.author.findFirstOrThrow({ where: { name: `${name}${prefix}` } })));
      const [a, , c] = await authors('');
      const [va, , vc] = await authors(' V');
      const target = await prisma.author.create({ data: { name: `Race Target ${n}` } });
      const vtarget = await prisma.author.create({ data: { name: `Race Target V ${n}` } });
      const merge = (sources: number[], into: number) =>
        execute(MergeAuthors, { input: { sourceIds: sources.map(gid), targetId: gid(into) } }, as.admin);
      const [untrashed, restored, merged, vmerged] = await Promise.all([
        execute(Untrash, { input: { id: trashed.id } }, as.editor),
        execute(Restore, { input: { id: versioned.id, version: 1, expectedVersion: 2 } }, as.editor),
        merge([a!.id, c!.id], target.id),
        merge([va!.id, vc!.id], vtarget.id),
      ]);
      expect(merged.data?.mergeAuthors.__typename).toBe('MergeAuthorsSuccess');
      expect(vmerged.data?.mergeAuthors.__typename).toBe('MergeAuthorsSuccess');
      // merged first and then restored, or restored first and then merged: the same byline
      expect(untrashed.data?.restoreArticle).toMatchObject({ __typename: 'RestoreArticleSuccess' });
      expect(restored.data?.restoreArticleVersion).toMatchObject({ __typename: 'RestoreArticleVersionSuccess' });
      const byline = async (id: string) =>
        (
          await prisma.articleAuthor.findMany({
            where: { articleId: dbIdOf(id) },
            orderBy: { position: 'asc' },
            include: { author: true },
          })
        ).map((row) => row.author.name);
      expect(await byline(trashed.id)).toEqual([target.name, names[1]!.name]);
      expect(await byline(versioned.id)).toEqual([vtarget.name, `${names[1]!.name} V`]);
      for (const gone of [a!, c!, va!, vc!]) expect(await prisma.author.count({ where: { name: gone.name } })).toBe(0);
    }
  });

  it('restores or purges a trashed article, never both, when they race', async () => {
    for (let round = 0; round < rounds; round++) {
      const { id } = await create();
      await execute(Trash, { input: { id } }, as.editor);
      const [restored, purged] = await Promise.all([
        execute(Untrash, { input: { id } }, as.editor),
        execute(Purge, { input: { id } }, as.admin),
      ]);
      const outcomes = [restored.data?.restoreArticle.__typename, purged.data?.purgeArticle.__typename].sort();
      expect([
        ['NotFoundError', 'RestoreArticleSuccess'],
        ['NotFoundError', 'PurgeArticleSuccess'],
      ]).toContainEqual(outcomes);
      const dbId = Number(Buffer.from(id, 'base64').toString().split(':')[1]);
      const live = await prisma.article.count({ where: { id: dbId } });
      const inTrash = await prisma.trashedArticle.count({ where: { id: dbId } });
      expect(live + inTrash).toBe(outcomes.includes('RestoreArticleSuccess') ? 1 : 0);
    }
  });

  it('gives each concurrent update of one article its own revision, in version order', async () => {
    const { id } = await create();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        execute(Update, { input: { id, expectedVersion: 1, title: `Racer ${i}` } }, as.editor),
      ),
    );
    const won = results.filter((result) => result.data?.updateArticle.__typename === 'UpdateArticleSuccess');
    expect(won).toHaveLength(1);
    expect((await revisions(id)).map((revision) => revision.version)).toEqual([2, 1]);
  });
});
