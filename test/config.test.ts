import fs from 'node:fs';
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

  it('reads read replicas: a comma-separated list of connection strings, only with a primary', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgresql://u@primary:5432/news',
      DATABASE_REPLICA_URLS: 'postgresql://u@r1:5432/news, postgres://u@r2:5432/news',
    });
    expect(config.replicas).toEqual({
      urls: ['postgresql://u@r1:5432/news', 'postgres://u@r2:5432/news'],
      waitMs: 2_000,
    });
    expect(parseConfig({ DATABASE_URL: 'postgresql://u@p/news' }).replicas.urls).toEqual([]);
    expect(() => parseConfig({ DATABASE_REPLICA_URLS: 'postgresql://u@r1/news' })).toThrow(
      /DATABASE_REPLICA_URLS: replicas need a primary/,
    );
    expect(() =>
      parseConfig({ DATABASE_URL: 'postgresql://u@p/news', DATABASE_REPLICA_URLS: 'mysql://u@r1/news' }),
    ).toThrow(/DATABASE_REPLICA_URLS/);
  });

  it('reads limits, CORS origins and rate limits', () => {
    const config = parseConfig({
      MAX_COST: '1000',
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      RATE_LIMIT_PER_KEY: '0',
      TRUST_PROXY: 'true',
    });
    expect(config.limits.maxCost).toBe(1000);
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(config.rateLimits).toMatchObject({ perKey: 0, anonymous: 0, trustProxy: true });
    // rate limits are on by default in production only
    expect(parseConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x' }).rateLimits).toMatchObject({
      anonymous: 120,
      perKey: 1_200,
    });
    expect(parseConfig({ RATE_LIMIT_ANONYMOUS: '30' }).rateLimits).toMatchObject({ anonymous: 30, perKey: 0 });
    expect(parseConfig({}).limits).toEqual({
      maxDepth: 10,
      maxAliases: 30,
      maxDirectives: 10,
      maxTokens: 2000,
      maxCost: 50_000,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SEED_DEMO_DATA: 'maybe' }, 'SEED_DEMO_DATA'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ CORS_ORIGINS: 'https://ok.example, not a url' }, 'CORS_ORIGINS'],
    [{ REDIS_URL: 'http://cache' }, 'REDIS_URL'],
    [{ MAX_DEPTH: '0' }, 'MAX_DEPTH'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('refuses %o, naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(name));
  });
});

describe('the declared Node range', () => {
  it('is one every installed package accepts: its lowest version of each line, and this Node', async () => {
    const semver = await import('semver');
    const read = (file: string) => JSON.parse(fs.readFileSync(new URL(file, import.meta.url), 'utf8'));
    const declared: string = read('../package.json').engines.node;
    const lock = read('../package-lock.json') as { packages: Record<string, { engines?: { node?: string } }> };
    const lowest = declared.split('||').map((range) => semver.minVersion(range.trim())!.version);
    expect(semver.satisfies(process.version, declared)).toBe(true);
    for (const version of [...lowest, process.version]) {
      const refusing = Object.entries(lock.packages)
        .filter(([, info]) => info.engines?.node && !semver.satisfies(version, info.engines.node))
        .map(([name, info]) => `${name} ${info.engines!.node}`);
      expect(refusing, `Node ${version}`).toEqual([]);
    }
  });
});
