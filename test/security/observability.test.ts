import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config.ts';
import { onStatement, prisma } from '../../src/db/client.ts';
import { createApiKey } from '../../src/resolvers/access/apiKeys.ts';
import { createLogger, createMetrics, MAX_OPERATION_LABELS } from '../../src/observability.ts';
import { RequestScope, withScope } from '../../src/requestScope.ts';
import { createServer } from '../../src/yoga.ts';

/** Logs carry a request id (also sent back in X-Request-Id) and never a key; /metrics reports. */

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
const metrics = createMetrics();
const yoga = createServer(config(), { logger: createLogger('info', sink), metrics });
let key: string;

beforeAll(async () => {
  key = (await createApiKey(prisma, 'observed-editor', 'EDITOR')).secret;
});

async function post(query: string, headers: Record<string, string> = {}) {
  return yoga.fetch('http://newsgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

describe('structured logs', () => {
  it('log one JSON line per request with the request id returned in X-Request-Id, never the key', async () => {
    const response = await post('query Whoami { viewer { keyName } }', { authorization: `Bearer ${key}` });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = lines.find((entry) => entry.requestId === requestId);
    expect(line).toMatchObject({ msg: 'request', status: 200, operation: 'Whoami', method: 'POST', path: '/graphql' });
    expect(JSON.stringify(lines)).not.toContain(key);
    expect(JSON.stringify(lines)).not.toMatch(/authorization/i);
  });

  it('keep a plain caller-supplied request id and replace a hostile one', async () => {
    expect((await post('{ viewer { anonymous } }', { 'x-request-id': 'trace-42.a' })).headers.get('x-request-id')).toBe(
      'trace-42.a',
    );
    const hostile = await post('{ viewer { anonymous } }', { 'x-request-id': 'evil\n{"level":60}' });
    expect(hostile.headers.get('x-request-id')).not.toContain('evil');
  });

  it('log unexpected errors with the request id, masked for the client', async () => {
    await prisma.$executeRawUnsafe('ALTER TABLE "Topic" RENAME TO "TopicGone"');
    try {
      const response = await post('{ topics { totalCount } }', { authorization: `Bearer ${key}` });
      const requestId = response.headers.get('x-request-id');
      const body = (await response.json()) as { errors: { message: string }[] };
      expect(body.errors[0]!.message).toBe('Unexpected error.');
      const error = lines.find((entry) => entry.requestId === requestId && entry.msg === 'unexpected error');
      expect(error).toBeDefined();
      expect(error!.level).toBe(50);
      expect(JSON.stringify(error)).not.toContain(key);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "TopicGone" RENAME TO "Topic"');
    }
  });

  it('log an error thrown outside execution (a hook of the request pipeline), masked for the client', async () => {
    // a fault of ours before execution: the metrics' counter throws as a document fails to parse
    const faulty = createMetrics();
    faulty.errors.inc = () => {
      throw Object.assign(new TypeError('counter fault (test)'), { code: 'ETEST' });
    };
    const server = createServer(config(), { logger: createLogger('info', sink), metrics: faulty });
    // in a request scope, as the HTTP server runs every request (http.ts withRequestScope)
    const response = await withScope(new RequestScope({ statementsAtOnce: 1 }), () =>
      server.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{' }),
      }),
    );
    expect(response.status).toBe(500);
    const body = (await response.json()) as { errors: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ]);
    expect(JSON.stringify(body)).not.toContain('counter fault');
    const logged = lines.filter(
      (entry) => entry.msg === 'unexpected error' && /counter fault/.test(JSON.stringify(entry)),
    );
    expect(logged).toEqual([
      expect.objectContaining({
        level: 50,
        requestId: response.headers.get('x-request-id'),
        err: expect.objectContaining({ type: 'TypeError', code: 'ETEST', stack: expect.any(String) }),
      }),
    ]);
    await server.dispose();
  });

  it("log an error thrown by a route (before Yoga handles errors), masked as JSON: never the adapter's stack trace", async () => {
    // a fault of ours in a route: /metrics' registry fails, at once or later
    const faults = [
      [
        'thrown',
        () => {
          throw new TypeError('registry fault (thrown)');
        },
      ],
      ['rejected', () => Promise.reject(new TypeError('registry fault (rejected)'))],
    ] as const;
    for (const [how, fault] of faults) {
      const faulty = createMetrics();
      faulty.registry.metrics = fault as typeof faulty.registry.metrics;
      const server = createServer(config(), { logger: createLogger('info', sink), metrics: faulty });
      const response = await server.fetch('http://newsgraph.test/metrics');
      expect(response.status, how).toBe(500);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
      expect(text).not.toMatch(/registry fault|at /);
      const logged = lines.filter(
        (entry) => entry.msg === 'unexpected error' && JSON.stringify(entry).includes(`registry fault (${how})`),
      );
      expect(logged, how).toEqual([
        expect.objectContaining({
          level: 50,
          requestId: response.headers.get('x-request-id'),
          err: expect.objectContaining({ type: 'TypeError', stack: expect.any(String) }),
        }),
      ]);
      await server.dispose();
    }
  });
});

