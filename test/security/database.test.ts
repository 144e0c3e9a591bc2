import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { hashKey } from '../../src/resolvers/access/apiKeys.ts';
import { freePort, startServer } from '../support/process.ts';
import { serverUrl } from '../support/targets.ts';

vi.hoisted(() => {
  process.env.STATEMENT_TIMEOUT_MS = '300';
  process.env.LOCK_TIMEOUT_MS = '100';
});

const { createServer } = await import('../../src/yoga.ts');
const { prisma } = await import('../../src/db/client.ts');
const { callers } = await import('../support/keys.ts');
const { writeRetries, WRITE_ATTEMPTS } = await import('../../src/resolvers/writing/transaction.ts');

/** Writes run again after a lock wait past LOCK_TIMEOUT_MS, so far. */
async function lockRetries(): Promise<number> {
  return (await writeRetries.get()).values.find((v) => v.labels.reason === 'lock')?.value ?? 0;
}

/** Slow statements end with a clear error; losing the database is survivable. */

describe.runIf(serverUrl)('statement timeout (PostgreSQL server)', () => {
  it('ends a statement stuck behind a lock with DATABASE_TIMEOUT (reason lock), quickly', async () => {
    const yoga = createServer();
    const blocker = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE "Topic" IN ACCESS EXCLUSIVE MODE');
    try {
      const started = Date.now();
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ topics { totalCount } }' }),
      });
      const body = (await response.json()) as {
        errors: { message: string; extensions: { code: string; reason: string } }[];
      };
      expect(body.errors.map((e) => e.extensions.code)).toEqual(['DATABASE_TIMEOUT']);
      // a lock wait (lock_timeout, 55P03), told apart from a slow statement
      expect(body.errors[0]!.extensions.reason).toBe('lock');
      expect(body.errors[0]!.message).toMatch(/locked/);
      expect(body.errors[0]!.message).not.toMatch(/SELECT|Topic|55P03/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
  });

  it('files a write that waited past LOCK_TIMEOUT_MS once the lock is free (a line of writes on one author), and ends one stuck behind a lock with DATABASE_TIMEOUT, nothing written', async () => {
    const yoga = createServer();
    const { editor } = await callers();
    const author = await prisma.author.create({ data: { name: `Queued Writer ${Date.now()}` } });
    const file = async (url: string) => {
      const response = await yoga.fetch('http://newsgraph.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...editor },
        body: JSON.stringify({
          query: `mutation ($input: CreateArticleInput!) { createArticle(input: $input) { __typename } }`,
          variables: {
            input: {
              title: 'Queued',
              url,
              source: 'Queue',
              publishedAt: '2026-02-01T00:00:00Z',
              priority: 2,
              authors: [{ name: author.name }],
            },
          },
        }),
      });
      return (await response.json()) as {
        data?: { createArticle: { __typename: string } } | null;
        errors?: { extensions: { code: string; reason?: string } }[];
      };
    };
    const blocker = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    try {
      // the row every write naming this author updates (its article count), held for 3.5 lock waits
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM "Author" WHERE "id" = $1 FOR UPDATE', [author.id]);
      const before = await lockRetries();
      const filing = file('https://queue.example/waited');
      await new Promise((resolve) => setTimeout(resolve, 350));
      await blocker.query('ROLLBACK');
      expect(await filing).toEqual({ data: { createArticle: { __typename: 'CreateArticleSuccess' } } });
      expect(await lockRetries()).toBeGreaterThan(before);
      expect(await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).toMatchObject({ articleCount: 1 });

      // held for good: every attempt waits, the last one's lock wait is the answer
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM "Author" WHERE "id" = $1 FOR UPDATE', [author.id]);
      const stuck = await lockRetries();
      const answer = await file('https://queue.example/stuck');
      expect(answer.errors?.map((e) => [e.extensions.code, e.extensions.reason])).toEqual([
        ['DATABASE_TIMEOUT', 'lock'],
      ]);
      expect((await lockRetries()) - stuck).toBe(WRITE_ATTEMPTS - 1);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(await prisma.article.count({ where: { url: 'https://queue.example/stuck' } })).toBe(0);
    expect(await prisma.author.findUniqueOrThrow({ where: { id: author.id } })).toMatchObject({ articleCount: 1 });
  });
});

