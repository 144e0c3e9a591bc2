import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { refusedValue, WriteContention } from '../db/errors.ts';
import { AppError, ArticleInTrashError, ErrorCode, ValidationError } from '../errors.ts';
import { MAX_INPUT_DEPTH, normalizeDeep } from '../input/boundary.ts';
import { inputShape } from '../input/text.ts';
import { parseInstant } from '../input/instant.ts';
import type { SourceRecord } from '../records/read.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { reserveArticleIds, upsertArticles, type BulkItem, type BulkResult } from '../resolvers/articles/bulk.ts';
import { REVISION_FIELDS } from '../resolvers/articles/revisions.ts';
import { checkImportedArticle, type CreateArticleInput, type SeparationUrls } from '../resolvers/articles/writes.ts';
import type { RefInput } from '../resolvers/writing/references.ts';
import { decodeGlobalID, encodeGlobalID } from '../schema/builder.ts';

/**
 * Bulk import: records (read by src/records/read.ts) filed in batches by upsertArticles, which means
 * for each what upsertArticle means (the mutation's own validation and URL-keyed upsert), so
 * importing a file twice changes nothing and a record the API would refuse is refused here with
 * the same codes. Outcomes come in input order; memory holds three batches.
 */

/** One problem of a record: where (the field path, `[]` for the record itself), a machine-readable code, and why. */
export interface RecordError {
  path: (string | number)[];
  code: string;
  message: string;
  /** ARTICLE_IN_TRASH: the trashed article's global ID. */
  trashedId?: string;
  /** DUPLICATE_IN_FILE: the line of the record with the same link that was filed... */
  firstLine?: number;
  /** ...and its file, when the import reads several and it was another. */
  firstFile?: string;
}

/** What became of one record: filed anew, changed, already so, or refused with every error found. */
export type ImportOutcome =
  | { line: number; status: 'created' | 'updated' | 'unchanged'; id: number }
  | { line: number; status: 'rejected'; record?: unknown; errors: RecordError[] };

/** An export's separations (transfer/export.ts), lists of URLs. */
const SEPARATION_FIELDS = ['separatedFrom', 'separatedBy'] as const;
/**
 * The fields a record may have: CreateArticleInput's, and an export's story fields
 * (transfer/export.ts): `story` (the URL of the article whose story a new article joins),
 * `storyPinned` and `storyLead` (booleans: a new article is pinned there, or made its story's
 * chosen lead when it has none), `separatedFrom` and `separatedBy` (lists of URLs: the editors'
 * separations of a new article, restoreSeparations).
 */
const FIELDS = new Set<string>(['story', 'storyPinned', 'storyLead', ...SEPARATION_FIELDS, ...REVISION_FIELDS]);
const TEXT_FIELDS = ['title', 'url', 'source', 'description', 'summary', 'body'] as const;

function refsOf(value: unknown, field: 'authors' | 'topics', errors: RecordError[]): RefInput[] | undefined {
  if (!Array.isArray(value)) {
    errors.push({
      path: [field],
      code: 'INVALID_TYPE',
      message: 'Must be a list of names, or of { id } / { name } refs',
    });
    return undefined;
  }
  const typename = field === 'authors' ? 'Author' : 'Topic';
  return value.map((item, index): RefInput => {
    if (typeof item === 'string') return { name: item };
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ path: [field, index], code: 'INVALID_REF', message: 'Must be a name or a { id } / { name } ref' });
      return {};
    }
    const ref = item as Record<string, unknown>;
    const extra = Object.keys(ref).filter((key) => key !== 'id' && key !== 'name');
    if (extra.length) {
      errors.push({ path: [field, index, extra[0]!], code: 'UNKNOWN_FIELD', message: 'A ref has only id or name' });
    }
    if (ref.name != null && typeof ref.name !== 'string') {
      errors.push({ path: [field, index, 'name'], code: 'INVALID_TYPE', message: 'Must be a string' });
      return {};
    }
    let id: RefInput['id'];
    if (ref.id != null) {
      const decoded = typeof ref.id === 'string' ? safeDecode(ref.id) : null;
      if (!decoded || decoded.typename !== typename || !/^[1-9]\d{0,9}$/.test(decoded.id)) {
        errors.push({
          path: [field, index, 'id'],
          code: 'INVALID_ID',
          message: `Must be the global ID of ${/^[AEIOU]/.test(typename) ? 'an' : 'a'} ${typename}`,
        });
        return {};
      }
      id = { id: decoded.id };
    }
    return { id, name: ref.name as string | undefined };
  });
}

