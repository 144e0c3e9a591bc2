import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Files that never open a database (source layout, record parsers and writers, the bench report, the
 * settings parser, input-type coverage of the schema): the same work whichever database the suite
 * targets, so the PostgreSQL server pass (TEST_DATABASE_URL) leaves them to the embedded one.
 */
const DATABASE_FREE = [
  'test/architecture.test.ts',
  'test/record-formats.test.ts',
  'test/bench-report.test.ts',
  'test/config.test.ts',
  'test/list-inputs.test.ts',
  'test/fair-turns.test.ts',
];

export default defineConfig({
  resolve: {
    // One copy of graphql: the build that Node resolves for graphql-yoga and Pothos (main: index.js) (instanceof checks
    // on GraphQLError decide which errors are masked).
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: process.env.TEST_DATABASE_URL ? DATABASE_FREE : [],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/database.ts'],
    // Each file gets its own database; files run in parallel workers.
    pool: 'forks',
    // Vitest's default, one worker fewer than cores, runs files one at a time on 2 cores, where they
    // spend much of their time waiting on servers and commands they start: two at once took the
    // suite from 20.4 to 14.8 minutes on PGlite and from 17.9 to 12.2 on the PostgreSQL server.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // a guard against hangs, not a speed check: tests that start servers, spawn the import command or
    // create databases take 30 s and more on a slow 2-core machine
    testTimeout: 120_000,
    // Tests count statements and write behind the API's back (fixtures through Prisma): answers
    // are not cached, but in test/response-cache.test.ts, which makes its servers with the cache.
    // STATEMENT_TIMEOUT_MS: files run in parallel on as few as 2 cores, where a PGlite statement's
    // thread can be descheduled past the 5 s default and the watchdog restarts the database mid-test
    // (DATABASE_UNAVAILABLE); the tests of the timeout set their own.
    // DB_CONNECT_TIMEOUT_MS likewise: 60 concurrent writes queue for PGlite's one connection past the
    // 3 s default while another file runs beside them (the tests of the pool's timeout set their own).
    env: { RESPONSE_CACHE_TTL_MS: '0', STATEMENT_TIMEOUT_MS: '30000', DB_CONNECT_TIMEOUT_MS: '30000' },
    hookTimeout: 120_000,
  },
});
