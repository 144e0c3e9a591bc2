import type { PGlite } from '@electric-sql/pglite';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { config } from '../config.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import { pgliteAdapter, postgresAdapter } from './adapters.ts';
import { openPGlite } from './pglite.ts';

/**
 * The process's Prisma client, for the database chosen by configuration (a module, not a
 * context field). Every SQL statement it sends passes through `onStatement` listeners, which
 * tests and the benchmark use to count statements per operation.
 */

export type StatementListener = (sql: string) => void;
const listeners = new Set<StatementListener>();

/** Calls `listener` with the text of every SQL statement sent; returns an unsubscribe function. */
export function onStatement(listener: StatementListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(sql: string): void {
  for (const listener of listeners) listener(sql);
}

function observed(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const queryRaw = adapter.queryRaw.bind(adapter);
  const executeRaw = adapter.executeRaw.bind(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.queryRaw = (query) => (emit(query.sql), queryRaw(query));
  adapter.executeRaw = (query) => (emit(query.sql), executeRaw(query));
  adapter.startTransaction = async (isolationLevel) => {
    const tx = await startTransaction(isolationLevel);
    const txQuery = tx.queryRaw.bind(tx);
    const txExecute = tx.executeRaw.bind(tx);
    tx.queryRaw = (query) => (emit(query.sql), txQuery(query));
    tx.executeRaw = (query) => (emit(query.sql), txExecute(query));
    return tx;
  };
  return adapter;
}

function observedFactory(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => observed(await connect());
  return factory;
}

let embedded: PGlite | undefined;
let opening: Promise<PGlite> | undefined;
let pool: import('pg').Pool | undefined;

function createFactory(): SqlDriverAdapterFactory {
  const target = config().database;
  if (target.kind === 'postgres') {
    const settings = config();
    const server = postgresAdapter(target.url, {
      max: settings.dbPoolSize,
      statementTimeoutMs: settings.statementTimeoutMs,
      connectionTimeoutMs: settings.dbConnectTimeoutMs,
    });
    pool = server.pool;
    return server.adapter;
  }
  // Opened on first use, so importing the schema (codegen, type generation) touches no data.
  const open = () => (opening ??= openPGlite(target.dataDir).then((db) => (embedded = db)));
  return {
    provider: 'postgres',
    adapterName: 'pglite-lazy',
    connect: async () => pgliteAdapter(await open()).connect(),
  };
}

export const prisma = new PrismaClient({ adapter: observedFactory(createFactory()) });
export type Db = typeof prisma;

/**
 * Opens the database now rather than on first use. For the embedded database this takes the
 * folder (FolderInUseError when another process holds it), so a server fails before it listens.
 */
export async function connect(): Promise<void> {
  await prisma.$connect();
}

/** Applies pending migrations to this process's database (the open embedded one, or the server). */
export async function migrateDatabase(): Promise<string[]> {
  const { applyMigrations } = await import('./migrate.ts');
  const target = config().database;
  if (target.kind === 'postgres') return applyMigrations(target);
  await prisma.$connect();
  return applyMigrations({ kind: 'pglite-open', db: embedded! });
}

/** Connections by state, for metrics: the pool's on a server, one for the embedded database. */
export function poolStats(): { total: number; idle: number; waiting: number } {
  if (pool) return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  return { total: embedded ? 1 : 0, idle: 0, waiting: 0 };
}

/** Closes the connection (and the embedded database); safe to call more than once. */
export async function disconnect(): Promise<void> {
  await prisma.$disconnect();
  const db = embedded;
  embedded = undefined;
  opening = undefined;
  if (db && !db.closed) await db.close();
}
