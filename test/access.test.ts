import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { execute } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { callers, snapshot, type Caller } from './support/keys.ts';

const M = {
  createArticle: graphql(`
    mutation AccessCreateArticle($input: CreateArticleInput!) {
      createArticle(input: $input) {
        __typename
      }
    }
  `),
  upsertArticle: graphql(`
    mutation AccessUpsertArticle($input: CreateArticleInput!) {
      upsertArticle(input: $input) {
        __typename
      }
    }
  `),
  updateArticle: graphql(`
    mutation AccessUpdateArticle($input: UpdateArticleInput!) {
      updateArticle(input: $input) {
        __typename
      }
    }
  `),
  deleteArticle: graphql(`
    mutation AccessDeleteArticle($input: DeleteArticleInput!) {
      deleteArticle(input: $input) {
        __typename
      }
    }
  `),
  createAuthor: graphql(`
    mutation AccessCreateAuthor($input: CreateAuthorInput!) {
      createAuthor(input: $input) {
        __typename
      }
    }
  `),
  updateAuthor: graphql(`
    mutation AccessUpdateAuthor($input: UpdateAuthorInput!) {
      updateAuthor(input: $input) {
        __typename
      }
    }
  `),
  deleteAuthor: graphql(`
    mutation AccessDeleteAuthor($input: DeleteAuthorInput!) {
      deleteAuthor(input: $input) {
        __typename
      }
    }
  `),
  mergeAuthors: graphql(`
    mutation AccessMergeAuthors($input: MergeAuthorsInput!) {
      mergeAuthors(input: $input) {
        __typename
      }
    }
  `),
  createTopic: graphql(`
    mutation AccessCreateTopic($input: CreateTopicInput!) {
      createTopic(input: $input) {
        __typename
      }
    }
  `),
  updateTopic: graphql(`
    mutation AccessUpdateTopic($input: UpdateTopicInput!) {
      updateTopic(input: $input) {
        __typename
      }
    }
  `),
  deleteTopic: graphql(`
    mutation AccessDeleteTopic($input: DeleteTopicInput!) {
      deleteTopic(input: $input) {
        __typename
      }
    }
  `),
  mergeTopics: graphql(`
    mutation AccessMergeTopics($input: MergeTopicsInput!) {
      mergeTopics(input: $input) {
        __typename
      }
    }
  `),
};

const EditorFields = graphql(`
  query EditorFields($id: ID!, $ids: [ID!]!, $authorId: ID!, $slug: String!) {
    article(id: $id) {
      createdBy
      updatedBy
    }
    node(id: $id) {
      ... on Article {
        createdBy
        updatedBy
      }
    }
    nodes(ids: $ids) {
      ... on Article {
        createdBy
      }
    }
    articles(first: 5) {
      edges {
        node {
          createdBy
          updatedBy
        }
      }
    }
    author(id: $authorId) {
      articles(first: 5) {
        edges {
          node {
            createdBy
          }
        }
      }
    }
    topic(slug: $slug) {
      articles(first: 5) {
        edges {
          node {
            updatedBy
          }
        }
      }
    }
  }
`);

const Viewer = graphql(`
  query Viewer {
    viewer {
      anonymous
      keyName
      role
    }
  }
`);

let as: Record<Caller, Record<string, string>>;
let n = 0;

beforeAll(async () => {
  as = await callers();
});

async function freshArticle() {
  n += 1;
  const author = await prisma.author.create({ data: { name: `Access Author ${n}` } });
  const topic = await prisma.topic.create({ data: { name: `Access Topic ${n}`, slug: `access-topic-${n}` } });
  const article = await prisma.article.create({
    data: {
      title: `Access ${n}`,
      url: `https://access.example/${n}`,
      urlKey: `https://access.example/${n}`,
      source: 'Access',
      publishedAt: new Date('2026-02-02T00:00:00Z'),
      priority: 1,
      createdBy: 'test-editor',
      updatedBy: 'test-admin',
      authors: { create: [{ authorId: author.id, position: 0 }] },
      topics: { create: [{ topicId: topic.id }] },
    },
  });
  return { article, author, topic };
}

