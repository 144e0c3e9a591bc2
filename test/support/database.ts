import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { databaseUrl, pgliteTemplateDir, runId, serverUrl, templateName } from './targets.ts';

/**
 * Runs before each test file's modules load: gives the file a fresh, migrated database of its
 * own and points the configuration at it, so no test depends on another's rows.
 */
// named after the run, so the run's teardown drops it even when this file's own hooks never ran
const name = `newsgraph_test_${runId}_${crypto.randomBytes(6).toString('hex')}`;
let drop: () => Promise<void>;

if (serverUrl) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateName}"`);
  await admin.end();
  process.env.DATABASE_URL = databaseUrl(name);
  drop = async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await cleanup.end();
  };
} else {
  const dir = path.join(path.dirname(pgliteTemplateDir), name);
  fs.cpSync(pgliteTemplateDir, dir, { recursive: true });
  delete process.env.DATABASE_URL;
  process.env.PGLITE_DIR = dir;
  drop = async () => fs.rmSync(dir, { recursive: true, force: true });
}
process.env.NODE_ENV = 'test';
process.env.SEED_DEMO_DATA = 'false';
process.env.LOG_LEVEL ??= 'silent';
// rate limits have their own tests; the rest of the suite sends many requests from one client
process.env.RATE_LIMIT_ANONYMOUS ??= '0';
process.env.RATE_LIMIT_PER_KEY ??= '0';

afterAll(async () => {
  const { disconnect } = await import('../../src/db/client.ts');
  await disconnect();
  await drop();
});
