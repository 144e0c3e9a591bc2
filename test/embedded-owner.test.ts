import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript, startServer, type RunningServer } from './support/process.ts';
import { migratedFolder, serverUrl } from './support/targets.ts';
import { DEMO_ARTICLE_COUNT } from '../src/seed/demo.ts';
import { ROLLUP_COMPACTION_INTERVAL_MS } from '../src/db/rollupCompaction.ts';

/**
 * One owner per embedded database folder, with real processes: a second server, the key CLI
 * and the migration CLI on a held folder stop at once with one line naming the folder, the
 * owner's pid and what to do instead, and write nothing; a killed owner's lock does not outlive
 * it; two first starts on one empty folder seed it once.
 */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-owner-'));
/** Servers a failed assertion could leave running. */
const spawned: RunningServer[] = [];
afterAll(async () => {
  for (const server of spawned) await server.kill();
  fs.rmSync(root, { recursive: true, force: true });
});
const start = async (env: Record<string, string | undefined>) => {
  const server = await startServer(env);
  spawned.push(server);
  return server;
};

const embedded = (dir: string) => ({
  DATABASE_URL: undefined,
  PGLITE_DIR: dir,
  MIGRATE_ON_START: undefined,
  SEED_DEMO_DATA: undefined,
});

async function post(server: RunningServer, query: string, key?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

const adminKeyIn = (output: string) => /Admin API key "local-admin".*\n(ngk_[A-Za-z0-9_-]{43})/.exec(output)?.[1];

/** Everything in the folder but the lock file, with sizes and modification times. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name !== 'newsgraph.lock')
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      const stat = fs.statSync(file);
      return `${path.relative(dir, file)} ${stat.size} ${stat.mtimeMs}`;
    })
    .sort();
}

/**
 * These tests start up to seven real processes one after another (each a Node start, the first the
 * demo seed, and on an empty folder a migration: about 12 s on PGlite); beside the rest of the suite
 * on 2 cores that came within a few seconds of the default 30 s.
 */
const REAL_PROCESSES_MS = 90_000;

describe.skipIf(serverUrl)('one owner per embedded database folder (real processes)', () => {
  it(
    'refuses a second server, the key CLI and migrations on a held folder; survives its owner being killed',
    async () => {
      // migrated already: this test is about holding a folder, not about a first start (the next one is)
      const dir = migratedFolder(root, 'held');
      const owner = await start(embedded(dir));
      const key = adminKeyIn(owner.output())!;
      expect(key).toBeDefined();
      // the lock file says a server holds the folder (a command refused during its start is told so)
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'newsgraph.lock'), 'utf8'))).toMatchObject({
        pid: owner.pid,
        server: true,
      });
      const filed = await post(
        owner,
        `mutation { createArticle(input: { title: "Filed before the intruders", url: "https://news.example/owner-1",
         source: "Example", publishedAt: "2026-04-07T01:24:00Z", priority: 3, authors: [{ name: "Ada Owner" }] }) {
         __typename } }`,
        key,
      );
      expect(filed.data.createArticle.__typename).toBe('CreateArticleSuccess');

      const ownerLine = new RegExp(
        `^newsgraph: the embedded database folder ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${owner.pid} \\(src/main\\.ts, listening on port \\d+, since [^)]+\\); .+$`,
      );
      // the owner's own work after that write (its outbox worker marks the event read, its rollup
      // compaction merges the new count rows within ROLLUP_COMPACTION_INTERVAL_MS) settles first:
      // the folder unchanged for longer than a compaction interval
      let before = listing(dir);
      for (let stableSince = Date.now(); Date.now() - stableSince < ROLLUP_COMPACTION_INTERVAL_MS + 2_000;) {
        await sleep(500);
        const now = listing(dir);
        if (JSON.stringify(now) !== JSON.stringify(before)) {
          before = now;
          stableSince = Date.now();
        }
      }

      // (a second server that did start is killed when runScript's time is up)
      const second = await runScript('src/main.ts', [], { ...embedded(dir), PORT: '0' }, 30_000);
      expect(second.code).toBe(1);
      expect(second.output.trim()).toMatch(ownerLine);
      expect(second.output).toMatch(/stop it first, or set PGLITE_DIR to another folder\.$/m);
      expect(second.output).not.toMatch(/Admin API key|Newsgraph API on|migrations applied/);

      const cli = await runScript(
        'src/cli/apikey.ts',
        ['create', '--name', 'intruder', '--role', 'admin'],
        embedded(dir),
      );
      expect(cli.code).toBe(1);
      expect(cli.output.trim()).toMatch(ownerLine);
      expect(cli.output).toMatch(/createApiKey/);
      expect(cli.output).not.toMatch(/ngk_/);

      const migrate = await runScript('src/db/cli.ts', ['migrate'], embedded(dir));
      expect(migrate.code).toBe(1);
      expect(migrate.output.trim()).toMatch(ownerLine);

      // removing or replacing the lock file does not let anyone in: the owner holds the database too
      // (and writes the lock file again within a second: a refusal then names it)
      const heldBy = `(another process|process ${owner.pid} \\(src/main\\.ts, listening on port \\d+, since [^)]+\\))`;
      fs.rmSync(path.join(dir, 'newsgraph.lock'));
      const afterRemoval = await runScript(
        'src/cli/apikey.ts',
        ['create', '--name', 'sneaky', '--role', 'admin'],
        embedded(dir),
      );
      expect(afterRemoval.code).toBe(1);
      expect(afterRemoval.output.trim()).toMatch(new RegExp(`is in use by ${heldBy}; .*createApiKey`));
      const thirdServer = await runScript('src/main.ts', [], { ...embedded(dir), PORT: '0' }, 30_000);
      expect(thirdServer.code).toBe(1);
      expect(thirdServer.output).toMatch(new RegExp(`is in use by ${heldBy}; stop it first`));

      // the refused processes wrote nothing (but the lock file they found missing), and the owner serves as before
      expect(listing(dir)).toEqual(before);
      const served = await post(
        owner,
        '{ articles(first: 1) { totalCount } authors(filter: { name: { equals: "Ada Owner" } }) { totalCount } }',
      );
      expect(served.data).toEqual({ articles: { totalCount: DEMO_ARTICLE_COUNT + 1 }, authors: { totalCount: 1 } });

      // a crash leaves no lock behind: the next start takes the folder, with every acknowledged write
      await owner.kill();
      const next = await start(embedded(dir));
      try {
        const after = await post(
          next,
          '{ articles(first: 1) { totalCount } article(url: "https://news.example/owner-1") { title authors { name } } }',
        );
        expect(after.data).toEqual({
          articles: { totalCount: DEMO_ARTICLE_COUNT + 1 },
          article: { title: 'Filed before the intruders', authors: [{ name: 'Ada Owner' }] },
        });
        expect(next.output()).not.toMatch(/demo data loaded/);
        const stillValid = await post(next, '{ viewer { keyName role } }', key);
        expect(stillValid.data.viewer).toEqual({ keyName: 'local-admin', role: 'ADMIN' });
        const intruder = await post(next, '{ apiKeys { name } }', key);
        expect(intruder.data.apiKeys.map((k: { name: string }) => k.name)).toEqual(['local-admin']);
      } finally {
        expect(await next.stop()).toBe(0);
      }
      // once the owner has stopped, the CLI may use the folder
      const free = await runScript('src/cli/apikey.ts', ['list'], embedded(dir));
      expect(free.code).toBe(0);
      expect(free.output).toMatch(/^local-admin\tADMIN/m);
    },
    REAL_PROCESSES_MS,
  );

  it(
    'tells a command refused by a server that is still starting (not listening yet) to run again once it listens',
    async () => {
      const dir = path.join(root, 'held-by-starting-server');
      // the folder taken as a server takes it, before it listens (main.ts: servesFolders, then connect)
      const holder = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `const lock = await import('./src/db/folderLock.ts'); lock.servesFolders(); lock.lockFolder(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 60_000);`,
        ],
        { cwd: path.resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
        const listed = await runScript('src/cli/apikey.ts', ['list'], embedded(dir));
        expect(listed.code).toBe(1);
        expect(listed.output.trim()).toMatch(
          new RegExp(
            `is in use by process ${holder.pid} \\([^)]+\\); that server is still starting: once it listens, run this again \\(or manage keys through that server instead`,
          ),
        );
        expect(listed.output).not.toMatch(/wait for that command/);
      } finally {
        holder.kill('SIGKILL');
      }
    },
    REAL_PROCESSES_MS,
  );

  it(
    'tells a command refused by another command (not a server) to wait for it',
    async () => {
      const dir = path.join(root, 'held-by-import');
      // an import reading standard input holds the folder until its input ends
      const importer = spawn(process.execPath, ['--import', 'tsx', 'src/cli/import.ts', '-'], {
        cwd: path.resolve(import.meta.dirname, '..'),
        env: { ...process.env, ...embedded(dir), NODE_ENV: 'development', LOG_LEVEL: 'silent' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      importer.stdout!.on('data', (chunk) => (output += chunk));
      importer.stderr!.on('data', (chunk) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => importer.once('exit', resolve));
      try {
        const lockFile = path.join(dir, 'newsgraph.lock');
        for (
          let i = 0;
          i < 600 && !/src\/cli\/import\.ts/.test(fs.existsSync(lockFile) ? fs.readFileSync(lockFile, 'utf8') : '');
          i++
        )
          await sleep(100);
        const exported = await runScript('src/cli/export.ts', ['--out', path.join(root, 'held.ndjson')], embedded(dir));
        expect(exported.code).toBe(1);
        expect(exported.output.trim()).toMatch(
          new RegExp(
            `is in use by process ${importer.pid} \\(src/cli/import\\.ts -, since [^)]+\\); wait for that command to end, then run this again\\.$`,
          ),
        );
        expect(exported.output).not.toMatch(/server/);
        importer.stdin!.end();
        expect(await exited).toBe(0);
        expect(output).toMatch(/created 0, updated 0, unchanged 0, rejected 0/);
      } finally {
        importer.kill('SIGKILL');
      }
    },
    REAL_PROCESSES_MS,
  );

  it('never follows a symbolic link in place of the lock file', async () => {
    const dir = path.join(root, 'linked');
    fs.mkdirSync(dir);
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    fs.symlinkSync(victim, path.join(dir, 'newsgraph.lock'));
    const cli = await runScript('src/cli/apikey.ts', ['list'], embedded(dir));
    expect(cli.code).toBe(1);
    expect(cli.output).toMatch(/newsgraph\.lock is a symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it(
    'lets exactly one of two first starts on an empty folder seed it and print a key',
    async () => {
      const dir = path.join(root, 'race');
      const results = await Promise.allSettled([start(embedded(dir)), start(embedded(dir))]);
      const started = results.filter((r): r is PromiseFulfilledResult<RunningServer> => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      try {
        expect(started).toHaveLength(1);
        expect(refused).toHaveLength(1);
        const winner = started[0]!.value;
        const message = String(refused[0]!.reason);
        expect(message).toMatch(new RegExp(`is in use by process ${winner.pid} `));
        expect(message).not.toMatch(/Admin API key|demo data loaded/);
        const key = adminKeyIn(winner.output());
        const counts = await post(winner, '{ articles(first: 1) { totalCount } apiKeys { name } }', key);
        expect(counts.data).toEqual({
          articles: { totalCount: DEMO_ARTICLE_COUNT },
          apiKeys: [{ name: 'local-admin' }],
        });
      } finally {
        for (const server of started) expect(await server.value.stop()).toBe(0);
      }
    },
    REAL_PROCESSES_MS,
  );
});