/** Each mutation, with fresh valid arguments and the role it needs. */
const cases: { name: keyof typeof M; role: 'EDITOR' | 'ADMIN'; variables: () => Promise<object> }[] = [
  {
    name: 'createArticle',
    role: 'EDITOR',
    variables: async () => ({
      input: {
        title: `New ${++n}`,
        url: `https://access.example/new/${n}`,
        source: 'S',
        publishedAt: '2026-01-01T00:00:00Z',
        priority: 2,
        authors: [{ name: `Brand New ${n}` }],
      },
    }),
  },
  {
    name: 'upsertArticle',
    role: 'EDITOR',
    variables: async () => ({
      input: {
        title: `Up ${++n}`,
        url: `https://access.example/up/${n}`,
        source: 'S',
        publishedAt: '2026-01-01T00:00:00Z',
        priority: 2,
      },
    }),
  },
  {
    name: 'updateArticle',
    role: 'EDITOR',
    variables: async () => ({
      input: { id: globalId('Article', (await freshArticle()).article.id), expectedVersion: 1, title: 'Changed' },
    }),
  },
  {
    name: 'deleteArticle',
    role: 'ADMIN',
    variables: async () => ({ input: { id: globalId('Article', (await freshArticle()).article.id) } }),
  },
  { name: 'createAuthor', role: 'EDITOR', variables: async () => ({ input: { name: `Created Author ${++n}` } }) },
  {
    name: 'updateAuthor',
    role: 'EDITOR',
    variables: async () => ({
      input: { id: globalId('Author', (await freshArticle()).author.id), name: `Renamed ${++n}` },
    }),
  },
  {
    name: 'deleteAuthor',
    role: 'ADMIN',
    variables: async () => ({
      input: { id: globalId('Author', (await prisma.author.create({ data: { name: `Unused ${++n}` } })).id) },
    }),
  },
  {
    name: 'mergeAuthors',
    role: 'ADMIN',
    variables: async () => {
      const a = await freshArticle();
      const b = await freshArticle();
      return { input: { sourceIds: [globalId('Author', a.author.id)], targetId: globalId('Author', b.author.id) } };
    },
  },
  { name: 'createTopic', role: 'EDITOR', variables: async () => ({ input: { name: `Created Topic ${++n}` } }) },
  {
    name: 'updateTopic',
    role: 'EDITOR',
    variables: async () => ({
      input: { id: globalId('Topic', (await freshArticle()).topic.id), name: `Retitled ${++n}` },
    }),
  },
  {
    name: 'deleteTopic',
    role: 'ADMIN',
    variables: async () => ({
      input: {
        id: globalId(
          'Topic',
          (await prisma.topic.create({ data: { name: `Unused T ${++n}`, slug: `unused-t-${n}` } })).id,
        ),
      },
    }),
  },
  {
    name: 'mergeTopics',
    role: 'ADMIN',
    variables: async () => {
      const a = await freshArticle();
      const b = await freshArticle();
      return { input: { sourceIds: [globalId('Topic', a.topic.id)], targetId: globalId('Topic', b.topic.id) } };
    },
  },
];

