import { randomUUID } from 'node:crypto';
import { createInMemoryCache, hashSHA256, useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { ResponseCacheSettings } from './config.ts';
import type { Logger } from 'pino';

/**
 * The response cache of anonymous reads (@graphql-yoga/plugin-response-cache): a query sent
 * without an Authorization header is answered from the cache when the same document, variables
 * and operation name were answered before at the same *data version*.
 *
 * Invalidation is by version, not by entity: every committed write bumps the data version
 * (`dataChanged`, called by writeTransaction after its commit), and the version is part of every
 * cache key, so no answer cached before a write is served after it, whichever rows the answer
 * shows (a list that a new article joins, a count, a facet). Stale entries are never read again
 * and expire after the TTL. The writer's response leaves only after the bump: a client reads its
 * own writes.
 *
 * Where the cache lives: in Redis when REDIS_URL is set (answers and the version shared by every
 * API process); in process memory on the embedded database (one process owns its folder, so no
 * other process can write); off on a PostgreSQL server without Redis, where other processes may
 * write and process memory would serve their stale answers.
 *
 * Redis failures never fail a request: a version that cannot be read skips the cache for that
 * request, a failed read is a miss, a failed write of the cache is dropped (logged). A bump Redis
 * did not take is owed and paid as soon as Redis answers again; until then the owing process
 * serves nothing cached, but another process that still reaches Redis may serve answers from
 * before the write, for at most the TTL. Give the cache's Redis a
 * `maxmemory-policy` that evicts keys with a TTL first (`volatile-lru`): answers then make room,
 * and the version (no TTL) can always be bumped; under `noeviction` a full Redis refuses the bump.
 */

/** Answers larger than this many characters of JSON are not cached (memory: at most 200 answers). */
export const MAX_CACHED_ANSWER_CHARS = 500_000;
const MEMORY_ENTRIES = 200;

/** The data version: read for every cacheable request, bumped after every committed write. */
interface DataVersion {
  read(): Promise<string>;
  bump(): Promise<void>;
}

const versions = new Set<DataVersion>();
/** Data changed before any cache of this process existed (the demo seed at start-up): the first one bumps. */
let changedBeforeCache = false;

/**
 * Tells every response cache of this process that data changed (a write committed): no answer
 * cached before this call is served after it returns. Never throws: a version Redis did not take
 * is bumped again as soon as Redis answers (see RedisVersion).
 */
export async function dataChanged(): Promise<void> {
  if (versions.size === 0) changedBeforeCache = true;
  await Promise.all([...versions].map((version) => version.bump()));
}

class MemoryVersion implements DataVersion {
  private value = 0;
  async read(): Promise<string> {
    return String(this.value);
  }
  async bump(): Promise<void> {
    this.value += 1;
  }
}

/**
 * The version in Redis, shared by every process. A bump Redis does not take (unreachable, out of
 * memory) is owed: it is retried when Redis is ready again and before this process reads the
 * version, and until it is paid this process serves nothing from the cache.
 */
class RedisVersion implements DataVersion {
  private owed = false;
  /** The Redis server's run_id: a Redis restarted from an older snapshot (an older counter) is another version. */
  private runId: string | undefined;
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly log: Logger,
  ) {
    redis.on('ready', () => {
      this.runId = undefined;
      void this.payOwed();
    });
  }
  async read(): Promise<string> {
    if (this.owed && !(await this.payOwed())) throw new Error('a data version bump is owed');
    this.runId ??= /run_id:(\w+)/.exec(await this.redis.info('server'))?.[1] ?? '';
    return `${this.runId}.${(await this.redis.get(this.key)) ?? '0'}`;
  }
  async bump(): Promise<void> {
    this.owed = true;
    await this.payOwed();
  }
  private async payOwed(): Promise<boolean> {
    if (!this.owed) return true;
    try {
      await this.redis.incr(this.key);
      this.owed = false;
      return true;
    } catch (error) {
      this.log.error(
        { cause: (error as Error).message },
        'response cache: data version not bumped; retried when Redis answers',
      );
      return false;
    }
  }
}

/** A key that reads and stores nothing: for a request whose data version could not be read. */
const UNCACHED = 'uncached:';

/**
 * Answers in Redis at `prefix` + key with a TTL (SET PX). Entities are not tracked: invalidation
 * is by data version (see the module comment), so no per-entity sets are kept, and none grow.
 */
