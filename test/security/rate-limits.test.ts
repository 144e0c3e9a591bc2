import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../src/config.ts';
import { prisma } from '../../src/db/client.ts';
import { createApiKey } from '../../src/resolvers/access/apiKeys.ts';
import { createLogger, createMetrics } from '../../src/observability.ts';
import type { RateLimitSettings } from '../../src/config.ts';
import { MemoryStore, RedisStore, type CounterStore } from '../../src/rateLimit.ts';
import { createServer } from '../../src/yoga.ts';
import { recordStatements } from '../support/api.ts';

/** Rate limits per API key and per client address, in memory and shared through Redis. */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const stores: CounterStore[] = [];
let key: string;

beforeAll(async () => {
  key = (await createApiKey(prisma, 'limited-editor', 'EDITOR')).secret;
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

function server(limits: Partial<RateLimitSettings>, counters: CounterStore) {
  stores.push(counters);
  const rateLimits = { ...config().rateLimits, windowMs: 60_000, anonymous: 3, perKey: 5, trustProxy: true, ...limits };
  return createServer(
    { ...config(), rateLimits },
    { counters, logger: createLogger('silent'), metrics: createMetrics() },
  );
}

async function ask(yoga: ReturnType<typeof createServer>, headers: Record<string, string>) {
  const { statements, result } = await recordStatements(async () => {
    const response = await yoga.fetch('http://newsgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ topics { totalCount } }' }),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as { errors?: { extensions: { code: string } }[] },
    };
  });
  return { ...result, statements };
}

describe('requests in flight per client', () => {
  it('lets one client have RATE_LIMIT_CONCURRENT requests at once; more get 429 until one ends', async () => {
    const yoga = server({ anonymous: 0, perKey: 0, concurrent: 2 }, new MemoryStore());
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const answers = await Promise.all(Array.from({ length: 8 }, () => ask(yoga, from('203.0.113.9'))));
    const refused = answers.filter((answer) => answer.status === 429);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(2);
    expect(refused).toHaveLength(6);
    for (const answer of refused) {
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', concurrent: 2 });
      expect(answer.retryAfter).toBe('1');
      expect(answer.statements).toEqual([]);
    }
    // another client is not affected, and the first one may ask again once its requests ended
    expect((await ask(yoga, from('203.0.113.10'))).status).toBe(200);
    const again = await Promise.all([ask(yoga, from('203.0.113.9')), ask(yoga, from('203.0.113.9'))]);
    expect(again.map((answer) => answer.status)).toEqual([200, 200]);
  });
});

describe('rate limits (in memory)', () => {
  it('refuses a client over its budget with 429 and Retry-After, running nothing; others keep theirs', async () => {
    const yoga = server({}, new MemoryStore());
    const a = { 'x-forwarded-for': '203.0.113.7' };
    for (let i = 0; i < 3; i++) expect((await ask(yoga, a)).status).toBe(200);
    const refused = await ask(yoga, a);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.statements).toEqual([]);
    expect((await ask(yoga, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
  });

  it('gives API keys their own, separate budget', async () => {
    const yoga = server({}, new MemoryStore());
    const client = { 'x-forwarded-for': '203.0.113.9' };
    for (let i = 0; i < 3; i++) await ask(yoga, client);
    expect((await ask(yoga, client)).status).toBe(429);
    const withKey = { ...client, authorization: `Bearer ${key}` };
    for (let i = 0; i < 5; i++) expect((await ask(yoga, withKey)).status).toBe(200);
    expect((await ask(yoga, withKey)).status).toBe(429);
  });

  it('limits an address whose keys are refused, as it limits an anonymous one, whether each key is new or not', async () => {
    const yoga = server({ perKey: 0 }, new MemoryStore());
    const from = { 'x-forwarded-for': '203.0.113.70' };
    const made = () => `Bearer ngk_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '').slice(0, 11)}`;
    const repeated = made();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await ask(yoga, { ...from, authorization: made() })).status);
    // a key used again, and a valid key, from that address wait for the window too, running nothing
    for (const authorization of [made(), repeated, repeated, `Bearer ${key}`]) {
      const refused = await ask(yoga, { ...from, authorization });
      statuses.push(refused.status);
      expect(refused.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
      expect(refused.statements).toEqual([]);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429]);
    // a valid key elsewhere counts nothing against its address, and another address is not affected
    const other = { 'x-forwarded-for': '203.0.113.71', authorization: `Bearer ${key}` };
    for (let i = 0; i < 8; i++) expect((await ask(yoga, other)).status).toBe(200);
    expect((await ask(yoga, { 'x-forwarded-for': '203.0.113.72', authorization: made() })).status).toBe(401);
  });

  it('tells a refused-key address to retry when its window ends, not a whole window later', async () => {
    await retryAfterIsTimeLeft(new MemoryStore(), {});
  });

  it('ignores X-Forwarded-For unless the proxy is trusted', async () => {
    const yoga = server({ trustProxy: false }, new MemoryStore());
    for (let i = 0; i < 3; i++) await ask(yoga, { 'x-forwarded-for': `192.0.2.${i}` });
    expect((await ask(yoga, { 'x-forwarded-for': '192.0.2.99' })).status).toBe(429);
  });
});

