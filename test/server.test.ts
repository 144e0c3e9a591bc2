import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './support/process.ts';
import { databaseUrl, serverUrl } from './support/targets.ts';
import { openPGlite } from '../src/db/pglite.ts';
import { DEMO_ARTICLE_COUNT } from '../src/seed/demo.ts';

/**
 * The real process, as `npm start` runs it: on an empty database it migrates and loads the
 * demo data; restarted on the same data it loads nothing twice.
 */

const COUNT = '{ articles(first: 1) { totalCount } authors { totalCount } topics { totalCount } }';
let env: Record<string, string | undefined>;
let cleanup: () => Promise<void>;

async function post(server: RunningServer, query: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: unknown[] } };
}

beforeAll(async () => {
  if (serverUrl) {
    const name = `newsgraph_server_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    env = { DATABASE_URL: databaseUrl(name), MIGRATE_ON_START: 'true', SEED_DEMO_DATA: 'true', PGLITE_DIR: undefined };
    cleanup = async () => {
      const drop = new pg.Client({ connectionString: serverUrl });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await drop.end();
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-server-'));
    env = {
      DATABASE_URL: undefined,
      PGLITE_DIR: path.join(dir, 'data'),
      MIGRATE_ON_START: undefined,
      SEED_DEMO_DATA: undefined,
    };
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
});

afterAll(async () => cleanup());

describe('the server process', () => {
  it('creates, migrates and seeds an empty database on first start, and keeps it on restart', async () => {
    const first = await startServer(env);
    try {
      const { status, body } = await post(first, COUNT);
      expect(status).toBe(200);
      expect(body.data.articles.totalCount).toBeGreaterThanOrEqual(500);
      expect(body.data.authors.totalCount).toBe(80);
      expect(body.data.topics.totalCount).toBe(40);
      expect(first.output()).toMatch(new RegExp(`demo data loaded: ${DEMO_ARTICLE_COUNT} articles`));
      // the admin key printed once with the demo data works for mutations
      const key = /Admin API key "local-admin".*\n(ngk_[A-Za-z0-9_-]{43})/.exec(first.output())?.[1];
      expect(key).toBeDefined();
      const created = await fetch(`${first.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: 'mutation { createTopic(input: { name: "Printed Key Works" }) { __typename } }',
        }),
      });
      expect(
        ((await created.json()) as { data: { createTopic: { __typename: string } } }).data.createTopic.__typename,
      ).toBe('CreateTopicSuccess');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await startServer(env);
    try {
      const { body } = await post(second, COUNT);
      expect(body.data.articles.totalCount).toBe(DEMO_ARTICLE_COUNT);
      expect(body.data.authors.totalCount).toBe(80);
      expect(second.output()).not.toMatch(/demo data loaded/);
      expect(second.output()).not.toMatch(/API key/);
      expect(second.output()).not.toMatch(/migrations applied/);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('prints the admin key on the start after a first one cut short between the demo data and the key', async () => {
    // the state a first start killed right after the demo data committed leaves: articles, no key
    if (env.DATABASE_URL) {
      const db = new pg.Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      await db.query('DELETE FROM "ApiKey"');
      await db.end();
    } else {
      const db = await openPGlite(env.PGLITE_DIR!);
      await db.query('DELETE FROM "ApiKey"');
      await db.close();
    }
    const again = await startServer(env);
    try {
      expect(again.output()).not.toMatch(/demo data loaded/);
      expect(again.output()).toMatch(/Admin API key "local-admin".*\nngk_[A-Za-z0-9_-]{43}/);
    } finally {
      expect(await again.stop()).toBe(0);
    }
    // made once: the next start has a key, and prints none
    const next = await startServer(env);
    try {
      expect(next.output()).not.toMatch(/API key/);
    } finally {
      expect(await next.stop()).toBe(0);
    }
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    await expect(startServer({ ...env, PORT: 'eighty' })).rejects.toThrow(/PORT/);
  });
});
