import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { prisma } from '../src/db/client.ts';
import { createApiKey, revokeApiKey } from '../src/resolvers/access/apiKeys.ts';
import { publish, recordCreated } from '../src/resolvers/alerts/events.ts';
import { LiveMatcher, MATCH_RETRY_DELAYS_MS, SUBSCRIBER_BUFFER } from '../src/resolvers/alerts/live.ts';
import { liveMatcher } from '../src/schema/savedSearch.ts';
import { logLiveMatcherFailure, startAlerts } from '../src/alerts.ts';
import type { Db } from '../src/db/client.ts';
import { decodeGlobalID } from '../src/schema/builder.ts';
import { newMatches, newMatchesOfEach } from '../src/resolvers/alerts/match.ts';
import { setAlertSettings } from '../src/resolvers/alerts/settings.ts';
import { articleCondition } from '../src/resolvers/lists/filter.ts';
import { writeTransaction } from '../src/resolvers/writing/transaction.ts';
import { graphql } from './gql/index.ts';
import { execute, yoga } from './support/api.ts';
import { callers, type Caller } from './support/keys.ts';
import { startServer, type RunningServer } from './support/process.ts';
import { subscribeSse, type SseSubscription } from './support/sse.ts';
import { migratedFolder, serverUrl } from './support/targets.ts';

/**
 * Live updates: `articleMatched` over GraphQL over SSE (in-process and between two server
 * processes sharing Redis) and over WebSocket (graphql-ws): a matching create arrives within a
 * second, an update into the question arrives as UPDATED, and nothing arrives for a write that
 * does not match, stays inside, or rolls back. Subscriptions are limited like queries.
 */

const FileArticle = graphql(`
  mutation LiveFile($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
      ... on CreateArticleSuccess {
        article {
          id
          version
          authors {
            id
          }
        }
      }
    }
  }
`);

const Change = graphql(`
  mutation LiveChange($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
      ... on UpdateArticleSuccess {
        article {
          version
        }
      }
    }
  }
`);

const MergeAuthors = graphql(`
  mutation LiveMerge($input: MergeAuthorsInput!) {
    mergeAuthors(input: $input) {
      __typename
    }
  }
`);

const SaveSearch = graphql(`
  mutation LiveSave($input: CreateSavedSearchInput!) {
    createSavedSearch(input: $input) {
      ... on CreateSavedSearchSuccess {
        savedSearch {
          id
        }
      }
    }
  }
`);

const MATCHED = `subscription ($filter: ArticleFilter, $search: String, $savedSearchId: ID) {
  articleMatched(filter: $filter, search: $search, savedSearchId: $savedSearchId) {
    reason
    article { id title priority }
  }
}`;

let as: Record<Caller, Record<string, string>>;
let serial = 0;

beforeAll(async () => {
  as = await callers();
});

afterAll(() => setAlertSettings(undefined));

async function file(input: Partial<{ title: string; priority: number; body: string; authors: { name: string }[] }>) {
  serial += 1;
  const result = await execute(
    FileArticle,
    {
      input: {
        title: input.title ?? `Live article ${serial}`,
        url: `https://example.com/live/${serial}`,
        source: 'ABC News',
        publishedAt: new Date(Date.UTC(2026, 5, 1 + (serial % 28))).toISOString(),
        priority: input.priority ?? 2,
        body: input.body,
        authors: input.authors,
      },
    },
    as.editor,
  );
  const payload = result.data!.createArticle;
  if (payload.__typename !== 'CreateArticleSuccess') throw new Error(JSON.stringify(result));
  return payload.article;
}

const inProcess = (variables: Record<string, unknown>, caller: Caller = 'anonymous') =>
  subscribeSse(
    (url, init) => Promise.resolve(yoga.fetch(url, init)),
    'http://newsgraph.test/graphql',
    MATCHED,
    variables,
    as[caller],
  );

