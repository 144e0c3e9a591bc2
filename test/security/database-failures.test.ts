import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serverUrl } from '../support/targets.ts';

vi.hoisted(() => {
  // one connection, given up on quickly: easy to exhaust
  process.env.DB_POOL_SIZE = '1';
  process.env.DB_CONNECT_TIMEOUT_MS = '300';
  process.env.STATEMENT_TIMEOUT_MS = '0';
});

const { config } = await import('../../src/config.ts');
const { prisma } = await import('../../src/db/client.ts');
const { createApiKey } = await import('../../src/resolvers/access/apiKeys.ts');
const { createLogger, createMetrics } = await import('../../src/observability.ts');
const { createServer } = await import('../../src/yoga.ts');
const { LOST_READ_RETRY_DELAYS_MS } = await import('../../src/db/adapters.ts');

/**
 * A database in trouble is the server's problem, never the client's: an exhausted pool or a
 * terminated connection, also while the API key is being checked, answers HTTP 503 with
 * Retry-After and code DATABASE_UNAVAILABLE, and leaves one log line with the cause and the
 * request id. (PostgreSQL server only: the embedded database has no pool or connection to lose.
 * A refused connection is tested with a private cluster in database.test.ts.)
 */

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});
const yoga = createServer(config(), { logger: createLogger('info', sink), metrics: createMetrics() });
let key: string;

beforeAll(async () => {
  key = (await createApiKey(prisma, 'failures-editor', 'EDITOR')).secret;
});

async function ask(headers: Record<string, string> = {}, query = '{ viewer { keyName } articles { totalCount } }') {
  const response = await yoga.fetch('http://newsgraph.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    requestId: response.headers.get('x-request-id')!,
    text,
    body: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

function expectUnavailable(answer: Awaited<ReturnType<typeof ask>>, reason: string): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual(['DATABASE_UNAVAILABLE']);
  // what failed, for the client too (a pool wait is not a slow statement)
  expect(answer.body.errors?.map((e) => (e.extensions as { reason?: string })?.reason)).toEqual([reason]);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(answer.text).not.toMatch(/127\.0\.0\.1|5432|postgres|Unexpected|http|stack/i);
  const logged = lines.filter((line) => line.requestId === answer.requestId && line.msg === 'database failure');
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ level: 50, code: 'DATABASE_UNAVAILABLE', reason });
  expect(String(logged[0]!.cause)).not.toContain(key);
}

/** Terminates the connection of a statement waiting for `admin`'s lock (as a failover would), once one waits within `tries` x 25 ms; whether one did. */
async function terminateWaiter(admin: pg.Client, tries = 100): Promise<boolean> {
  let victim: number | undefined;
  for (let i = 0; i < tries && victim === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    // pg_stat_activity is read once per transaction unless its snapshot is cleared
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await admin.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    victim = rows[0]?.pid;
  }
  if (victim === undefined) return false;
  await admin.query('SELECT pg_terminate_backend($1)', [victim]);
  return true;
}

/**
 * Makes pg answer the first COMMIT sent from now on with a lost connection, after it took effect;
 * with `unanswerable`, every txid_status question fails likewise (the database cannot be asked).
 * `commits` and `asked` count them; restore() puts pg back.
 */
function losingCommitAnswer(options: { unanswerable?: boolean } = {}) {
  const query = pg.Client.prototype.query;
  const state = { commits: 0, asked: 0, restore: () => void (pg.Client.prototype.query = query) };
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    if (options.unanswerable && text?.includes('txid_status')) {
      state.asked += 1;
      const lost = new Error('Connection terminated unexpectedly');
      // pg-pool passes a callback, and releases its client when it is called
      const callback = args.find((arg): arg is (error: Error) => void => typeof arg === 'function');
      if (!callback) return Promise.reject(lost);
      process.nextTick(() => callback(lost));
      return undefined;
    }
    const result = (query as (...a: unknown[]) => unknown).apply(this, args);
    if (state.commits > 0 || text !== 'COMMIT' || !(result instanceof Promise)) return result;
    state.commits += 1;
    return result.then(() => {
      throw new Error('Connection terminated unexpectedly');
    });
  } as typeof query;
  return state;
}

async function metricsText(): Promise<string> {
  return (await yoga.fetch('http://newsgraph.test/metrics')).text();
}

/** Holds the process's only pool connection in a transaction until `release` is called. */
function holdThePool(): { release: () => void; done: Promise<unknown> } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const done = prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      held();
      await released;
    },
    { timeout: 20_000 },
  );
  return { release, done: holding.then(() => done) };
}