function safeDecode(value: string): { typename: string; id: string } | null {
  try {
    return decodeGlobalID(value);
  } catch {
    return null;
  }
}

/**
 * A record as CreateArticleInput, or the errors that stop it before validation: a field
 * CreateArticleInput does not have (UNKNOWN_FIELD), a value of the wrong JSON type (INVALID_TYPE),
 * a publishedAt that is not an ISO-8601 instant (INVALID_DATE), a bad ref (INVALID_REF, INVALID_ID).
 * `defaults` fill fields the record leaves out. Strings are put in NFC, as the API's input boundary does.
 */
export function recordToInput(
  record: Record<string, unknown>,
  defaults: Record<string, unknown> = {},
):
  | ({ input: CreateArticleInput; storyOf?: string; storyPinned?: boolean; storyLead?: boolean } & SeparationUrls)
  | { errors: RecordError[] } {
  const errors: RecordError[] = [];
  const merged: Record<string, unknown> = { ...defaults, ...record };
  const input: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(merged)) {
    if (!FIELDS.has(field)) {
      errors.push({ path: [field], code: 'UNKNOWN_FIELD', message: 'Not a field of CreateArticleInput' });
      continue;
    }
    if (value === null || value === undefined) {
      input[field] = value;
      continue;
    }
    if (field === 'story') {
      if (typeof value !== 'string') errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be a URL' });
      continue;
    }
    if (field === 'separatedFrom' || field === 'separatedBy') {
      if (!Array.isArray(value))
        errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be a list of URLs' });
      else {
        value.forEach((url, index) => {
          if (typeof url !== 'string')
            errors.push({ path: [field, index], code: 'INVALID_TYPE', message: 'Must be a URL' });
        });
      }
      continue;
    }
    if (field === 'storyPinned' || field === 'storyLead') {
      if (typeof value !== 'boolean')
        errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be true or false' });
      continue;
    }
    if ((TEXT_FIELDS as readonly string[]).includes(field)) {
      if (typeof value !== 'string') errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be a string' });
      else input[field] = value;
    } else if (field === 'priority') {
      if (typeof value !== 'number') errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be a number' });
      else input[field] = value;
    } else if (field === 'isAustralian') {
      if (typeof value !== 'boolean')
        errors.push({ path: [field], code: 'INVALID_TYPE', message: 'Must be true or false' });
      else input[field] = value;
    } else if (field === 'publishedAt') {
      try {
        input[field] = parseInstant(value);
      } catch (error) {
        errors.push({ path: [field], code: 'INVALID_DATE', message: (error as Error).message });
      }
    } else {
      input[field] = refsOf(value, field as 'authors' | 'topics', errors);
    }
  }
  if (errors.length) return { errors };
  const storyOf = typeof merged.story === 'string' ? normalizeDeep(merged.story) : undefined;
  return {
    input: normalizeDeep(input) as CreateArticleInput,
    ...(storyOf !== undefined && { storyOf }),
    ...(merged.storyPinned === true && { storyPinned: true }),
    ...(merged.storyLead === true && { storyLead: true }),
    ...Object.fromEntries(
      SEPARATION_FIELDS.flatMap((field) =>
        Array.isArray(merged[field]) && merged[field].length ? [[field, normalizeDeep(merged[field] as string[])]] : [],
      ),
    ),
  };
}