async function lastEventId(): Promise<bigint> {
  return (await prisma.articleEvent.findFirstOrThrow({ orderBy: { id: 'desc' } })).id;
}

/** Lets a subscription's stream start listening before the write it waits for. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

function matched(payload: Record<string, unknown> | null) {
  return (payload as { data: { articleMatched: { reason: string; article: { id: string } } } } | null)?.data
    ?.articleMatched;
}

describe('over SSE, in one process', () => {
  it('a matching create arrives within a second; a non-matching one does not', async () => {
    const live = await inProcess({ filter: { priority: { gte: 4 } } });
    expect(live.status).toBe(200);
    await settle();
    await file({ priority: 1 });
    const started = Date.now();
    const hit = await file({ priority: 5, title: 'Within a second' });
    const event = await live.next(1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(matched(event)).toEqual({
      reason: 'CREATED',
      article: { id: hit.id, title: 'Within a second', priority: 5 },
    });
    expect(await live.next(300)).toBeNull();
    await live.close();
  });

  it('nothing for a rolled-back write', async () => {
    const live = await inProcess({ filter: { priority: { gte: 4 } } });
    await settle();
    await expect(
      writeTransaction(prisma, async (tx) => {
        const article = await tx.article.create({
          data: {
            title: 'Rolled back',
            url: 'https://example.com/live/rolled-back',
            urlKey: 'https://example.com/live/rolled-back',
            source: 'ABC News',
            publishedAt: new Date(),
            priority: 5,
          },
          select: { id: true },
        });
        await recordCreated(tx, [article.id]);
        throw new Error('the write fails after its event was recorded');
      }),
    ).rejects.toThrow('the write fails');
    expect(await live.next(500)).toBeNull();
    expect(await prisma.article.count({ where: { title: 'Rolled back' } })).toBe(0);
    await live.close();
  });

  it('an update into the question arrives as UPDATED; one inside it or out of it does not', async () => {
    const live = await inProcess({ filter: { priority: { gte: 4 } } });
    await settle();
    const article = await file({ priority: 2 });
    expect(await live.next(300)).toBeNull();
    await execute(Change, { input: { id: article.id, expectedVersion: 1, priority: 4 } }, as.editor);
    expect(matched(await live.next(1_000))).toMatchObject({
      reason: 'UPDATED',
      article: { id: article.id, priority: 4 },
    });
    await execute(Change, { input: { id: article.id, expectedVersion: 2, summary: 'still inside' } }, as.editor);
    await execute(Change, { input: { id: article.id, expectedVersion: 3, priority: 1 } }, as.editor);
    expect(await live.next(500)).toBeNull();
    await execute(Change, { input: { id: article.id, expectedVersion: 4, priority: 5 } }, as.editor);
    expect(matched(await live.next(1_000))).toMatchObject({ reason: 'UPDATED', article: { id: article.id } });
    await live.close();
  });

  it('a search question, and a byline changed by a merge of authors', async () => {
    const searched = await inProcess({ search: 'platypus' });
    const merged = await file({ authors: [{ name: 'Merge Source' }] });
    const target = await file({ authors: [{ name: 'Merge Target' }] });
    const byAuthor = await inProcess({ filter: { authors: { some: { id: { equals: target.authors[0]!.id } } } } });
    await settle();
    const hit = await file({ title: 'A platypus in the creek' });
    expect(matched(await searched.next(1_000))).toMatchObject({ reason: 'CREATED', article: { id: hit.id } });
    const result = await execute(
      MergeAuthors,
      { input: { sourceIds: [merged.authors[0]!.id], targetId: target.authors[0]!.id } },
      as.admin,
    );
    expect(result.data!.mergeAuthors.__typename).toBe('MergeAuthorsSuccess');
    // the merged article enters the target's question; the target's own article was in it already
    expect(matched(await byAuthor.next(1_000))).toMatchObject({ reason: 'UPDATED', article: { id: merged.id } });
    expect(await byAuthor.next(300)).toBeNull();
    await searched.close();
    await byAuthor.close();
  });

  it('a saved search, by its id (editors only)', async () => {
    const saved = await execute(
      SaveSearch,
      { input: { name: 'live', filter: { title: { contains: 'saved-live' } } } },
      as.editor,
    );
    const id = (saved.data!.createSavedSearch as { savedSearch: { id: string } }).savedSearch.id;
    const live = await inProcess({ savedSearchId: id }, 'editor');
    await settle();
    await file({ title: 'not this one' });
    const hit = await file({ title: 'the saved-live one' });
    expect(matched(await live.next(1_000))).toMatchObject({ reason: 'CREATED', article: { id: hit.id } });
    await live.close();
    const anonymous = await inProcess({ savedSearchId: id });
    const refused = (await anonymous.next(1_000)) as { errors?: { extensions: { code: string } }[] };
    expect(refused.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    await anonymous.close();
  });

  it('a key revoked while its subscriptions are open: they end with UNAUTHENTICATED, the others go on', async () => {
    const doomed = await createApiKey(prisma, `live-doomed-${serial}`, 'EDITOR');
    const kept = await createApiKey(prisma, `live-kept-${serial}`, 'EDITOR');
    const question = { filter: { title: { contains: 'revoked-live' } } };
    const subscribe = (secret?: string) =>
      subscribeSse(
        (url, init) => Promise.resolve(yoga.fetch(url, init)),
        'http://newsgraph.test/graphql',
        MATCHED,
        question,
        secret ? { authorization: `Bearer ${secret}` } : {},
      );
    const [own, other, anonymous] = await Promise.all([subscribe(doomed.secret), subscribe(kept.secret), subscribe()]);
    await settle();
    const before = await file({ title: 'revoked-live one' });
    for (const live of [own, other, anonymous]) {
      expect(matched(await live.next(2_000))).toMatchObject({ article: { id: before.id } });
    }
    await revokeApiKey(prisma, doomed.record.name);
    const after = await file({ title: 'revoked-live two' });
    const ended = (await own.next(2_000)) as { data?: unknown; errors?: { extensions: { code: string } }[] };
    expect(ended.errors?.map((error) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(ended)).not.toContain(after.id);
    for (const live of [other, anonymous]) {
      expect(matched(await live.next(2_000))).toMatchObject({ article: { id: after.id } });
    }
    // the stream is over: nothing more arrives on it
    await file({ title: 'revoked-live three' });
    expect(await own.next(500)).toBeNull();
    await Promise.all([own, other, anonymous].map((live) => live.close()));
  });
});

describe('matching', () => {
  it('a backlog of events matched in one statement answers as each event alone', async () => {
    const low = await file({ priority: 1, title: 'Backlog low' });
    await file({ priority: 5, title: 'Backlog high' });
    await execute(Change, { input: { id: low.id, expectedVersion: 1, priority: 4 } }, as.editor);
    await execute(Change, { input: { id: low.id, expectedVersion: 2, summary: 'stays' } }, as.editor);
    const rows = await prisma.articleEvent.findMany({ orderBy: { id: 'desc' }, take: 6 });
    const events = rows.reverse().map((row) => ({ id: String(row.id), articleId: row.articleId, kind: row.kind }));
    const watches = [{ priority: { gte: 4 } }, { priority: { lte: 2 } }, { title: { contains: 'backlog' } }].map(
      (filter) => ({ condition: articleCondition(filter) }),
    );
    const together = await newMatchesOfEach(prisma, events, watches);
    const alone = await Promise.all(events.map((event) => newMatches(prisma, event, watches)));
    expect(together).toEqual(alone);
    // the update into priority >= 4 is a new match of the first question; the later summary change is not
    expect(together.flat().filter(Boolean).length).toBeGreaterThan(0);
  });

  it('evaluates more distinct questions than one statement can hold', async () => {
    const article = await file({ priority: 3, title: 'Question 1234 of many' });
    const watches = Array.from({ length: 2_500 }, (_, i) => ({
      condition: articleCondition({ title: { contains: `question ${i} of` } }),
    }));
    const flags = await newMatches(
      prisma,
      {
        id: String(await lastEventId()),
        articleId: Number(Buffer.from(article.id, 'base64').toString().split(':')[1]),
        kind: 'CREATED',
      },
      watches,
    );
    expect(flags).toHaveLength(2_500);
    expect(flags.flatMap((hit, index) => (hit ? [index] : []))).toEqual([1234]);
  });
});

describe('a subscriber that stops reading', () => {
  it('is ended (SLOW_CONSUMER) once it falls behind, and the others go on', async () => {
    const article = await file({ priority: 3, title: 'Read by one, not the other' });
    const articleId = Number(decodeGlobalID(article.id).id);
    const matcher = new LiveMatcher(prisma);
    const watch = { condition: articleCondition({ priority: { gte: 1 } }) };
    const stalled = matcher.matches(watch);
    const reading = matcher.matches(watch);
    const first = stalled.next(); // takes one match, then never reads again
    const got: unknown[] = [];
    const reader = (async () => {
      for await (const match of reading) {
        got.push(match);
        if (got.length === SUBSCRIBER_BUFFER + 50) return;
      }
    })();
    await settle();
    const id = String(await lastEventId()); // the article's own CREATED event, sent again and again
    for (let i = 0; i < SUBSCRIBER_BUFFER + 50; i++) publish([{ id, articleId, kind: 'CREATED' }]);
    await reader;
    expect(got).toHaveLength(SUBSCRIBER_BUFFER + 50);
    await first;
    await expect(
      (async () => {
        for (;;) if ((await stalled.next()).done) return 'ended';
      })(),
    ).rejects.toMatchObject({ extensions: { code: 'SLOW_CONSUMER' } });
    matcher.closeAll();
  });
});

/** prisma, with its first `times` $queryRaw calls failing as a dropped connection does. */
function failingDb(times: number) {
  const state = { left: times, calls: 0 };
  const db = new Proxy(prisma, {
    get(target, property) {
      if (property !== '$queryRaw') return Reflect.get(target, property) as unknown;
      return (...args: Parameters<typeof prisma.$queryRaw>) => {
        state.calls += 1;
        if (state.left-- > 0) return Promise.reject(new Error('Connection terminated unexpectedly'));
        return target.$queryRaw(...args);
      };
    },
  }) as Db;
  return { db, state };
}

