import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/db/migrate.ts';
import { waitForReplicas } from '../src/db/replicas.ts';
import { runScript, startServer, type RunningServer } from './support/process.ts';
import { runId, serverUrl } from './support/targets.ts';

/**
 * Read replicas, on a real streaming replica (.ci/run starts a private primary on 5433 and a
 * replica of it on 5434; TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL name them). With replay
 * paused on the replica, what each read returns tells which server answered it: reads of queries
 * come from the replica, writes and a mutation's answer from the primary, and once replay runs a
 * client's next read sees its own write.
 */

const primaryUrl = process.env.TEST_REPLICA_PRIMARY_URL;
const replicaUrl = process.env.TEST_REPLICA_URL;
const database = `newsgraph_replica_${runId}`;
const cachePrefix = `newsgraph-replica-test:${runId}:${Date.now()}:`;

function on(url: string, name: string): string {
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

describe('isPlainRead (what a replica may take, and what is tried again on a lost connection)', () => {
  it('takes a SELECT or WITH that writes, locks and draws nothing', async () => {
    const { isPlainRead } = await import('../src/db/replicas.ts');
    expect(isPlainRead('SELECT "id" FROM "Article" WHERE "id" = $1')).toBe(true);
    expect(isPlainRead('WITH m AS (SELECT 1) SELECT * FROM m')).toBe(true);
    expect(isPlainRead('SELECT "id" FROM "Article" FOR UPDATE')).toBe(false);
    expect(isPlainRead('WITH d AS (DELETE FROM "Article" RETURNING 1) SELECT * FROM d')).toBe(false);
    expect(isPlainRead("SELECT nextval('s')")).toBe(false);
    // a SELECT of a function that writes: rollup compaction's statement
    expect(isPlainRead('SELECT /* writes */ "newsgraph_compact_rollup"() AS "removed"')).toBe(false);
  });
});

describe('waitForReplicas', () => {
  const pool = (query: () => Promise<unknown>) => ({ query }) as unknown as pg.Pool;
  const primary = pool(async () => ({ rows: [{ lsn: '0/1000' }] }));

  it('is bounded by its timeout, even when a replica never answers, and never rejects', async () => {
    const hanging = pool(() => new Promise(() => undefined));
    const started = Date.now();
    expect(await waitForReplicas(primary, [hanging], 100)).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    const failingPrimary = pool(() => Promise.reject(new Error('pool timeout')));
    expect(await waitForReplicas(failingPrimary, [hanging], 50)).toBe(1);
  });

  it('counts the replicas still behind, and none once they replay the LSN', async () => {
    const caughtUp = pool(async () => ({ rows: [{ ok: true }] }));
    const behind = pool(async () => ({ rows: [{ ok: false }] }));
    expect(await waitForReplicas(primary, [caughtUp, behind], 50)).toBe(1);
    expect(await waitForReplicas(primary, [caughtUp], 50)).toBe(0);
    expect(await waitForReplicas(primary, [], 50)).toBe(0);
  });
});

describe.skipIf(!serverUrl || !primaryUrl || !replicaUrl)('read replicas (streaming replica)', () => {
  let server: RunningServer;
  let replica: pg.Client;
  let key: string;

  async function send(query: string, variables?: object, authorized = false) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorized ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: { message: string }[] };
  }
  const count = async () => (await send('{ articles { totalCount } }')).data?.articles.totalCount as number;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: primaryUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}"`);
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    await applyMigrations({ kind: 'postgres', url: on(primaryUrl!, database) });
    const created = await runScript('src/cli/apikey.ts', ['create', '--name', 'replica-editor', '--role', 'editor'], {
      DATABASE_URL: on(primaryUrl!, database),
    });
    key = /ngk_[A-Za-z0-9_-]+/.exec(created.output)![0];
    replica = new pg.Client({ connectionString: on(replicaUrl!, database) });
    // the database reaches the replica by replay
    for (let attempt = 0; ; attempt++) {
      try {
        await replica.connect();
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        replica = new pg.Client({ connectionString: on(replicaUrl!, database) });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    server = await startServer({
      DATABASE_URL: on(primaryUrl!, database),
      DATABASE_REPLICA_URLS: on(replicaUrl!, database),
      REPLICA_WAIT_MS: '500',
      MIGRATE_ON_START: 'false',
      SEED_DEMO_DATA: 'false',
      // the response cache too: a late replica's answer must not outlive its lag in it
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      RESPONSE_CACHE_TTL_MS: '60000',
      RESPONSE_CACHE_PREFIX: cachePrefix,
    });
  }, 120_000);

  afterAll(async () => {
    await replica?.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await replica?.end();
    await server?.stop();
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const keys = await redis.keys(`${cachePrefix}*`);
    if (keys.length) await redis.del(keys);
    redis.disconnect();
    const admin = new pg.Client({ connectionString: primaryUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  });

  const file = (n: number) =>
    send(
      `
        mutation ($input: CreateArticleInput!) {
          createArticle(input: $input) {
            __typename
            ... on CreateArticleSuccess {
              article {
                title
                authors {
                  name
                }
              }
            }
          }
        }
      `,
      {
        input: {
          url: `https://replica.example/${n}`,
          title: `Replicated ${n}`,
          source: 'Replica Wire',
          priority: 3,
          publishedAt: '2026-11-01T00:00:00Z',
          authors: [{ name: `Writer ${n}` }],
        },
      },
      true,
    );

  it('reads queries from the replica, and writes and mutation answers from the primary', async () => {
    expect(await count()).toBe(0);
    await replica.query('SELECT pg_wal_replay_pause()');
    try {
      // the write reaches the primary (the replica is read-only and could not take it), and the
      // answer's reads come from there too: the replica does not have the article yet
      const written = await file(1);
      expect(written.errors).toBeUndefined();
      expect(written.data.createArticle).toEqual({
        __typename: 'CreateArticleSuccess',
        article: { title: 'Replicated 1', authors: [{ name: 'Writer 1' }] },
      });
      // it was answered after REPLICA_WAIT_MS, counted as a write the replica did not have yet
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^newsgraph_replica_wait_timeouts_total 1$/m);
      // a query reads the paused replica: the article is not there yet
      expect(await count()).toBe(0);
      // and so does a query's transaction: the facets of a search count within a statement_timeout
      // of their own, set in one
      const facets = await send('{ articleFacets(search: "replicated") { total totalExact } }');
      expect(facets.errors).toBeUndefined();
      expect(facets.data).toEqual({ articleFacets: { total: 0, totalExact: true } });
      const replayed = await replica.query('SELECT count(*)::int AS n FROM "Article"');
      expect(replayed.rows[0].n).toBe(0);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
    }
    // the cache kept the paused replica's answer under the write's version; once the replica has
    // the write, the cache moves again and the next read sees it (not after the 60 s TTL)
    for (let attempt = 0; (await count()) !== 1 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await count()).toBe(1);
  });

  it('refuses to start with a replica that is not a standby, or does not answer, in one line', async () => {
    for (const [replicas, message] of [
      [on(primaryUrl!, database), /DATABASE_REPLICA_URLS: .* is not a standby/],
      ['postgresql://postgres@127.0.0.1:1/none', /DATABASE_REPLICA_URLS: .* does not answer/],
    ] as const) {
      const failed = await startServer({
        DATABASE_URL: on(primaryUrl!, database),
        DATABASE_REPLICA_URLS: replicas,
        MIGRATE_ON_START: 'false',
        SEED_DEMO_DATA: 'false',
      }).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(failed).toMatch(message);
    }
  });

  it('answers a mutation once the replicas have it: the next read sees the write', async () => {
    for (let n = 2; n < 7; n++) {
      const written = await file(n);
      expect(written.data.createArticle.__typename).toBe('CreateArticleSuccess');
      expect(await count()).toBe(n);
    }
    // none of these waited out REPLICA_WAIT_MS: the replica had each write before its answer
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^newsgraph_replica_wait_timeouts_total 1$/m);
  });
});
