import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import { z } from 'zod';

/**
 * Every setting the server reads, parsed once at boot. A bad value stops the process with a
 * message naming the variable; nothing else in the code reads process.env.
 */
const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Rate limits (rateLimit.ts): requests per window (ms) per client address or API key. */
export interface RateLimitSettings {
  /** The window, ms. */
  windowMs: number;
  /** Requests per window for one anonymous client address; 0 for no limit. */
  anonymous: number;
  /** Requests per window for one API key; 0 for no limit. */
  perKey: number;
  /**
   * Requests one client (API key, else address) may have in flight in this process at once; 0
   * for no limit. Each holds up to DB_STATEMENTS_PER_REQUEST connections, so this bounds the
   * share of this process's pool one client can take.
   */
  concurrent: number;
  /** Take the client address from the first X-Forwarded-For entry (behind a trusted proxy). */
  trustProxy: boolean;
  /** Shared counters in Redis (REDIS_URL); in process memory without it. */
  redisUrl?: string;
  /** Key prefix in Redis (one per deployment). */
  redisPrefix: string;
}

/** The longest duration a setting may give, ms: Node's timers and PostgreSQL's take 2^31 - 1. */
const MAX_MS = 2_147_483_647;

/**
 * The environment variables, with their bounds and fixed defaults (zod; other variables are
 * ignored). Defaults that depend on other settings are applied by parseConfig.
 */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** PostgreSQL server connection string. Unset: the embedded database (PGlite) in PGLITE_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// connection string')
    .refine((value) => URL.canParse(value), 'is not a valid URL (percent-encode special characters in the password)')
    .optional(),
  /**
   * PostgreSQL streaming replicas (comma-separated connection strings) that take the reads of
   * query operations; writes and a mutation's own reads stay on DATABASE_URL (db/replicas.ts).
   */
  DATABASE_REPLICA_URLS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'each must be a postgresql:// connection string')
          .refine((value) => URL.canParse(value), 'each must be a valid URL'),
      ),
    )
    .optional(),
  /** Longest wait, after a write commits, for the replicas to replay it before the mutation answers (ms). */
  REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(MAX_MS).default(2_000),
  /** Folder of the embedded database; `memory://` keeps it in memory (tests). */
  PGLITE_DIR: z.string().min(1).default('./data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface to listen on; unset listens on all interfaces. */
  HOST: z.string().min(1).optional(),
  /** Apply pending migrations at start-up. Default: on for the embedded database only. */
  MIGRATE_ON_START: booleanString.optional(),
  /** Fill an empty database with the deterministic demo dataset at start-up. Default: embedded only. */
  SEED_DEMO_DATA: booleanString.optional(),
  MAX_DEPTH: z.coerce.number().int().min(1).default(10),
  MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_DIRECTIVES: z.coerce.number().int().min(0).default(10),
  MAX_TOKENS: z.coerce.number().int().min(100).default(2000),
  MAX_COST: z.coerce.number().int().min(1).default(50_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_000_000),
  /** Operations per batched request (a JSON array); 0 refuses batches. */
  BATCH_LIMIT: z.coerce.number().int().min(0).max(100).default(0),
  /** Comma-separated origins allowed to call the API from browsers, e.g. https://app.example.com. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each origin is scheme://host[:port]'))),
  /** GraphiQL at GET /graphql. Default: on, except in production. */
  GRAPHIQL: booleanString.optional(),
  /** Schema introspection. Default: on, except in production. */
  INTROSPECTION: booleanString.optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  /**
   * Named prepared statements (parsed and planned once per connection). Turn off behind a pooler
   * that does not keep them per client (PgBouncer in transaction mode before 1.21).
   */
  DB_PREPARED_STATEMENTS: booleanString.default(true),
  /** Database statements one request may run at once (its share of the pool). */
  DB_STATEMENTS_PER_REQUEST: z.coerce.number().int().min(1).max(100).default(2),
  /**
   * Longest time for one statement of a request, in ms (0: none): PostgreSQL's statement_timeout
   * on a server; on the embedded database, the statement is stopped by restarting it.
   */
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(MAX_MS).default(5_000),
  /** Longest wait for a row or table lock, in ms (PostgreSQL lock_timeout; 0: none). Servers only. */
  LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(MAX_MS).default(3_000),
  /** Longest time for one HTTP request, in ms; past it the client gets 503 REQUEST_TIMEOUT (0: none). */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).max(MAX_MS).default(30_000),
  /** How long a request waits for a database connection before failing, in ms. */
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(MAX_MS).default(3_000),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).max(MAX_MS).default(60_000),
  /** Requests per window per anonymous client address; 0: no limit. Default: 120 in production, none otherwise. */
  RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(0).optional(),
  /** Requests per window per API key; 0: no limit. Default: 1,200 in production, none otherwise. */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).optional(),
  /** Requests one client may have in flight at once per process; 0: no limit. Default: 2 in production, none otherwise. */
  RATE_LIMIT_CONCURRENT: z.coerce.number().int().min(0).max(1_000).optional(),
  /** Behind a reverse proxy: take the client address from X-Forwarded-For. */
  TRUST_PROXY: booleanString.default(false),
  /** Share rate-limit counters between replicas through this Redis. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  REDIS_PREFIX: z.string().default('newsgraph:ratelimit:'),
  /**
   * How long an anonymous read's answer is cached, in ms; 0: no response cache. Kept in Redis
   * (REDIS_URL) or, on the embedded database, in memory; off on a PostgreSQL server without Redis.
   */
  RESPONSE_CACHE_TTL_MS: z.coerce.number().int().min(0).max(MAX_MS).default(60_000),
  /**
   * A persisted-documents manifest (JSON: document id -> document text, as graphql-codegen's
   * client preset writes it): requests may send `documentId` instead of the query.
   */
  TRUSTED_DOCUMENTS: z.string().min(1).optional(),
  /** Run only the documents of TRUSTED_DOCUMENTS: a request with a query text is refused. */
  TRUSTED_DOCUMENTS_ONLY: booleanString.default(false),
  /** Prefix of the response cache's keys in Redis. */
  RESPONSE_CACHE_PREFIX: z.string().min(1).default('newsgraph:cache:'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object per line) or `pretty` (for people). Default: pretty on a terminal outside production. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** Production on the embedded database is refused unless this is true (one process, one machine). */
  ALLOW_EMBEDDED_IN_PRODUCTION: booleanString.default(false),
  /**
   * Story detection (src/resolvers/stories/): the least estimated share of the smaller article's
   * 4-word shingles the larger holds for two articles with a body to be one story, 0-1.
   */
  STORY_SIMILARITY: z.coerce.number().min(0.05).max(1).default(0.7),
  /** The least Jaccard similarity of two titles' word sets for a short text (no body) to join a story, 0-1. */
  STORY_TITLE_SIMILARITY: z.coerce.number().min(0.05).max(1).default(0.7),
  /** Largest difference in publication time, in hours, of two articles the detector puts in one story. */
  STORY_WINDOW_HOURS: z.coerce.number().min(0).max(8_760).default(72),
  /**
   * The API's address as clients reach it (scheme://host[:port], no path): the base of the feed
   * URLs `SavedSearch.feeds` gives. Default: http://localhost:PORT.
   */
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s]+$/, 'must be scheme://host[:port], without a path')
    .optional(),
  /** Webhook receivers on loopback, private and reserved addresses are refused unless this is true. */
  WEBHOOK_ALLOW_PRIVATE: booleanString.default(false),
  /** The delay before a failed webhook delivery's first retry, ms; each further retry waits twice as long (with jitter), at most an hour. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(MAX_MS).default(1_000),
  /** A webhook whose every attempt has failed for this long is disabled, ms. Default: 3 days. */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce.number().int().min(1_000).max(2_592_000_000).default(259_200_000),
  /** One webhook POST's time limit, ms. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** How often the webhook worker looks for work besides this process's own writes, ms. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(MAX_MS).default(1_000),
  /** Run the webhook worker in this process (any number of processes may: they share the work). */
  WEBHOOK_WORKER: booleanString.default(true),
  /** Open subscriptions (SSE or WebSocket) one API key may hold in this process. */
  SUBSCRIPTIONS_PER_KEY: z.coerce.number().int().min(0).max(100_000).default(50),
  /** Open anonymous subscriptions one client address may hold in this process. */
  SUBSCRIPTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(100_000).default(10),
  /** Open WebSockets one client address may hold in this process (0: no limit); more are refused (429) at the handshake. */
  WEBSOCKETS_PER_ADDRESS: z.coerce.number().int().min(0).max(100_000).default(50),
  /** The Redis pub/sub channel of article events (with REDIS_URL): processes sharing it see each other's writes. */
  EVENTS_CHANNEL: z.string().min(1).max(200).default('newsgraph:articleEvents'),
  /** Days a trashed article is kept before the server purges it for good (0: never). */
  TRASH_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  /** Longest wait for in-flight requests on SIGTERM/SIGINT before exiting anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(MAX_MS).default(10_000),
});

/** The parsed settings (see parseConfig); durations in ms, sizes in bytes. */
export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  database: DatabaseTarget;
  /** Read replicas of the server (none on the embedded database), and how long a write waits for them (ms). */
  replicas: { urls: string[]; waitMs: number };
  port: number;
  host: string | undefined;
  migrateOnStart: boolean;
  seedDemoData: boolean;
  /** Story detection thresholds (STORY_SIMILARITY, STORY_TITLE_SIMILARITY) and window (STORY_WINDOW_HOURS). */
  stories: { similarity: number; titleSimilarity: number; windowHours: number };
  limits: { maxDepth: number; maxAliases: number; maxDirectives: number; maxTokens: number; maxCost: number };
  maxBodyBytes: number;
  /** Open WebSockets per client address in this process (0: no limit). */
  websocketsPerAddress: number;
  batchLimit: number;
  corsOrigins: string[];
  graphiql: boolean;
  introspection: boolean;
  /** Production mode: no field suggestions in errors; GraphiQL and introspection off unless enabled. */
  production: boolean;
  shutdownTimeoutMs: number;
  requestTimeoutMs: number;
  dbPoolSize: number;
  /** Name the statements sent to a PostgreSQL server, so each connection prepares them once. */
  dbPreparedStatements: boolean;
  /** Statements one request may run at once. */
  dbStatementsPerRequest: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  dbConnectTimeoutMs: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  rateLimits: RateLimitSettings;
  responseCache: ResponseCacheSettings;
  alerts: AlertSettings;
  trustedDocuments: TrustedDocumentSettings;
  /** Days a trashed article is kept (TRASH_RETENTION_DAYS; 0: never purged by the server). */
  trashRetentionDays: number;
};