describe.runIf(serverUrl)('the database in trouble (PostgreSQL server)', () => {
  afterAll(async () => {
    lines.length = 0;
  });

  it('answers 503 DATABASE_UNAVAILABLE when the pool is exhausted, also while checking a key', async () => {
    const hold = holdThePool();
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      expectUnavailable(await ask({ authorization: `Bearer ${key}` }), 'pool');
      expectUnavailable(await ask(), 'pool');
      const ready = await yoga.fetch('http://newsgraph.test/readyz');
      expect(ready.status).toBe(503);
    } finally {
      hold.release();
      await hold.done;
    }
    const after = await ask({ authorization: `Bearer ${key}` });
    expect(after.status).toBe(200);
    expect(after.body.data).toEqual({ viewer: { keyName: 'failures-editor' }, articles: { totalCount: 0 } });
    expect((await yoga.fetch('http://newsgraph.test/readyz')).status).toBe(200);
  });

  it('answers 503 DATABASE_UNAVAILABLE when its connection is terminated mid-request, also while checking a key', async () => {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      for (const [table, headers, query] of [
        ['ApiKey', { authorization: `Bearer ${key}` }, '{ viewer { keyName } }'],
        ['Article', {}, '{ articles { totalCount } }'],
      ] as const) {
        await admin.query('BEGIN');
        await admin.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
        const pending = ask(headers, query);
        // the request's statement waits for the lock: end its connection, as a failover would,
        // and again each time the read is tried again on another connection
        // (a read is tried again after each of LOST_READ_RETRY_DELAYS_MS; the key check's
        // bookkeeping write is not)
        expect(await terminateWaiter(admin)).toBe(true);
        for (let kill = 0; kill < LOST_READ_RETRY_DELAYS_MS.length; kill++)
          if (!(await terminateWaiter(admin, 40))) break;
        await admin.query('ROLLBACK');
        expectUnavailable(await pending, 'connection lost');
      }
      // the pool replaces the connection: the next request is served
      expect((await ask({ authorization: `Bearer ${key}` })).status).toBe(200);
    } finally {
      await admin.end();
    }
  });
  it('a read whose connection is terminated once is tried again on another: the request is answered', async () => {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE "Article" IN ACCESS EXCLUSIVE MODE');
      const pending = ask({}, '{ articles { totalCount } }');
      expect(await terminateWaiter(admin)).toBe(true);
      await admin.query('ROLLBACK');
      const answer = await pending;
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.data).toEqual({ articles: { totalCount: 0 } });
    } finally {
      await admin.end();
    }
  });

  it('an adapter made with retryLostReads: false (the embedded database: its lost connection is the watchdog) sends a read once', async () => {
    const { postgresAdapter } = await import('../../src/db/adapters.ts');
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      for (const retryLostReads of [false, true]) {
        const { adapter, pool } = postgresAdapter(process.env.DATABASE_URL!, { max: 1, retryLostReads });
        const connection = await adapter.connect();
        const marker = `lost_read_${retryLostReads}`;
        const pending = connection
          .queryRaw({ sql: `SELECT 1 AS "${marker}" FROM pg_sleep(1)`, args: [], argTypes: [] })
          .then(
            (result) => result.rows.length,
            () => 'failed',
          );
        let victim: number | undefined;
        for (let i = 0; i < 100 && victim === undefined; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const { rows } = await admin.query(
            `SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
            [`%${marker}%`],
          );
          victim = rows[0]?.pid;
        }
        expect(victim).toBeDefined();
        await admin.query('SELECT pg_terminate_backend($1)', [victim]);
        expect(await pending).toBe(retryLostReads ? 1 : 'failed');
        await connection.dispose();
        await pool.end();
      }
    } finally {
      await admin.end();
    }
  });

  it('a COMMIT that took effect but whose answer was lost: the write answers success, and was made once', async () => {
    // the connection drops just after PostgreSQL committed, before its answer reached the API
    const lose = losingCommitAnswer();
    const before = Number(/newsgraph_commits_recovered_total (\d+)/.exec(await metricsText())?.[1] ?? 0);
    let answer;
    try {
      answer = await ask(
        { authorization: `Bearer ${key}` },
        'mutation { createTopic(input: { name: "Committed Unanswered" }) { __typename ... on CreateTopicSuccess { topic { slug } } } }',
      );
    } finally {
      lose.restore();
    }
    expect(lose.commits).toBe(1);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.data).toEqual({
      createTopic: { __typename: 'CreateTopicSuccess', topic: { slug: 'committed-unanswered' } },
    });
    expect(await prisma.topic.count({ where: { slug: 'committed-unanswered' } })).toBe(1);
    expect(Number(/newsgraph_commits_recovered_total (\d+)/.exec(await metricsText())?.[1])).toBe(before + 1);
  });

  it('a lost answer to COMMIT that the database cannot be asked about: 503 "commit unknown", never "nothing was written"', async () => {
    const lose = losingCommitAnswer({ unanswerable: true });
    let answer;
    try {
      answer = await ask(
        { authorization: `Bearer ${key}` },
        'mutation { createTopic(input: { name: "Committed Unknown" }) { __typename } }',
      );
    } finally {
      lose.restore();
    }
    expect(lose.asked).toBeGreaterThan(1); // asked again while the wait lasted
    expectUnavailable(answer, 'commit unknown');
    expect(answer.body.errors?.[0]?.message).toContain('read it back before writing it again');
    expect(await prisma.topic.count({ where: { slug: 'committed-unknown' } })).toBe(1);
  });

  it('a COMMIT that failed is not taken for one that took effect', async () => {
    const { commitOutcome } = await import('../../src/resolvers/writing/transaction.ts');
    const [{ xid }] = (await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`CREATE TEMPORARY TABLE committed_or_not (n int) ON COMMIT DROP`;
      return tx.$queryRaw<{ xid: string }[]>`SELECT txid_current()::text AS "xid"`;
    })) as [{ xid: string }];
    expect(await commitOutcome(prisma, xid)).toBe('committed');
    const rolledBack = await prisma
      .$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ xid: string }[]>`SELECT txid_current()::text AS "xid"`;
        throw Object.assign(new Error('roll back'), { xid: row!.xid });
      })
      .catch((error: { xid: string }) => error.xid);
    expect(await commitOutcome(prisma, rolledBack)).toBe('aborted');
  });
});