/**
 * An address's refused-key window opened 10 s long (as if 50 s of a 60 s window had passed): a
 * keyed request from it is told to retry within those 10 s.
 */
async function retryAfterIsTimeLeft(counters: CounterStore, limits: Partial<RateLimitSettings>) {
  const yoga = server({ anonymous: 2, ...limits }, counters);
  const address = `203.0.113.${80 + stores.length}`;
  for (let i = 0; i < 2; i++) await counters.hit(`badkey:${address}`, 10_000);
  const refused = await ask(yoga, { 'x-forwarded-for': address, authorization: `Bearer ${key}` });
  expect(refused.status).toBe(429);
  expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(refused.retryAfter)).toBeLessThanOrEqual(10);
  expect(refused.body.errors?.[0]?.extensions).toMatchObject({ retryAfter: Number(refused.retryAfter) });
}

describe('rate limits shared through Redis', () => {
  it('tells a refused-key address to retry when its window ends, not a whole window later', async () => {
    const prefix = `newsgraph-test:${randomUUID()}:`;
    await retryAfterIsTimeLeft(new RedisStore(REDIS_URL, prefix), { redisUrl: REDIS_URL, redisPrefix: prefix });
  });

  it('two server instances share one budget per client', async () => {
    const prefix = `newsgraph-test:${randomUUID()}:`;
    const one = server({ anonymous: 4, redisUrl: REDIS_URL, redisPrefix: prefix }, new RedisStore(REDIS_URL, prefix));
    const two = server({ anonymous: 4, redisUrl: REDIS_URL, redisPrefix: prefix }, new RedisStore(REDIS_URL, prefix));
    const client = { 'x-forwarded-for': '203.0.113.50' };
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask(i % 2 ? two : one, client)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect((await ask(two, { 'x-forwarded-for': '203.0.113.51' })).status).toBe(200);
    // and one count of requests whose key was refused
    const refusedKeys = [];
    for (let i = 0; i < 5; i++) {
      const authorization = `Bearer ngk_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '').slice(0, 11)}`;
      refusedKeys.push((await ask(i % 2 ? two : one, { 'x-forwarded-for': '203.0.113.52', authorization })).status);
    }
    expect(refusedKeys).toEqual([401, 401, 401, 401, 429]);
  });

  it('serves rather than refuses everyone when Redis is unreachable', async () => {
    const yoga = server({ anonymous: 1 }, new RedisStore('redis://127.0.0.1:1', 'unreachable:'));
    for (let i = 0; i < 3; i++) expect((await ask(yoga, { 'x-forwarded-for': '203.0.113.77' })).status).toBe(200);
  });
});