describe('when matching fails', () => {
  it('a statement that fails is tried again: the match arrives, and each failure is reported', async () => {
    const article = await file({ priority: 3, title: 'Matched on the second try' });
    const { db, state } = failingDb(MATCH_RETRY_DELAYS_MS.length);
    const reported: unknown[] = [];
    const matcher = new LiveMatcher(db, (error) => reported.push(error));
    const live = matcher.matches({ condition: articleCondition({ priority: { gte: 3 } }) });
    const next = live.next();
    await settle();
    publish([{ id: String(await lastEventId()), articleId: Number(decodeGlobalID(article.id).id), kind: 'CREATED' }]);
    expect((await next).value).toMatchObject({ articleId: Number(decodeGlobalID(article.id).id), reason: 'CREATED' });
    expect(state.calls).toBe(MATCH_RETRY_DELAYS_MS.length + 1);
    expect(reported).toHaveLength(MATCH_RETRY_DELAYS_MS.length);
    matcher.closeAll();
  });

  it('a statement that keeps failing ends the subscriptions of those events (DATABASE_UNAVAILABLE), not only a log line', async () => {
    const article = await file({ priority: 3, title: 'Never matched' });
    const { db, state } = failingDb(Infinity);
    const reported: unknown[] = [];
    const matcher = new LiveMatcher(db, (error) => reported.push(error));
    const one = matcher.matches({ condition: articleCondition({ priority: { gte: 3 } }) });
    const other = matcher.matches({ condition: articleCondition({ priority: { lte: 2 } }) });
    const first = one.next();
    const second = other.next();
    await settle();
    const event = {
      id: String(await lastEventId()),
      articleId: Number(decodeGlobalID(article.id).id),
      kind: 'CREATED',
    } as const;
    publish([event]);
    // subscribed while those events are tried again: not ended for them
    await new Promise((resolve) => setTimeout(resolve, MATCH_RETRY_DELAYS_MS[0]! + 50));
    const late = matcher.matches({ condition: articleCondition({ priority: { gte: 3 } }) });
    const lateNext = late.next();
    for (const ended of [first, second]) {
      await expect(ended).rejects.toMatchObject({
        message: expect.stringContaining('subscribe again'),
        extensions: { code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' },
      });
    }
    expect(state.calls).toBe(MATCH_RETRY_DELAYS_MS.length + 1);
    expect(reported).toHaveLength(MATCH_RETRY_DELAYS_MS.length + 1);
    state.left = 0; // the database is back: the late subscriber gets what comes next
    publish([event]);
    expect((await lateNext).value).toMatchObject({ articleId: event.articleId, reason: 'CREATED' });
    matcher.closeAll();
  });

  it('an event whose article cannot be read: coded DATABASE_UNAVAILABLE, with the article id, and the stream goes on', async () => {
    const live = await subscribeSse(
      (url, init) => Promise.resolve(yoga.fetch(url, init)),
      'http://newsgraph.test/graphql',
      `subscription { articleMatched(filter: { title: { contains: "unreadable-live" } }) { reason articleId article { id } } }`,
      {},
      as.anonymous,
    );
    await settle();
    const first = await file({ title: 'unreadable-live one' });
    expect(matched(await live.next(3_000))).toMatchObject({ articleId: first.id, article: { id: first.id } });
    const event = {
      id: String(await lastEventId()),
      articleId: Number(decodeGlobalID(first.id).id),
      kind: 'CREATED',
    } as const;
    const delegate = prisma.article;
    const findUnique = delegate.findUnique;
    delegate.findUnique = (() => Promise.reject(new Error('Connection terminated unexpectedly'))) as never;
    try {
      publish([event]); // the same event again, now that the article cannot be read
      const payload = (await live.next(3_000)) as {
        data?: { articleMatched: { reason: string; articleId: string; article: unknown } };
        errors?: { extensions: { code: string } }[];
      };
      expect(payload.data?.articleMatched).toEqual({ reason: 'CREATED', articleId: first.id, article: null });
      expect(payload.errors?.map((error) => error.extensions.code)).toEqual(['DATABASE_UNAVAILABLE']);
    } finally {
      delegate.findUnique = findUnique;
    }
    const second = await file({ title: 'unreadable-live two' });
    expect(matched(await live.next(3_000))).toMatchObject({ reason: 'CREATED', article: { id: second.id } });
    await live.close();
  });

  it('over SSE, the client receives the error', async () => {
    const live = await inProcess({ filter: { title: { contains: 'sse-unmatched' } } });
    await settle();
    const matcher = liveMatcher as unknown as { db: Db };
    const working = matcher.db;
    matcher.db = failingDb(Infinity).db;
    try {
      await file({ title: 'sse-unmatched' });
      const payload = (await live.next(3_000)) as { errors?: { message: string; extensions: { code: string } }[] };
      expect(payload.errors?.[0]).toMatchObject({
        message: expect.stringContaining('matches may have been missed'),
        extensions: { code: 'DATABASE_UNAVAILABLE' },
      });
    } finally {
      matcher.db = working;
      await live.close();
    }
  });
});

describe('subscriptions are limited like queries', () => {
  const firstError = async (subscription: Promise<SseSubscription>) => {
    const live = await subscription;
    const payload = (await live.next(1_000)) as { errors?: { extensions: { code: string } }[] } | null;
    await live.close();
    return payload?.errors?.[0]?.extensions.code;
  };

  it('bad arguments are refused as articles refuses them', async () => {
    expect(await firstError(inProcess({ filter: { text: 'ab' } }))).toBe('BAD_USER_INPUT');
    expect(await firstError(inProcess({ search: '-said' }))).toBe('BAD_USER_INPUT');
    expect(await firstError(inProcess({ search: 'a\u0000b' }))).toBe('BAD_USER_INPUT');
    expect(await firstError(inProcess({ savedSearchId: 'U2F2ZWRTZWFyY2g6OTk5OQ==', filter: {} }, 'editor'))).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('cost and depth', async () => {
    const run = (document: string) =>
      firstError(
        subscribeSse((url, init) => Promise.resolve(yoga.fetch(url, init)), 'http://newsgraph.test/graphql', document),
      );
    const pages = Array.from(
      { length: 8 },
      (_, i) => `a${i}: articles(first: 100, filter: { text: "budget${i}" }) { edges { node { id } } }`,
    ).join(' ');
    expect(await run(`subscription { articleMatched { article { authors { ${pages} } } } }`)).toBe('QUERY_TOO_COSTLY');
    const deep = 'authors { articles(first: 1) { edges { node { '.repeat(6) + 'id' + ' } } } }'.repeat(6);
    expect(await run(`subscription { articleMatched { article { ${deep} } } }`)).toBe('QUERY_TOO_DEEP');
  });

  it('open subscriptions per address, in this process', async () => {
    setAlertSettings({ subscriptions: { perKey: 50, perAddress: 2 } });
    try {
      const open = [await inProcess({}), await inProcess({})];
      expect(await firstError(inProcess({}))).toBe('RATE_LIMITED');
      await open[0]!.close();
      await settle();
      const again = await inProcess({});
      await settle();
      const hit = await file({ priority: 3 });
      expect(matched(await again.next(1_000))).toMatchObject({ article: { id: hit.id } });
      await again.close();
      await open[1]!.close();
    } finally {
      setAlertSettings(undefined);
    }
  });
});

describe('subscription slots', () => {
  it('a subscription its client ends before its first event gives its slot back', async () => {
    // a stream returned before its first next() (graphql-ws: subscribe then complete at once; SSE:
    // the client goes before reading) never started: its slot was kept for ever
    let released = 0;
    const iterator = liveMatcher.matches({ condition: articleCondition({}), search: null }, () => (released += 1));
    await iterator.return!(undefined);
    await iterator.return!(undefined);
    expect(released).toBe(1);
    setAlertSettings({ subscriptions: { perKey: 50, perAddress: 2 } });
    try {
      for (let i = 0; i < 6; i++) {
        const response = await yoga.fetch('http://newsgraph.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: MATCHED, variables: { filter: { priority: { gte: 5 } } } }),
        });
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        await reader.read();
        await reader.cancel();
      }
      await settle();
      // both slots are free: two subscriptions open, and they receive
      const open = [await inProcess({}), await inProcess({})];
      await settle();
      const hit = await file({ priority: 3 });
      for (const live of open) expect(matched(await live.next(1_000))).toMatchObject({ article: { id: hit.id } });
      await Promise.all(open.map((live) => live.close()));
    } finally {
      setAlertSettings(undefined);
    }
  });
});

describe('between server processes', () => {
  let servers: RunningServer[] = [];
  let key: string;

  beforeAll(async () => {
    key = (await createApiKey(prisma, 'live-remote', 'EDITOR')).secret;
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it.skipIf(!serverUrl)(
    'a create on one process reaches a subscriber on another through Redis',
    async () => {
      const channel = `newsgraph-test:${process.pid}:${Date.now()}`;
      const env = {
        DATABASE_URL: process.env.DATABASE_URL,
        MIGRATE_ON_START: 'false',
        SEED_DEMO_DATA: 'false',
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        EVENTS_CHANNEL: channel,
        RESPONSE_CACHE_TTL_MS: '0',
        WEBHOOK_WORKER: 'false',
      };
      servers = await Promise.all([startServer(env), startServer(env)]);
      const [writer, reader] = servers as [RunningServer, RunningServer];
      const live = await subscribeSse(fetch, `${reader.url}/graphql`, MATCHED, { filter: { priority: { gte: 5 } } });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const response = await fetch(`${writer.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: `mutation { createArticle(input: { title: "Across processes", url: "https://example.com/live/across", source: "ABC News", publishedAt: "2026-06-01T00:00:00Z", priority: 5 }) { __typename ... on CreateArticleSuccess { article { id } } } }`,
        }),
      });
      const created = (await response.json()) as { data: { createArticle: { article: { id: string } } } };
      expect(matched(await live.next(2_000))).toMatchObject({
        reason: 'CREATED',
        article: { id: created.data.createArticle.article.id, title: 'Across processes' },
      });
      await live.close();
    },
    120_000,
  );

  it('over GraphQL over WebSocket (graphql-ws), with the key as a connection parameter', async () => {
    // on the embedded database the server needs a folder of its own (one owner each), with the demo
    // data, whose local admin key it prints
    const folder = serverUrl ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-live-'));
    const env = folder
      ? {
          DATABASE_URL: undefined,
          PGLITE_DIR: migratedFolder(folder, 'data'),
          SEED_DEMO_DATA: 'true',
          WEBHOOK_WORKER: 'false',
        }
      : {
          DATABASE_URL: process.env.DATABASE_URL,
          MIGRATE_ON_START: 'false',
          SEED_DEMO_DATA: 'false',
          WEBHOOK_WORKER: 'false',
        };
    // a budget small enough to reach: each subscribe message counts as a request of its client
    const server = await startServer({ ...env, RATE_LIMIT_ANONYMOUS: '3' });
    servers.push(server);
    if (folder)
      onTestFinished(async () => {
        await server.stop();
        fs.rmSync(folder, { recursive: true, force: true });
      });
    const secret = serverUrl ? key : /ngk_[A-Za-z0-9_-]+/.exec(server.output())![0];
    const client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: secret ? { authorization: `Bearer ${secret}` } : {},
      retryAttempts: 0,
    });
    const received: unknown[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: MATCHED, variables: { filter: { priority: { gte: 4 } } } },
        { next: (value) => received.push(value), error: reject, complete: resolve },
      );
    });
    void finished.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // a query over the socket is refused: queries and mutations go over HTTP
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: '{ articles(first: 1) { totalCount } }' },
        { next: resolve, error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(refused)).toContain('Only subscriptions run over WebSocket');
    // an authorization that is no key is refused when the client says who it is (4403), as HTTP
    // refuses it (401): never taken as anonymous, never a server error (4500)
    const closeCode = (authorization: unknown) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
        socket.on('message', (data) => {
          if (JSON.parse(String(data)).type === 'connection_ack') {
            socket.close();
            resolve(0);
          }
        });
        socket.on('close', (code) => resolve(code));
        socket.on('error', reject);
      });
    const unknown = `Bearer ngk_${'A'.repeat(43)}`;
    for (const authorization of ['Bearer \u0000', 'Bearer ', '', 'junk', unknown, 5, {}, [], true]) {
      expect(await closeCode(authorization), JSON.stringify(authorization)).toBe(4403);
    }
    expect(await closeCode(null)).toBe(0);
    {
      // an anonymous socket's fourth subscribe message within the window is refused, unread
      const anonymous = createClient({
        url: `${server.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
      });
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) {
        outcomes.push(
          await new Promise<string>((resolve) => {
            anonymous.subscribe(
              { query: '{ __typename }' },
              {
                next: () => resolve('next'),
                error: (error) => resolve(JSON.stringify(error)),
                complete: () => resolve('complete'),
              },
            );
          }),
        );
      }
      expect(outcomes.slice(0, 3).every((outcome) => outcome.includes('Only subscriptions run over WebSocket'))).toBe(
        true,
      );
      expect(outcomes[3]).toContain('RATE_LIMITED');
      await anonymous.dispose();
    }
    if (secret) expect(await closeCode(`Bearer ${secret}`)).toBe(0);
    {
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({
          query: `mutation { low: createArticle(input: { title: "WS low", url: "https://example.com/live/ws-low", source: "X", publishedAt: "2026-06-01T00:00:00Z", priority: 1 }) { __typename } high: createArticle(input: { title: "WS high", url: "https://example.com/live/ws-high", source: "X", publishedAt: "2026-06-01T00:00:00Z", priority: 4 }) { __typename } }`,
        }),
      });
      for (let i = 0; i < 20 && !received.length; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([
        { data: { articleMatched: { reason: 'CREATED', article: expect.objectContaining({ title: 'WS high' }) } } },
      ]);
    }
    {
      // a key revoked over HTTP while its socket is open: its subscription ends with UNAUTHENTICATED
      // (an error message, not a server error or a closed socket) instead of the next match
      const admin = serverUrl ? (await createApiKey(prisma, 'live-ws-admin', 'ADMIN')).secret : secret;
      const post = async (query: string) => {
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
          body: JSON.stringify({ query }),
        });
        return (await response.json()) as { data: Record<string, { secret?: string; __typename: string }> };
      };
      const created = await post(
        'mutation { createApiKey(input: { name: "ws-doomed", role: EDITOR }) { __typename ... on CreateApiKeySuccess { secret } } }',
      );
      const doomed = createClient({
        url: `${server.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${created.data.createApiKey!.secret}` },
        retryAttempts: 0,
      });
      const delivered: unknown[] = [];
      const end = new Promise<unknown>((resolve) => {
        doomed.subscribe(
          { query: MATCHED, variables: { filter: { title: { contains: 'WS revoked' } } } },
          { next: (value) => delivered.push(value), error: resolve, complete: () => resolve('complete') },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await post('mutation { revokeApiKey(input: { name: "ws-doomed" }) { __typename } }')).data).toEqual({
        revokeApiKey: { __typename: 'RevokeApiKeySuccess' },
      });
      await post(
        'mutation { createArticle(input: { title: "WS revoked", url: "https://example.com/live/ws-revoked", source: "X", publishedAt: "2026-06-01T00:00:00Z", priority: 4 }) { __typename } }',
      );
      const outcome = await Promise.race([end, new Promise((resolve) => setTimeout(() => resolve('timeout'), 3_000))]);
      expect(JSON.stringify([delivered, outcome])).toContain('UNAUTHENTICATED');
      expect(JSON.stringify([delivered, outcome])).not.toContain('"title":"WS revoked"');
      await doomed.dispose();
    }
    await client.dispose();
  }, 120_000);
});

// last: startAlerts configures this process's event broker again
describe('the process', () => {
  it("the server's matcher reports to the log (startAlerts)", async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      error: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    } as unknown as Parameters<typeof startAlerts>[1];
    const before = liveMatcher.onError;
    try {
      await startAlerts(
        { redisUrl: undefined, eventsChannel: 'newsgraph:articleEvents', webhookWorker: false } as never,
        log,
      );
      liveMatcher.onError(new Error('Connection terminated unexpectedly'));
      expect(lines).toEqual([
        {
          fields: {
            err: { message: 'Connection terminated unexpectedly' },
            failure: { code: 'DATABASE_UNAVAILABLE', reason: 'connection lost' },
          },
          message: 'live subscription matching failed',
        },
      ]);
      logLiveMatcherFailure(log, new TypeError('a bug'));
      expect(lines[1]).toEqual({ fields: { err: { message: 'a bug' } }, message: 'live subscription matching failed' });
    } finally {
      liveMatcher.onError = before;
    }
  });
});
