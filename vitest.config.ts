import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One copy of graphql: the build that Node resolves for graphql-yoga and Pothos (main: index.js) (instanceof checks
    // on GraphQLError decide which errors are masked).
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/database.ts'],
    // Each file gets its own database; files run in parallel workers.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