function redisCache(redis: Redis, prefix: string, log: Logger): Cache {
  return {
    async get(key) {
      if (key.startsWith(UNCACHED)) return undefined;
      try {
        const text = await redis.get(prefix + key);
        return text ? (JSON.parse(text) as ExecutionResult<Record<string, unknown>>) : undefined;
      } catch {
        return undefined;
      }
    },
    async set(key, result, _entities, ttl) {
      if (key.startsWith(UNCACHED)) return;
      const text = JSON.stringify(result);
      if (text.length > MAX_CACHED_ANSWER_CHARS) return;
      try {
        await redis.set(prefix + key, text, 'PX', Math.max(1, Math.round(ttl)));
      } catch (error) {
        log.warn({ cause: (error as Error).message }, 'response cache: answer not stored');
      }
    },
    invalidate() {
      // by data version: a write moves every reader to new keys
    },
  };
}

/** The in-process cache: the library's LRU, skipping keys of requests without a version and answers over MAX_CACHED_ANSWER_CHARS. */
function memoryCache(): Cache {
  const cache = createInMemoryCache({ max: MEMORY_ENTRIES });
  return {
    get: (key) => (key.startsWith(UNCACHED) ? undefined : cache.get(key)),
    set: (key, result, entities, ttl) =>
      key.startsWith(UNCACHED) || JSON.stringify(result).length > MAX_CACHED_ANSWER_CHARS
        ? undefined
        : cache.set(key, result, entities, ttl),
    invalidate: (entities) => cache.invalidate(entities),
  };
}

/**
 * Yoga plugin: the response cache for `settings` (none when `store` is `off`). Only requests
 * without an Authorization header read or fill it; answers with errors, and answers over
 * MAX_CACHED_ANSWER_CHARS, are not stored. Cached answers carry an ETag (the key) and
 * Last-Modified, but conditional requests (If-None-Match) are always answered in full.
 * Keys include `settings.identity` (the schema and the settings that change answers), so
 * processes of another version or configuration sharing the Redis never serve each other's.
 */
export function useAnonymousResponseCache(
  settings: ResponseCacheSettings & { identity: string },
  log: Logger,
): Plugin | undefined {
  if (settings.store === 'off' || settings.ttlMs <= 0) return undefined;
  let redis: Redis | undefined;
  let version: DataVersion;
  let cache: Cache;
  if (settings.store === 'redis') {
    redis = new Redis(settings.redisUrl!, {
      maxRetriesPerRequest: 1,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      enableOfflineQueue: false,
    });
    redis.on('error', () => undefined); // each failed command is handled where it is sent
    version = new RedisVersion(redis, `${settings.prefix}data-version`, log);
    cache = redisCache(redis, `${settings.prefix}answer:`, log);
  } else {
    version = new MemoryVersion();
    cache = memoryCache();
  }
  versions.add(version);
  if (changedBeforeCache) {
    changedBeforeCache = false;
    void version.bump();
  }
  // Only requests without a key use the cache, and no conditional request does: the plugin would
  // answer 304 for any ETag still stored, also one from before a write.
  const cacheable = (request: Request) =>
    !request.headers.has('authorization') && !request.headers.has('if-none-match');
  const inner = useResponseCache({
    cache,
    ttl: settings.ttlMs,
    session: () => null,
    enabled: cacheable,
    // mutations are never cached; invalidation itself is by data version (dataChanged)
    invalidateViaMutation: true,
    buildResponseCacheKey: async ({ documentString, variableValues, operationName, request }) => {
      // a keyed request never reads the cache: it does not wait for Redis either
      if (!cacheable(request)) return `${UNCACHED}${randomUUID()}`;
      let current: string;
      try {
        current = await version.read();
      } catch {
        return `${UNCACHED}${randomUUID()}`;
      }
      const hash = await hashSHA256(
        JSON.stringify([current, settings.identity, documentString, variableValues ?? {}, operationName ?? null]),
      );
      // the key is also the answer's ETag: opaque (it tells nothing of the data version) and quoted (RFC 9110)
      return `"${hash}"`;
    },
    // (answers over MAX_CACHED_ANSWER_CHARS are dropped by the stores, which serialize them anyway)
    shouldCacheResult: ({ result }) => !result.errors?.length,
  });
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(inner);
    },
    onDispose() {
      versions.delete(version);
      redis?.disconnect();
    },
  };
}

/**
 * For a command that writes without serving (npm run import): with the cache in Redis, its writes
 * bump the shared data version as a server's do, so no API process serves an answer cached before
 * them. Nothing to do otherwise (a memory cache is the embedded owner's, which the command is then;
 * no cache without Redis on a server). Returns what closes its Redis connection.
 */
export function shareDataChanges(settings: ResponseCacheSettings, log: Logger): () => Promise<void> {
  if (settings.store !== 'redis' || !settings.redisUrl) return async () => {};
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 1_000 });
  redis.on('error', () => undefined);
  const version = new RedisVersion(redis, `${settings.prefix}data-version`, log);
  versions.add(version);
  return async () => {
    versions.delete(version);
    await redis.quit().catch(() => redis.disconnect());
  };
}