/** Trusted documents (trustedDocuments.ts): the manifest's documents by id, and whether only they run. */
export interface TrustedDocumentSettings {
  documents?: ReadonlyMap<string, string>;
  only: boolean;
}

/** The documents of a persisted-documents manifest file; ConfigError naming TRUSTED_DOCUMENTS if it is not one. */
function readManifest(file: string): ReadonlyMap<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `Invalid configuration:\n  TRUSTED_DOCUMENTS: cannot read ${file}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const entries = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : [];
  if (!entries.length || entries.some(([, text]) => typeof text !== 'string')) {
    throw new ConfigError(
      `Invalid configuration:\n  TRUSTED_DOCUMENTS: ${file} is not a manifest (a JSON object of document id -> document text)`,
    );
  }
  for (const [id, text] of entries as [string, string][]) {
    try {
      parse(text);
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration:\n  TRUSTED_DOCUMENTS: ${file}: the document ${id} is not GraphQL (${(error as Error).message.split('\n')[0]})`,
      );
    }
  }
  return new Map(entries as [string, string][]);
}

/** Saved searches' feeds, webhooks and subscriptions (src/resolvers/alerts/). */
export interface AlertSettings {
  /** The base of feed URLs (PUBLIC_URL). */
  publicUrl: string;
  webhooks: {
    allowPrivate: boolean;
    retryBaseMs: number;
    disableAfterMs: number;
    timeoutMs: number;
    pollMs: number;
  };
  /** Run the webhook worker in this process. */
  webhookWorker: boolean;
  /** Open subscriptions per API key and per anonymous address, in this process. */
  subscriptions: { perKey: number; perAddress: number };
  /** Redis for the event broker (REDIS_URL), and its channel. */
  redisUrl?: string;
  eventsChannel: string;
}

