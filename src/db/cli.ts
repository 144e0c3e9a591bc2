import { config } from '../config.ts';
import { FolderInUseError } from './folderLock.ts';
import { applyMigrations, createMigration, migrationDrift } from './migrate.ts';

/**
 * npm run db:migrate                     apply pending migrations to the configured database
 * npm run db:migrate:dev -- --name x     write a migration for changes to prisma/schema.prisma
 * npm run db:drift                       fail when the migrations do not produce the schema
 */
const USAGE = `Database commands (the database of DATABASE_URL, or the embedded one in PGLITE_DIR).

usage:
  npm run db:migrate                       apply pending migrations
  npm run db:migrate:dev -- --name <x>     write a migration for changes to prisma/schema.prisma
  npm run db:drift                         fail when the migrations do not produce the schema
  npm run db:migrate -- --help             this text`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (argv.some((arg) => arg === '--help' || arg === '-h' || arg === 'help')) {
    console.log(USAGE);
    return 0;
  }
  const unknown = rest.filter((arg, index) => !(arg === '--name' || rest[index - 1] === '--name'));
  if (unknown.length || (command !== 'migrate:dev' && rest.length)) {
    console.error(`unknown argument: ${unknown[0] ?? rest[0]}\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case 'migrate': {
      const applied = await applyMigrations(config().database);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return 0;
    }
    case 'migrate:dev': {
      const index = rest.indexOf('--name');
      const name = index >= 0 ? rest[index + 1] : undefined;
      if (!name) {
        console.error('usage: npm run db:migrate:dev -- --name <snake_case_name>');
        return 2;
      }
      const dir = await createMigration(name);
      console.log(dir ? `created ${dir}` : 'no schema changes: no migration written');
      return 0;
    }
    case 'drift': {
      const sql = await migrationDrift();
      if (!sql) {
        console.log('migrations match prisma/schema.prisma');
        return 0;
      }
      console.error('prisma/schema.prisma differs from the migrations; run npm run db:migrate:dev -- --name <x>\n');
      console.error(sql);
      return 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof FolderInUseError) {
      console.error(
        `newsgraph: ${error.message}; a server applies pending migrations when it starts (MIGRATE_ON_START), so restart it instead, or stop it first.`,
      );
    } else console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
