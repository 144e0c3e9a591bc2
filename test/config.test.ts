import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';

describe('configuration', () => {
  it('defaults to the embedded database in ./data on port 4000, migrating and seeding it', () => {
    const config = parseConfig({});
    expect(config.database).toEqual({ kind: 'pglite', dataDir: './data' });
    expect(config.port).toBe(4000);
    expect(config.migrateOnStart).toBe(true);
    expect(config.seedDemoData).toBe(true);
  });

  it('uses a PostgreSQL server when DATABASE_URL is set, without migrating or seeding unless asked', () => {
    const config = parseConfig({ DATABASE_URL: 'postgresql://u@db:5432/news', PORT: '8080' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgresql://u@db:5432/news' });
    expect(config.port).toBe(8080);
    expect(config.migrateOnStart).toBe(false);
    expect(config.seedDemoData).toBe(false);
    expect(parseConfig({ DATABASE_URL: 'postgres://x', MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SEED_DEMO_DATA: 'maybe' }, 'SEED_DEMO_DATA'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
  ])('refuses %o, naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(name));
  });
});
