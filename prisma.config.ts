import { defineConfig } from 'prisma/config';

// Prisma's native engines cannot be downloaded on our machines: the CLI is used only for
// `generate` (see scripts in package.json); migrations run through src/db/migrate.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
