import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/resolvers/access/apiKeys.ts';
import { prepareFileDatabase } from '../support/prepare.ts';
import { startServer, type RunningServer } from '../support/process.ts';
import { serverUrl } from '../support/targets.ts';

/**
 * A request answered 503 REQUEST_TIMEOUT wrote nothing; a write that began to commit before the
 * time was up is answered in full, late but true. The real process, on this file's database,
 * with triggers that make chosen inserts slow (before the commit) or their commit slow.
 */

const KEY = `ngk_${'t'.repeat(43)}`;
const SETUP = `
  CREATE FUNCTION "test_sleep"() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$;
  CREATE FUNCTION "test_sleep_row"() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$;
  CREATE TRIGGER "test_slow_insert" BEFORE INSERT ON "Article"
    FOR EACH ROW WHEN (NEW."title" LIKE 'Slow insert%') EXECUTE FUNCTION "test_sleep_row"();
  CREATE CONSTRAINT TRIGGER "test_slow_commit" AFTER INSERT ON "Article" DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW."title" LIKE 'Slow commit%') EXECUTE FUNCTION "test_sleep"();
  INSERT INTO "ApiKey" ("name", "role", "prefix", "secretHash") VALUES ('timeout-editor', 'EDITOR', 'ngk_tttttt', '${hashKey(KEY)}');`;

let server: RunningServer;

beforeAll(async () => {
  await prepareFileDatabase(SETUP);
  server = await startServer({
    REQUEST_TIMEOUT_MS: '600',
    STATEMENT_TIMEOUT_MS: '0',
    CORS_ORIGINS: 'https://app.example',
    MIGRATE_ON_START: 'false',
    SEED_DEMO_DATA: 'false',
  });
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
async function file(title: string) {
  n += 1;
  const started = Date.now();
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${KEY}`,
      origin: 'https://app.example',
      'x-request-id': `timeout-${n}`,
    },
    body: JSON.stringify({
      query: `mutation($input: CreateArticleInput!) { createArticle(input: $input) { __typename } }`,
      variables: {
        input: {
          title,
          url: `https://timeout.example/${n}`,
          source: 'Timeout',
          publishedAt: '2026-01-01T00:00:00Z',
          priority: 1,
          authors: [{ name: `Timeout Writer ${n}` }],
        },
      },
    }),
  });
  return {
    status: response.status,
    ms: Date.now() - started,
    body: (await response.json()) as any,
    url: n,
    headers: response.headers,
  };
}

async function exists(url: number): Promise<boolean> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ article(url: "https://timeout.example/${url}") { id } }` }),
  });
  return ((await response.json()) as { data: { article: unknown } }).data.article !== null;
}

describe('a mutation and the request timeout', () => {
  it('writes nothing when it answers 503 REQUEST_TIMEOUT', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await file(`Slow insert ${i}`);
      // the slow statement is still running in the database: let it end and roll back
      await new Promise((resolve) => setTimeout(resolve, 1_800));
      const written = await exists(answer.url);
      if (answer.status === 503) {
        expect(answer.body.errors[0].extensions.code).toBe('REQUEST_TIMEOUT');
        expect(written).toBe(false);
        // readable by the browser app that asked, as every other answer is
        expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
        expect(answer.headers.get('vary')).toMatch(/Origin/);
        expect(answer.headers.get('retry-after')).toBe('5');
        expect(answer.headers.get('x-request-id')).toBe(`timeout-${answer.url}`);
        outcomes.push('503, nothing written');
      } else {
        // PGlite runs statements on the event loop: the commit may come before the timer can fire
        expect(answer.body.data.createArticle.__typename).toBe('CreateArticleSuccess');
        expect(written).toBe(true);
        outcomes.push('answered, written');
      }
    }
    // on the server, statements run elsewhere: the timer fires first every time
    if (serverUrl) expect(outcomes).toEqual(Array(3).fill('503, nothing written'));
    // logs and metrics say what the clients got
    const answered503 = outcomes.filter((o) => o.startsWith('503')).length;
    const logged503 = () =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"') && line.includes('"status":503')).length;
    await expect.poll(logged503).toBe(answered503);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const counted = [...metrics.matchAll(/newsgraph_http_requests_total\{[^}]*status="503"[^}]*\} (\d+)/g)];
    expect(counted.reduce((sum, match) => sum + Number(match[1]), 0)).toBe(answered503);
  });

  it('answers a write whose commit began before the time was up, late but true', async () => {
    const answer = await file('Slow commit');
    expect(answer.status).toBe(200);
    expect(answer.body.data.createArticle.__typename).toBe('CreateArticleSuccess');
    expect(answer.ms).toBeGreaterThan(600);
    expect(await exists(answer.url)).toBe(true);
  });

  it('keeps serving after timeouts', async () => {
    const answer = await file('Quick one');
    expect(answer.body.data.createArticle.__typename).toBe('CreateArticleSuccess');
  });
});

/** Sends raw bytes on one connection (the first `pause` ms after `first`, then `rest`) and reads until the server closes it. */
function raw(first: string, options: { rest?: string; pause?: number } = {}): Promise<string> {
  const { port, hostname } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(first);
      if (options.rest !== undefined) setTimeout(() => socket.write(options.rest!), options.pause ?? 0);
    });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no close within 20 s; received: ${received}`)));
  });
}