describe.runIf(serverUrl)('request timeout (real process, PostgreSQL server)', () => {
  it('answers 503 REQUEST_TIMEOUT instead of hanging, and keeps serving', async () => {
    const server = await startServer({
      REQUEST_TIMEOUT_MS: '700',
      STATEMENT_TIMEOUT_MS: '0',
      LOCK_TIMEOUT_MS: '0',
      MIGRATE_ON_START: 'false',
      SEED_DEMO_DATA: 'false',
    });
    const blocker = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE "Author" IN ACCESS EXCLUSIVE MODE');
    try {
      const started = Date.now();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ authors { totalCount } }' }),
      });
      expect(response.status).toBe(503);
      expect(
        ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      ).toBe('REQUEST_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const after = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ authors { totalCount } }' }),
    });
    expect(after.status).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});

const PG_BIN = fs.existsSync('/usr/lib/postgresql')
  ? path.join('/usr/lib/postgresql', fs.readdirSync('/usr/lib/postgresql')[0]!, 'bin')
  : '';

/** A private PostgreSQL cluster this test may stop and start (never the shared server). */
function privateCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-pg-'));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const asPostgres = (command: string) => {
    const result = spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command}\n${result.stdout}\n${result.stderr}`);
  };
  return {
    dir,
    async init(port: number) {
      asPostgres(`${PG_BIN}/initdb -D ${data} -A trust -U postgres >/dev/null`);
      this.start(port);
    },
    start(port: number) {
      asPostgres(
        `${PG_BIN}/pg_ctl -D ${data} -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" -l ${dir}/log -w start >/dev/null`,
      );
    },
    stop() {
      asPostgres(`${PG_BIN}/pg_ctl -D ${data} -m immediate -w stop >/dev/null`);
    },
    remove() {
      try {
        this.stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.runIf(PG_BIN && process.getuid?.() === 0)('losing the database', () => {
  it('fails requests fast with 503 DATABASE_UNAVAILABLE, survives, and serves again when the database returns', async () => {
    const cluster = privateCluster();
    const port = await freePort();
    await cluster.init(port);
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const server = await startServer({
      DATABASE_URL: url,
      PGLITE_DIR: undefined,
      MIGRATE_ON_START: 'true',
      SEED_DEMO_DATA: 'false',
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    const ask = async (headers: Record<string, string> = {}) => {
      const started = Date.now();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ articles { totalCount } }' }),
      });
      return {
        ms: Date.now() - started,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        requestId: response.headers.get('x-request-id'),
        body: (await response.json()) as {
          data?: unknown;
          errors?: { message: string; extensions?: { code?: string } }[];
        },
      };
    };
    try {
      expect((await ask()).body).toEqual({ data: { articles: { totalCount: 0 } } });
      const key = `ngk_${'k'.repeat(43)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(
        `INSERT INTO "ApiKey" ("name", "role", "prefix", "secretHash") VALUES ('lost-db', 'EDITOR', 'ngk_kkkkkk', $1)`,
        [hashKey(key)],
      );
      await client.end();
      cluster.stop();
      for (const headers of [{}, { authorization: `Bearer ${key}` }, {}] as Record<string, string>[]) {
        const down = await ask(headers);
        expect(down.ms).toBeLessThan(5_000);
        // the database's fault, said so: 503 with Retry-After, never a bare 500
        expect(down.status).toBe(503);
        expect(Number(down.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(down.body.errors?.map((e) => e.extensions?.code)).toEqual(['DATABASE_UNAVAILABLE']);
        expect(JSON.stringify(down.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres/i);
        // one log line with the cause and the request id (it may reach us after the answer)
        const logged = () =>
          server
            .output()
            .split('\n')
            .filter((line) => line.includes(`"requestId":"${down.requestId}"`) && line.includes('database failure'));
        await expect.poll(() => logged().length).toBe(1);
        expect(logged()[0]).toMatch(/"code":"DATABASE_UNAVAILABLE"/);
        expect(logged()[0]).not.toContain(key);
      }
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).not.toMatch(/127\.0\.0\.1|5432|ECONNREFUSED/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      cluster.start(port);
      await expect
        .poll(async () => (await ask()).body, { timeout: 15_000, interval: 300 })
        .toEqual({ data: { articles: { totalCount: 0 } } });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.stop();
      cluster.remove();
    }
  });
});
