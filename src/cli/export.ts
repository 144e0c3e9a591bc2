import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { config } from '../config.ts';
import { connect, migrateDatabase, useSmallEmbeddedCache } from '../db/client.ts';
import { FolderInUseError, readLocalToken } from '../db/folderLock.ts';
import { UserInputError } from '../errors.ts';
import { csvHeader, csvRow, ndjsonLine } from '../records/write.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { exportRecords } from '../transfer/export.ts';
import { runCli } from './run.ts';
import { transferProgress } from './transferProgress.ts';

const USAGE = `Export articles (from the database of DATABASE_URL, or the embedded one in PGLITE_DIR).

usage:
  npm run export -- [options]
options:
  --filter JSON             an ArticleFilter, as articles(filter:) takes it, e.g. '{"priority":{"gte":4}}'
  --search TEXT             as articles(search:)
  --format ndjson|csv       default ndjson
  --out FILE                default: standard output
  --help                    this text

Records are in the import format (npm run import reads them back), oldest first. When a running
server holds the embedded folder, the records come through it (GET /export.ndjson).`;

/**
 * Writes `text`, waiting while `out` is full. Throws the stream's error (ENOSPC, EIO...) once it
 * has failed: a failed write is never waited on for ever, nor taken for a written one.
 */
async function write(out: Writable, text: string): Promise<void> {
  if (out.errored) throw out.errored;
  // events.once rejects when 'error' comes first
  if (!out.write(text)) await once(out, 'drain');
}

/** Ends `out` (a file) and waits until what was written is flushed; throws the stream's error. */
async function finish(out: Writable): Promise<void> {
  if (out.errored) throw out.errored;
  const finished = once(out, 'finish');
  out.end();
  await finished;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        filter: { type: 'string' },
        search: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const format = values.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'csv') {
    console.error(`--format must be ndjson or csv\n\n${USAGE}`);
    return 2;
  }
  let filter: Record<string, unknown> | null = null;
  if (values.filter !== undefined) {
    try {
      filter = JSON.parse(values.filter) as Record<string, unknown>;
    } catch {
      filter = null;
    }
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      console.error(`--filter must be the JSON of an ArticleFilter\n\n${USAGE}`);
      return 2;
    }
  }
  // a path as the user typed it, from where they typed it (npm runs scripts in the project folder);
  // opened first, so that one that cannot be written (a folder, a missing folder, no permission)
  // stops the command before it reads anything
  const outFile =
    values.out === undefined ? undefined : path.resolve(process.env.INIT_CWD ?? process.cwd(), values.out);
  let outFd: number | undefined;
  if (outFile) {
    try {
      outFd = fs.openSync(outFile, 'w');
    } catch (error) {
      console.error(`newsgraph: cannot write --out ${values.out}: ${(error as Error).message}`);
      return 2;
    }
  }
  let remote: { port: number; token: string } | undefined;
  try {
    // one pass over the data: a small cache, as PGlite keeps what its cache ever held
    useSmallEmbeddedCache();
    await connect();
    if (config().migrateOnStart) await migrateDatabase();
  } catch (error) {
    if (!(error instanceof FolderInUseError)) throw error;
    const token = readLocalToken(error.folder);
    if (!error.owner?.port || !token) throw error;
    remote = { port: error.owner.port, token };
  }
  const out: Writable = outFd !== undefined ? fs.createWriteStream('', { fd: outFd }) : process.stdout;
  // a failed write is thrown where it is written (write, finish), not as an unhandled 'error'
  if (outFd !== undefined) out.on('error', () => undefined);
  // a reader that stops early (| head) closes the pipe: that ends the export, quietly
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  const progress = transferProgress('export', null);
  const counts = { records: 0 };
  try {
    if (remote) {
      // the question as a body: a long filter does not fit a URL
      const response = await fetch(`http://127.0.0.1:${remote.port}/export.${format}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${remote.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ filter: filter ?? null, search: values.search ?? null }),
      });
      if (!response.ok || !response.body) {
        const text = await response.text();
        console.error(`newsgraph: the server answered ${response.status}: ${text.slice(0, 500)}`);
        return response.status === 400 ? 2 : 1;
      }
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        await write(out, Buffer.from(chunk).toString('utf8'));
      }
    } else {
      const viewer: Viewer = { kind: 'apiKey', keyId: 0, name: 'export', role: 'EDITOR' };
      const records = exportRecords({ filter, search: values.search ?? null }, viewer);
      let first = true;
      try {
        for await (const record of records) {
          if (first && format === 'csv') await write(out, csvHeader());
          first = false;
          await write(out, format === 'csv' ? csvRow(record) : ndjsonLine(record));
          counts.records += 1;
          progress(counts, 0, false);
        }
        if (first && format === 'csv') await write(out, csvHeader());
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        console.error(`newsgraph: ${error.extensions.code}: ${error.message}`);
        return 2;
      }
      progress(counts, 0, true);
    }
    if (outFd !== undefined) await finish(out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (outFd === undefined || !out.errored || typeof code !== 'string') throw error;
    console.error(`newsgraph: writing --out ${values.out} failed: ${(error as Error).message}`);
    return 1;
  } finally {
    if (outFd !== undefined && !out.writableFinished) out.destroy();
  }
  return 0;
}

runCli(() => main(process.argv.slice(2)), 'stop that server first, or start it so that the export goes through it.');
