import os from 'node:os';
import path from 'node:path';

/**
 * Where the suite runs: on the embedded database (PGlite) by default, and on a PostgreSQL server
 * when TEST_DATABASE_URL is set (databases are created on that server and dropped afterwards;
 * the database named in the URL is only used to issue CREATE/DROP DATABASE).
 */
export const serverUrl = process.env.TEST_DATABASE_URL;
export const runId = process.env.NEWSGRAPH_TEST_RUN ?? `${process.pid}`;
export const templateName = `newsgraph_test_${runId}_template`;
export const pgliteTemplateDir = path.join(os.tmpdir(), `newsgraph-test-${runId}`, 'template');

export function databaseUrl(database: string): string {
  const url = new URL(serverUrl!);
  url.pathname = `/${database}`;
  return url.toString();
}
