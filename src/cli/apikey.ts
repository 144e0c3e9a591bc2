import { parseArgs } from 'node:util';
import { config } from '../config.ts';
import { connect, migrateDatabase, prisma } from '../db/client.ts';
import { ValidationError } from '../errors.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../resolvers/access/apiKeys.ts';
import type { Role } from '../resolvers/access/viewer.ts';
import { runCli } from './run.ts';

const USAGE = `Manage API keys (the database of DATABASE_URL, or the embedded one in PGLITE_DIR).

usage:
  npm run apikey -- create --name <name> --role editor|admin   make a key; prints its secret once
  npm run apikey -- list                                       every key, without secrets
  npm run apikey -- revoke --name <name>                       the key stops working at once
  npm run apikey -- --help                                     this text

EDITOR keys may create and correct articles, authors and topics; ADMIN keys may also delete,
merge and manage keys. While a server holds the embedded database, use its mutations instead.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    // an unknown option or a missing value: say which, then how
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [command] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command !== 'create' && command !== 'list' && command !== 'revoke') {
    console.error(command ? `unknown command ${JSON.stringify(command)}\n\n${USAGE}` : USAGE);
    return 2;
  }
  // the embedded database folder, when no server holds it (FolderInUseError otherwise); like the
  // server, the CLI brings an embedded database up to date first (MIGRATE_ON_START)
  await connect();
  if (config().migrateOnStart) await migrateDatabase();
  if (command === 'create') {
    const role = values.role?.toUpperCase();
    if (!values.name || (role !== 'EDITOR' && role !== 'ADMIN')) {
      const wrong = !values.name
        ? 'create needs --name'
        : `--role must be editor or admin, not ${JSON.stringify(values.role ?? '')}`;
      console.error(`${wrong}\n\n${USAGE}`);
      return 2;
    }
    try {
      const { secret, record } = await createApiKey(prisma, values.name, role as Role);
      console.log(`Created ${record.role} key "${record.name}". Store it now; it is not shown again:\n${secret}`);
      return 0;
    } catch (error) {
      if (error instanceof ValidationError) {
        console.error(error.fields.map((field) => field.message).join('; '));
        return 1;
      }
      throw error;
    }
  }
  if (command === 'list') {
    const keys = await listApiKeys(prisma);
    if (!keys.length) console.log('no keys');
    for (const key of keys) {
      const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : 'never used';
      console.log(
        `${key.name}\t${key.role}\t${key.prefix}…\t${state}\t${used}\tcreated ${key.createdAt.toISOString()}`,
      );
    }
    return 0;
  }
  if (command === 'revoke') {
    if (!values.name) {
      console.error(`revoke needs --name\n\n${USAGE}`);
      return 2;
    }
    try {
      await revokeApiKey(prisma, values.name);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      console.error(error.fields.map((field) => field.message).join('; '));
      return 1;
    }
    console.log(`revoked "${values.name}"`);
    return 0;
  }
  console.error(USAGE);
  return 2;
}

runCli(
  () => main(process.argv.slice(2)),
  'manage keys through that server instead (mutations createApiKey and revokeApiKey, query apiKeys, with an ADMIN key), or stop it first.',
);
