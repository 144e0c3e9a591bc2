import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import * as wasmBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseTarget } from '../config.ts';
import { decodeInternalCharAsText, migrationFactory, pgliteAdapter, postgresMigrationAdapter } from './adapters.ts';
import { openPGlite } from './pglite.ts';

/**
 * Prisma's schema engine compiled to WebAssembly, driven through our driver adapters: Prisma's
 * own migration format and `_prisma_migrations` bookkeeping, without its native binary (which
 * cannot be downloaded on our machines; see ../shared/reference/prisma-offline.md).
 */

const require = createRequire(import.meta.url);
const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Absolute path of prisma/schema.prisma, the schema migrations lead to. */
export const schemaPath = path.join(projectRoot, 'prisma/schema.prisma');
/** Absolute path of prisma/migrations: one `<timestamp>_<name>/migration.sql` folder per migration. */
export const migrationsDir = path.join(projectRoot, 'prisma/migrations');
const noFilters: SchemaFilter = { externalTables: [], externalEnums: [] };

let wasmReady = false;
function initWasm(): void {
  if (wasmReady) return;
  const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmModule = new WebAssembly.Module(fs.readFileSync(path.join(path.dirname(bgPath), 'schema_engine_bg.wasm')));
  const instance = new WebAssembly.Instance(wasmModule, {
    './schema_engine_bg.js': wasmBindings as unknown as WebAssembly.ModuleImports,
  });
  wasmBindings.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  wasmReady = true;
}

/**
 * The migrations in `dir` as the schema engine takes them: folders in name (so time) order, each
 * with its migration.sql (a missing one is an error entry), and migration_lock.toml if present.
 */
export function readMigrations(dir = migrationsDir): MigrationList {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const names = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: {
      path: 'migration_lock.toml',
      content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: fs.existsSync(file)
            ? { tag: 'ok' as const, value: fs.readFileSync(file, 'utf8') }
            : { tag: 'error' as const, value: `missing ${file}` },
        },
      };
    }),
  };
}

/** The Prisma schema to migrate towards: prisma/schema.prisma unless a text is given (tests). */
function schemaFiles(content = fs.readFileSync(schemaPath, 'utf8')) {
  return { files: [{ path: schemaPath, content }] };
}

/**
 * A failed migration command: a bad migration name, an inconsistent history, or a schema engine
 * error with the driver error it refers to.
 */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

type EngineFactory = SqlMigrationAwareDriverAdapterFactory & { closeShadows(): Promise<void> };

interface EngineSession {
  engine: SchemaEngine;
  /** Explains an engine error, including the driver error it only references by id. */
  explain(error: unknown): MigrationError;
  close(): Promise<void>;
}

async function openEngine(factory: EngineFactory, onClose: () => Promise<void>): Promise<EngineSession> {
  initWasm();
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  const log = (line: string) => {
    if (process.env.DEBUG_SCHEMA_ENGINE) console.error('[schema-engine]', line);
  };
  const engine = await wasmBindings.SchemaEngine.new(
    { datamodels: [[schemaPath, fs.readFileSync(schemaPath, 'utf8')]] },
    log,
    bound,
  );
  return {
    engine,
    explain(error) {
      const message = error instanceof Error ? error.message : String(error);
      const id = /External error id#(\d+)/.exec(message)?.[1];
      const registry = (bound as { errorRegistry?: { consumeError(id: number): { error?: unknown } | undefined } })
        .errorRegistry;
      const driverError = id ? registry?.consumeError(Number(id))?.error : undefined;
      const detail = driverError
        ? `\n  driver error: ${(driverError as Error).message ?? JSON.stringify(driverError)}`
        : '';
      return new MigrationError(`${message}${detail}`);
    },
    async close() {
      engine.free();
      await factory.closeShadows();
      await onClose();
    },
  };
}

/** A database the caller already opened (and will close): a PGlite instance, or a pg pool. */
export type OpenDatabase = { kind: 'pglite-open'; db: PGlite } | { kind: 'pool'; pool: import('pg').Pool };

