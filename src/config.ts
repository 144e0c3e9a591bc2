import { z } from 'zod';

/**
 * Every setting the server reads, parsed once at boot. A bad value stops the process with a
 * message naming the variable; nothing else in the code reads process.env.
 */
const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** PostgreSQL server connection string. Unset: the embedded database (PGlite) in PGLITE_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// connection string')
    .optional(),
  /** Folder of the embedded database; `memory://` keeps it in memory (tests). */
  PGLITE_DIR: z.string().min(1).default('./data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface to listen on; unset listens on all interfaces. */
  HOST: z.string().min(1).optional(),
  /** Apply pending migrations at start-up. Default: on for the embedded database only. */
  MIGRATE_ON_START: booleanString.optional(),
  /** Fill an empty database with the deterministic demo dataset at start-up. Default: embedded only. */
  SEED_DEMO_DATA: booleanString.optional(),
});

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  database: DatabaseTarget;
  port: number;
  host: string | undefined;
  migrateOnStart: boolean;
  seedDemoData: boolean;
};

export type DatabaseTarget = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

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
  return {
    nodeEnv: e.NODE_ENV,
    database,
    port: e.PORT,
    host: e.HOST,
    migrateOnStart: e.MIGRATE_ON_START ?? embedded,
    seedDemoData: e.SEED_DEMO_DATA ?? embedded,
  };
}

let cached: Config | undefined;

/** The process configuration, parsed on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
