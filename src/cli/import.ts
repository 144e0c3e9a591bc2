import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tryLock } from 'fs-native-extensions';
import { config } from '../config.ts';
import { connect, migrateDatabase, prisma, useSmallEmbeddedCache } from '../db/client.ts';
import { FolderInUseError, readLocalToken } from '../db/folderLock.ts';
import { detectStreamFormat, readRecords, type RecordFormat, type SourceRecord } from '../records/read.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { dataChanged } from '../responseCache.ts';
import crypto from 'node:crypto';
import { closeEvents, configureEvents } from '../resolvers/alerts/events.ts';
import { createLogger } from '../observability.ts';
import { shareDataChanges } from '../responseCache.ts';
import { MAX_RECORD_BYTES } from '../records/read.ts';
import {
  DEFAULT_BATCH_SIZE,
  importRecords,
  MAX_BATCH_SIZE,
  recordToInput,
  screenRecords,
  type ImportOutcome,
  type RecordError,
  IMPORTER_NAME,
  type FirstSeen,
  type Screened,
} from '../transfer/import.ts';
import { decodeGlobalID } from '../schema/builder.ts';
import { ValidationError } from '../errors.ts';
import { checkNewArticle } from '../resolvers/articles/writes.ts';
import { runCli } from './run.ts';
import { transferProgress } from './transferProgress.ts';

const USAGE = `Import articles (into the database of DATABASE_URL, or the embedded one in PGLITE_DIR).

usage:
  npm run import -- FILE... [options]      FILE: NDJSON, a JSON array, CSV with a header row, RSS 2.0 or
                                           Atom, by extension or content; - for standard input
options:
  --format ndjson|json|csv|rss|atom        the format of every FILE (default: from each one)
  --map FIELD=COLUMN,...                   CSV: read FIELD from the column headed COLUMN
  --set FIELD=VALUE                        a value for records that leave FIELD out, e.g. --set priority=3
                                           (repeatable; VALUE is JSON, or else text; checked as a
                                           record's field would be: a bad one stops here, exit 2)
  --rejects FILE                           where refused records go (default <FILE>.rejects.ndjson,
                                           or rejects.ndjson for standard input)
  --batch N                                records per transaction, 1-500 (default 200)
  --as NAME                                the name recorded as createdBy/updatedBy (default "import")
  --help                                   this text

Each record is filed as upsertArticle files it (same validation, same URL-keyed upsert), so a file
imported twice changes nothing. A refused record never stops the rest: it goes to the rejects file,
one JSON object per line: { line, record, errors: [{ path, code, message }] }. Interrupted, the same
command goes on after the last record it had filed (<FILE>.<run>.import-state.json, one per
database and options). When a running
server holds the embedded folder, records go through it (POST /import.ndjson). The last line
printed is the summary. Exit status: 0 all filed, 3 some refused, 1 stopped by an error, 2 usage.`;

type Counts = Record<ImportOutcome['status'], number>;

/** What an interrupted import of a file left: where to go on from, and the counts so far. */
interface ImportState {
  size: number;
  mtimeMs: number;
  /** The database and the options it ran with: another run goes on from here only with the same. */
  run: string;
  line: number;
  rejectsBytes: number;
  /** The rejects file's modification time then: another run's rejects since make the position void. */
  rejectsMtimeMs: number;
  counts: Counts;
}

/** A file's identity (device and inode): the same for every name and link of one file. */
function identityOf(file: string): string {
  const { dev, ino } = fs.statSync(file);
  return `${dev}:${ino}`;
}

/**
 * Values of `--set`: JSON when it parses (3, true, ["a","b"]), else the text; or the usage error of
 * a field named twice, or one a record could not have so (recordToInput, checkNewArticle).
 */
function parseSet(values: string[]): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const item of values) {
    const at = item.indexOf('=');
    if (at < 1) return `--set takes FIELD=VALUE (got "${item}")`;
    const field = item.slice(0, at);
    if (Object.hasOwn(out, field)) return `--set names ${field} twice`;
    const text = item.slice(at + 1);
    try {
      out[field] = JSON.parse(text);
    } catch {
      out[field] = text;
    }
  }
  // checked as a record's own fields are, before any record is read: a default every record
  // would be refused for (an unknown field, a value of the wrong type or out of range) is a
  // usage error, not a rejects file of the whole input
  const read = recordToInput({}, out);
  const problems: { path: (string | number)[]; code: string; message: string }[] = 'errors' in read ? read.errors : [];
  if (!('errors' in read)) {
    try {
      checkNewArticle(read.input, new Date());
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const issue of error.fields) {
        const path = issue.path[0] === 'input' ? issue.path.slice(1) : issue.path;
        if (Object.hasOwn(out, String(path[0]))) problems.push({ ...issue, path });
      }
    }
  }
  const [first] = problems;
  return first ? `--set ${first.path.join('.')}: ${first.message} (${first.code})` : out;
}

