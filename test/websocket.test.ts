import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { config, type RateLimitSettings, type TrustedDocumentSettings } from '../src/config.ts';
import { createLogger } from '../src/observability.ts';
import { MemoryStore, socketRateLimits, type CounterStore } from '../src/rateLimit.ts';
import { attachWebSockets, rateLimitedReason } from '../src/websocket.ts';
import { createServer } from '../src/yoga.ts';
import { execute } from './support/api.ts';
import { callers } from './support/keys.ts';
import { graphql } from './gql/index.ts';

/**
 * GraphQL over WebSocket passes what an HTTP request passes, although graphql-ws runs none of
 * Yoga's request hooks: trusted documents (an id runs the manifest's text; with
 * TRUSTED_DOCUMENTS_ONLY a text is refused), the token limit before parsing, coded errors for
 * documents that do not parse, and in production no schema names the client did not write.
 */

const HOT =
  'subscription Hot { articleMatched(filter: { title: { contains: "ws-trusted" } }) { reason article { title } } }';
const DOCUMENTS = new Map([['hot-articles', HOT]]);

const File = graphql(`
  mutation WsFile($input: CreateArticleInput!) {
    createArticle(input: $input) {
      __typename
    }
  }
`);

interface Socket {
  url: string;
  close(): Promise<void>;
}

const opened: Socket[] = [];

/**
 * An HTTP server with the API's GraphQL over WebSocket on it, for `overrides` of the settings;
 * with `limits`, HTTP requests and socket messages count in its store.
 */
async function socketServer(
  overrides: {
    trustedDocuments?: TrustedDocumentSettings;
    production?: boolean;
    websocketsPerAddress?: number;
  },
  limits?: { settings: RateLimitSettings; store: CounterStore },
): Promise<Socket> {
  const settings = { ...config(), ...overrides, ...(limits && { rateLimits: limits.settings }) };
  const logger = createLogger('silent');
  const yoga = createServer(settings, { logger, ...(limits && { counters: limits.store }) });
  const server: Server = createHttpServer(yoga);
  const close = attachWebSockets(server, yoga, {
    path: '/graphql',
    maxPayload: settings.maxBodyBytes,
    maxTokens: settings.limits.maxTokens,
    trustedDocuments: settings.trustedDocuments,
    suggestions: !settings.production,
    rateLimit: limits && socketRateLimits(limits.settings, limits.store, logger),
    perAddress: settings.websocketsPerAddress,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: async () => {
      await close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  opened.push(socket);
  return socket;
}

/**
 * The messages one `subscribe` (its payload as given) receives, until its `error` or `complete`,
 * or until `whileOpen` has run and `ms` passed.
 */
function subscribe(
  url: string,
  /** the payload, or its JSON text as sent */
  payload: Record<string, unknown> | string,
  whileOpen: () => Promise<unknown> = async () => undefined,
  ms = 1_500,
): Promise<{ type: string; payload?: any }[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const received: { type: string; payload?: any }[] = [];
    const done = () => {
      socket.close();
      resolve(received);
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
        socket.send(`{"id":"1","type":"subscribe","payload":${text}}`);
        void whileOpen().then(() => setTimeout(done, ms), reject);
        return;
      }
      received.push(message);
      if (message.type === 'error' || message.type === 'complete') done();
    });
    socket.on('error', reject);
    // closed by the server: what arrived, and how it closed
    socket.on('close', (code, reason) => {
      if (code !== 1000 && code !== 1005) received.push({ type: 'closed', payload: { code, reason: String(reason) } });
      resolve(received);
    });
  });
}

/**
 * How a socket that sends `connection_init` with `authorization` ends: code 0 when acknowledged
 * (then closed by the client), else the server's close code and reason.
 */
function connect(url: string, authorization: string | undefined): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'connection_ack') return;
      socket.close();
      resolve({ code: 0, reason: '' });
    });
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    socket.on('error', reject);
  });
}

const codesOf = (messages: { type: string; payload?: any }[]) =>
  messages.map((message) =>
    message.type === 'error'
      ? (message.payload as { extensions?: { code?: string } }[]).map((error) => error.extensions?.code)
      : message.type,
  );

let editor: Record<string, string>;

beforeAll(async () => {
  editor = (await callers()).editor;
});

afterAll(async () => {
  await Promise.all(opened.map((socket) => socket.close()));
});

