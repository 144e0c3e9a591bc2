import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the suite runs: on the embedded database (PGlite) by default, and on a PostgreSQL server
 * when TEST_DATABASE_URL is set (databases are created on that server and dropped afterwards;
 * the database named in the URL is only used to issue CREATE/DROP DATABASE).
 */
export const serverUrl = process.env.TEST_DATABASE_URL;

/**
 * True in the embedded pass (`npm test`), false in the PostgreSQL server pass. Tests that never touch
 * the database under test (commands on an embedded folder of their own, the schema engine's replays
 * of the migrations, option and setting checks that stop before connecting) do the same work in both
 * passes, so they run in this one only: `describe.runIf(embeddedPass)`.
 */
export const embeddedPass = !serverUrl;
export const runId = process.env.NEWSGRAPH_TEST_RUN ?? `${process.pid}`;
export const templateName = `newsgraph_test_${runId}_template`;
export const pgliteTemplateDir = path.join(os.tmpdir(), `newsgraph-test-${runId}`, 'template');

export function databaseUrl(database: string): string {
  const url = new URL(serverUrl!);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A new embedded folder, `name` under `parent` (created), holding a copy of the run's migrated
 * template, as each test file's own folder does: a server started on it has no migration to apply.
 * For real-process tests whose subject is not the first start (server.test.ts and startup.test.ts
 * start on empty folders).
 */
export function migratedFolder(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.cpSync(pgliteTemplateDir, dir, { recursive: true });
  return dir;
}
