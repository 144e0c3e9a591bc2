import type { Db } from '../db/client.ts';
import { AppError, ArticleInTrashError, ValidationError } from '../errors.ts';
import { normalizeDeep } from '../input/boundary.ts';
import { parseInstant } from '../input/instant.ts';
import type { SourceRecord } from '../records/read.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { upsertArticle, type CreateArticleInput } from '../resolvers/articles/writes.ts';
import type { RefInput } from '../resolvers/writing/references.ts';
import { decodeGlobalID, encodeGlobalID } from '../schema/builder.ts';

/**
 * Bulk import: records (read by src/records/read.ts) filed one by one through upsertArticle, the
 * mutation's own validation and URL-keyed upsert, so importing a file twice changes nothing and a
 * record the API would refuse is refused here with the same codes. Records are filed a few at a
 * time and reported in input order; memory holds only those in flight.
 */

/** One problem of a record: where (the field path, `[]` for the record itself), a machine-readable code, and why. */
export interface RecordError {
  path: (string | number)[];
  code: string;
  message: string;
  /** ARTICLE_IN_TRASH: the trashed article's global ID. */
  trashedId?: string;
}

/** What became of one record: filed anew, changed, already so, or refused with every error found. */
export type ImportOutcome =
  | { line: number; status: 'created' | 'updated' | 'unchanged'; id: number }
  | { line: number; status: 'rejected'; record?: unknown; errors: RecordError[] };

/**
 * The fields a record may have: CreateArticleInput's, and `story` (an export's: the URL of the
 * article whose story a new article joins; see transfer/export.ts).
 */
const FIELDS = new Set([
  'story',
  'title',
  'url',
  'source',
  'publishedAt',
  'priority',
  'isAustralian',
  'description',
  'summary',
  'body',
  'authors',
  'topics',
]);
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
          message: `Must be the global ID of a ${typename}`,
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
): { input: CreateArticleInput; storyOf?: string } | { errors: RecordError[] } {
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
  return { input: normalizeDeep(input) as CreateArticleInput, ...(storyOf !== undefined && { storyOf }) };
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

/** Files one record; a refusal the client can fix is an outcome, anything else (the database gone) throws. */
async function fileOne(
  db: Db,
  source: SourceRecord,
  viewer: Viewer,
  defaults: Record<string, unknown>,
): Promise<ImportOutcome> {
  if ('error' in source) {
    return { line: source.line, status: 'rejected', errors: [{ path: [], ...source.error }] };
  }
  const converted = recordToInput(source.record, defaults);
  if ('errors' in converted) {
    return { line: source.line, status: 'rejected', record: source.record, errors: converted.errors };
  }
  try {
    const result = await upsertArticle(db, converted.input, viewer, new Date(), { storyOf: converted.storyOf });
    const status = result.created ? 'created' : result.changed ? 'updated' : 'unchanged';
    return { line: source.line, status, id: result.id };
  } catch (error) {
    if (error instanceof AppError) {
      return { line: source.line, status: 'rejected', record: source.record, errors: errorsOf(error) };
    }
    throw error;
  }
}

/** Settings of importRecords. */
export interface ImportOptions {
  /** Records filed at once (1-32; default 4). */
  concurrency?: number;
  /** Values for fields a record leaves out, e.g. `{ priority: 3 }` for an RSS file. */
  defaults?: Record<string, unknown>;
}

/**
 * Files each record of `source` through upsertArticle as `viewer` (EDITOR), `concurrency` at a
 * time, and yields an outcome per record in input order. Stops, throwing, on an error no record
 * caused (the database unavailable): what was yielded before is filed, and running the import
 * again goes on from there without duplicates (the upsert is keyed by the normalized URL).
 */
export async function* importRecords(
  db: Db,
  source: AsyncIterable<SourceRecord>,
  viewer: Viewer,
  options: ImportOptions = {},
): AsyncGenerator<ImportOutcome> {
  const concurrency = Math.min(Math.max(options.concurrency ?? 4, 1), 32);
  const defaults = options.defaults ?? {};
  const inFlight: Promise<ImportOutcome>[] = [];
  try {
    for await (const item of source) {
      const pending = fileOne(db, item, viewer, defaults);
      // a failure is seen when its turn comes; until then it must not count as unhandled
      pending.catch(() => undefined);
      inFlight.push(pending);
      if (inFlight.length >= concurrency) yield await inFlight.shift()!;
    }
    while (inFlight.length) yield await inFlight.shift()!;
  } finally {
    // stopped early (an error, or the consumer left): let what was started end before returning
    await Promise.allSettled(inFlight);
  }
}
