import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { RateLimitSettings } from './config.ts';
import type { Logger, Metrics } from './observability.ts';

/**
 * Fixed-window rate limits, per API key (when a Bearer token is sent) or per client address
 * (anonymous), with separate budgets. Over budget: HTTP 429 with Retry-After, and nothing runs.
 * Counters live in memory, or in Redis when REDIS_URL is set so that replicas share budgets.
 */

/** A bucket's hits in its current window, this one included. */
export interface WindowCount {
  count: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/**
 * Fixed-window counters: `hit` counts one request in `bucket`, whose window of `windowMs` ms starts
 * at its first hit; `close` releases the store's connection.
 */
export interface CounterStore {
  hit(bucket: string, windowMs: number): Promise<WindowCount>;
  /** The bucket's count in its current window and the time left in it, without counting (count 0 when none is open). */
  peek(bucket: string): Promise<WindowCount>;
  close(): Promise<void>;
}

/** Counters in this process's memory (one replica); past 100,000 buckets, expired windows are pruned. */
export class MemoryStore implements CounterStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async hit(bucket: string, windowMs: number, now = Date.now()): Promise<WindowCount> {
    if (this.windows.size > 100_000) this.prune(now);
    let entry = this.windows.get(bucket);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + windowMs };
      this.windows.set(bucket, entry);
    }
    entry.count += 1;
    return { count: entry.count, resetMs: entry.resetAt - now };
  }

  async peek(bucket: string, now = Date.now()): Promise<WindowCount> {
    const entry = this.windows.get(bucket);
    return entry && entry.resetAt > now
      ? { count: entry.count, resetMs: entry.resetAt - now }
      : { count: 0, resetMs: 0 };
  }

  private prune(now: number): void {
    for (const [bucket, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(bucket);
  }

  async close(): Promise<void> {}
}

/** INCR and start the window on the first hit, atomically; returns the count and the time left. */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }`;

/** A bucket's count and the time left in its window, in one round trip (count 0 when none is open). */
const PEEK_SCRIPT = `
local count = redis.call('GET', KEYS[1])
if not count then return { 0, 0 } end
return { tonumber(count), redis.call('PTTL', KEYS[1]) }`;

/**
 * Counters in Redis at `prefix` + bucket, shared by replicas: one atomic script per hit (INCR, and
 * PEXPIRE on the first). Connect and command timeouts 1 s, one retry; failures reach the caller.
 */
export class RedisStore implements CounterStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 1_000 });
    this.redis.on('error', () => undefined); // reported per request by the limiter
  }

  async hit(bucket: string, windowMs: number): Promise<WindowCount> {
    const [count, ttl] = (await this.redis.eval(HIT_SCRIPT, 1, `${this.prefix}${bucket}`, String(windowMs))) as [
      number,
      number,
    ];
    return { count, resetMs: ttl };
  }

  async peek(bucket: string): Promise<WindowCount> {
    const [count, ttl] = (await this.redis.eval(PEEK_SCRIPT, 1, `${this.prefix}${bucket}`)) as [number, number];
    return { count, resetMs: Math.max(0, ttl) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * The client's address: the first X-Forwarded-For entry when `trustProxy` (behind a proxy that
 * sets it), else the socket's peer; `unknown` without either (in-process calls).
 */
export function clientAddress(request: Request, serverContext: unknown, trustProxy: boolean): string {
  const socket = (serverContext as { req?: { socket?: { remoteAddress?: string } } } | undefined)?.req?.socket;
  return addressOf(request.headers.get('x-forwarded-for'), socket?.remoteAddress, trustProxy);
}

/** clientAddress from the raw parts: an X-Forwarded-For value and the socket's peer address. */
export function addressOf(
  forwardedFor: string | null | undefined,
  peer: string | undefined,
  trustProxy: boolean,
): string {
  const forwarded = trustProxy ? forwardedFor?.split(',')[0]?.trim() : undefined;
  return forwarded || peer || 'unknown';
}

/** The API key of an `Authorization: Bearer <key>` value, if it is one. */
function bearerToken(authorization: string | null | undefined): string | undefined {
  return /^Bearer +(\S+)/i.exec(authorization ?? '')?.[1];
}

/**
 * A client as the request scope names it, for fair turns at the database (db/fairTurns.ts): `key:`
 * and its Bearer token, else `address:` and its address; the same clients the rate limits count.
 */
export function clientKey(authorization: string | null | undefined, address: () => string): string {
  const token = bearerToken(authorization);
  return token ? `key:${token}` : `address:${address()}`;
}

const EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

/** A client's rate-limit bucket (a SHA-256 of its Bearer token, else its address) and its limit. */
function bucketOf(
  settings: RateLimitSettings,
  authorization: string | null | undefined,
  address: () => string,
): { bucket: string; kind: 'key' | 'anonymous'; limit: number } {
  const token = bearerToken(authorization);
  return token
    ? {
        bucket: `key:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`,
        kind: 'key',
        limit: settings.perKey,
      }
    : { bucket: `ip:${address()}`, kind: 'anonymous', limit: settings.anonymous };
}

/**
 * Counts one request of a client in its bucket: past `limit`, what to answer (the message, and the
 * seconds until the window resets); null within it, for a limit of 0 (none), and when the store
 * fails (the request is served, and a warning logged).
 */
async function countRequest(
  settings: RateLimitSettings,
  store: CounterStore,
  log: Logger,
  bucket: string,
  limit: number,
): Promise<{ message: string; retryAfter: number } | null> {
  if (limit === 0) return null;
  let window: WindowCount;
  try {
    window = await store.hit(bucket, settings.windowMs);
  } catch (error) {
    log.warn({ err: { message: (error as Error).message } }, 'rate limiter unavailable; request allowed');
    return null;
  }
  if (window.count <= limit) return null;
  return {
    message: `Rate limit of ${limit} requests per ${settings.windowMs / 1000} s exceeded`,
    retryAfter: Math.max(1, Math.ceil(window.resetMs / 1000)),
  };
}

/** The bucket of an address's requests whose key was refused (unknown, revoked: answered 401). */
const refusedKeysOf = (address: string) => `badkey:${address}`;

/**
 * Counts one request of a client (countRequest in bucketOf's bucket). A request with a key is
 * first refused while its address has had RATE_LIMIT_ANONYMOUS requests refused for their key
 * (countRefusedKey) in the window: each made-up key would otherwise be a fresh bucket of its own,
 * and a client sending new ones would never be limited, each costing a lookup. Any key from that
 * address waits for the window to end (Retry-After: the seconds left in it), as an anonymous
 * client over its budget does.
 */
async function countClient(
  settings: RateLimitSettings,
  store: CounterStore,
  log: Logger,
  client: { bucket: string; kind: 'key' | 'anonymous'; limit: number },
  address: () => string,
): Promise<{ message: string; retryAfter: number } | null> {
  if (client.kind === 'key' && settings.anonymous > 0) {
    let refusedKeys: WindowCount = { count: 0, resetMs: 0 };
    try {
      refusedKeys = await store.peek(refusedKeysOf(address()));
    } catch (error) {
      log.warn({ err: { message: (error as Error).message } }, 'rate limiter unavailable; request allowed');
    }
    if (refusedKeys.count >= settings.anonymous) {
      return {
        message: `Rate limit of ${settings.anonymous} requests with a refused API key per ${settings.windowMs / 1000} s from one address exceeded`,
        retryAfter: Math.max(1, Math.ceil(refusedKeys.resetMs / 1000)),
      };
    }
  }
  return countRequest(settings, store, log, client.bucket, client.limit);
}

/**
 * Counts a request from `address` whose API key was refused (unknown or revoked: 401), for
 * countClient. A store failure is logged, as for any count.
 */
export async function countRefusedKey(
  settings: RateLimitSettings,
  store: CounterStore,
  log: Logger,
  address: string,
): Promise<void> {
  if (settings.anonymous === 0) return;
  try {
    await store.hit(refusedKeysOf(address), settings.windowMs);
  } catch (error) {
    log.warn({ err: { message: (error as Error).message } }, 'rate limiter unavailable; refused key not counted');
  }
}

/** The rate limits of GraphQL over WebSocket (websocket.ts), for a socket's client address. */
export interface SocketRateLimits {
  /**
   * A `connection_init` whose `authorization` is a Bearer token (its lookup is a request's): counted
   * as a request of that key, after the refused-key check of its address; the error past them
   * (RATE_LIMITED, `retryAfter` in seconds), else null. Without a token: null, uncounted.
   */
  connect(authorization: string | null | undefined, address: string): Promise<GraphQLError | null>;
  /** A `subscribe` message: counted as a request of its client; the error past the limits, else null. */
  message(authorization: string | null | undefined, address: string): Promise<GraphQLError | null>;
  /** A `connection_init` whose key was refused (4403), counted against its address as an HTTP 401 is. */
  keyRefused(authorization: string | null | undefined, address: string): Promise<void>;
}

/**
 * GraphQL over WebSocket's rate limits, in the same buckets, limits and counters as HTTP requests:
 * graphql-ws runs none of Yoga's request hooks, and one socket could otherwise send thousands of
 * `subscribe` messages, each parsed and validated before any other limit applies, and a client
 * open sockets with one made-up key after another, each looked up. A store that fails lets the
 * message through, with a warning, as for HTTP.
 */
export function socketRateLimits(settings: RateLimitSettings, store: CounterStore, log: Logger): SocketRateLimits {
  const count = async (authorization: string | null | undefined, address: string) => {
    const refused = await countClient(
      settings,
      store,
      log,
      bucketOf(settings, authorization, () => address),
      () => address,
    );
    return refused
      ? new GraphQLError(refused.message, { extensions: { code: 'RATE_LIMITED', retryAfter: refused.retryAfter } })
      : null;
  };
  return {
    connect: async (authorization, address) => (bearerToken(authorization) ? count(authorization, address) : null),
    message: count,
    keyRefused: async (authorization, address) => {
      if (bearerToken(authorization)) await countRefusedKey(settings, store, log, address);
    },
  };
}

/**
 * Yoga plugin: refuses a client's request while RATE_LIMIT_CONCURRENT of its requests are in
 * flight in this process (HTTP 429, RATE_LIMITED with `concurrent`, Retry-After 1); then counts
 * each request in its bucket (a SHA-256 of the Bearer token, else the client
 * address) and past the limit answers HTTP 429, code RATE_LIMITED, with Retry-After (seconds).
 * Exempt: /healthz, /readyz, /metrics, OPTIONS and the GraphiQL page; a limit of 0 is none. When the
 * store fails, the request is served and a warning logged.
 */
export function useRateLimits(settings: RateLimitSettings, store: CounterStore, log: Logger, metrics: Metrics): Plugin {
  // requests in flight per client, in this process (the pool they share is this process's)
  const inFlight = new Map<string, number>();
  const counted = new WeakMap<Request, string>();
  const release = (request: Request) => {
    const bucket = counted.get(request);
    if (bucket === undefined) return;
    counted.delete(request);
    const left = (inFlight.get(bucket) ?? 1) - 1;
    if (left > 0) inFlight.set(bucket, left);
    else inFlight.delete(bucket);
  };
  return {
    async onResponse({ request, response, serverContext }) {
      release(request);
      if (response.status === 401 && bearerToken(request.headers.get('authorization'))) {
        await countRefusedKey(settings, store, log, clientAddress(request, serverContext, settings.trustProxy));
      }
    },
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (EXEMPT.has(url.pathname) || request.method === 'OPTIONS') return;
      if (request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html')) return; // the GraphiQL page
      const address = () => clientAddress(request, serverContext, settings.trustProxy);
      const client = bucketOf(settings, request.headers.get('authorization'), address);
      const { bucket, kind } = client;
      if (settings.concurrent > 0) {
        const busy = inFlight.get(bucket) ?? 0;
        if (busy >= settings.concurrent) {
          metrics.rateLimited.inc({ kind: 'concurrent' });
          endResponse(
            new fetchAPI.Response(
              JSON.stringify({
                errors: [
                  {
                    message: `At most ${settings.concurrent} requests of one client at a time; wait for one to finish`,
                    extensions: { code: 'RATE_LIMITED', retryAfter: 1, concurrent: settings.concurrent },
                  },
                ],
              }),
              {
                status: 429,
                headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' },
              },
            ),
          );
          return;
        }
        inFlight.set(bucket, busy + 1);
        counted.set(request, bucket);
      }
      const refused = await countClient(settings, store, log, client, address);
      if (!refused) return;
      release(request); // refused: it is not in flight
      metrics.rateLimited.inc({ kind });
      const { message, retryAfter } = refused;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message,
                extensions: { code: 'RATE_LIMITED', retryAfter },
              },
            ],
          }),
          {
            status: 429,
            headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfter) },
          },
        ),
      );
    },
  };
}

/** RedisStore when `redisUrl` is set, else MemoryStore. */
export function createCounterStore(settings: RateLimitSettings): CounterStore {
  return settings.redisUrl ? new RedisStore(settings.redisUrl, settings.redisPrefix) : new MemoryStore();
}