/** The errors of a refused upsert, with paths relative to the record (no leading `input`). */
function errorsOf(error: AppError): RecordError[] {
  if (error instanceof ValidationError) {
    return error.fields.map((field) => ({
      path: (field.path[0] === 'input' ? field.path.slice(1) : field.path).map((part) =>
        /^\d+$/.test(String(part)) ? Number(part) : part,
      ),
      code: field.code,
      message: field.message,
    }));
  }
  if (error instanceof ArticleInTrashError) {
    return [
      {
        path: ['url'],
        code: error.code,
        message: error.message,
        trashedId: encodeGlobalID('Article', error.trashedId),
      },
    ];
  }
  return [{ path: [], code: error.code, message: error.message }];
}

/**
 * Values one import record may hold: a record is read by our own checks, not coerced by
 * graphql-js, and its separation lists take up to MAX_SEPARATIONS (10,000) URLs, so the limit is
 * ten times the API's MAX_INPUT_VALUES.
 */
export const MAX_RECORD_VALUES = 100_000;

/**
 * A record too deep or too big to handle safely (MAX_INPUT_DEPTH levels, as the API's input
 * boundary; MAX_RECORD_VALUES values) as a read error, TOO_DEEP or TOO_LARGE; others as they are.
 */
export function boundedRecord(item: SourceRecord): SourceRecord {
  if (!('record' in item)) return item;
  const shape = inputShape(item.record);
  if (shape.depth > MAX_INPUT_DEPTH) {
    return { line: item.line, error: { code: 'TOO_DEEP', message: `Nested more than ${MAX_INPUT_DEPTH} levels` } };
  }
  if (shape.values > MAX_RECORD_VALUES) {
    return { line: item.line, error: { code: 'TOO_LARGE', message: `More than ${MAX_RECORD_VALUES} values` } };
  }
  return item;
}

/** A compact, collision-safe identity of a normalized link (96 bits of its SHA-256). */
function linkId(urlKey: string): string {
  return crypto.createHash('sha256').update(urlKey).digest('base64').slice(0, 16);
}

/** Where a link was first seen in an import: its line, and its file when the import reads several. */
export interface FirstSeen {
  line: number;
  file?: string;
}

/** A record to file (converted and checked), or one refused before filing (with the record when there is one). */
export type Screened =
  | {
      line: number;
      record: Record<string, unknown>;
      item: BulkItem;
      urlKey: string;
      /** The normalized link its `story` names. */
      storyKey?: string;
      /** The normalized links its separations name. */
      separationKeys?: string[];
    }
  | { line: number; rejected: { record?: unknown; errors: RecordError[] } };

/** Settings of screenRecords. */
export interface ScreenOptions {
  /** Values for fields a record leaves out. */
  defaults?: Record<string, unknown>;
  /** Records up to this line were filed by an earlier run that stopped: read (their links remembered), not yielded. */
  resumeAfter?: number;
  /** The links seen so far, shared by the files of one import (memory: about 40 bytes a link). */
  links?: Map<string, FirstSeen>;
  /** The file being read, for DUPLICATE_IN_FILE's `firstFile` when an import reads several. */
  file?: string;
}

/**
 * The records of `source` as the import files them, in order, each converted (recordToInput) and
 * checked as upsertArticle checks it before any database work (REQUIRED, TOO_LONG, INVALID_URL...).
 * Refused here: a read error, a record over the input limits (boundedRecord), a record those
 * checks refuse, and a valid record whose link (normalized) a valid record before it already has
 * (DUPLICATE_IN_FILE, with `firstLine`, and `firstFile` when in another file): the first valid
 * record of a link is the one filed, so an import run twice changes nothing, whatever its
 * duplicates.
 */
