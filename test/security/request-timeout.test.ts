import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPGlite } from '../../src/db/pglite.ts';
import { hashKey } from '../../src/resolvers/access/apiKeys.ts';
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
  // this file's database, prepared before the server takes it (one owner per embedded folder)
  if (serverUrl) {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query(SETUP);
    await client.end();
  } else {
    const db = await openPGlite(process.env.PGLITE_DIR!);
    await db.exec(SETUP);
    await db.close();
  }
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
