import { parseArgs } from 'node:util';
import { config } from '../config.ts';
import { connect, migrateDatabase, prisma } from '../db/client.ts';
import { backfillStories } from '../resolvers/stories/backfill.ts';
import { dataChanged } from '../responseCache.ts';
import { progressBar } from './progress.ts';
import { runCli } from './run.ts';

const USAGE = `Stories (the database of DATABASE_URL, or the embedded one in PGLITE_DIR).

usage:
  npm run stories:backfill                  run the story detector over every article it has not read
  npm run stories:backfill -- --batch <n>   articles per transaction (default 200)
  npm run stories:backfill -- --help        this text

Oldest first; interrupted, it goes on where it stopped when run again. Articles filed through the
API are read as they are filed; this is for an archive loaded before, or with plain SQL.`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { batch: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const batchSize = values.batch === undefined ? 200 : Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    console.error(`--batch must be an integer from 1 to 10000\n\n${USAGE}`);
    return 2;
  }
  await connect();
  if (config().migrateOnStart) await migrateDatabase();
  let bar: ((done: number) => void) | undefined;
  const result = await backfillStories(prisma, {
    batchSize,
    onProgress: (done, total) => {
      bar ??= progressBar('stories', Math.max(total, 1));
      bar(total === 0 ? 1 : done);
    },
  });
  if (result.articles > 0) await dataChanged();
  console.log(`read ${result.articles} article(s); ${result.joined} joined another article's story`);
  return 0;
}

runCli(() => main(process.argv.slice(2)), 'stop that server first.');