export async function* screenRecords(
  source: AsyncIterable<SourceRecord>,
  options: ScreenOptions = {},
): AsyncGenerator<Screened> {
  const links = options.links ?? new Map<string, FirstSeen>();
  const resumeAfter = options.resumeAfter ?? 0;
  const now = new Date();
  for await (const read of source) {
    const item = boundedRecord(read);
    const line = item.line;
    if ('error' in item) {
      if (line > resumeAfter) yield { line, rejected: { errors: [{ path: [], ...item.error }] } };
      continue;
    }
    const converted = recordToInput(item.record, options.defaults);
    if ('errors' in converted) {
      if (line > resumeAfter) {
        const errors = [...converted.errors, ...otherErrors(item.record, converted.errors, options.defaults, now)];
        yield { line, rejected: { record: item.record, errors } };
      }
      continue;
    }
    let urlKey: string;
    let storyKey: string | undefined;
    let separationKeys: string[] | undefined;
    try {
      const checked = checkImportedArticle(converted.input, converted, now);
      urlKey = checked.data.urlKey!;
      storyKey = checked.storyKey;
      const { from, by } = checked.separations;
      if (from.length || by.length) separationKeys = [...from, ...by];
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (line > resumeAfter) yield { line, rejected: { record: item.record, errors: errorsOf(error) } };
      continue;
    }
    const link = linkId(urlKey);
    const first = links.get(link);
    if (!first) links.set(link, { line, ...(options.file !== undefined && { file: options.file }) });
    if (line <= resumeAfter) continue;
    if (first) {
      const where = first.file !== undefined && first.file !== options.file ? `${first.file}, line` : 'Line';
      const error: RecordError = {
        path: ['url'],
        code: 'DUPLICATE_IN_FILE',
        message: `${where} ${first.line} has the same link (after normalization): only the first record with a link is imported`,
        firstLine: first.line,
        ...(first.file !== undefined && first.file !== options.file && { firstFile: first.file }),
      };
      yield { line, rejected: { record: item.record, errors: [error] } };
    } else {
      const { input, storyOf, storyPinned, storyLead, separatedFrom, separatedBy } = converted;
      yield {
        line,
        record: item.record,
        item: { input, storyOf, storyPinned, storyLead, separatedFrom, separatedBy },
        urlKey,
        storyKey,
        separationKeys,
      };
    }
  }
}

/**
 * The errors the API's checks find in the fields of `record` that converted (those without a
 * conversion error in `refused`), so that a rejects line lists every field's error at once, as
 * a ValidationError does, and not only that a date did not parse.
 */
function otherErrors(
  record: Record<string, unknown>,
  refused: readonly RecordError[],
  defaults: Record<string, unknown> | undefined,
  now: Date,
): RecordError[] {
  const bad = new Set(refused.map((error) => error.path[0]));
  const keep = ([field]: [string, unknown]) => !bad.has(field);
  const rest = recordToInput(
    Object.fromEntries(Object.entries(record).filter(keep)),
    Object.fromEntries(Object.entries(defaults ?? {}).filter(keep)),
  );
  if ('errors' in rest) return [];
  try {
    checkImportedArticle(rest.input, rest, now);
    return [];
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    // a field left out here is refused already: not REQUIRED as well
    return errorsOf(error).filter((found) => !bad.has(found.path[0]));
  }
}

/** A name an import may record as createdBy/updatedBy (--as): 1-100 characters, not blank, no control or format characters. */
export const IMPORTER_NAME = /^(?!\s*$)[^\p{C}]{1,100}$/u;

/** Settings of importRecords. */
export interface ImportOptions extends Omit<ScreenOptions, 'defaults'> {
  /**
   * Records filed per transaction (1-MAX_BATCH_SIZE; default 200; fewer when they hold more than
   * MAX_BATCH_TEXT of text or MAX_BATCH_NAMES names).
   */
  batchSize?: number;
  /** Values for fields a record leaves out, e.g. `{ priority: 3 }` for an RSS file. */
  defaults?: Record<string, unknown>;
}

type Pending = {
  line: number;
  record?: unknown;
  outcome?: ImportOutcome;
  item?: BulkItem;
  /** The record's normalized link, its `story`'s, and those its separations name. */
  urlKey?: string;
  storyKey?: string;
  separationKeys?: string[];
};

/** Attempts of a batch that keeps meeting conflicting writes (each is writeTransaction's own attempts). */
const BATCH_ATTEMPTS = 5;