const SUCCESS = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}Success`;

describe('every role against every mutation', () => {
  for (const { name, role, variables } of cases) {
    it(`${name} needs ${role}`, async () => {
      const document = M[name] as never;
      for (const caller of ['anonymous', 'editor', 'revoked', 'unknown', 'malformed', 'admin'] as const) {
        const vars = await variables();
        const before = await snapshot();
        const result = await execute(document, vars as never, as[caller]);
        const typename = (result.data as Record<string, { __typename: string }> | null | undefined)?.[name]?.__typename;
        if (caller === 'revoked' || caller === 'unknown' || caller === 'malformed') {
          expect(result.status, caller).toBe(401);
          expect(result.errors?.[0]?.extensions?.code, caller).toBe('UNAUTHENTICATED');
          expect(result.data ?? null).toBeNull();
          expect(await snapshot()).toEqual(before);
        } else if (caller === 'admin' || (caller === 'editor' && role === 'EDITOR')) {
          expect(typename, `${caller}: ${JSON.stringify(result)}`).toBe(SUCCESS(name));
        } else {
          expect(typename, caller).toBe('ForbiddenError');
          expect(await snapshot(), caller).toEqual(before);
        }
      }
    });
  }
});

describe('authentication', () => {
  it('identifies the caller, and refuses bad keys on queries too with 401', async () => {
    expect((await execute(Viewer, {}, as.anonymous)).data?.viewer).toEqual({
      anonymous: true,
      keyName: null,
      role: null,
    });
    expect((await execute(Viewer, {}, as.editor)).data?.viewer).toEqual({
      anonymous: false,
      keyName: 'test-editor',
      role: 'EDITOR',
    });
    for (const caller of ['revoked', 'unknown', 'malformed'] as const) {
      const result = await execute(Viewer, {}, as[caller]);
      expect(result.status).toBe(401);
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    for (const header of [
      'Bearer',
      'Bearer ',
      'bearer ngk_short',
      `Token ngk_${'A'.repeat(43)}`,
      `Bearer ngk_${'A'.repeat(43)} extra`,
    ]) {
      const result = await execute(Viewer, {}, { authorization: header });
      expect(result.status, header).toBe(401);
    }
  });

  it('records when a key was last used, and never stores the secret', async () => {
    const key = await prisma.apiKey.findUniqueOrThrow({ where: { name: 'test-admin' } });
    await execute(Viewer, {}, as.admin);
    const used = await prisma.apiKey.findUniqueOrThrow({ where: { name: 'test-admin' } });
    expect(used.lastUsedAt).not.toBeNull();
    const secret = as.admin.authorization!.slice('Bearer '.length);
    expect(JSON.stringify(await prisma.apiKey.findMany())).not.toContain(secret);
    expect(key.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('editor-only fields', () => {
  it('are null for anonymous callers everywhere an article appears, and visible to editors', async () => {
    const { article, author, topic } = await freshArticle();
    const variables = {
      id: globalId('Article', article.id),
      ids: [globalId('Article', article.id)],
      authorId: globalId('Author', author.id),
      slug: topic.slug,
    };
    const anonymous = await execute(EditorFields, variables, as.anonymous);
    expect(anonymous.errors).toBeUndefined();
    const values = JSON.stringify(anonymous.data).match(/"(createdBy|updatedBy)":("[^"]*"|null)/g)!;
    expect(values.length).toBeGreaterThanOrEqual(9);
    expect(values.every((v) => v.endsWith(':null'))).toBe(true);

    const editor = await execute(EditorFields, variables, as.editor);
    expect(editor.data?.article).toEqual({ createdBy: 'test-editor', updatedBy: 'test-admin' });
    expect(editor.data?.author?.articles.edges[0]?.node.createdBy).toBe('test-editor');
    expect(editor.data?.topic?.articles.edges[0]?.node.updatedBy).toBe('test-admin');
  });
});

describe('npm run apikey', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/apikey.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: process.env,
      encoding: 'utf8',
    });

  it('creates a key (printed once), lists it without the secret, and revokes it', async () => {
    // the CLI opens this file's database itself; close ours first (one process per embedded database)
    const { disconnect } = await import('../src/db/client.ts');
    await disconnect();
    const created = cli('create', '--name', 'cli-editor', '--role', 'editor');
    expect(created.status, created.stderr).toBe(0);
    const secret = /ngk_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
    expect(secret).toBeDefined();
    const listed = cli('list');
    expect(listed.stdout).toMatch(/cli-editor\tEDITOR\t/);
    expect(listed.stdout).not.toContain(secret!);
    expect(cli('create', '--name', 'cli-editor', '--role', 'admin').status).toBe(1);
    expect(cli('create', '--name', 'x', '--role', 'superuser').status).toBe(2);
    expect(cli('revoke', '--name', 'cli-editor').status).toBe(0);
    expect(cli('revoke', '--name', 'cli-editor').status).toBe(1);
    expect(cli('list').stdout).toMatch(/cli-editor\tEDITOR\t\S+\trevoked /);
  });
});
