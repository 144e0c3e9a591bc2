import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { config } from '../src/config.ts';
import {
  applyMigrations,
  createMigration,
  migrationDrift,
  migrationsDir,
  readMigrations,
  schemaPath,
} from '../src/db/migrate.ts';
import { openPGlite } from '../src/db/pglite.ts';
import { embeddedPass } from './support/targets.ts';

const schema = fs.readFileSync(schemaPath, 'utf8');
const changed = schema.replace(
  '  version      Int             @default(1)',
  '  version      Int             @default(1)\n  language     String?',
);

describe('migrations through the WASM schema engine', () => {
  // drift and new migrations are replays in the schema engine's own database, not the one under
  // test: the same work in either pass, so the embedded pass runs them
  it.runIf(embeddedPass)('produce exactly prisma/schema.prisma (no drift)', async () => {
    expect(await migrationDrift()).toBe('');
  });

  it.runIf(embeddedPass)('report drift when the schema changes without a migration', async () => {
    expect(changed).not.toBe(schema);
    expect(await migrationDrift(readMigrations(), changed)).toMatch(/ADD COLUMN\s+"language" TEXT/);
  });

  it.runIf(embeddedPass)(
    'write a new migration for a schema change, after which there is no drift',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-migrations-'));
      try {
        fs.cpSync(migrationsDir, dir, { recursive: true });
        const created = await createMigration('add_language', readMigrations(dir), changed);
        expect(created).toMatch(/_add_language$/);
        expect(fs.readFileSync(path.join(created!, 'migration.sql'), 'utf8')).toMatch(/ADD COLUMN\s+"language" TEXT/);
        expect(await migrationDrift(readMigrations(dir), changed)).toBe('');
        expect(await createMigration('nothing', readMigrations(dir), changed)).toBeNull();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      // three replays of the whole history in the WASM engine, each a few seconds per migration
    },
    120_000,
  );

  it('apply nothing to a database that is up to date', async () => {
    // this file's database was migrated from the template; the app's client is not open here
    expect(await applyMigrations(config().database)).toEqual([]);
  });

  it('try a failed migration again once its script is fixed, and only then', async () => {
    const name = '29991231000000_failing_then_fixed';
    const withLast = (script: string) => {
      const migrations = readMigrations();
      migrations.migrationDirectories.push({
        path: name,
        migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: script } },
      });
      return migrations;
    };
    const failing = withLast('CREATE TABLE "NewsgraphRetried" ("id" int);\nSELECT 1 / 0;');
    await expect(applyMigrations(config().database, failing)).rejects.toThrow(/division by zero/);
    // unchanged, it is not tried again: the command stops on the failed migration
    await expect(applyMigrations(config().database, failing)).rejects.toThrow(new RegExp(name));
    // fixed: applied, and its CREATE TABLE succeeds, so the failed try left nothing behind
    const fixed = withLast('CREATE TABLE "NewsgraphRetried" ("id" int);');
    expect(await applyMigrations(config().database, fixed)).toEqual([name]);
    expect(await applyMigrations(config().database, fixed)).toEqual([]);
  }, 120_000);

  it.runIf(embeddedPass)(
    'get in-memory databases that are new and independent, also when loaded from the first',
    async () => {
      // the first runs initdb, the rest load its tarball (db/pglite.ts): none sees another's tables
      const [first, second] = [await openPGlite('memory://'), await openPGlite('memory://')];
      try {
        await first.exec('CREATE TABLE "OnlyInFirst" ("id" int); INSERT INTO "OnlyInFirst" VALUES (1)');
        const third = await openPGlite('memory://');
        try {
          for (const db of [second, third]) {
            const { rows } = await db.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`,
            );
            expect(rows).toEqual([{ n: 0 }]);
          }
          await third.exec('CREATE EXTENSION pg_trgm');
          expect(
            (await third.query<{ s: number }>(`SELECT similarity('news', 'newsgraph') AS s`)).rows[0]!.s,
          ).toBeGreaterThan(0);
        } finally {
          await third.close();
        }
        expect((await first.query<{ id: number }>('SELECT "id" FROM "OnlyInFirst"')).rows).toEqual([{ id: 1 }]);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    },
  );

  it.runIf(embeddedPass)('refuse migration names that are not snake_case', async () => {
    await expect(createMigration('Bad Name; rm -rf')).rejects.toThrow(/a-z, 0-9/);
  });
});