/** The response cache of anonymous reads (responseCache.ts). */
export interface ResponseCacheSettings {
  /** Where answers and the data version live: Redis (shared), process memory (embedded), or nowhere. */
  store: 'memory' | 'redis' | 'off';
  /** How long an answer is kept, in ms (it is never served after a write, whatever its age). */
  ttlMs: number;
  redisUrl?: string;
  /** Prefix of the cache's Redis keys. */
  prefix: string;
}

/**
 * Where the data lives: the embedded database (PGlite) in `dataDir` (`memory://`: in memory), or
 * the PostgreSQL server at `url`.
 */
export type DatabaseTarget = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };

/**
 * Why the embedded database cannot live in `dataDir`, or undefined: it (or the nearest part of its
 * path that exists) is not a folder, or that folder cannot be written. `memory://` needs no folder.
 */
function embeddedFolderProblem(dataDir: string): string | undefined {
  if (dataDir.startsWith('memory://')) return undefined;
  const absolute = path.resolve(dataDir);
  let existing = absolute;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(existing);
  } catch (error) {
    return `cannot read ${existing} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (!stat.isDirectory()) {
    return existing === absolute
      ? `${absolute} is a file, not a folder`
      : `${absolute} cannot be made: ${existing} is a file, not a folder`;
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    return existing === absolute
      ? `${absolute} is not writable by this user`
      : `${absolute} cannot be made: ${existing} is not writable by this user`;
  }
  return undefined;
}

/** A bad setting; the message lists each offending variable with its problem, one per line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `env` with EnvSchema and fills in the defaults that depend on the database (embedded or a
 * server) and on NODE_ENV. ConfigError for any bad value, and for production on the embedded
 * database unless ALLOW_EMBEDDED_IN_PRODUCTION is true.
 */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const database: DatabaseTarget = e.DATABASE_URL
    ? { kind: 'postgres', url: e.DATABASE_URL }
    : { kind: 'pglite', dataDir: e.PGLITE_DIR };
  const embedded = database.kind === 'pglite';
  const folderProblem = database.kind === 'pglite' ? embeddedFolderProblem(database.dataDir) : undefined;
  if (folderProblem) throw new ConfigError(`Invalid configuration:\n  PGLITE_DIR: ${folderProblem}`);
  const production = e.NODE_ENV === 'production';
  if (embedded && e.DATABASE_REPLICA_URLS?.length) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_REPLICA_URLS: replicas need a primary: set DATABASE_URL too',
    );
  }
  if (production && embedded && !e.ALLOW_EMBEDDED_IN_PRODUCTION) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_URL: production needs a PostgreSQL server (the embedded database is one process on one machine); set DATABASE_URL, or ALLOW_EMBEDDED_IN_PRODUCTION=true to run on the embedded database anyway',
    );
  }
  if (e.TRUSTED_DOCUMENTS_ONLY && !e.TRUSTED_DOCUMENTS) {
    throw new ConfigError(
      'Invalid configuration:\n  TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS, the manifest of the documents to run',
    );
  }
  return {
    nodeEnv: e.NODE_ENV,
    database,
    replicas: { urls: e.DATABASE_REPLICA_URLS ?? [], waitMs: e.REPLICA_WAIT_MS },
    port: e.PORT,
    host: e.HOST,
    migrateOnStart: e.MIGRATE_ON_START ?? embedded,
    seedDemoData: e.SEED_DEMO_DATA ?? embedded,
    stories: {
      similarity: e.STORY_SIMILARITY,
      titleSimilarity: e.STORY_TITLE_SIMILARITY,
      windowHours: e.STORY_WINDOW_HOURS,
    },
    limits: {
      maxDepth: e.MAX_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxDirectives: e.MAX_DIRECTIVES,
      maxTokens: e.MAX_TOKENS,
      maxCost: e.MAX_COST,
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    websocketsPerAddress: e.WEBSOCKETS_PER_ADDRESS,
    batchLimit: e.BATCH_LIMIT,
    corsOrigins: e.CORS_ORIGINS,
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
    production: e.NODE_ENV === 'production',
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    dbPoolSize: e.DB_POOL_SIZE,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
    dbStatementsPerRequest: e.DB_STATEMENTS_PER_REQUEST,
    statementTimeoutMs: e.STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: e.LOCK_TIMEOUT_MS,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (!production && process.stdout.isTTY ? 'pretty' : 'json'),
    trustedDocuments: {
      documents: e.TRUSTED_DOCUMENTS ? readManifest(e.TRUSTED_DOCUMENTS) : undefined,
      only: e.TRUSTED_DOCUMENTS_ONLY,
    },
    trashRetentionDays: e.TRASH_RETENTION_DAYS,
    alerts: {
      publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
      webhooks: {
        allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
        retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
        disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
        pollMs: e.WEBHOOK_POLL_MS,
      },
      webhookWorker: e.WEBHOOK_WORKER,
      subscriptions: { perKey: e.SUBSCRIPTIONS_PER_KEY, perAddress: e.SUBSCRIPTIONS_PER_ADDRESS },
      redisUrl: e.REDIS_URL,
      eventsChannel: e.EVENTS_CHANNEL,
    },
    responseCache: {
      store: e.RESPONSE_CACHE_TTL_MS === 0 ? 'off' : e.REDIS_URL ? 'redis' : embedded ? 'memory' : 'off',
      ttlMs: e.RESPONSE_CACHE_TTL_MS,
      redisUrl: e.REDIS_URL,
      prefix: e.RESPONSE_CACHE_PREFIX,
    },
    rateLimits: {
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      anonymous: e.RATE_LIMIT_ANONYMOUS ?? (production ? 120 : 0),
      perKey: e.RATE_LIMIT_PER_KEY ?? (production ? 1_200 : 0),
      concurrent: e.RATE_LIMIT_CONCURRENT ?? (production ? 2 : 0),
      trustProxy: e.TRUST_PROXY,
      redisUrl: e.REDIS_URL,
      redisPrefix: e.REDIS_PREFIX,
    },
  };
}

let cached: Config | undefined;

/**
 * The process configuration, parsed on first use. A bad setting stops the process here (exit 1)
 * with the ConfigError's message, one line per variable: the commands read it while their modules
 * load (db/client.ts), before any handler of theirs could print it without a stack.
 */
export function config(): Config {
  if (cached) return cached;
  try {
    cached = parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  return cached;
}
