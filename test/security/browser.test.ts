import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config.ts';
import { prisma } from '../../src/db/client.ts';
import { createApiKey } from '../../src/resolvers/access/apiKeys.ts';
import { createServer } from '../../src/yoga.ts';
import { recordStatements } from '../support/api.ts';
import { callers } from '../support/keys.ts';

/** Browser-facing protections: CSRF, CORS, and what production mode hides. */

const ENDPOINT = 'http://newsgraph.test/graphql';
const MUTATION = 'mutation { createTopic(input: { name: "Forged" }) { __typename } }';
let key: string;

beforeAll(async () => {
  key = (await createApiKey(prisma, 'browser-editor', 'EDITOR')).secret;
});

describe('CSRF', () => {
  const yoga = createServer();

  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(MUTATION)}`],
    ['text/plain', JSON.stringify({ query: MUTATION })],
    [
      'multipart/form-data; boundary=x',
      `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${MUTATION}\r\n--x--`,
    ],
  ])('a cross-site form POST (%s) executes nothing', async (type, body) => {
    const { statements, result } = await recordStatements(async () =>
      yoga.fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': type, origin: 'https://evil.example', authorization: `Bearer ${key}` },
        body,
      }),
    );
    expect(result.status).toBe(415);
    expect(statements).toEqual([]);
    expect(await prisma.topic.findFirst({ where: { name: 'Forged' } })).toBeNull();
  });

  it('a GET carrying a mutation executes nothing', async () => {
    const response = await yoga.fetch(`${ENDPOINT}?query=${encodeURIComponent(MUTATION)}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(405);
    expect(await prisma.topic.findFirst({ where: { name: 'Forged' } })).toBeNull();
  });

  it('a GET query still works (read-only)', async () => {
    const response = await yoga.fetch(`${ENDPOINT}?query=${encodeURIComponent('{ viewer { anonymous } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(200);
  });
});

describe('CORS', () => {
  const yoga = createServer({ ...config(), corsOrigins: ['https://app.example'] });

  it('echoes an allowed origin, with credentials', async () => {
    const response = await yoga.fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://app.example' },
      body: JSON.stringify({ query: '{ viewer { anonymous } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('does not echo an unknown origin, on requests or preflights', async () => {
    const response = await yoga.fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ query: '{ viewer { anonymous } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await yoga.fetch(ENDPOINT, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await yoga.fetch(ENDPOINT, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('sends no CORS headers at all by default (no origins configured)', async () => {
    const response = await createServer().fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://app.example' },
      body: JSON.stringify({ query: '{ viewer { anonymous } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('production mode', () => {
  const production = () => {
    const settings = { ...config(), production: true, graphiql: false, introspection: false };
    return createServer(settings);
  };
  const ask = async (yoga: ReturnType<typeof createServer>, query: string) => {
    const response = await yoga.fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: unknown; errors?: { message: string }[] };
  };

  it('gives no field suggestions in errors', async () => {
    expect((await ask(createServer(), '{ articlez { totalCount } }')).errors![0]!.message).toMatch(/Did you mean/);
    const message = (await ask(production(), '{ articlez { totalCount } }')).errors![0]!.message;
    expect(message).toBe('Cannot query field "articlez" on type "Query".');
  });

  it('gives no field suggestions on the export endpoints either', async () => {
    const { editor } = await callers();
    const refusal = async (yoga: ReturnType<typeof createServer>) => {
      const response = await yoga.fetch(
        `http://newsgraph.test/export.ndjson?filter=${encodeURIComponent('{"titel":{"contains":"reef"}}')}`,
        { headers: editor },
      );
      expect(response.status).toBe(400);
      return ((await response.json()) as { errors: { message: string }[] }).errors[0]!.message;
    };
    expect(await refusal(createServer())).toMatch(/Did you mean "title"/);
    const message = await refusal(production());
    expect(message).toMatch(/titel/);
    expect(message).not.toMatch(/Did you mean|"title"/);
  });

  it('refuses introspection unless enabled', async () => {
    expect((await ask(production(), '{ __schema { queryType { name } } }')).errors?.[0]?.message).toMatch(
      /introspection/i,
    );
    expect((await ask(production(), '{ __type(name: "Article") { name } }')).errors).toBeDefined();
    const enabled = createServer({ ...config(), production: true, introspection: true });
    expect((await ask(enabled, '{ __schema { queryType { name } } }')).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });

  it('serves no GraphiQL unless enabled', async () => {
    const page = await production().fetch(ENDPOINT, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    const enabled = createServer({ ...config(), production: true, graphiql: true });
    expect((await enabled.fetch(ENDPOINT, { headers: { accept: 'text/html' } })).headers.get('content-type')).toMatch(
      /text\/html/,
    );
  });

  it('reads its defaults from NODE_ENV=production', async () => {
    const { parseConfig } = await import('../../src/config.ts');
    const server = { NODE_ENV: 'production', DATABASE_URL: 'postgresql://db/news' };
    const settings = parseConfig(server);
    expect(settings).toMatchObject({ production: true, graphiql: false, introspection: false, logFormat: 'json' });
    expect(parseConfig({ ...server, GRAPHIQL: 'true', INTROSPECTION: 'true' })).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    // the embedded database is for one process on one machine: production asks for it explicitly
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL.*ALLOW_EMBEDDED_IN_PRODUCTION=true/);
    expect(parseConfig({ NODE_ENV: 'production', ALLOW_EMBEDDED_IN_PRODUCTION: 'true' }).database.kind).toBe('pglite');
  });
});

describe('operations endpoints', () => {
  it('GET /healthz answers while the process lives; /readyz while the database answers', async () => {
    const yoga = createServer();
    expect((await yoga.fetch('http://newsgraph.test/healthz')).status).toBe(200);
    const ready = await yoga.fetch('http://newsgraph.test/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