/** The responses in a connection's bytes (Content-Length, chunked, or up to the close): each status and body, parsed when JSON. */
function responses(bytes: string): { status: number; body: any }[] {
  const out: { status: number; body: any }[] = [];
  let rest = bytes;
  while (rest.startsWith('HTTP/1.1 ')) {
    const head = rest.slice(0, rest.indexOf('\r\n\r\n'));
    rest = rest.slice(head.length + 4);
    let body = '';
    if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const size = parseInt(rest.slice(0, rest.indexOf('\r\n')), 16);
        rest = rest.slice(rest.indexOf('\r\n') + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (/\r\ncontent-length: /i.test(head)) {
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)![1]);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else {
      // HTTP/1.0: the body ends where the connection does
      expect(head, 'a body without Content-Length closes the connection').toMatch(/\r\nconnection: close/i);
      body = rest;
      rest = '';
    }
    out.push({
      status: Number(head.slice(9, 12)),
      body: /content-type: application\/json/i.test(head) ? JSON.parse(body) : body,
    });
  }
  expect(rest).toBe('');
  return out;
}

describe("requests Node's HTTP parser refuses: a typed JSON answer with Node's status, then the connection closes", () => {
  it('431 REQUEST_HEADER_FIELDS_TOO_LARGE for a GET query past 16 KiB of URL, and for header fields past it', async () => {
    const query = encodeURIComponent(`{ ${'__typename '.repeat(2_000)}}`);
    for (const request of [
      `GET /graphql?query=${query} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`,
    ]) {
      expect(responses(await raw(request))).toEqual([
        {
          status: 431,
          body: {
            errors: [
              {
                message: expect.stringMatching(/pass 16384 bytes; send a long query as a POST body/),
                extensions: { code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', limit: 16_384 },
              },
            ],
          },
        },
      ]);
    }
  });

  it('400 BAD_REQUEST for a malformed request line, header or framing', async () => {
    for (const request of [
      'GET /graphql HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      'BREW /graphql HTCPCP/1.0\r\n\r\n',
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /graphql HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n',
    ]) {
      const [answer, ...more] = responses(await raw(request));
      expect(more, request).toEqual([]);
      expect(answer, request).toEqual({
        status: 400,
        body: { errors: [{ message: 'The request is not well-formed HTTP/1.1', extensions: { code: 'BAD_REQUEST' } }] },
      });
    }
  });

  it('408 REQUEST_TIMEOUT for a request whose header fields do not all arrive within REQUEST_TIMEOUT_MS', async () => {
    const started = Date.now();
    const bytes = await raw('POST /graphql HTTP/1.1\r\nHost: x\r\n');
    expect(responses(bytes)).toEqual([
      {
        status: 408,
        body: {
          errors: [{ message: 'The request was not received in time', extensions: { code: 'REQUEST_TIMEOUT' } }],
        },
      },
    ]);
    // REQUEST_TIMEOUT_MS is 600 here, checked every second: not Node's 30 s between checks
    expect(Date.now() - started).toBeLessThan(10_000);
    // and a body that stops arriving: the client's delay too, not a 503 with a Retry-After
    const body = await raw(
      `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{`,
    );
    expect(responses(body)).toEqual([
      {
        status: 408,
        body: {
          errors: [
            {
              message: 'The request body was not received within 600 ms; nothing was written',
              extensions: { code: 'REQUEST_TIMEOUT' },
            },
          ],
        },
      },
    ]);
    expect(body).not.toMatch(/retry-after/i);
  });

  it('400 BAD_REQUEST at once for a body whose framing breaks part-way, and for a body cut off: never a 500', async () => {
    const metrics = async () =>
      (await (await fetch(`${server.url}/metrics`)).text()).match(/status="5\d\d"[^\n]*/g) ?? [];
    const count = (text: string) =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes(text)).length;
    const errorsBefore = count('"level":50');
    const fivesBefore = await metrics();
    for (const path of ['/graphql', '/export.ndjson', '/import.ndjson']) {
      const bytes = await raw(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n` +
          'Transfer-Encoding: chunked\r\n\r\n5\r\n{"que\r\nzz\r\n',
      );
      expect(responses(bytes), path).toEqual([
        {
          status: 400,
          body: {
            errors: [{ message: 'The request is not well-formed HTTP/1.1', extensions: { code: 'BAD_REQUEST' } }],
          },
        },
      ]);
    }
    // a request answered before its body was read (no JSON type: 415; /healthz) keeps that one answer
    for (const [head, status] of [
      ['POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 415],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 200],
    ] as const) {
      const answers = responses(await raw(head, { rest: 'zz\r\n', pause: 100 }));
      expect(
        answers.map((answer) => answer.status),
        head,
      ).toEqual([status]);
    }
    // a client that sends half its body and goes: nobody reads the answer, but it is a 400, not a 500;
    // and it is counted as incomplete, not as a refusal of malformed HTTP (so is one that sends half a head)
    await new Promise((resolve) => setTimeout(resolve, 300));
    const badBefore = count('"status":400');
    const counter = async (name: string) =>
      Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    const refusedBefore = await counter('newsgraph_http_refused_total\\{status="400"\\}');
    const incompleteBefore = await counter('newsgraph_http_incomplete_total');
    const { port, hostname } = new URL(server.url);
    for (const sent of [
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":',
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le',
    ]) {
      const socket = net.connect(Number(port), hostname, () => socket.write(sent));
      await new Promise((resolve) => setTimeout(resolve, 300));
      socket.destroy();
    }
    await expect.poll(() => count('"status":400')).toBe(badBefore + 1);
    await expect.poll(() => counter('newsgraph_http_incomplete_total')).toBe(incompleteBefore + 2);
    expect(await counter('newsgraph_http_refused_total\\{status="400"\\}')).toBe(refusedBefore);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await metrics()).toEqual(fivesBefore);
    expect(count('"level":50')).toBe(errorsBefore);
  });

  it('answers every request pipelined before a malformed one, whole and in order, then refuses it once', async () => {
    const post = (query: string) => {
      const body = JSON.stringify({ query });
      return (
        `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`
      );
    };
    const create = (i: number) =>
      post(
        `mutation { createArticle(input: { title: "Pipelined ${i}", url: "https://pipelined.example/${i}", source: "Pipe", publishedAt: "2026-01-01T00:00:00Z", priority: 1 }) { __typename } }`,
      );
    const bytes = await raw(
      `${post('{ __typename }')}${create(1)}${create(2)}${create(3)}GET /graphql HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n`,
      // bytes after the refusal repeat it: still one answer
      { rest: 'garbage\r\n'.repeat(30), pause: 20 },
    );
    const created = { status: 200, body: { data: { createArticle: { __typename: 'CreateArticleSuccess' } } } };
    expect(responses(bytes)).toEqual([
      { status: 200, body: { data: { __typename: 'Query' } } },
      created,
      created,
      created,
      expect.objectContaining({ status: 400 }),
    ]);
    const filed = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ articles(filter: { source: { equals: "Pipe" } }) { totalCount } }' }),
    });
    expect(await filed.json()).toEqual({ data: { articles: { totalCount: 3 } } });
  });
});

describe('requests Node would answer without a body, and Upgrade offers the server does not take', () => {
  const refusal = (status: number, code: string, message: string | RegExp) => ({
    status,
    body: {
      errors: [
        { message: typeof message === 'string' ? message : expect.stringMatching(message), extensions: { code } },
      ],
    },
  });

  it("answers HEAD on /graphql with GET's status and header fields, and no body (RFC 9110 9.3.2)", async () => {
    const asked = (method: string, target: string, accept = 'application/json') =>
      `${method} ${target} HTTP/1.1\r\nHost: x\r\nAccept: ${accept}\r\n\r\n`;
    const query = `/graphql?query=${encodeURIComponent('{ __typename }')}`;
    const mutation = `/graphql?query=${encodeURIComponent('mutation { deleteArticle(input: { id: "x" }) { __typename } }')}`;
    // each HEAD answer, then the same GET's (pipelined on one connection: a HEAD answer with a body
    // would be read as the next answer's start)
    for (const [target, accept, status] of [
      [query, 'application/json', 200],
      ['/graphql', 'application/json', 400],
      [mutation, 'application/json', 405],
      ['/graphql', 'text/html', 200],
    ] as const) {
      const bytes = await raw(
        asked('HEAD', target, accept) +
          asked('GET', target, accept).replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n'),
      );
      const end = bytes.indexOf('\r\n\r\n') + 4;
      const [head, get] = [bytes.slice(0, end), bytes.slice(end)];
      expect(get, target).toMatch(/^HTTP\/1\.1 /);
      const field = (text: string, name: string) => new RegExp(`\r\n${name}: ([^\r]*)`, 'i').exec(text)?.[1];
      expect(head, target).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(get, target).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(field(head, 'content-type'), target).toBe(field(get, 'content-type'));
      expect(field(head, 'content-length'), target).toBe(field(get, 'content-length'));
    }
  });

  it('400 BAD_REQUEST for an HTTP/1.1 request without one Host field (RFC 9112 3.2); HTTP/1.0 may omit it', async () => {
    expect(responses(await raw('GET /healthz HTTP/1.1\r\n\r\n'))).toEqual([
      refusal(400, 'BAD_REQUEST', 'An HTTP/1.1 request needs a Host header field'),
    ]);
    expect(responses(await raw('POST /graphql HTTP/1.1\r\nHost: a\r\nhost: b\r\nContent-Length: 0\r\n\r\n'))).toEqual([
      refusal(400, 'BAD_REQUEST', 'The request has more than one Host header field'),
    ]);
    // nor through the Upgrade path, which Node hands over before any request handler
    expect(responses(await raw('GET /graphql HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'))).toEqual([
      refusal(400, 'BAD_REQUEST', 'An HTTP/1.1 request needs a Host header field'),
    ]);
    expect(responses(await raw('GET /healthz HTTP/1.0\r\n\r\n'))).toEqual([{ status: 200, body: { status: 'ok' } }]);
    // a Host the request's URL cannot be made of (Yoga's adapter answered a 500 with its stack)
    for (const host of ['a b', 'x:99999', 'a/b', '[::1', 'a%zz', 'a<b', 'u@x', 'x:8a']) {
      expect(responses(await raw(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)), host).toEqual(
        [refusal(400, 'BAD_REQUEST', 'The Host header field is not a host[:port]')],
      );
    }
    for (const host of ['[::1]:4000', 'Example.COM:80', 'xn--bcher-kva.example', 'localhost:']) {
      expect(responses(await raw(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)), host).toEqual(
        [{ status: 200, body: { status: 'ok' } }],
      );
    }
  });

  it('serves an absolute-form target as its path on its authority (RFC 9112 3.2.2); refuses other targets with 400', async () => {
    const query = encodeURIComponent('{ __typename }');
    // the target's authority replaces the Host field, whatever that says
    for (const target of ['http://x/healthz', 'HTTPS://Example.com:8443/healthz', 'http://[::1]/healthz?a=1']) {
      expect(responses(await raw(`GET ${target} HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`)), target).toEqual([
        { status: 200, body: { status: 'ok' } },
      ]);
    }
    expect(
      responses(
        await raw(`GET http://api.example/graphql?query=${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      ),
    ).toEqual([{ status: 200, body: { data: { __typename: 'Query' } } }]);
    // and through the Upgrade path, served as plain HTTP/1.1
    const h2c =
      'Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
    expect(responses(await raw(`GET http://x:4000/healthz HTTP/1.1\r\nHost: a b\r\n${h2c}\r\n`))).toEqual([
      { status: 200, body: { status: 'ok' } },
    ]);
    const notAForm = /neither a path, an absolute http\(s\) URL nor "\*"/;
    for (const [target, message] of [
      ['ftp://x/healthz', notAForm],
      ['http:///healthz', notAForm],
      ['ws://x/graphql', notAForm],
      ['http://user:pw@x/healthz', 'The request target carries userinfo (user@host)'],
      ['*', 'The request target "*" is for OPTIONS only'],
    ] as const) {
      expect(responses(await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)), target).toEqual([
        refusal(400, 'BAD_REQUEST', message),
      ]);
    }
    // the asterisk-form is OPTIONS' (a CORS preflight answer, no body)
    expect(await raw('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 204 /);
  });

  it('417 EXPECTATION_FAILED for an Expect other than 100-continue, 405 METHOD_NOT_ALLOWED for CONNECT, 404 NOT_FOUND for an unknown path', async () => {
    expect(responses(await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n'))).toEqual([
      refusal(417, 'EXPECTATION_FAILED', /only expectation .* "Expect: 100-continue"/),
    ]);
    const connect = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(connect).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*\r\nAllow: GET, HEAD, POST, OPTIONS\r\n/);
    expect(responses(connect)).toEqual([refusal(405, 'METHOD_NOT_ALLOWED', /not a proxy/)]);
    const unknown = await raw('GET /graphq HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(unknown).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(responses(unknown)).toEqual([refusal(404, 'NOT_FOUND', /GraphQL is at \/graphql/)]);
    // and each is counted
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const status of [400, 405, 417]) {
      expect(metrics).toMatch(new RegExp(`^newsgraph_http_refused_total\\{status="${status}"\\} [1-9]`, 'm'));
    }
  });

  it("serves curl --http2's Upgrade: h2c offer, and a WebSocket handshake off /graphql, as the plain HTTP/1.1 requests they also are", async () => {
    const query = encodeURIComponent('{ __typename }');
    const h2c =
      'Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
    expect(
      responses(await raw(`GET /graphql?query=${query} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n${h2c}\r\n`)),
    ).toEqual([{ status: 200, body: { data: { __typename: 'Query' } } }]);
    // a body travels with it
    const body = JSON.stringify({ query: '{ __typename }' });
    expect(
      responses(
        await raw(
          `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${h2c}\r\n${body}`,
        ),
      ),
    ).toEqual([{ status: 200, body: { data: { __typename: 'Query' } } }]);
    // after requests pipelined before it, in order, and before those after it
    const post = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    expect(
      responses(
        await raw(
          `${post}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n${post}GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        ),
      ),
    ).toEqual([
      { status: 200, body: { data: { __typename: 'Query' } } },
      { status: 200, body: { status: 'ok' } },
      { status: 200, body: { data: { __typename: 'Query' } } },
      { status: 200, body: { status: 'ready' } },
    ]);
    // a head just under Node's 16 KiB stays under it without its Upgrade fields
    const tokens = 'a,'.repeat(7_000);
    expect(
      responses(
        await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: ${tokens}Upgrade,close\r\nUpgrade: h2c\r\n\r\n`),
      ),
    ).toEqual([{ status: 200, body: { status: 'ok' } }]);
    const handshake =
      'Upgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    expect(responses(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${handshake}\r\n`))).toEqual([
      { status: 200, body: { status: 'ok' } },
    ]);
  });

  it('answers a malformed WebSocket handshake on /graphql with 400 BAD_REQUEST (405 for a method other than GET) in JSON', async () => {
    for (const [fields, reason] of [
      ['', 'Missing or invalid Sec-WebSocket-Key header'],
      [
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n',
        'Missing or invalid Sec-WebSocket-Version header',
      ],
      [
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a b\r\n',
        'Invalid Sec-WebSocket-Protocol header',
      ],
    ]) {
      expect(
        responses(
          await raw(`GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${fields}\r\n`),
        ),
      ).toEqual([refusal(400, 'BAD_REQUEST', `Not a valid WebSocket handshake: ${reason}`)]);
    }
    const handshake =
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    // a query string that is not UTF-8, as every HTTP route refuses it
    expect(responses(await raw(`GET /graphql?x=%FF HTTP/1.1\r\nHost: x\r\n${handshake}\r\n`))).toEqual([
      refusal(400, 'BAD_REQUEST', 'The query string is not UTF-8 once percent-decoded'),
    ]);
    const posted = await raw(`POST /graphql HTTP/1.1\r\nHost: x\r\n${handshake}Content-Length: 0\r\n\r\n`);
    expect(posted).toMatch(/\r\nAllow: GET\r\n/);
    expect(responses(posted)).toEqual([refusal(405, 'METHOD_NOT_ALLOWED', 'A WebSocket handshake is a GET request')]);
    // the endpoint with a trailing slash, as HTTP serves it: switched to WebSocket
    const { port, hostname } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    socket.write(
      `GET /graphql/ HTTP/1.1\r\nHost: x\r\n${handshake}Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    );
    const first = await new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString())));
    socket.destroy();
    expect(first).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
  });

  it('survives a client that resets after its Upgrade request is refused, and closes a refused connection whose client never ends it', async () => {
    const { port, hostname } = new URL(server.url);
    const handshake =
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    const refused = [
      `GET /graphql HTTP/1.1\r\nHost: a b\r\n${handshake}\r\n`,
      `GET /graphql?x=%FF HTTP/1.1\r\nHost: x\r\n${handshake}\r\n`,
      // behind an earlier request of the connection, answered first
      `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /graphql HTTP/1.1\r\nHost: a b\r\n${handshake}\r\n`,
    ];
    /** A connection (half-open allowed: it never ends its side) that has been sent `request` and answered 400. */
    const answered = async (request: string) => {
      const socket = net.connect({ port: Number(port), host: hostname, allowHalfOpen: true });
      socket.write(request);
      let received = '';
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk) => {
          received += chunk.toString();
          if (/HTTP\/1\.1 400 [^]*\}$/.test(received)) resolve();
        });
        socket.on('error', reject);
      });
      return socket;
    };
    for (const request of refused) {
      // a reset (RST) once the refusal has arrived: the server raised an unhandled 'error' and died
      (await answered(request)).resetAndDestroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // the server ends its side, and closes the connection once CLOSE_LINGER_MS (2 s) pass: bytes
    // the client sends after that are answered with a reset, not kept on a half-open connection
    const lingering = await answered(refused[0]!);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const closed = await new Promise<string>((resolve) => {
      lingering.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      lingering.on('close', () => resolve('closed'));
      // the first write is answered with a reset, which the second one is told of
      lingering.write('more bytes\r\n');
      setTimeout(() => lingering.write('more bytes\r\n'), 200);
      setTimeout(() => resolve('still open'), 2_000);
    });
    lingering.destroy();
    expect(closed).toMatch(/ECONNRESET|EPIPE/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
