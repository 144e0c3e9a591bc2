import { stringify } from 'csv-stringify/sync';

/**
 * Writers of article records for bulk export, the inverse of `readRecords` (read.ts): NDJSON
 * lines and CSV (RFC 4180) rows. Reading what these write gives back the same records (for CSV:
 * with the conversions read.ts documents; see `csvRow` for what a CSV cannot keep). Pure code.
 */

/**
 * The CSV columns, in order: the fields of the GraphQL `CreateArticleInput` as a record has them
 * (title, url, source, publishedAt, priority, isAustralian, description, summary, body, authors,
 * topics), then `story`, the export's URL of the article whose story the record's joins,
 * `storyPinned` and `storyLead`, an editor's decisions about that story, and `separatedFrom` and
 * `separatedBy`, the URLs of the articles an editor kept out of its story and of those kept out
 * of theirs (transfer/export.ts).
 */
export const RECORD_COLUMNS: readonly string[] = Object.freeze([
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
  'story',
  'storyPinned',
  'storyLead',
  'separatedFrom',
  'separatedBy',
]);

/**
 * One NDJSON line (NDJSON spec, ndjson.org): `JSON.stringify(record)` (RFC 8259; a Date becomes
 * its ISO-8601 string, undefined fields are left out) and `\n`. JSON escapes every line break
 * inside strings, so the line holds exactly one record. Throws what JSON.stringify throws (a
 * cycle, a BigInt).
 */
export function ndjsonLine(record: Record<string, unknown>): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * RFC 4180 options: "," between cells, CRLF after each row, `"` quotes (doubled inside), and
 * quotes around every cell holding a line break of any kind (csv-stringify quotes only the
 * record delimiter itself) and around the empty string, which read.ts tells from an empty
 * unquoted cell (an absent field).
 */
const CSV_OPTIONS = { record_delimiter: '\r\n', quoted_match: /^$|[\r\n]/ } as const;

/** The CSV header row (RFC 4180): `RECORD_COLUMNS` joined with ",", then CRLF. */
export function csvHeader(): string {
  return stringify([[...RECORD_COLUMNS]], CSV_OPTIONS);
}

/** The columns whose cell is a list (names, or URLs), `|` between entries. */
const LIST_COLUMNS = new Set(['authors', 'topics', 'separatedFrom', 'separatedBy']);

/** Escapes one entry for a list cell: `\` → `\\`, `|` → `\|`. */
function escapeName(name: string): string {
  return name.replace(/[\\|]/g, (c) => `\\${c}`);
}

function names(field: string, value: unknown): string {
  if (!Array.isArray(value)) throw new TypeError(`${field} must be an array of names to be written as CSV`);
  return value
    .map((entry, i) => {
      if (typeof entry === 'string') return escapeName(entry);
      if (typeof entry === 'object' && entry !== null && typeof (entry as { name?: unknown }).name === 'string') {
        return escapeName((entry as { name: string }).name);
      }
      throw new TypeError(`${field}[${i}] cannot be written as CSV: only a name (or { name }) can`);
    })
    .join('|');
}

/**
 * A text cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
 * carriage return, the OWASP "CSV Injection" list), after any number of `'`: written with one more
 * `'` in front, which spreadsheets show as a text marker and the import takes off again in a file
 * with the export's header (records/read.ts). `=HYPERLINK(...)` is written `'=HYPERLINK(...)`,
 * `'=x` is written `''=x`.
 */
export function defuseFormula(text: string): string {
  return FORMULA.test(text) ? `'${text}` : text;
}
/** A cell starting as a formula would, behind `'` marks. */
export const FORMULA = /^'*[=+\-@\t\r]/;

function cell(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (LIST_COLUMNS.has(field)) return defuseFormula(names(field, value));
  if (value instanceof Date) return value.toISOString();
  switch (typeof value) {
    case 'string':
      return defuseFormula(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      throw new TypeError(`${field} cannot be written as CSV: it is ${typeof value}`);
  }
}

/**
 * One CSV row (RFC 4180, CRLF-terminated) of `record`'s `RECORD_COLUMNS` values, in that order;
 * other keys are not written. Cells: an absent (undefined or null) field is an empty unquoted
 * cell, the empty string `""`; strings as they are (quoted when they hold `,`, `"` or a line
 * break); numbers in decimal; booleans `true` / `false`; a Date its ISO-8601 string
 * (`toISOString`); `authors` / `topics` the names (strings or `{ name }` refs), and
 * `separatedFrom` / `separatedBy` the URLs, joined with `|`,
 * each with `\` written `\\` and `|` written `\|` (an empty array is `""`). Reading the row back
 * gives the record again, but for what a CSV has no way to keep: names are trimmed and empty
 * names dropped, a string priority that is an integer literal (or an isAustralian string such as
 * "yes") comes back as a number (a boolean), and a Date comes back as its string. Text cells are
 * defused against spreadsheet formula injection (defuseFormula: one `'` before a leading `=`, `+`,
 * `-`, `@`, tab or carriage return), which reading a file with csvHeader's header takes off again.
 * Throws a TypeError for a value it cannot write: `{ id }` refs, a non-array list, an object in
 * another column.
 */
export function csvRow(record: Record<string, unknown>): string {
  return stringify([RECORD_COLUMNS.map((field) => cell(field, record[field]))], CSV_OPTIONS);
}