describe('Prometheus metrics', () => {
  it('count requests and latency by operation, errors by code, and report the database pool', async () => {
    await post('query CountMe { topics { totalCount } }');
    await post('query CountMe { topics { totalCount } }');
    await post('{ articles(after: "garbage") { totalCount } }');
    await post('{ noSuchField }');
    await post('{ articles(');
    await post('mutation { createTopic(input: { name: "  " }) { __typename } }', { authorization: `Bearer ${key}` });
    const response = await yoga.fetch('http://newsgraph.test/metrics');
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/newsgraph_http_requests_total\{operation="CountMe",status="200"\} 2/);
    expect(text).toMatch(/newsgraph_http_request_duration_seconds_count\{operation="CountMe"\} 2/);
    expect(text).toMatch(/newsgraph_graphql_errors_total\{code="INVALID_CURSOR"\} 1/);
    // a document that does not validate or parse is an error too (a client sending a wrong query)
    expect(text).toMatch(/newsgraph_graphql_errors_total\{code="GRAPHQL_VALIDATION_FAILED"\} 1/);
    expect(text).toMatch(/newsgraph_graphql_errors_total\{code="GRAPHQL_PARSE_FAILED"\} 1/);
    expect(text).toMatch(/newsgraph_expected_errors_total\{code="VALIDATION_FAILED"\} [1-9]/);
    expect(text).toMatch(/newsgraph_db_pool_connections\{state="total"\} [1-9]/);
    expect(text).toMatch(/# TYPE newsgraph_rate_limited_total counter/);
  });

  it('label at most MAX_OPERATION_LABELS operation names: clients choose them, each is a time series', async () => {
    for (let n = 0; n < MAX_OPERATION_LABELS + 50; n++) await post(`query Op_${'x'.repeat(50)}_${n} { __typename }`);
    const text = await (await yoga.fetch('http://newsgraph.test/metrics')).text();
    const labelled = new Set(
      [...text.matchAll(/^newsgraph_http_requests_total\{operation="([^"]+)"/gm)].map((match) => match[1]),
    );
    expect(labelled.size).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 2); // plus "other" and "anonymous"
    expect(labelled).toContain('other');
    expect(labelled).toContain(`Op_${'x'.repeat(50)}_0`);
  });

  it('count SQL statements sent', async () => {
    const statements = async () =>
      Number(
        /newsgraph_db_statements_total (\d+)/.exec(
          await (await yoga.fetch('http://newsgraph.test/metrics')).text(),
        )![1],
      );
    const before = await statements();
    const sent: string[] = [];
    const stop = onStatement((sql) => sent.push(sql));
    await post('{ articles(first: 1) { totalCount edges { node { title authors { name } } } } }');
    stop();
    expect(sent.length).toBeGreaterThan(0);
    expect(await statements()).toBe(before + sent.length);
  });
});
