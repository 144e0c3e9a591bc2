import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from '../src/db/embedded.ts';
import { serverUrl } from './support/targets.ts';

/**
 * The embedded database's statement watchdog stops a statement past its time by restarting the
 * database's thread: on a folder the data survives it; an in-memory database would be emptied,
 * so there the watchdog never fires. The folder is the owner's alone (mode 0700).
 */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-watchdog-'));
const opened: EmbeddedPostgres[] = [];
afterAll(async () => {
  for (const database of opened) await database.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function run(database: EmbeddedPostgres, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: database.url });
  // a restart ends the connection: that is the statement's error, not the test's
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe.skipIf(serverUrl)('embedded database watchdog', () => {
  it('stops a long statement on a folder by a restart; the committed data survives', async () => {
    const database = await EmbeddedPostgres.start(path.join(root, 'folder'));
    opened.push(database);
    await run(database, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)');
    database.watch(100, () => true);
    await expect(run(database, 'SELECT pg_sleep(2)')).rejects.toThrow();
    expect(database.stopped).toBe(1);
    await database.ready();
    expect(await run(database, 'SELECT n FROM kept')).toEqual([{ n: 1 }]);
    expect(fs.statSync(path.join(root, 'folder')).mode & 0o777).toBe(0o700);
  }, 60_000);

  it('runs with the settings it was started with, after a restart too, and never writes them to the folder', async () => {
    const folder = path.join(root, 'settings');
    const small = await EmbeddedPostgres.start(folder, { shared_buffers: '16MB' });
    opened.push(small);
    expect(await run(small, 'SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
    await small.restart();
    expect(await run(small, 'SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
    await small.close();
    const plain = await EmbeddedPostgres.start(folder);
    opened.push(plain);
    expect(await run(plain, 'SHOW shared_buffers')).toEqual([{ shared_buffers: '128MB' }]);
  }, 60_000);

  it('never restarts an in-memory database (that would empty it): the statement runs to its end', async () => {
    const database = await EmbeddedPostgres.start('memory://watchdog');
    opened.push(database);
    await run(database, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)');
    database.watch(100, () => true);
    expect(await run(database, 'SELECT 1 AS slept FROM pg_sleep(0.5)')).toEqual([{ slept: 1 }]);
    expect(database.stopped).toBe(0);
    expect(await run(database, 'SELECT n FROM kept')).toEqual([{ n: 1 }]);
  }, 60_000);
});