/**
 * Files one batch; every record gets its outcome (a refusal the client can fix is one, and so is
 * STORE_REFUSED: fileItems), anything else throws. A batch that gives up on conflicting writes
 * (WriteContention: merges and deletes of the same authors all along) is tried again,
 * BATCH_ATTEMPTS times, waiting longer each time.
 */
async function fileBatch(db: Db, batch: Pending[], viewer: Viewer): Promise<ImportOutcome[]> {
  const filing = batch.filter((pending) => pending.item);
  const results = filing.length ? await fileItems(db, filing, viewer) : [];
  const byPending = new Map(filing.map((pending, i) => [pending, results[i]!]));
  return batch.map((pending) => {
    if (pending.outcome) return pending.outcome;
    const result = byPending.get(pending)!;
    if (result.status === 'rejected') {
      return { line: pending.line, status: 'rejected', record: pending.record, errors: errorsOf(result.error) };
    }
    return { line: pending.line, status: result.status, id: result.id };
  });
}

/**
 * upsertArticles for `filing` (one transaction), tried again on conflicting writes; a batch the
 * database refuses for a record's content (refusedValue) is filed again in halves, down to
 * that record, which is rejected; the others are filed.
 */
async function fileItems(db: Db, filing: Pending[], viewer: Viewer): Promise<BulkResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await upsertArticles(
        db,
        filing.map((pending) => pending.item!),
        viewer,
      );
    } catch (error) {
      // a record the database refuses (refusedValue) is rejected, never the import stopped at it:
      // running it again would stop there again
      const state = refusedValue(error);
      if (state && filing.length > 1) {
        const half = Math.ceil(filing.length / 2);
        return [
          ...(await fileItems(db, filing.slice(0, half), viewer)),
          ...(await fileItems(db, filing.slice(half), viewer)),
        ];
      }
      if (state) {
        const message = `The database refused to store this record (SQLSTATE ${state}); nothing of it was filed`;
        return [
          { status: 'rejected', error: new ValidationError([{ path: [], code: ErrorCode.STORE_REFUSED, message }]) },
        ];
      }
      if (!(error instanceof WriteContention) || attempt >= BATCH_ATTEMPTS) throw error;
      await sleep(250 * 2 ** attempt);
    }
  }
}

/** The largest batch (records per transaction). */
export const MAX_BATCH_SIZE = 500;
/** Records per batch unless the import says otherwise (as the server's POST /import.ndjson files them). */
export const DEFAULT_BATCH_SIZE = 200;

/**
 * Batches filed at once on a PostgreSQL server: while one waits for the story detector's lock, the
 * other's rows go in. The embedded database has one connection and runs one statement at a time,
 * so there a second batch would only wait for the connection (and give up after
 * DB_CONNECT_TIMEOUT_MS behind a long batch): one at a time.
 */
function batchesInFlight(): number {
  return config().database.kind === 'postgres' ? 2 : 1;
}
/**
 * Most text (characters of title, description, summary and body) in one batch: a batch of long
 * articles is cut short, so that memory stays within a few batches of this whatever the records.
 */
const MAX_BATCH_TEXT = 4_000_000;

/**
 * Most author and topic names, and URLs of separations, in one batch. A batch naming more than MAX_NAME_LOCKS holds its
 * table's name lock exclusively until it commits, so every API write creating a name waits for
 * it (3 s at most, then 503): a batch of records naming many authors and topics is cut short, to
 * hold the lock for well under a second (200 records naming 20 authors and 50 topics each held it
 * for several seconds, and 32 of about 490 writes made meanwhile failed). URLs count too, for
 * memory: a batch of records with long separation lists (each URL held several times) is cut short.
 */
const MAX_BATCH_NAMES = 1_000;

function namesOf(item: BulkItem): number {
  return (
    (item.input.authors?.length ?? 0) +
    (item.input.topics?.length ?? 0) +
    (item.separatedFrom?.length ?? 0) +
    (item.separatedBy?.length ?? 0)
  );
}

function textOf(item: BulkItem): number {
  const { title, description, summary, body } = item.input;
  return (title?.length ?? 0) + (description?.length ?? 0) + (summary?.length ?? 0) + (body?.length ?? 0);
}

