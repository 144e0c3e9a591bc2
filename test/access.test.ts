import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { graphql } from './gql/index.ts';
import { execute } from './support/api.ts';
import { globalId } from './support/demo.ts';
import { deleteArticle } from '../src/resolvers/articles/writes.ts';
import { authenticate, createApiKey, revokeApiKey } from '../src/resolvers/access/apiKeys.ts';
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
  restoreArticle: graphql(`
    mutation AccessRestoreArticle($input: TrashedArticleInput!) {
      restoreArticle(input: $input) {
        __typename
      }
    }
  `),
  purgeArticle: graphql(`
    mutation AccessPurgeArticle($input: TrashedArticleInput!) {
      purgeArticle(input: $input) {
        __typename
      }
    }
  `),
  restoreArticleVersion: graphql(`
    mutation AccessRestoreArticleVersion($input: RestoreArticleVersionInput!) {
      restoreArticleVersion(input: $input) {
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
  createApiKey: graphql(`
    mutation AccessCreateApiKey($input: CreateApiKeyInput!) {
      createApiKey(input: $input) {
        __typename
      }
    }
  `),
  revokeApiKey: graphql(`
    mutation AccessRevokeApiKey($input: RevokeApiKeyInput!) {
      revokeApiKey(input: $input) {
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

/** A fresh article, moved to the trash; its id. */
async function trashedArticle(): Promise<number> {
  const { article } = await freshArticle();
  await deleteArticle(
    prisma,
    { id: { id: article.id } },
    { kind: 'apiKey', keyId: 0, name: 'test-editor', role: 'EDITOR' },
  );
  return article.id;
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
    role: 'EDITOR',
    variables: async () => ({ input: { id: globalId('Article', (await freshArticle()).article.id) } }),
  },
  {
    name: 'restoreArticle',
    role: 'EDITOR',
    variables: async () => ({ input: { id: globalId('Article', await trashedArticle()) } }),
  },
  {
    name: 'purgeArticle',
    role: 'ADMIN',
    variables: async () => ({ input: { id: globalId('Article', await trashedArticle()) } }),
  },
  {
    name: 'restoreArticleVersion',
    role: 'EDITOR',
    variables: async () => ({
      input: { id: globalId('Article', (await freshArticle()).article.id), version: 1, expectedVersion: 1 },
    }),
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
  {
    name: 'createApiKey',
    role: 'ADMIN',
    variables: async () => ({ input: { name: `access-key-${++n}`, role: 'EDITOR' } }),
  },
  {
    name: 'revokeApiKey',
    role: 'ADMIN',
    variables: async () => ({
      input: { name: (await createApiKey(prisma, `to-revoke-${++n}`, 'EDITOR')).record.name },
    }),
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

const Keys = {
  create: graphql(`
    mutation KeysCreate($input: CreateApiKeyInput!) {
      createApiKey(input: $input) {
        __typename
        ... on CreateApiKeySuccess {
          secret
          apiKey {
            name
            role
            prefix
            revokedAt
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
  `),
  revoke: graphql(`
    mutation KeysRevoke($input: RevokeApiKeyInput!) {
      revokeApiKey(input: $input) {
        __typename
        ... on RevokeApiKeySuccess {
          apiKey {
            name
            revokedAt
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
  `),
  list: graphql(`
    query KeysList {
      apiKeys {
        name
        role
        prefix
        createdAt
        lastUsedAt
        revokedAt
      }
    }
  `),
};

describe('API keys through the running server', () => {
  it('creates a key whose secret works at once, lists keys without secrets, and revokes it', async () => {
    const created = await execute(Keys.create, { input: { name: 'api-made', role: 'EDITOR' } }, as.admin);
    const made = created.data!.createApiKey;
    expect(made.__typename).toBe('CreateApiKeySuccess');
    const secret = made.__typename === 'CreateApiKeySuccess' ? made.secret : '';
    expect(secret).toMatch(/^ngk_[A-Za-z0-9_-]{43}$/);
    expect(made.__typename === 'CreateApiKeySuccess' && made.apiKey).toEqual({
      name: 'api-made',
      role: 'EDITOR',
      prefix: secret.slice(0, 10),
      revokedAt: null,
    });
    expect((await execute(Viewer, {}, { authorization: `Bearer ${secret}` })).data?.viewer).toEqual({
      anonymous: false,
      keyName: 'api-made',
      role: 'EDITOR',
    });
    const listed = await execute(Keys.list, {}, as.admin);
    expect(listed.data?.apiKeys.map((k) => k.name)).toContain('api-made');
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed.data?.apiKeys.find((k) => k.name === 'api-made')?.lastUsedAt).not.toBeNull();

    const revoked = await execute(Keys.revoke, { input: { name: 'api-made' } }, as.admin);
    expect(revoked.data?.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    expect((await execute(Viewer, {}, { authorization: `Bearer ${secret}` })).status).toBe(401);
    const again = await execute(Keys.revoke, { input: { name: 'api-made' } }, as.admin);
    expect(again.data?.revokeApiKey).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'name'], code: 'NOT_FOUND' }],
    });
  });

  it('refuses a taken or malformed name, and never reuses a name', async () => {
    for (const [name, code] of [
      ['test-editor', 'TAKEN'],
      ['test-revoked', 'TAKEN'],
      ['has space', 'INVALID_NAME'],
      ['x'.repeat(101), 'INVALID_NAME'],
      ['', 'INVALID_NAME'],
    ] as const) {
      const before = await prisma.apiKey.count();
      const refused = await execute(Keys.create, { input: { name, role: 'ADMIN' } }, as.admin);
      expect(refused.data?.createApiKey, name).toEqual({
        __typename: 'ValidationError',
        fields: [{ path: ['input', 'name'], code }],
      });
      expect(await prisma.apiKey.count()).toBe(before);
    }
  });

  it('never revokes the last active ADMIN key', async () => {
    const admins = await prisma.apiKey.findMany({ where: { role: 'ADMIN', revokedAt: null } });
    // revoke every other admin key, then try the last one
    const extra = await createApiKey(prisma, 'spare-admin', 'ADMIN');
    for (const key of admins) await revokeApiKey(prisma, key.name);
    const last = await execute(
      Keys.revoke,
      { input: { name: 'spare-admin' } },
      {
        authorization: `Bearer ${extra.secret}`,
      },
    );
    expect(last.data?.revokeApiKey).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'name'], code: 'LAST_ADMIN' }],
    });
    expect((await execute(Viewer, {}, { authorization: `Bearer ${extra.secret}` })).status).toBe(200);
    // put the file's callers back
    await prisma.apiKey.updateMany({ where: { id: { in: admins.map((key) => key.id) } }, data: { revokedAt: null } });
    await revokeApiKey(prisma, 'spare-admin');
  });

  it('refuses key management by a key revoked while its request ran', async () => {
    const doomed = await createApiKey(prisma, 'doomed-admin', 'ADMIN');
    const viewer = await authenticate(prisma, `Bearer ${doomed.secret}`);
    await revokeApiKey(prisma, 'doomed-admin');
    await expect(createApiKey(prisma, 'minted-late', 'ADMIN', viewer)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(revokeApiKey(prisma, 'test-editor', viewer)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(await prisma.apiKey.count({ where: { name: 'minted-late' } })).toBe(0);
    expect((await prisma.apiKey.findFirstOrThrow({ where: { name: 'test-editor' } })).revokedAt).toBeNull();
  });

  it('lists keys only for ADMIN keys', async () => {
    for (const caller of ['anonymous', 'editor'] as const) {
      const result = await execute(Keys.list, {}, as[caller]);
      expect(result.data ?? null, caller).toBeNull();
      expect(
        result.errors?.map((e) => e.extensions?.code),
        caller,
      ).toEqual(['FORBIDDEN']);
    }
    expect((await execute(Keys.list, {}, as.admin)).errors).toBeUndefined();
  });

  it('makes exactly one key of one name from concurrent creates', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        execute(Keys.create, { input: { name: 'raced-key', role: 'EDITOR' } }, as.admin),
      ),
    );
    const kinds = results.map((r) => r.data?.createApiKey.__typename);
    expect(kinds.filter((k) => k === 'CreateApiKeySuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ValidationError')).toHaveLength(9);
    expect(await prisma.apiKey.count({ where: { name: 'raced-key' } })).toBe(1);
  });

  it('revokes every key of concurrent revocations by one ADMIN key (no lock upgrade between them)', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `revoked-at-once-${i}`);
    for (const name of names) await createApiKey(prisma, name, 'EDITOR');
    const results = await Promise.all(names.map((name) => execute(Keys.revoke, { input: { name } }, as.admin)));
    expect(results.map((r) => [r.status, r.data?.revokeApiKey?.__typename])).toEqual(
      names.map(() => [200, 'RevokeApiKeySuccess']),
    );
    expect(await prisma.apiKey.count({ where: { name: { in: names }, revokedAt: null } })).toBe(0);
  });

  it('lets one of two ADMIN keys revoking each other at once win; the other is refused as revoked', async () => {
    for (let round = 0; round < 5; round++) {
      const [one, two] = await Promise.all(
        ['one', 'two'].map((side) => createApiKey(prisma, `mutual-${side}-${round}`, 'ADMIN')),
      );
      const results = await Promise.all(
        [
          [one!.secret, `mutual-two-${round}`],
          [two!.secret, `mutual-one-${round}`],
        ].map(([secret, name]) =>
          execute(Keys.revoke, { input: { name: name! } }, { authorization: `Bearer ${secret}` }),
        ),
      );
      const outcomes = results
        .map((r) => r.data?.revokeApiKey?.__typename ?? r.errors?.map((e) => e.extensions?.code).join(','))
        .sort();
      expect(outcomes).toEqual(['RevokeApiKeySuccess', 'UNAUTHENTICATED']);
      expect(
        await prisma.apiKey.count({
          where: { name: { in: [`mutual-one-${round}`, `mutual-two-${round}`] }, revokedAt: null },
        }),
      ).toBe(1);
    }
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
    // seven processes, each opening the database
  }, 120_000);
});
