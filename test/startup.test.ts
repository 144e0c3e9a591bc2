import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runScript, startServer } from './support/process.ts';
import { databaseUrl, embeddedPass, serverUrl } from './support/targets.ts';
import { EMBEDDED_MAJOR_VERSION } from '../src/db/embedded.ts';
import { DEMO_ARTICLE_COUNT } from '../src/seed/demo.ts';

/** A file, where a folder is wanted. */
const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * Start-up fails clearly and early (issue 12): a taken port or an unmigrated database stops the
 * process within seconds with one line saying what to run, before anything is migrated or
 * seeded; /readyz says "starting" while migrations run; production never prints a key and does
 * not start on the embedded database unless asked to. Real processes, as `npm start` runs them,
 * on a fresh database of this file's kind (a new folder, or a new database on the server).
 */

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A new, empty database: the environment that points a server at it, and a way to count its tables. */
async function emptyDatabase(): Promise<{ env: Record<string, string | undefined>; tables: () => Promise<number> }> {
  const name = `newsgraph_startup_${crypto.randomBytes(5).toString('hex')}`;
  if (serverUrl) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    cleanups.push(async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    });
    const url = databaseUrl(name);
    return {
      env: { DATABASE_URL: url, PGLITE_DIR: undefined },
      tables: async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
        await client.end();
        return rows[0].n as number;
      },
    };
  }
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-startup-')), name);
  cleanups.push(async () => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  return {
    env: { PGLITE_DIR: dir, DATABASE_URL: undefined },
    // the folder is created by the first migration: none means nothing was written
    tables: async () => (fs.existsSync(dir) ? fs.readdirSync(dir).length : 0),
  };
}

const lines = (output: string) => output.trim().split('\n');

