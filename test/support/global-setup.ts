import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations } from '../../src/db/migrate.ts';
import { databaseUrl, pgliteTemplateDir, runId, serverUrl, templateName } from './targets.ts';

/** Migrates one template database per run; every test file then starts from a copy of it. */
export async function setup(): Promise<() => Promise<void>> {
  process.env.NEWSGRAPH_TEST_RUN = runId;
  if (serverUrl) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${templateName}"`);
    await admin.query(`CREATE DATABASE "${templateName}"`);
    await admin.end();
    await applyMigrations({ kind: 'postgres', url: databaseUrl(templateName) });
    return async () => {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      // the template, and any file's database whose own cleanup did not run (a skipped file)
      const { rows } = await cleanup.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE $1`,
        [`newsgraph\\_test\\_${runId}\\_%`],
      );
      for (const { datname } of rows) await cleanup.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await cleanup.query(`DROP DATABASE IF EXISTS "${templateName}" WITH (FORCE)`);
      await cleanup.end();
    };
  }
  fs.rmSync(path.dirname(pgliteTemplateDir), { recursive: true, force: true });
  await applyMigrations({ kind: 'pglite', dataDir: pgliteTemplateDir });
  return async () => fs.rmSync(path.dirname(pgliteTemplateDir), { recursive: true, force: true });
}