function parseMap(values: string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const item of values.flatMap((value) => value.split(','))) {
    const [field, column, ...rest] = item.split('=');
    if (!field || !column || rest.length) return `--map takes FIELD=COLUMN pairs (got "${item}")`;
    out[field.trim()] = column.trim();
  }
  return out;
}

/** Outcomes of records filed through the running server that holds the embedded folder, in batches. */
async function* throughServer(
  source: AsyncIterable<Screened>,
  port: number,
  token: string,
  as: string,
): AsyncGenerator<ImportOutcome> {
  const MAX_RECORDS = 200;
  /** Waits (ms) before sending one record again that the server answered 503 REQUEST_TIMEOUT. */
  const SINGLE_RECORD_WAITS_MS = [1_000, 2_000, 4_000];
  const MAX_BYTES = 4 * 1024 * 1024;
  let batch: { line: number; record: Record<string, unknown>; text: string }[] = [];
  let bytes = 0;
  async function* send(): AsyncGenerator<ImportOutcome> {
    if (!batch.length) return;
    const sent = batch;
    batch = [];
    bytes = 0;
    yield* post(sent);
  }
  /**
   * Files `sent` through the server. Answered 503 REQUEST_TIMEOUT (the server's
   * REQUEST_TIMEOUT_MS passed before any of it was filed, and none of it was), sends each half
   * on its own, down to one record, and one record again after each of SINGLE_RECORD_WAITS_MS
   * (a busy server may take longer than its timeout once, not every time).
   */
  async function* post(sent: typeof batch, tries = 0): AsyncGenerator<ImportOutcome> {
    const response = await fetch(`http://127.0.0.1:${port}/import.ndjson?as=${encodeURIComponent(as)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body: sent.map((item) => item.text).join(''),
    });
    const text = await response.text();
    if (response.status === 503 && /"REQUEST_TIMEOUT"/.test(text)) {
      if (sent.length > 1) {
        const half = Math.ceil(sent.length / 2);
        yield* post(sent.slice(0, half));
        yield* post(sent.slice(half));
        return;
      }
      const wait = SINGLE_RECORD_WAITS_MS[tries];
      if (wait !== undefined) {
        await sleep(wait);
        yield* post(sent, tries + 1);
        return;
      }
    }
    if (!response.ok) throw new Error(`the server on port ${port} answered ${response.status}: ${text.slice(0, 300)}`);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const [index, item] of sent.entries()) {
      const answer = lines[index] as { status: ImportOutcome['status']; id?: string; errors?: RecordError[] };
      if (answer.status === 'rejected') {
        yield { line: item.line, status: 'rejected', record: item.record, errors: answer.errors ?? [] };
      } else {
        const id = Number(decodeGlobalID(String(answer.id)).id);
        yield { line: item.line, status: answer.status, id };
      }
    }
  }
  for await (const item of source) {
    if ('rejected' in item) {
      // refused before filing: here, in order after what is already queued
      yield* send();
      yield { line: item.line, status: 'rejected', ...item.rejected };
      continue;
    }
    const text = `${JSON.stringify(item.record)}\n`;
    if (text.length > MAX_RECORD_BYTES) {
      // numbers written out longer than they were read: too large to send as one record
      yield* send();
      const error = { path: [], code: 'RECORD_TOO_LARGE', message: `Over ${MAX_RECORD_BYTES} bytes` };
      yield { line: item.line, status: 'rejected', errors: [error] };
      continue;
    }
    if (batch.length >= MAX_RECORDS || (batch.length && bytes + text.length > MAX_BYTES)) yield* send();
    batch.push({ line: item.line, record: item.record, text });
    bytes += Buffer.byteLength(text);
  }
  yield* send();
}

/** Counts the bytes read from a stream, for the progress line. */
async function* counting(input: AsyncIterable<Uint8Array>, read: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    read.bytes += chunk.length;
    yield chunk;
  }
}

/** `--set` through the server: the defaults merged into each record on this side. */
async function* withDefaults(
  source: AsyncIterable<SourceRecord>,
  defaults: Record<string, unknown>,
): AsyncGenerator<SourceRecord> {
  for await (const item of source) yield 'record' in item ? { ...item, record: { ...defaults, ...item.record } } : item;
}

/**
 * JSON.stringify's replacer for the rejects file: a number JSON cannot hold (a record's `1e400`,
 * Infinity once parsed) is written as the string "Infinity" / "-Infinity", not as null, so the
 * file shows what the record held.
 */
function writtenNumber(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** A rejects file that cannot be opened for writing, or cannot keep what is written (fsync fails). */
class RejectsUnwritable extends Error {
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    super(`cannot write the rejects file ${file}: ${cause.message}`);
  }
}

/**
 * Claims the rejects files an import writes: each opened (created when missing, not truncated) and
 * locked exclusively with an advisory lock of the operating system, as the embedded folder is
 * (db/folderLock.ts): the kernel drops it when the process ends, however it ends. Two imports
 * writing one rejects file (the same FILE twice at once) would truncate and remove it under each
 * other, and share its saved position. Returns the path another process holds, or undefined; what
 * it claimed stays claimed until the process exits. Throws RejectsUnwritable for a file it cannot
 * open for appending or fsync.
 */
function claimRejects(files: readonly string[]): string | undefined {
  const claimed: number[] = [];
  const release = () => claimed.forEach((fd) => fs.closeSync(fd));
  for (const file of new Set(files)) {
    for (;;) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'a');
        // what takes writes but cannot keep them (a file of /proc or /sys) is refused here, before
        // any record is filed, not when the rejects are flushed at the end
        fs.fsyncSync(fd);
      } catch (error) {
        release();
        throw new RejectsUnwritable(file, error as Error);
      }
      if (!tryLock(fd)) {
        fs.closeSync(fd);
        release();
        return file;
      }
      // the file locked must still be the one at that path: an import that ends removes its empty
      // rejects file, and one that opened it just before would otherwise hold a file nobody sees
      let current: fs.Stats | undefined;
      try {
        current = fs.statSync(file);
      } catch {
        current = undefined;
      }
      if (current?.ino === fs.fstatSync(fd).ino) {
        claimed.push(fd);
        break;
      }
      fs.closeSync(fd);
    }
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        map: { type: 'string', multiple: true },
        set: { type: 'string', multiple: true },
        rejects: { type: 'string' },
        batch: { type: 'string' },
        as: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals: named } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const usage = (message: string) => {
    console.error(`${message}\n\n${USAGE}`);
    return 2;
  };
  if (!named.length) return usage('Name at least one FILE (or - for standard input).');
  const formats = ['ndjson', 'json', 'csv', 'rss', 'atom'];
  if (values.format !== undefined && !formats.includes(values.format)) {
    return usage(`--format must be one of ${formats.join(', ')}`);
  }
  const defaults = parseSet(values.set ?? []);
  if (typeof defaults === 'string') return usage(defaults);
  const map = parseMap(values.map ?? []);
  if (typeof map === 'string') return usage(map);
  const batchSize = values.batch === undefined ? undefined : Number(values.batch);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)) {
    return usage(`--batch must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
  // paths as the user typed them, from where they typed them (npm runs scripts in the project folder)
  const here = process.env.INIT_CWD ?? process.cwd();
  const files = named.map((file) => (file === '-' ? file : path.resolve(here, file)));
  for (const [i, file] of files.entries()) {
    if (file === '-') continue;
    if (!fs.existsSync(file)) return usage(`No such file: ${named[i]}`);
    if (!fs.statSync(file).isFile()) return usage(`Not a file: ${named[i]}`);
  }
  // the same file under two names (a link, `./a` and `a`) is named twice too
  const identities = files.map((file) => (file === '-' ? file : identityOf(file)));
  if (new Set(identities).size !== identities.length) return usage('A file is named twice.');
  const rejectsOption = values.rejects === undefined ? undefined : path.resolve(here, values.rejects);
  if (rejectsOption !== undefined) {
    if (!fs.existsSync(path.dirname(rejectsOption))) return usage(`No such folder for --rejects: ${values.rejects}`);
    if (fs.existsSync(rejectsOption) && !fs.statSync(rejectsOption).isFile()) {
      return usage(`--rejects names something that is not a file: ${values.rejects}`);
    }
  }
  if (values.as !== undefined && !IMPORTER_NAME.test(values.as)) {
    return usage('--as takes 1-100 characters, not blank, without control characters');
  }
  if (named.filter((file) => file === '-').length > 1) return usage('Standard input (-) can be read once.');
  const rejectsOf = (file: string) =>
    rejectsOption ?? (file === '-' ? path.join(here, 'rejects.ndjson') : `${file}.rejects.ndjson`);
  // a rejects file is emptied when its input's turn comes: it must not be an input, of this
  // file or of a later one (`import a.ndjson a.ndjson.rejects.ndjson`)
  for (const file of files) {
    const rejects = rejectsOf(file);
    if (fs.existsSync(rejects) && identities.includes(identityOf(rejects))) {
      return usage(`The rejects file ${rejects} is also an input; give --rejects another FILE.`);
    }
  }
  let busy: string | undefined;
  try {
    busy = claimRejects(files.map(rejectsOf));
  } catch (error) {
    if (!(error instanceof RejectsUnwritable)) throw error;
    return usage(`${error.message[0]!.toUpperCase()}${error.message.slice(1)}; give --rejects another FILE.`);
  }
  if (busy !== undefined) {
    console.error(
      `newsgraph: another import is writing ${busy}; wait for it or stop it, or give this one its own --rejects FILE.`,
    );
    return 1;
  }

  // the database: directly, or through the server that holds the embedded folder
  let remote: { port: number; token: string } | undefined;
  try {
    // a bulk write: PGlite keeps what its cache ever held
    useSmallEmbeddedCache();
    await connect();
    if (config().migrateOnStart) await migrateDatabase();
  } catch (error) {
    if (!(error instanceof FolderInUseError)) throw error;
    const token = readLocalToken(error.folder);
    if (!error.owner?.port || !token) throw error;
    remote = { port: error.owner.port, token };
    console.error(
      `newsgraph: the embedded database is held by the server on port ${remote.port}; importing through it`,
    );
    if (batchSize !== undefined) {
      console.error(`newsgraph: --batch does not apply there: the server files ${DEFAULT_BATCH_SIZE} records a batch`);
    }
  }
  const viewer: Viewer = { kind: 'apiKey', keyId: 0, name: values.as ?? 'import', role: 'EDITOR' };
  // writes made here reach live subscribers and the shared answer cache as a server's do (with REDIS_URL)
  const settings = config();
  let closeCache = async () => {};
  if (!remote) {
    await configureEvents({ redisUrl: settings.alerts.redisUrl, channel: settings.alerts.eventsChannel });
    closeCache = shareDataChanges(settings.responseCache, createLogger('error'));
  }
  // the database and the options: a saved position holds only for the same ones
  const target =
    settings.database.kind === 'pglite'
      ? `pglite:${path.resolve(settings.database.dataDir)}`
      : `postgres:${new URL(settings.database.url).host}${new URL(settings.database.url).pathname}`;
  const run = crypto
    .createHash('sha256')
    .update(JSON.stringify([target, values.format ?? null, map, defaults, values.as ?? null, rejectsOption ?? null]))
    .digest('hex')
    .slice(0, 16);
  const total: Counts = { created: 0, updated: 0, unchanged: 0, rejected: 0 };

  // the links seen so far, shared by the files: a link is imported once per command
  const links = new Map<string, FirstSeen>();
  for (const file of files) {
    const stdin = file === '-';
    const label = named[files.indexOf(file)]!;
    const rejectsFile = rejectsOf(file);
    // one per database and options: an import elsewhere or otherwise neither uses nor removes it
    const stateFile = stdin ? undefined : `${file}.${run}.import-state.json`;
    const stat = stdin ? undefined : fs.statSync(file);
    let state: ImportState | undefined;
    if (stateFile && stat && fs.existsSync(stateFile)) {
      const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ImportState;
      const kept = fs.existsSync(rejectsFile) ? fs.statSync(rejectsFile) : undefined;
      const same = saved.size === stat.size && saved.mtimeMs === stat.mtimeMs && saved.run === run;
      // the rejects it wrote must be as it left them (another import of the file may have rewritten them)
      const intact = kept?.size === saved.rejectsBytes && kept.mtimeMs === saved.rejectsMtimeMs;
      if (same && intact) state = saved;
      else {
        console.error(
          `newsgraph: ${label}: ${same ? 'its rejects file changed' : 'it changed'} since an import of it stopped; starting from its first line`,
        );
      }
    }
    const counts: Counts = state ? { ...state.counts } : { created: 0, updated: 0, unchanged: 0, rejected: 0 };
    // rejects of this run: appended after what the interrupted one had written when it last saved
    if (state && fs.existsSync(rejectsFile)) fs.truncateSync(rejectsFile, state.rejectsBytes);
    else if (!rejectsOption || file === files[0]) fs.writeFileSync(rejectsFile, '');
    const rejects = fs.openSync(rejectsFile, 'a');
    let rejectsBytes = fs.fstatSync(rejects).size;
    const read = { bytes: 0 };
    const raw = stdin ? process.stdin : fs.createReadStream(file, { highWaterMark: 256 * 1024 });
    const detected = await detectStreamFormat(raw, stdin ? null : file);
    const format = (values.format as RecordFormat | undefined) ?? detected.format;
    const source: AsyncIterable<SourceRecord> = readRecords(counting(detected.input, read), format, { map });
    if (state) {
      console.error(`newsgraph: ${label}: going on after line ${state.line} (an earlier import stopped there)`);
    }
    const outcomes = remote
      ? throughServer(
          screenRecords(withDefaults(source, defaults), { resumeAfter: state?.line, links, file: label }),
          remote.port,
          remote.token,
          viewer.name,
        )
      : importRecords(prisma, source, viewer, { batchSize, defaults, resumeAfter: state?.line, links, file: label });
    const progress = transferProgress(stdin ? '<stdin>' : path.basename(file), stat?.size ?? null);
    let lastSaved = Date.now();
    let sinceSaved = 0;
    let line = state?.line ?? 0;
    const save = () => {
      if (!stateFile || !stat) return;
      const rejectsMtimeMs = fs.fstatSync(rejects).mtimeMs;
      const next: ImportState = {
        size: stat.size,
        mtimeMs: stat.mtimeMs,
        run,
        line,
        rejectsBytes,
        rejectsMtimeMs,
        counts,
      };
      // a name of this process's own: two imports of one file at once must not rename each other's
      const temporary = `${stateFile}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify(next));
      fs.renameSync(temporary, stateFile);
    };
    try {
      for await (const outcome of outcomes) {
        counts[outcome.status] += 1;
        line = outcome.line;
        if (outcome.status === 'rejected') {
          const text = `${JSON.stringify(
            {
              ...(files.length > 1 && { file: label }),
              line: outcome.line,
              record: outcome.record ?? null,
              errors: outcome.errors,
            },
            writtenNumber,
          )}\n`;
          fs.writeSync(rejects, text);
          rejectsBytes += Buffer.byteLength(text);
        }
        progress(counts, read.bytes, false);
        // where to go on from: after each batch's worth of records, or each second
        if (++sinceSaved >= (batchSize ?? DEFAULT_BATCH_SIZE) || Date.now() - lastSaved > 1_000) {
          fs.fsyncSync(rejects);
          save();
          lastSaved = Date.now();
          sinceSaved = 0;
        }
      }
    } catch (error) {
      fs.fsyncSync(rejects);
      save();
      throw error;
    } finally {
      fs.closeSync(rejects);
    }
    progress(counts, read.bytes, true);
    if (stateFile && fs.existsSync(stateFile)) fs.rmSync(stateFile);
    if (!counts.rejected && !rejectsOption && fs.statSync(rejectsFile).size === 0) fs.rmSync(rejectsFile);
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += counts[key];
    if (files.length > 1) console.log(`${label}: ${summary(counts)}`);
  }
  if (!remote && total.created + total.updated > 0) await dataChanged();
  await closeCache();
  await closeEvents();
  console.log(summary(total));
  return total.rejected ? 3 : 0;
}

function summary(counts: Counts): string {
  return `created ${counts.created}, updated ${counts.updated}, unchanged ${counts.unchanged}, rejected ${counts.rejected}`;
}

runCli(
  () => main(process.argv.slice(2)),
  'wait for it or stop it; while a server (npm start) holds the folder, the import goes through it.',
);