/** A schema-engine session on the target database (shadow databases are in-memory PGlite). */
async function engineFor(target: DatabaseTarget | OpenDatabase): Promise<EngineSession> {
  if (target.kind === 'pglite-open') {
    return openEngine(
      migrationFactory(pgliteAdapter(target.db), () => openPGlite('memory://')),
      async () => {},
    );
  }
  if (target.kind === 'postgres' || target.kind === 'pool') {
    await decodeInternalCharAsText();
    const server = postgresMigrationAdapter(target.kind === 'pool' ? target.pool : target.url);
    return openEngine(
      migrationFactory(server.factory, () => openPGlite('memory://')),
      () => server.close(),
    );
  }
  const db = await openPGlite(target.dataDir);
  return openEngine(
    migrationFactory(pgliteAdapter(db), () => openPGlite('memory://')),
    () => db.close(),
  );
}

async function withEngine<T>(
  target: DatabaseTarget | OpenDatabase,
  run: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const session = await engineFor(target);
  try {
    return await run(session.engine);
  } catch (error) {
    throw session.explain(error);
  } finally {
    await session.close();
  }
}

/**
 * Applies every pending migration; returns the names applied (empty when up to date). A
 * migration recorded as failed whose script has been edited since (a fix shipped for it) is
 * tried again, as after `prisma migrate resolve --rolled-back`: each migration runs as one script
 * in one implicit transaction (postgresMigrationAdapter; PGlite's exec alike), so a failed one
 * changed nothing. One that failed and is unchanged still stops the command (MigrationError).
 */
export async function applyMigrations(
  target: DatabaseTarget | OpenDatabase,
  migrations = readMigrations(),
): Promise<string[]> {
  return withEngine(target, async (engine) => {
    const history = await engine.diagnoseMigrationHistory({
      migrationsList: migrations,
      optInToShadowDatabase: false,
      filters: noFilters,
    });
    for (const name of history.failedMigrationNames) {
      if (history.editedMigrationNames.includes(name)) await engine.markMigrationRolledBack({ migrationName: name });
    }
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: migrations, filters: noFilters });
    return appliedMigrationNames;
  });
}

/** The SQL that would take a database built from the migrations to prisma/schema.prisma; '' when none. */
export async function migrationDrift(migrations = readMigrations(), schema?: string): Promise<string> {
  // A throwaway in-memory database: the diff replays migrations on a shadow database only.
  return withEngine({ kind: 'pglite', dataDir: 'memory://' }, async (engine) => {
    const result = await engine.diff({
      from: { tag: 'migrations', ...migrations },
      to: { tag: 'schemaDatamodel', ...schemaFiles(schema) },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const sql = result.stdout ?? '';
    return /^\s*(--[^\n]*\n?|\s)*$/.test(sql) ? '' : sql;
  });
}

/**
 * Writes a new migration (prisma/migrations/<timestamp>_<name>/migration.sql) for the
 * difference between the migration history and prisma/schema.prisma. Works on a throwaway
 * in-memory database, so it needs no server and cannot touch real data.
 */
export async function createMigration(
  name: string,
  migrations = readMigrations(),
  schema?: string,
): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new MigrationError('migration names use a-z, 0-9 and _');
  return withEngine({ kind: 'pglite', dataDir: 'memory://' }, async (engine) => {
    await engine.applyMigrations({ migrationsList: migrations, filters: noFilters });
    // createMigration reads a cache that devDiagnostic fills.
    const diagnostic = await engine.devDiagnostic({ migrationsList: migrations, filters: noFilters });
    if (diagnostic.action.tag === 'reset')
      throw new MigrationError(`migration history is inconsistent: ${diagnostic.action.reason}`);
    const out = await engine.createMigration({
      draft: false,
      migrationName: name,
      migrationsList: migrations,
      schema: schemaFiles(schema),
      filters: noFilters,
    });
    if (!out.migrationScript) return null;
    const dir = path.join(migrations.baseDir, out.generatedMigrationName);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'migration.sql'), out.migrationScript);
    fs.writeFileSync(
      path.join(migrations.baseDir, 'migration_lock.toml'),
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${out.connectorType}"\n`,
    );
    return dir;
  });
}