/**
 * Files each record of `source` as upsertArticle would, as `viewer` (EDITOR), `batchSize` records
 * per transaction (resolvers/articles/bulk.ts), and yields an outcome per record in input order.
 * Two batches are filed at once on a PostgreSQL server (their story detection one after the other;
 * one on the embedded database: batchesInFlight), and the next is read meanwhile, except that a
 * batch waits for the one filing an article its record's `story` or separations name, and a batch making a
 * story's lead for every batch before it; no two batches name one link (screenRecords refuses a link's second record).
 * Each batch draws the ids of the articles it may create before the next starts
 * (reserveArticleIds), so articles are numbered in file order whichever batch inserts first. Stops,
 * throwing, on an error no record caused (the database unavailable): what was yielded before is
 * filed, and running the import again goes on without duplicates (the upsert is keyed by the
 * normalized URL).
 */
export async function* importRecords(
  db: Db,
  source: AsyncIterable<SourceRecord>,
  viewer: Viewer,
  options: ImportOptions = {},
): AsyncGenerator<ImportOutcome> {
  const batchSize = Math.min(Math.max(options.batchSize ?? DEFAULT_BATCH_SIZE, 1), MAX_BATCH_SIZE);
  const defaults = options.defaults ?? {};
  let batch: Pending[] = [];
  let text = 0;
  let names = 0;
  const inFlight: { done: Promise<ImportOutcome[]>; links: Set<string> }[] = [];
  const most = batchesInFlight();
  /** Draws the ids of the articles `pending` may create, before the next batch's (reserveArticleIds). */
  const reserve = async (pending: Pending[]) => {
    const ids = await reserveArticleIds(
      db,
      pending.flatMap((p) => (p.item ? [p.urlKey!] : [])),
    );
    for (const p of pending) if (p.item) p.item.id = ids.get(p.urlKey!);
  };
  const start = (pending: Pending[]) => {
    const done = fileBatch(db, pending, viewer);
    // a failure is seen when its turn comes; until then it must not count as unhandled
    done.catch(() => undefined);
    inFlight.push({ done, links: new Set(pending.flatMap((p) => (p.urlKey === undefined ? [] : [p.urlKey]))) });
  };
  /**
   * Whether `pending` must wait for `flight` to commit: a record of it joins the story of an
   * article `flight` files, or names one in its separations (not visible to this batch's
   * transaction before that commit, so the detector would place it instead, or the separation
   * would be lost when only this record names it), or makes its story's lead, which records do
   * in file order.
   */
  const waitsFor = (pending: Pending[], flight: (typeof inFlight)[number]) =>
    pending.some(
      (p) =>
        p.item?.storyLead === true ||
        (p.storyKey !== undefined && flight.links.has(p.storyKey)) ||
        p.separationKeys?.some((key) => flight.links.has(key)),
    );
  try {
    for await (const item of screenRecords(source, { ...options, defaults })) {
      if ('rejected' in item) {
        batch.push({ line: item.line, outcome: { line: item.line, status: 'rejected', ...item.rejected } });
      } else {
        batch.push({
          line: item.line,
          record: item.record,
          item: item.item,
          urlKey: item.urlKey,
          storyKey: item.storyKey,
          separationKeys: item.separationKeys,
        });
        text += textOf(item.item);
        names += namesOf(item.item);
      }
      if (batch.length >= batchSize || text >= MAX_BATCH_TEXT || names >= MAX_BATCH_NAMES) {
        while (inFlight.length >= most || inFlight.some((flight) => waitsFor(batch, flight))) {
          yield* await inFlight.shift()!.done;
        }
        await reserve(batch);
        start(batch);
        batch = [];
        text = 0;
        names = 0;
      }
    }
    while (inFlight.length) yield* await inFlight.shift()!.done;
    if (batch.length) {
      await reserve(batch);
      yield* await fileBatch(db, batch, viewer);
    }
  } finally {
    // stopped early (an error, or the consumer left): let what was started end before returning
    await Promise.allSettled(inFlight.map((flight) => flight.done));
  }
}
