import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { config, type ResponseCacheSettings } from '../src/config.ts';
import { createLogger } from '../src/observability.ts';
import { createServer } from '../src/yoga.ts';
import { recordStatements } from './support/api.ts';
import { callers } from './support/keys.ts';

/**
 * The response cache of anonymous reads (src/responseCache.ts): a repeated anonymous query is
 * answered without SQL; a request with a key never reads or fills it; and after every kind of
 * mutation no answer from before it is served, by the server that wrote or by another sharing
 * the same Redis (the embedded database's memory cache as well).
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ENDPOINT = 'http://newsgraph.test/graphql';
const logger = createLogger('silent');

function server(responseCache: ResponseCacheSettings, settings: Partial<ReturnType<typeof config>> = {}) {
  return createServer({ ...config(), ...settings, responseCache }, { logger });
}

type Server = ReturnType<typeof server>;

async function post(yoga: Server, query: string, variables?: object, headers: Record<string, string> = {}) {
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: { message: string }[] };
  return { status: response.status, headers: response.headers, body };
}

/**
 * The read of an answer once it is cached: the plugin stores answers after responding (in Redis,
 * a moment later), so this repeats the read, up to 2 s, until it runs no SQL.
 */
async function cachedRead(yoga: Server, query: string) {
  for (let attempt = 0; ; attempt++) {
    const read = await recordStatements(() => post(yoga, query));
    if (read.statements.length === 0 || attempt === 40) return read;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything a mutation of any kind changes, in one anonymous read. */
const EVERYTHING = `{
  articles(first: 100, orderBy: [{ field: TITLE }]) {
    totalCount
    edges { node { id title priority authors { name } topics { name slug } } }
  }
  authors(first: 100) { totalCount edges { node { id name articleCount } } }
  topics(first: 100) { totalCount edges { node { id name slug articleCount } } }
  articleFacets { total }
}`;

let keys: Awaited<ReturnType<typeof callers>>;
const prefix = `newsgraph-test:${randomUUID()}:`;
const shared: ResponseCacheSettings = { store: 'redis', ttlMs: 60_000, redisUrl: REDIS_URL, prefix };
const servers: Server[] = [];
function made(settings: ResponseCacheSettings): Server {
  const yoga = server(settings);
  servers.push(yoga);
  return yoga;
}

beforeAll(async () => {
  keys = await callers();
});

afterAll(async () => {
  await Promise.all(servers.map((yoga) => yoga.dispose()));
  const redis = new Redis(REDIS_URL);
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length) await redis.del(stale);
  redis.disconnect();
});

describe('the response cache', () => {
  it('answers a repeated anonymous read without SQL, with an ETag', async () => {
    const yoga = made(shared);
    const query = `{ articles(first: 3) { totalCount edges { node { title } } } }`;
    const first = await recordStatements(() => post(yoga, query));
    expect(first.statements.length).toBeGreaterThan(0);
    const again = await cachedRead(yoga, query);
    expect(again.statements).toEqual([]);
    expect(again.result.body).toEqual(first.result.body);
    const etag = again.result.headers.get('etag');
    // an opaque, quoted entity tag (RFC 9110): it tells nothing of the data version
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    // a conditional request is answered in full (a 304 could vouch for an answer from before a write)
    const conditional = await recordStatements(async () =>
      yoga.fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'if-none-match': etag! },
        body: JSON.stringify({ query }),
      }),
    );
    expect(conditional.result.status).toBe(200);
    expect(conditional.statements.length).toBeGreaterThan(0);
    // the same document with other variables is another answer
    const other = await recordStatements(() =>
      post(yoga, `query ($n: Int) { articles(first: $n) { totalCount } }`, { n: 2 }),
    );
    expect(other.statements.length).toBeGreaterThan(0);
  });

  it('is never read or filled by a request with a key', async () => {
    const yoga = made(shared);
    const query = `{ authors(first: 2) { totalCount } }`;
    for (let n = 0; n < 2; n++) {
      const { statements } = await recordStatements(() => post(yoga, query, undefined, keys.editor));
      // the key's own check is a statement too; the list is read each time
      expect(statements.some((sql) => /FROM "public"\."Author"|FROM "Author"/.test(sql))).toBe(true);
    }
  });

  it('does not store answers with errors', async () => {
    const yoga = made(shared);
    const query = `{ articles(filter: { priority: { gt: 100000 } }) { totalCount } }`;
    const first = await recordStatements(() => post(yoga, query));
    expect(first.result.body.errors?.length).toBeGreaterThan(0);
    const again = await post(yoga, query);
    expect(again.body).toEqual(first.result.body);
    expect(again.headers.get('etag')).toBeNull();
    // refusals before execution (cost, input boundary) pass the cache by, quietly
    const warn = vi.spyOn(console, 'warn');
    try {
      const or = Array.from({ length: 20 }, (_, n) => `{ text: "nomatch${n}" }`).join(', ');
      const costly = await post(yoga, `{ articles(filter: { OR: [${or}] }) { totalCount } }`);
      expect(costly.status).toBe(400);
      const nul = await post(
        yoga,
        `query ($t: String) { articles(filter: { title: { equals: $t } }) { totalCount } }`,
        {
          t: 'a\u0000b',
        },
      );
      expect(nul.status).toBe(400);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses variables nested past the input boundary, at any depth, with 400 before keying them', async () => {
    // the key was JSON.stringify of the variables, which recursed past the stack at 5,000 levels:
    // an anonymous 500 (a request with a key, which is never cached, had its 400)
    const lines: string[] = [];
    const yoga = createServer(
      { ...config(), responseCache: { ...shared, store: 'memory' } },
      {
        logger: createLogger(
          'info',
          new Writable({
            write(chunk, _encoding, done) {
              lines.push(String(chunk));
              done();
            },
          }),
        ),
      },
    );
    servers.push(yoga);
    const query = '{ __typename }';
    for (const depth of [65, 5_000, 100_000]) {
      // written by hand: JSON.stringify overflows here as it did in the server
      const variables = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const posted = await yoga.fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
      });
      const got = await yoga.fetch(
        `${ENDPOINT}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}`,
        { headers: { accept: 'application/graphql-response+json' } },
      );
      for (const [how, response] of [
        ['POST', posted],
        ['GET', got],
      ] as const) {
        expect(response.status, `${how} ${depth}`).toBe(400);
        expect(((await response.json()) as { errors: unknown[] }).errors, `${how} ${depth}`).toEqual([
          expect.objectContaining({
            message: 'Variables are nested deeper than 64 levels',
            extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', limit: 64 }),
          }),
        ]);
      }
    }
    expect(lines.filter((line) => /"level":50/.test(line))).toEqual([]);
  });

  it('serves no answer from before a mutation, of any kind, on any server sharing the cache', async () => {
    const writer = made(shared);
    const reader = made(shared);
    const embedded = config().database.kind === 'pglite' ? made({ ...shared, store: 'memory' }) : undefined;
    const uncached = made({ ...shared, store: 'off' });
    const ids: Record<string, string> = {};
    const mutate = async (name: string, query: string, variables: object, role: 'editor' | 'admin' = 'editor') => {
      const result = await post(writer, query, variables, keys[role]);
      expect(result.body.errors, name).toBeUndefined();
      const payload = Object.values(result.body.data!)[0] as Record<string, any>;
      expect(payload.__typename, `${name}: ${JSON.stringify(payload)}`).toMatch(/Success$/);
      return payload;
    };
    const steps: [string, () => Promise<void>][] = [
      [
        'createArticle',
        async () => {
          const { article } = await mutate(
            'createArticle',
            `mutation ($input: CreateArticleInput!) { createArticle(input: $input) { __typename ... on CreateArticleSuccess { article { id version } } } }`,
            {
              input: {
                url: `https://cache.example/${randomUUID()}`,
                title: 'Cache test article',
                source: 'Cache Times',
                priority: 3,
                publishedAt: '2026-11-01T00:00:00Z',
                authors: [{ name: 'Cache Writer' }],
                topics: [{ name: 'Cache Topic' }],
              },
            },
          );
          ids.article = article.id;
          ids.version = String(article.version);
        },
      ],
      [
        'updateArticle',
        async () => {
          const { article } = await mutate(
            'updateArticle',
            `mutation ($input: UpdateArticleInput!) { updateArticle(input: $input) { __typename ... on UpdateArticleSuccess { article { version } } } }`,
            { input: { id: ids.article, expectedVersion: Number(ids.version), title: 'Cache test article, renamed' } },
          );
          ids.version = String(article.version);
        },
      ],
      [
        'upsertArticle',
        async () => {
          await mutate(
            'upsertArticle',
            `mutation ($input: CreateArticleInput!) { upsertArticle(input: $input) { __typename } }`,
            {
              input: {
                url: `https://cache.example/${randomUUID()}`,
                title: 'Cache upserted article',
                source: 'Cache Times',
                priority: 2,
                publishedAt: '2026-11-02T00:00:00Z',
              },
            },
          );
        },
      ],
      [
        'createAuthor',
        async () => {
          const { author } = await mutate(
            'createAuthor',
            `mutation { createAuthor(input: { name: "Cache Author" }) { __typename ... on CreateAuthorSuccess { author { id } } } }`,
            {},
          );
          ids.author = author.id;
        },
      ],
      [
        'updateAuthor',
        async () => {
          await mutate(
            'updateAuthor',
            `mutation ($id: ID!) { updateAuthor(input: { id: $id, name: "Cache Author Renamed" }) { __typename } }`,
            { id: ids.author },
          );
        },
      ],
      [
        'createTopic',
        async () => {
          const { topic } = await mutate(
            'createTopic',
            `mutation { createTopic(input: { name: "Cache Topic Two" }) { __typename ... on CreateTopicSuccess { topic { id } } } }`,
            {},
          );
          ids.topic = topic.id;
        },
      ],
      [
        'updateTopic',
        async () => {
          await mutate(
            'updateTopic',
            `mutation ($id: ID!) { updateTopic(input: { id: $id, slug: "cache-topic-renamed" }) { __typename } }`,
            { id: ids.topic },
          );
        },
      ],
      [
        'mergeAuthors',
        async () => {
          const found = await post(
            uncached,
            `{ authors(filter: { name: { equals: "Cache Writer" } }) { edges { node { id } } } }`,
          );
          const writer = found.body.data!.authors.edges[0].node.id;
          await mutate(
            'mergeAuthors',
            `mutation ($s: [ID!]!, $t: ID!) { mergeAuthors(input: { sourceIds: $s, targetId: $t }) { __typename } }`,
            { s: [writer], t: ids.author },
            'admin',
          );
        },
      ],
      [
        'mergeTopics',
        async () => {
          const found = await post(
            uncached,
            `{ topics(filter: { name: { equals: "Cache Topic" } }) { edges { node { id } } } }`,
          );
          const topic = found.body.data!.topics.edges[0].node.id;
          await mutate(
            'mergeTopics',
            `mutation ($s: [ID!]!, $t: ID!) { mergeTopics(input: { sourceIds: $s, targetId: $t }) { __typename } }`,
            { s: [topic], t: ids.topic },
            'admin',
          );
        },
      ],
      [
        'deleteArticle',
        async () => {
          await mutate(
            'deleteArticle',
            `mutation ($id: ID!) { deleteArticle(input: { id: $id }) { __typename } }`,
            { id: ids.article },
            'admin',
          );
        },
      ],
      [
        'deleteAuthor',
        async () => {
          await mutate(
            'deleteAuthor',
            `mutation ($id: ID!) { deleteAuthor(input: { id: $id }) { __typename } }`,
            { id: ids.author },
            'admin',
          );
        },
      ],
      [
        'deleteTopic',
        async () => {
          await mutate(
            'deleteTopic',
            `mutation ($id: ID!) { deleteTopic(input: { id: $id }) { __typename } }`,
            { id: ids.topic },
            'admin',
          );
        },
      ],
    ];
    const readers = [writer, reader, ...(embedded ? [embedded] : [])];
    for (const [name, step] of steps) {
      // cached on every server: the second read runs no SQL
      const before = (await post(uncached, EVERYTHING)).body;
      for (const yoga of readers) {
        await post(yoga, EVERYTHING);
        const { statements, result } = await cachedRead(yoga, EVERYTHING);
        expect(statements, `${name}: cached before`).toEqual([]);
        expect(result.body, `${name}: cached before`).toEqual(before);
      }
      await step();
      const after = (await post(uncached, EVERYTHING)).body;
      expect(after, `${name} changed what the read shows`).not.toEqual(before);
      for (const yoga of readers) {
        expect((await post(yoga, EVERYTHING)).body, `${name}: read after`).toEqual(after);
      }
    }
  });

  it('never caches a mutation, nor serves one process answers of another schema or settings', async () => {
    const yoga = made(shared);
    const mutation = `mutation { createAuthor(input: { name: "Never Cached" }) { __typename } }`;
    for (let n = 0; n < 2; n++) {
      const answer = await post(yoga, mutation);
      expect(answer.body.data).toEqual({ createAuthor: { __typename: 'ForbiddenError' } });
      expect(answer.headers.get('etag')).toBeNull();
    }
    // introspection answered (and cached) where it is on, refused where it is off
    const introspect = `{ __type(name: "Mutation") { name } }`;
    const open = made(shared);
    expect((await post(open, introspect)).body.data).toEqual({ __type: { name: 'Mutation' } });
    await cachedRead(open, introspect);
    const closed = server(shared, { introspection: false });
    servers.push(closed);
    expect((await post(closed, introspect)).body.errors?.length).toBeGreaterThan(0);
  });

  it('pays a version bump Redis could not take as soon as it answers again: no stale answer after', async () => {
    const port = 6391 + Math.floor(Math.random() * 500);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-redis-'));
    const start = async () => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '']);
      for (let attempt = 0; attempt < 50; attempt++) {
        const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0 });
        probe.on('error', () => undefined);
        const up = await probe.connect().then(
          () => true,
          () => false,
        );
        probe.disconnect();
        if (up) return child;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('redis-server did not start');
    };
    let redis = await start();
    try {
      const settings: ResponseCacheSettings = { ...shared, redisUrl: `redis://127.0.0.1:${port}` };
      const writer = made(settings);
      const reader = made(settings);
      const count = `{ authors(first: 1) { totalCount } }`;
      const before = (await post(reader, count)).body;
      await cachedRead(reader, count);
      // Redis goes away, keeping what it holds (SAVE, then the same folder on restart)
      const admin = new Redis(`redis://127.0.0.1:${port}`);
      await admin.save();
      admin.disconnect();
      redis.kill('SIGKILL');
      await new Promise((resolve) => redis.once('exit', resolve));
      const created = await post(
        writer,
        `mutation { createAuthor(input: { name: "Written While Redis Was Down" }) { __typename } }`,
        undefined,
        keys.editor,
      );
      expect(created.body.data).toEqual({ createAuthor: { __typename: 'CreateAuthorSuccess' } });
      redis = await start();
      // the writer pays its bump on reconnecting; until then it serves nothing cached itself
      let after: unknown;
      for (let attempt = 0; attempt < 40; attempt++) {
        after = (await post(reader, count)).body;
        const fromWriter = (await post(writer, count)).body;
        expect(fromWriter).not.toEqual(before);
        if (JSON.stringify(after) !== JSON.stringify(before)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(after).not.toEqual(before);
    } finally {
      redis.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves, uncached, when Redis is unreachable', async () => {
    const yoga = made({ store: 'redis', ttlMs: 60_000, redisUrl: 'redis://127.0.0.1:1', prefix });
    const query = `{ topics(first: 2) { totalCount } }`;
    for (let n = 0; n < 2; n++) {
      const { statements, result } = await recordStatements(() => post(yoga, query));
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
      expect(statements.length).toBeGreaterThan(0);
    }
  });
});