describe('GraphQL over WebSocket', () => {
  it("closes on a client's protocol faults with the code that says so (4400, 1009), never 4500, printing no stack", async () => {
    const { url } = await socketServer({});
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const closeOf = (send: (socket: WebSocket) => void) =>
        new Promise<number>((resolve) => {
          const socket = new WebSocket(url, 'graphql-transport-ws');
          socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
          socket.on('message', (data) => {
            if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') send(socket);
          });
          socket.on('close', (code) => resolve(code));
          socket.on('error', () => undefined);
        });
      // types only a server sends
      for (const message of [
        { type: 'next', id: '1', payload: {} },
        { type: 'error', id: '1', payload: [] },
        { type: 'connection_ack' },
      ]) {
        expect(await closeOf((socket) => socket.send(JSON.stringify(message))), message.type).toBe(4400);
      }
      // operation ids graphql-ws would echo in every answer: too long, or holding what is not text
      const subscription = { query: 'subscription { articleMatched { reason } }' };
      for (const id of ['x'.repeat(129), 'a\u0000b', 'a\u001bb', '\ud800']) {
        const sent = JSON.stringify({ type: 'subscribe', id, payload: subscription });
        expect(await closeOf((socket) => socket.send(sent)), JSON.stringify(id.slice(0, 10))).toBe(4400);
      }
      // a message past the body limit
      expect(await closeOf((socket) => socket.send('x'.repeat(config().maxBodyBytes + 1)))).toBe(1009);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  });

  it('with TRUSTED_DOCUMENTS_ONLY runs a trusted document by id, and refuses a text or an unknown id', async () => {
    const { url } = await socketServer({ trustedDocuments: { documents: DOCUMENTS, only: true } });
    const messages = await subscribe(url, { query: '', documentId: 'hot-articles' }, () =>
      new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
        execute(
          File,
          {
            input: {
              title: 'A ws-trusted article',
              url: 'https://example.com/ws-trusted',
              source: 'ABC News',
              publishedAt: '2026-06-01T00:00:00Z',
              priority: 3,
            },
          },
          editor,
        ),
      ),
    );
    expect(messages).toEqual([
      {
        id: '1',
        type: 'next',
        payload: { data: { articleMatched: { reason: 'CREATED', article: { title: 'A ws-trusted article' } } } },
      },
    ]);
    // the same document as text, and an id the manifest does not hold: refused before parsing
    expect(codesOf(await subscribe(url, { query: HOT }))).toEqual([['PERSISTED_QUERY_ONLY']]);
    expect(codesOf(await subscribe(url, { query: HOT, documentId: 'nope' }))).toEqual([['PERSISTED_QUERY_NOT_FOUND']]);
    expect(
      codesOf(await subscribe(url, { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } })),
    ).toEqual([['PERSISTED_QUERY_NOT_FOUND']]);
    // without TRUSTED_DOCUMENTS_ONLY, texts run as well as ids
    const open = await socketServer({ trustedDocuments: { documents: DOCUMENTS, only: false } });
    expect(codesOf(await subscribe(open.url, { query: '{ __typename }' }))).toEqual([['BAD_USER_INPUT']]);
    expect(codesOf(await subscribe(open.url, { query: '', documentId: 'nope' }))).toEqual([
      ['PERSISTED_QUERY_NOT_FOUND'],
    ]);
  });

  it('refuses a document over the token limit before parsing it, and codes one that does not parse', async () => {
    const { url } = await socketServer({});
    const limit = config().limits.maxTokens;
    const deep = `subscription { articleMatched ${'{ article '.repeat(2_000)}${'}'.repeat(2_001)}`;
    const wide = `subscription { articleMatched { ${'reason '.repeat(limit)} } }`;
    const nested = `subscription { articleMatched(filter: ${'{ NOT: '.repeat(2_000)}{}${'}'.repeat(2_000)}) { reason } }`;
    for (const query of [deep, wide, nested]) {
      const [message] = await subscribe(url, { query });
      expect(message?.payload).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_TOKENS', limit }) }),
      ]);
    }
    for (const query of ['subscription { articleMatched {', '', '\u0000']) {
      const messages = await subscribe(url, { query });
      expect(codesOf(messages), JSON.stringify(query)).toEqual([['GRAPHQL_PARSE_FAILED']]);
      // what HTTP's body says, without HTTP's status (Yoga's `http` extension)
      expect(messages[0]!.payload[0].extensions, JSON.stringify(query)).not.toHaveProperty('http');
    }
  });

  it('refuses a query or a mutation in the same words, before HTTP-only validation rules', async () => {
    const { url } = await socketServer({});
    for (const query of [
      '{ viewer { anonymous } }',
      'mutation { deleteArticle(input: { id: "QXJ0aWNsZTox" }) { __typename } }',
    ]) {
      const messages = await subscribe(url, { query });
      expect(messages, query).toEqual([
        {
          id: '1',
          type: 'error',
          payload: [
            expect.objectContaining({
              message: 'Only subscriptions run over WebSocket; send queries and mutations over HTTP',
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ],
        },
      ]);
    }
    // an id of 128 characters, or with an emoji (a surrogate pair), is answered under that id
    for (const id of ['x'.repeat(128), 'op-\u{1F600}']) {
      const answer = await new Promise<{ id?: string; type: string }>((resolve, reject) => {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { id?: string; type: string };
          if (message.type === 'connection_ack') {
            socket.send(JSON.stringify({ type: 'subscribe', id, payload: { query: '{ viewer { anonymous } }' } }));
            return;
          }
          socket.close();
          resolve(message);
        });
        socket.on('error', reject);
      });
      expect(answer).toEqual(expect.objectContaining({ id, type: 'error' }));
    }
  });

  it('refuses variables nested past the input boundary, at any depth, keeping the socket open', async () => {
    const query = 'subscription ($f: ArticleFilter) { articleMatched(filter: $f) { reason } }';
    for (const depth of [65, 5_000, 100_000]) {
      // written by hand: JSON.stringify overflows here as it did in the server (which closed the
      // socket with 4500 and the RangeError's text)
      const deep = `{"query":${JSON.stringify(query)},"variables":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      const filter = `{"query":${JSON.stringify(query)},"variables":{"f":${'{"NOT":'.repeat(depth)}{}${'}'.repeat(depth)}}}`;
      // production words its errors from what the client wrote: it reads the variables too
      for (const [payload, production] of [
        [deep, false],
        [filter, false],
        [deep, true],
      ] as const) {
        const messages = await subscribe((await socketServer({ production })).url, payload);
        expect(messages, `${depth} ${production ? 'production' : 'development'}`).toEqual([
          {
            id: '1',
            type: 'error',
            payload: [
              expect.objectContaining({
                message: 'Variables are nested deeper than 64 levels',
                extensions: { code: 'BAD_USER_INPUT', limit: 64 },
              }),
            ],
          },
        ]);
      }
    }
  });

  it('counts each subscribe message against the rate limit, before reading it', async () => {
    const settings = { ...config().rateLimits, anonymous: 3, perKey: 5, windowMs: 60_000 };
    const { url } = await socketServer({}, { settings, store: new MemoryStore() });
    // a document that does not parse: parsed (and refused for it) while within the limit
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i++) codes.push(...codesOf(await subscribe(url, { query: '{' })));
    expect(codes).toEqual([
      ['GRAPHQL_PARSE_FAILED'],
      ['GRAPHQL_PARSE_FAILED'],
      ['GRAPHQL_PARSE_FAILED'],
      ['RATE_LIMITED'],
      ['RATE_LIMITED'],
    ]);
    const [refused] = await subscribe(url, { query: '{' });
    expect(refused!.payload[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  });

  it('says when to retry in a rate-limited close reason, whole, within the 123 bytes a reason may hold', () => {
    expect(rateLimitedReason('Too many requests', 7)).toBe('RATE_LIMITED: Too many requests; retry after 7 s');
    for (const message of ['x'.repeat(200), 'é'.repeat(100), '🦘'.repeat(50), `a${'🦘'.repeat(50)}`]) {
      const reason = rateLimitedReason(message, 86_400);
      expect(Buffer.byteLength(reason), message).toBeLessThanOrEqual(123);
      expect(reason, message).toMatch(/^RATE_LIMITED: .+; retry after 86400 s$/u);
      // cut at a character's end: nothing replaced
      expect(reason, message).not.toContain('\uFFFD');
      expect(message.startsWith(reason.slice('RATE_LIMITED: '.length, -'; retry after 86400 s'.length))).toBe(true);
    }
  });

  it("counts a socket's key as a request, and limits made-up keys as HTTP does (1013, then 429 over HTTP)", async () => {
    const settings = { ...config().rateLimits, anonymous: 2, perKey: 2, windowMs: 60_000, concurrent: 0 };
    const { url } = await socketServer({}, { settings, store: new MemoryStore() });
    const made = () => `Bearer ngk_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '').slice(0, 11)}`;
    const outcomes = [];
    for (const authorization of [made(), made(), made(), editor.authorization, undefined]) {
      outcomes.push(await connect(url, authorization));
    }
    expect(outcomes.map((outcome) => outcome.code)).toEqual([4403, 4403, 1013, 1013, 0]);
    expect(outcomes[2]!.reason).toMatch(
      /^RATE_LIMITED: Rate limit of 2 requests with a refused API key per 60 s from one address exceeded; retry after \d+ s$/,
    );
    // the same count as HTTP's: a keyed request from that address waits too
    const http = await fetch(url.replace('ws:', 'http:'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...editor },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(http.status).toBe(429);

    // a valid key's connections count against its budget (RATE_LIMIT_PER_KEY)
    const keyed = await socketServer({}, { settings, store: new MemoryStore() });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await connect(keyed.url, editor.authorization)).code);
    expect(codes).toEqual([0, 0, 1013]);
  });

  it('lets a client address hold WEBSOCKETS_PER_ADDRESS open sockets, initialised or not; more are refused (429)', async () => {
    const { url } = await socketServer({ websocketsPerAddress: 3 });
    // a handshake: the open socket, or the status, Retry-After and body it was refused with
    const handshake = () =>
      new Promise<{ socket?: WebSocket; status?: number; retryAfter?: string; body?: any }>((resolve, reject) => {
        const socket = new WebSocket(url, 'graphql-transport-ws');
        socket.on('open', () => resolve({ socket }));
        socket.on('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              retryAfter: response.headers['retry-after'],
              body: JSON.parse(body),
            }),
          );
        });
        socket.on('error', (error) => {
          if (!/Unexpected server response/.test(error.message)) reject(error);
        });
      });
    const held = [await handshake(), await handshake(), await handshake()];
    expect(held.every((outcome) => outcome.socket)).toBe(true);
    held[0]!.socket!.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    for (let i = 0; i < 2; i++) {
      const refused = await handshake();
      expect(refused).toEqual({
        status: 429,
        retryAfter: '1',
        body: {
          errors: [
            {
              message: 'At most 3 open WebSockets per client address; close one first',
              extensions: { code: 'RATE_LIMITED', retryAfter: 1, sockets: 3 },
            },
          ],
        },
      });
    }
    // a closed socket gives its slot back (refused handshakes took none)
    held[0]!.socket!.terminate();
    await expect
      .poll(async () => {
        const outcome = await handshake();
        if (outcome.socket) held.push(outcome);
        return Boolean(outcome.socket);
      })
      .toBe(true);
    expect((await handshake()).status).toBe(429);
    for (const outcome of held) outcome.socket?.terminate();
  });

  it('in production, names in errors only what the client wrote, as HTTP does', async () => {
    const development = await socketServer({ production: false });
    const production = await socketServer({ production: true });
    const typo = { query: 'subscription { articleMatched { reasn } }' };
    const badVariable = {
      query: 'subscription ($f: ArticleFilter) { articleMatched(filter: $f) { reason } }',
      variables: { f: { priorty: { gte: 1 } } },
    };
    expect(JSON.stringify(await subscribe(development.url, typo))).toMatch(/Did you mean/);
    expect(JSON.stringify(await subscribe(development.url, badVariable))).toMatch(/Did you mean/);
    const refusedTypo = await subscribe(production.url, typo);
    expect(codesOf(refusedTypo)).toEqual([['GRAPHQL_VALIDATION_FAILED']]);
    expect(JSON.stringify(refusedTypo)).not.toMatch(/Did you mean|ArticleMatch|"reason/);
    const refusedVariable = await subscribe(production.url, badVariable);
    expect(refusedVariable.map((message) => message.type)).toEqual(['next', 'complete']);
    expect(refusedVariable[0]!.payload.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(refusedVariable)).not.toMatch(/Did you mean|"priority/);
  });
});