describe(`start-up (${serverUrl ? 'PostgreSQL server' : 'embedded database'})`, () => {
  it('stops with one line when the port is taken, before migrating or seeding anything', async () => {
    const database = await emptyDatabase();
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const run = await runScript('src/main.ts', [], {
        ...database.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        MIGRATE_ON_START: 'true',
        SEED_DEMO_DATA: 'true',
      });
      expect(run.code).toBe(1);
      expect(lines(run.output)).toEqual([
        `newsgraph: port ${port} is in use (another server?); start on a free port, e.g. PORT=${port + 1} npm start`,
      ]);
      expect(await database.tables()).toBe(0);
    } finally {
      taken.close();
    }
  });

  it('stops with one line on a database without the migrations', async () => {
    const database = await emptyDatabase();
    const run = await runScript('src/main.ts', [], {
      ...database.env,
      PORT: String(await freePort()),
      MIGRATE_ON_START: 'false',
      SEED_DEMO_DATA: 'true',
    });
    expect(run.code).toBe(1);
    expect(lines(run.output)).toHaveLength(1);
    expect(run.output).toMatch(
      serverUrl
        ? /^newsgraph: the database is missing \d+ migrations .*; run: npm run db:migrate\n$/
        : /^newsgraph: there is no database in .* yet; run: npm run db:migrate\n$/,
    );
    expect(await database.tables()).toBe(0);
  });

  it('answers /readyz "starting" (and queries 503 STARTING) until migrations and demo data are done', async () => {
    const database = await emptyDatabase();
    const port = await freePort();
    const answers: { status: number; body: string }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
          answers.push({ status: ready.status, body: await ready.text() });
          if (ready.status === 200) return;
          const query = await fetch(`http://127.0.0.1:${port}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ articles { totalCount } }' }),
          });
          answers.push({ status: query.status, body: await query.text() });
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const server = await startServer({
      ...database.env,
      PORT: String(port),
      MIGRATE_ON_START: 'true',
      SEED_DEMO_DATA: 'true',
    });
    try {
      await poller;
      expect(answers[0]).toEqual({ status: 503, body: '{"status":"starting"}' });
      const starting = answers.find((answer) => answer.body.includes('STARTING'));
      expect(starting?.status).toBe(503);
      expect(answers.at(-1)).toEqual({ status: 200, body: '{"status":"ready"}' });
      // only after the demo data: the first ready answer sees it
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ articles { totalCount } }' }),
      });
      expect(((await response.json()) as { data: { articles: { totalCount: number } } }).data.articles.totalCount).toBe(
        DEMO_ARTICLE_COUNT,
      );
    } finally {
      polling = false;
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);

  it('in production writes no API key to stdout or stderr, and says how to make one', async () => {
    const database = await emptyDatabase();
    const server = await startServer({
      ...database.env,
      NODE_ENV: 'production',
      ALLOW_EMBEDDED_IN_PRODUCTION: serverUrl ? undefined : 'true',
      MIGRATE_ON_START: 'true',
      SEED_DEMO_DATA: 'true',
    });
    try {
      const output = server.output();
      expect(output).toMatch(/demo data loaded/);
      expect(output).not.toMatch(/ngk_/);
      expect(output).toMatch(/npm run apikey -- create --name <name> --role admin/);
      // every line is a JSON log entry: nothing else on the log stream
      for (const line of lines(output)) expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);

  it('in production refuses the embedded database unless allowed, with one line', async () => {
    const run = await runScript('src/main.ts', [], {
      NODE_ENV: 'production',
      DATABASE_URL: undefined,
      PORT: String(await freePort()),
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/production needs a PostgreSQL server.*ALLOW_EMBEDDED_IN_PRODUCTION=true/);
  });
});

// usage, option errors and a database that is not there: nothing reaches the database under test,
// the same work in either pass
describe.runIf(embeddedPass)('command-line tools', () => {
  it.each([
    ['src/cli/apikey.ts', ['--help'], /npm run apikey -- create --name <name> --role editor\|admin/],
    ['src/cli/apikey.ts', ['help'], /npm run apikey -- list/],
    ['src/db/cli.ts', ['migrate', '--help'], /npm run db:migrate\s/],
    ['src/db/cli.ts', ['drift', '-h'], /npm run db:drift/],
    ['src/main.ts', ['--help'], /npm start -- --help/],
  ])('%s %s answers with its usage and exit 0', async (script, args, usage) => {
    const run = await runScript(script, args, {});
    expect(run.code).toBe(0);
    expect(run.output).toMatch(usage);
  });

  it('says in one line why the key CLI cannot use the database, and what was wrong with its options', async () => {
    const missing = await runScript('src/cli/apikey.ts', ['list'], {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/newsgraph_no_such_database',
    });
    expect(missing.code).toBe(1);
    expect(missing.output.trim()).toBe(
      'newsgraph: the database refused the connection: database "newsgraph_no_such_database" does not exist; check DATABASE_URL',
    );
    const role = await runScript('src/cli/apikey.ts', ['create', '--name', 'x', '--role', 'root'], {});
    expect(role.code).toBe(2);
    expect(role.output).toMatch(/^--role must be editor or admin, not "root"\n/);
  });

  it.each([
    ['src/cli/apikey.ts', ['create', '--nmae', 'x']],
    ['src/db/cli.ts', ['migrate', '--force']],
    ['src/main.ts', ['--port=4001']],
  ])('%s refuses an unknown option %s with the usage and exit 2', async (script, args) => {
    const run = await runScript(script, args, {});
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/usage:/);
  });
});

// the settings name their own database, never the one under test: the same work in either pass
describe.runIf(embeddedPass)(
  'start-up settings and connections that cannot work: one line, exit 1, nothing written',
  () => {
    // made when the tests run, not when they are collected (skipped, they would leave it behind)
    let dir = '';
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-badstart-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const base = () => ({ PGLITE_DIR: path.join(dir, 'data'), DATABASE_URL: undefined });
    it.each([
      [{ DATABASE_URL: 'postgres://:::bad' }, /^Invalid configuration:\n {2}DATABASE_URL: is not a valid URL/],
      [{ REQUEST_TIMEOUT_MS: '3000000000' }, /^Invalid configuration:\n {2}REQUEST_TIMEOUT_MS: /],
      [{ STATEMENT_TIMEOUT_MS: '3000000000' }, /^Invalid configuration:\n {2}STATEMENT_TIMEOUT_MS: /],
      [{ HOST: 'nonexistent.invalid' }, /^newsgraph: HOST=nonexistent.invalid is not an address of this machine/],
      [{ PGLITE_DIR: THIS_FILE }, /^Invalid configuration:\n {2}PGLITE_DIR: \S+ is a file, not a folder\n?$/],
      [
        { PGLITE_DIR: path.join(THIS_FILE, 'data') },
        /^Invalid configuration:\n {2}PGLITE_DIR: \S+ cannot be made: \S+ is a file, not a folder\n?$/,
      ],
      [
        { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/newsgraph_no_such_database' },
        /^newsgraph: the database refused the connection: database "newsgraph_no_such_database" does not exist/,
      ],
      [
        { DATABASE_URL: 'postgresql://newsgraph_no_such_role@127.0.0.1:5432/postgres' },
        /^newsgraph: the database refused the connection: role "newsgraph_no_such_role" does not exist/,
      ],
    ])('%o', async (env, message) => {
      const run = await runScript('src/main.ts', [], { ...base(), PORT: String(await freePort()), ...env });
      expect(run.code).toBe(1);
      expect(run.output).toMatch(message);
      expect(run.output.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(fs.existsSync(base().PGLITE_DIR)).toBe(false);
    });
    it('a folder of another PostgreSQL major version: one line saying what to do, for the server and the commands', async () => {
      // the version the check expects is PGlite's own
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = await PGlite.create();
      const [{ server_version }] = (await pglite.query<{ server_version: string }>('SHOW server_version')).rows as [
        { server_version: string },
      ];
      await pglite.close();
      expect(server_version.split('.')[0]).toBe(EMBEDDED_MAJOR_VERSION);
      const old = path.join(dir, 'pg14');
      fs.mkdirSync(old);
      fs.writeFileSync(path.join(old, 'PG_VERSION'), '14\n');
      const message = new RegExp(
        `^newsgraph: ${old.replace(/[/.]/g, '\\$&')} holds a PostgreSQL 14 database, and the embedded database is PostgreSQL ${EMBEDDED_MAJOR_VERSION}: use another folder`,
      );
      const server = await runScript('src/main.ts', [], { ...base(), PGLITE_DIR: old, PORT: String(await freePort()) });
      expect(server.code).toBe(1);
      expect(server.output.trim()).toMatch(message);
      expect(server.output.trim().split('\n')).toHaveLength(1);
      const command = await runScript('src/cli/apikey.ts', ['list'], { ...base(), PGLITE_DIR: old });
      expect(command.code).toBe(1);
      expect(command.output.trim()).toMatch(/holds a PostgreSQL 14 database/);
      expect(command.output.trim().split('\n')).toHaveLength(1);
      // nothing was written into it
      expect(fs.readdirSync(old)).toEqual(['PG_VERSION']);
      // nor into a folder whose PG_VERSION is no version, or no file
      for (const [name, make] of [
        ['junk', (file: string) => fs.writeFileSync(file, 'abc\n')],
        ['empty', (file: string) => fs.writeFileSync(file, '')],
        ['folder', (file: string) => fs.mkdirSync(file)],
      ] as const) {
        const folder = path.join(dir, `pg-${name}`);
        fs.mkdirSync(folder);
        make(path.join(folder, 'PG_VERSION'));
        const run = await runScript('src/cli/apikey.ts', ['list'], { ...base(), PGLITE_DIR: folder });
        expect(run.code, name).toBe(1);
        expect(run.output.trim(), name).toMatch(/^(newsgraph: )?\S+ is not a PostgreSQL data folder \(its PG_VERSION/);
      }
    });

    it('a folder holding other files and no database: refused by the server and every command, nothing written', async () => {
      const folder = path.join(dir, 'home');
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'notes.txt'), 'mine\n');
      fs.writeFileSync(path.join(folder, 'report.csv'), 'a,b\n');
      const records = path.join(dir, 'records.ndjson');
      fs.writeFileSync(records, '');
      for (const [script, args] of [
        ['src/main.ts', []],
        ['src/cli/apikey.ts', ['list']],
        ['src/db/cli.ts', ['migrate']],
        ['src/cli/import.ts', [records]],
        ['src/cli/export.ts', []],
      ] as const) {
        const run = await runScript(script, [...args], {
          ...base(),
          PGLITE_DIR: folder,
          PORT: String(await freePort()),
        });
        expect(run.code, script).toBe(1);
        expect(run.output.trim(), script).toMatch(
          /^(newsgraph: )?\S+ holds other files \(notes\.txt, report\.csv\) and no database: the embedded database needs a folder of its own/,
        );
        expect(run.output.trim().split('\n'), script).toHaveLength(1);
        expect(fs.readdirSync(folder).sort(), script).toEqual(['notes.txt', 'report.csv']);
      }
      // what an empty folder may hold (a mount point's lost+found, a .gitkeep) is no obstacle
      const mounted = path.join(dir, 'mounted');
      fs.mkdirSync(path.join(mounted, 'lost+found'), { recursive: true });
      fs.writeFileSync(path.join(mounted, '.gitkeep'), '');
      const migrated = await runScript('src/db/cli.ts', ['migrate'], { ...base(), PGLITE_DIR: mounted });
      expect(migrated.code, migrated.output).toBe(0);
      expect(fs.existsSync(path.join(mounted, 'PG_VERSION'))).toBe(true);
    });

    it('a command on a bad setting prints the same lines, without a stack', async () => {
      for (const script of ['src/cli/apikey.ts', 'src/db/cli.ts']) {
        const run = await runScript(script, script.endsWith('apikey.ts') ? ['list'] : ['migrate'], {
          ...base(),
          PGLITE_DIR: THIS_FILE,
        });
        expect(run.code, script).toBe(1);
        expect(run.output.trim(), script).toMatch(
          /^Invalid configuration:\n {2}PGLITE_DIR: \S+ is a file, not a folder$/,
        );
      }
    });
  },
);
