import { parse as parseCsv, type CsvError, type Parser as CsvParser } from 'csv-parse';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { FORMULA, RECORD_COLUMNS } from './write.ts';

/**
 * Streaming readers of article records for bulk import: NDJSON, JSON, CSV, RSS 2.0 and Atom 1.0
 * bytes in, one `SourceRecord` out at a time. A record is a plain object with the field names of
 * the GraphQL `CreateArticleInput` (title, url, source, publishedAt, priority, isAustralian,
 * description, summary, body, authors, topics). Readers do not validate values: they only turn
 * bytes into records, converting types where the format has none (CSV cells) or where the format
 * fixes a representation (RSS dates). A reason no record could be read is an error item with a
 * code, and reading goes on when the format allows it to resynchronise.
 *
 * Memory stays bounded whatever the input's size: the consumer's `for await` pulls, each reader
 * holds at most one input chunk plus the record being read, and a record over `maxRecordBytes`
 * is reported (RECORD_TOO_LARGE) rather than buffered. Pure code: no database, no resolvers.
 */

/** An input format: NDJSON, a JSON array, CSV (RFC 4180), RSS 2.0 or Atom 1.0 (RFC 4287). */
export type RecordFormat = 'ndjson' | 'json' | 'csv' | 'rss' | 'atom';

/**
 * One input record, or a reason none could be read at `line` (1-based line number in the input
 * where the record starts; for an error found between records, the line where it was found).
 * `error.code` is one of `ReadErrorCode`; `error.message` says what is wrong, for people.
 */
export type SourceRecord =
  { line: number; record: Record<string, unknown> } | { line: number; error: { code: string; message: string } };

/**
 * Error codes of `SourceRecord` errors made by these readers:
 * - INVALID_JSON: an NDJSON line or a JSON document is not JSON (RFC 8259), or not UTF-8; NDJSON
 *   goes on at the next line, JSON stops (no way to resynchronise).
 * - NOT_AN_OBJECT: valid JSON, but the line / array element is not an object; reading goes on.
 * - RECORD_TOO_LARGE: the record's text is over `maxRecordBytes`; NDJSON, JSON, RSS and Atom skip
 *   it and go on, CSV stops.
 * - INVALID_CSV: a CSV row has a different number of cells than the header (reading goes on), the
 *   header names a field twice, or the CSV syntax is broken (unbalanced quotes; reading stops).
 * - INVALID_XML: not well-formed XML 1.0, not UTF-8 nor its declared encoding, an entity that is
 *   not predefined (no DTD is processed), or a root element other than `<rss>` / Atom `<feed>`;
 *   reading stops.
 */
export type ReadErrorCode =
  'INVALID_JSON' | 'NOT_AN_OBJECT' | 'RECORD_TOO_LARGE' | 'INVALID_CSV' | 'INVALID_XML' | 'TOO_DEEP';

/**
 * In XML, elements nested deeper than this stop the reading (TOO_DEEP), as a JSON record past as
 * many levels is refused (MAX_INPUT_DEPTH): with namespaces, saxes resolves each tag's prefix up
 * the stack of open elements, so a document of nested tags would cost the square of its length.
 */
export const MAX_XML_DEPTH = 64;

/** In XML, a text node over this many times the record limit stops the reading (saxes would hold it whole). */
export const TEXT_GUARD = 1;

/** Default largest record, in bytes of its input text (4 MiB = 4,194,304 bytes). */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** Options of `readRecords`. */
export interface ReadOptions {
  /**
   * CSV only: our field name → the header name the file uses for it, e.g. `{ title: 'headline' }`
   * for `--map title=headline`. Other formats ignore it.
   */
  map?: Record<string, string>;
  /**
   * Largest record accepted, in bytes of input text (an NDJSON line, a JSON array element, a CSV
   * record; for RSS / Atom, the UTF-16 code units of an item's / entry's captured text); default
   * MAX_RECORD_BYTES. Larger records yield RECORD_TOO_LARGE without being held in memory; in XML,
   * where saxes holds a text node whole until the next tag, a text over TEXT_GUARD times this stops
   * the reading with RECORD_TOO_LARGE.
   */
  maxRecordBytes?: number;
}

/** Bytes or text chunks: a Node Readable (a file, process.stdin) or any async iterable. */
type Input = NodeJS.ReadableStream | AsyncIterable<string | Uint8Array>;

const EXTENSIONS = new Map<string, RecordFormat>([
  ['ndjson', 'ndjson'],
  ['jsonl', 'ndjson'],
  ['json', 'json'],
  ['csv', 'csv'],
  ['rss', 'rss'],
  ['atom', 'atom'],
]);

/**
 * The format of an input, from the file name's extension (case-insensitive): `.ndjson`/`.jsonl`
 * ndjson, `.json` json, `.csv` csv, `.rss` rss, `.atom` atom, and `.xml` rss unless `head`'s root
 * element is an Atom `<feed>`. Without a known extension (`name` null or `-` for stdin), sniffed
 * from the first non-blank characters of `head` (a byte order mark is skipped): `[` json, `{` ndjson,
 * `<` rss, or atom when the root element (after any XML declaration, comments, processing
 * instructions and DOCTYPE) is `feed`; anything else, an empty head included, csv (a header row).
 */
export function detectFormat(name: string | null, head: string): RecordFormat {
  const extension = name && name !== '-' ? /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() : undefined;
  if (extension === 'xml') return xmlRoot(head) === 'feed' ? 'atom' : 'rss';
  const known = extension === undefined ? undefined : EXTENSIONS.get(extension);
  return known ?? sniff(head, true) ?? 'csv';
}

/** How many bytes `detectStreamFormat` reads at most to find the root element of an XML input. */
const SNIFF_BYTES = 64 * 1024;

/**
 * `detectFormat` for a stream (process.stdin for `-`): reads only as many chunks as it needs to
 * decide (at most about 64 KiB, none when the extension decides) and returns the format with an
 * input that replays those chunks and then goes on with the rest of `input`. Read the returned
 * `input`, never the original, afterwards.
 */
export async function detectStreamFormat(
  input: Input,
  name: string | null,
): Promise<{ format: RecordFormat; input: AsyncIterable<Uint8Array> }> {
  const iterator = (input as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  const extension = name && name !== '-' ? /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() : undefined;
  const known = extension !== undefined && extension !== 'xml' ? EXTENSIONS.get(extension) : undefined;
  let format = known;
  let size = 0;
  let ended = false;
  while (format === undefined) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
    } else {
      const chunk = toBytes(next.value);
      buffered.push(chunk);
      size += chunk.length;
    }
    const complete = ended || size >= SNIFF_BYTES;
    const head = headText(Buffer.concat(buffered), complete);
    if (head === undefined) continue;
    if (extension === 'xml') {
      const root = xmlRoot(head);
      if (root !== undefined || complete) format = root === 'feed' ? 'atom' : 'rss';
    } else {
      format = sniff(head, complete);
    }
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    try {
      for (const chunk of buffered.splice(0)) yield chunk;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield toBytes(next.value);
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { format, input: replay() };
}

/**
 * Whether `text`, a line that is not JSON, is lines that end with CR alone (classic Mac OS), read
 * as one: it holds more than one piece of text between CRs, and one of them is JSON. A CR inside
 * a string (which JSON refuses unescaped) splits no piece that is JSON.
 */
function crLines(text: string): boolean {
  const pieces = text.split('\r').filter((piece) => !JSON_BLANK.test(piece));
  return (
    pieces.length > 1 &&
    pieces.some((piece) => {
      try {
        JSON.parse(piece);
        return true;
      } catch {
        return false;
      }
    })
  );
}

/**
 * The text of an input's first bytes, for sniffing: UTF-16 when a byte order mark says so, else
 * UTF-8. Unless `complete`, a character cut by the end of `bytes` is left out, and undefined
 * when `bytes` could still be the start of a byte order mark (`FF`, `EF BB`): more bytes decide
 * (a first chunk of one byte of UTF-16 was sniffed as CSV, and every record refused).
 */
function headText(bytes: Buffer, complete: boolean): string | undefined {
  if (!complete && isMarkBegun(bytes)) return undefined;
  return new TextDecoder(markOf(bytes)?.encoding ?? 'UTF-8').decode(bytes, { stream: !complete });
}

/** The format `head` starts with; undefined when more text is needed (and `complete` is false). */
function sniff(head: string, complete: boolean): RecordFormat | undefined {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text === '') return complete ? 'csv' : undefined;
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return 'ndjson';
  if (!text.startsWith('<')) return 'csv';
  const root = xmlRoot(text);
  if (root === undefined && !complete) return undefined;
  return root === 'feed' ? 'atom' : 'rss';
}

/**
 * The local name of the root element of the XML text `head` (its prefix dropped), skipping the
 * XML declaration, processing instructions, comments and a DOCTYPE (with an internal subset);
 * undefined when `head` ends before the root element's name does, or does not look like XML.
 */
function xmlRoot(head: string): string | undefined {
  let i = 0;
  const text = head.replace(/^\uFEFF/, '');
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text[i] !== '<') return undefined;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end === -1) return undefined;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return undefined;
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      // <!DOCTYPE name ... [ internal subset ] >: skip quoted strings and the bracketed subset
      let j = i + 2;
      let bracket = 0;
      let quote = '';
      for (; j < text.length; j++) {
        const c = text[j]!;
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '[') bracket++;
        else if (c === ']') bracket--;
        else if (c === '>' && bracket <= 0) break;
      }
      if (j >= text.length) return undefined;
      i = j + 1;
    } else {
      const match = /^<([^\s/>]+)[\s/>]/.exec(text.slice(i, i + 300));
      if (!match) return undefined;
      const name = match[1]!;
      return name.slice(name.indexOf(':') + 1);
    }
  }
}

/**
 * Reads `input` as `format`, one `SourceRecord` at a time, in input order, pulled by the
 * consumer (`for await`): the next input chunk is read only when the records of the previous one
 * have been taken, so memory is bounded by a chunk plus one record (`options.maxRecordBytes`).
 * Breaking out of the loop closes `input`. A UTF-8 byte order mark is skipped; an input that
 * starts with a UTF-16 one (LE or BE) is read as UTF-16, and its bytes that are not are refused
 * as other inputs' bytes that are not UTF-8 are ("not valid UTF-16LE"). An empty input
 * (no bytes, or only blank lines / white space) yields nothing in every format.
 *
 * - ndjson (NDJSON spec, ndjson.org; JSON Lines): one JSON object (RFC 8259) per line, LF or
 *   CRLF; blank lines skipped; errors INVALID_JSON, NOT_AN_OBJECT, RECORD_TOO_LARGE, and reading
 *   goes on at the next line.
 * - json: one top-level array of objects (RFC 8259), streamed element by element, `line` being
 *   where the element starts; a non-object element gives NOT_AN_OBJECT, one over the size limit
 *   RECORD_TOO_LARGE (both go on); a syntax error gives one INVALID_JSON and ends the reading.
 * - csv (RFC 4180, via csv-parse; LF, CRLF or CR line ends): a header row names the fields (our
 *   field names, or the file's names given by `options.map`), unknown columns are passed through
 *   under their header name. An unquoted empty cell is an absent field; a quoted empty cell `""`
 *   is the empty string. `priority` becomes a number when the cell is a decimal number literal (read as
 *   JSON reads one: `2.5`, `1e3`, and past 2^53 rounded),
 *   `isAustralian`, `storyPinned` and `storyLead` booleans for true/yes/y/1 and false/no/n/0 (any case), `authors`,
 *   `topics`, `separatedFrom` and `separatedBy` arrays split on `|` (`\|` is a literal bar, `\\` a
 *   backslash; entries trimmed, empty ones dropped); other cells stay strings, and a cell that does not convert stays the string.
 *   A row with another cell count than the header gives INVALID_CSV and reading goes on; a
 *   header naming one field twice, or broken quoting, gives INVALID_CSV and stops; a record over
 *   the size limit RECORD_TOO_LARGE and stops. No header (empty input) yields nothing.
 * - rss (RSS 2.0 spec, rssboard.org) and atom (RFC 4287): one record per `channel/item` or
 *   `feed/entry`, `line` being that of its start tag. See `readFeed` below for the mapping. XML
 *   errors give one INVALID_XML and stop; no DTD is processed and no external entity fetched.
 *
 * Throws (on the first `next()`) a TypeError for an unknown `format` or a chunk that is neither
 * text nor bytes, a RangeError for a `maxRecordBytes` that is not a positive integer.
 */
export async function* readRecords(
  input: Input,
  format: RecordFormat,
  options: ReadOptions = {},
): AsyncGenerator<SourceRecord> {
  const max = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxRecordBytes must be a positive integer');
  const found: InputEncoding = { encoding: 'UTF-8' };
  const bytes = asUtf8(input, found);
  switch (format) {
    case 'ndjson':
      return yield* readNdjson(bytes, max, found);
    case 'json':
      return yield* readJsonArray(bytes, max, found);
    case 'csv':
      return yield* readCsv(bytes, options.map ?? {}, max, found);
    case 'rss':
    case 'atom':
      return yield* readFeed(bytes, format, max, found);
    default:
      throw new TypeError(`unknown record format ${JSON.stringify(format)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes

function toBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError('record input chunks must be strings or bytes');
}

/**
 * The byte order marks an input may start with (the Unicode Standard, section 23.8; RFC 2781
 * section 3.2 for UTF-16), and the encoding each names.
 */
const MARKS: { bytes: number[]; encoding: 'UTF-8' | 'UTF-16LE' | 'UTF-16BE' }[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'UTF-8' },
  { bytes: [0xff, 0xfe], encoding: 'UTF-16LE' },
  { bytes: [0xfe, 0xff], encoding: 'UTF-16BE' },
];

/** The byte order mark `bytes` start with, if any. */
function markOf(bytes: Uint8Array): (typeof MARKS)[number] | undefined {
  return MARKS.find((candidate) => candidate.bytes.every((byte, i) => bytes[i] === byte));
}

/** Whether `bytes` are the start of a byte order mark and not all of it (none yet too): more bytes decide. */
function isMarkBegun(bytes: Uint8Array): boolean {
  return MARKS.some(
    (candidate) => bytes.length < candidate.bytes.length && bytes.every((byte, i) => byte === candidate.bytes[i]),
  );
}

/** The input's encoding as its byte order mark names it (UTF-8 without one), found by `asUtf8`. */
interface InputEncoding {
  encoding: 'UTF-8' | 'UTF-16LE' | 'UTF-16BE';
}

/**
 * The input's chunks as UTF-8 bytes, empty chunks dropped: a leading UTF-8 byte order mark is
 * skipped, and an input that starts with a UTF-16 one (as spreadsheets save "Unicode text", and
 * as XML 1.0 section 4.3.3 requires processors to read) is transcoded, with the mark's encoding
 * set in `found`. Every other input passes as it is (the readers refuse what is not UTF-8).
 */
async function* asUtf8(input: Input, found: InputEncoding): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | null = new Uint8Array(0);
  let utf16: Utf16ToUtf8 | null = null;
  for await (const value of input as AsyncIterable<string | Uint8Array>) {
    let chunk = toBytes(value);
    if (head !== null) {
      chunk = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
      const mark = markOf(chunk);
      if (!mark && isMarkBegun(chunk)) {
        head = chunk; // could still be a mark: wait for more bytes
        continue;
      }
      head = null;
      if (mark) {
        chunk = chunk.subarray(mark.bytes.length);
        found.encoding = mark.encoding;
        if (mark.encoding !== 'UTF-8') utf16 = new Utf16ToUtf8(mark.encoding === 'UTF-16LE');
      }
    }
    if (utf16) chunk = utf16.push(chunk);
    if (chunk.length > 0) yield chunk;
  }
  if (head !== null && head.length > 0) yield head;
  const rest = utf16?.end();
  if (rest?.length) yield rest;
}

/** A byte that is never UTF-8: what stands for a UTF-16 code unit that is no character, so the reader refuses it there. */
const NOT_UTF8 = Uint8Array.of(0xff);

/**
 * UTF-16 (RFC 2781) to UTF-8, a chunk at a time: a code unit cut by a chunk's end, or a high
 * surrogate that may pair with the next chunk's first unit, waits for it. A lone surrogate or an
 * odd byte at the end becomes NOT_UTF8 (never U+FFFD: nothing the client sent is replaced).
 */
class Utf16ToUtf8 {
  private carry: Uint8Array = new Uint8Array(0);

  constructor(private readonly littleEndian: boolean) {}

  private unit(bytes: Uint8Array, at: number): number {
    return this.littleEndian ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!;
  }

  push(chunk: Uint8Array): Uint8Array {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let end = bytes.length & ~1;
    if (end >= 2 && (this.unit(bytes, end - 2) & 0xfc00) === 0xd800) end -= 2;
    this.carry = bytes.slice(end);
    const out: Uint8Array[] = [];
    let from = 0;
    const valid = (to: number) => {
      if (to <= from) return;
      const units = Buffer.from(bytes.subarray(from, to));
      if (!this.littleEndian) units.swap16();
      out.push(Buffer.from(units.toString('utf16le'), 'utf8'));
    };
    for (let at = 0; at < end; at += 2) {
      const unit = this.unit(bytes, at) & 0xfc00;
      if (unit === 0xd800 && (this.unit(bytes, at + 2) & 0xfc00) === 0xdc00) at += 2;
      else if (unit === 0xd800 || unit === 0xdc00) {
        valid(at);
        out.push(NOT_UTF8);
        from = at + 2;
      }
    }
    valid(end);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** What is left at the end of the input: nothing, or NOT_UTF8 for a lone high surrogate or an odd byte. */
  end(): Uint8Array {
    const left = this.carry.length;
    this.carry = new Uint8Array(0);
    return left > 0 ? NOT_UTF8 : new Uint8Array(0);
  }
}

const utf8 = () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** How many bytes at the end of `bytes` begin a UTF-8 character that the next chunk completes. */
function cutUtf8Tail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Decodes chunks of text in `encoding` strictly (TextDecoder, fatal), and finds where the bytes
 * stop being valid: on a failure, a binary search for the longest valid prefix of the chunk (with
 * the start of a UTF-8 character cut by the previous chunk carried over).
 */
class StrictText {
  private readonly decoder: TextDecoder;
  private carry: Uint8Array = new Uint8Array(0);

  constructor(readonly encoding: string) {
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  }

  /** The chunk's text (null: the end of the input), or its valid start and where that stops. */
  decode(chunk: Uint8Array | null): { text: string; invalidAt?: number } {
    try {
      const text = chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
      if (chunk && this.decoder.encoding === 'utf-8') {
        const tail = cutUtf8Tail(chunk);
        this.carry = tail > 0 ? chunk.slice(chunk.length - tail) : new Uint8Array(0);
      }
      return { text };
    } catch {
      if (!chunk) return { text: '', invalidAt: 0 }; // the input ends inside a character
      const attempt = (end: number): string | undefined => {
        try {
          const fresh = new TextDecoder(this.encoding, { fatal: true, ignoreBOM: true });
          fresh.decode(this.carry, { stream: true }); // the start of a character: no text yet
          return fresh.decode(chunk.subarray(0, end), { stream: true });
        } catch {
          return undefined;
        }
      };
      let valid = 0;
      let invalid = chunk.length;
      while (invalid - valid > 1) {
        const middle = (valid + invalid) >> 1;
        if (attempt(middle) === undefined) invalid = middle;
        else valid = middle;
      }
      return { text: attempt(valid) ?? '', invalidAt: valid };
    }
  }
}

function joinPieces(pieces: Uint8Array[]): Uint8Array {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function failure(line: number, code: ReadErrorCode, message: string): SourceRecord {
  return { line, error: { code, message } };
}

function tooLarge(line: number, what: string, max: number, then = 'skipped'): SourceRecord {
  return failure(line, 'RECORD_TOO_LARGE', `${what} is larger than ${max} bytes; ${then}`);
}

/** Sets `key` as an own enumerable property, even `__proto__` (no prototype is ever replaced). */
function put(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------
// NDJSON

const JSON_BLANK = /^[ \t\r]*$/;

async function* readNdjson(
  bytes: AsyncIterable<Uint8Array>,
  max: number,
  found: InputEncoding,
): AsyncGenerator<SourceRecord> {
  const decoder = utf8();
  let pieces: Uint8Array[] = [];
  let size = 0;
  let oversized = false;
  let line = 1;

  const finish = (): SourceRecord | undefined => {
    const parts = pieces;
    const wasOversized = oversized;
    pieces = [];
    size = 0;
    oversized = false;
    if (wasOversized) return tooLarge(line, `line ${line}`, max);
    let text: string;
    try {
      text = decoder.decode(joinPieces(parts));
    } catch {
      return failure(line, 'INVALID_JSON', `line ${line} is not valid ${found.encoding}`);
    }
    if (JSON_BLANK.test(text)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const lone = crLines(text) ? ' (its lines end with CR alone: NDJSON lines end with LF or CRLF)' : '';
      return failure(line, 'INVALID_JSON', `line ${line} is not JSON: ${(error as Error).message}${lone}`);
    }
    if (!isObject(value)) {
      return failure(line, 'NOT_AN_OBJECT', `line ${line} is ${describe(value)}, not a JSON object`);
    }
    return { line, record: value };
  };

  for await (const chunk of bytes) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!oversized && end > start) {
        if (size + (end - start) > max) {
          oversized = true;
          pieces = [];
        } else {
          pieces.push(chunk.subarray(start, end));
          size += end - start;
        }
      }
      if (newline === -1) break;
      const item = finish();
      if (item) yield item;
      line++;
      start = newline + 1;
    }
  }
  const last = finish();
  if (last) yield last;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// JSON array

/** Where the JSON array scanner is: before `[`, before the first / a next element, in one, after one, after `]`. */
type JsonState = 'beforeArray' | 'beforeFirst' | 'beforeNext' | 'inElement' | 'afterElement' | 'done';

/**
 * The closing brackets the scanner expects, one bit each (`}` or `]`): any depth an element within
 * the size limit can have (and the depth of one over it, being skipped) costs an eighth of a byte
 * a level. An element too deep for the importer is refused there (TOO_DEEP), not here.
 */
class Closers {
  private bits = new Uint8Array(64);
  length = 0;
  push(closer: number): void {
    if (this.length >> 3 >= this.bits.length) {
      const grown = new Uint8Array(this.bits.length * 2);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (this.length & 7);
    if (closer === 0x7d) this.bits[this.length >> 3]! |= mask;
    else this.bits[this.length >> 3]! &= ~mask;
    this.length++;
  }
  pop(): number | undefined {
    if (this.length === 0) return undefined;
    this.length--;
    return this.bits[this.length >> 3]! & (1 << (this.length & 7)) ? 0x7d : 0x5d;
  }
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A byte that ends a JSON number or literal (true, false, null). */
function endsScalar(byte: number): boolean {
  return isJsonSpace(byte) || byte === 0x2c || byte === 0x5d || byte === 0x7d || byte === 0x5b || byte === 0x7b;
}

/**
 * A small scanner finds where each element of the top-level array starts and ends (tracking
 * strings, escapes and bracket nesting only); JSON.parse then parses and checks each element.
 * (stream-json's tokens carry no positions, so it cannot tell the line an element starts on.)
 */
async function* readJsonArray(
  bytes: AsyncIterable<Uint8Array>,
  max: number,
  found: InputEncoding,
): AsyncGenerator<SourceRecord> {
  const decoder = utf8();
  let state: JsonState = 'beforeArray';
  let line = 1;
  let seenAnything = false;
  // the element being scanned
  let elementLine = 0;
  let pieces: Uint8Array[] = [];
  let size = 0;
  let oversized = false;
  const stack = new Closers(); // expected closing bytes
  let inString = false;
  let escaped = false;
  let scalar = false;

  const syntaxError = (message: string) => failure(line, 'INVALID_JSON', `line ${line}: ${message}`);

  const element = (): SourceRecord => {
    const parts = pieces;
    pieces = [];
    size = 0;
    if (oversized) {
      oversized = false;
      return tooLarge(elementLine, `the array element at line ${elementLine}`, max);
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(joinPieces(parts)));
    } catch (error) {
      const why = error instanceof SyntaxError ? error.message : `not valid ${found.encoding}`;
      return failure(elementLine, 'INVALID_JSON', `the array element at line ${elementLine} is not JSON: ${why}`);
    }
    if (!isObject(value)) {
      return failure(
        elementLine,
        'NOT_AN_OBJECT',
        `the array element at line ${elementLine} is ${describe(value)}, not a JSON object`,
      );
    }
    return { line: elementLine, record: value };
  };

  for await (const chunk of bytes) {
    let elementStart = state === 'inElement' ? 0 : -1;
    // collects chunk[elementStart, end) into the element, unless it has grown too large
    const collect = (end: number) => {
      if (oversized || end <= elementStart) return;
      if (size + (end - elementStart) > max) {
        oversized = true;
        pieces = [];
      } else {
        pieces.push(chunk.subarray(elementStart, end));
        size += end - elementStart;
      }
    };
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (state === 'inElement') {
        let complete = false;
        let endAt = i + 1;
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === 0x5c) escaped = true;
          else if (byte === 0x22) {
            inString = false;
            complete = stack.length === 0;
          }
        } else if (scalar) {
          if (endsScalar(byte)) {
            complete = true;
            endAt = i; // the byte is not part of the element: it is read again below
          }
        } else if (byte === 0x22) {
          inString = true;
        } else if (byte === 0x7b || byte === 0x5b) {
          stack.push(byte === 0x7b ? 0x7d : 0x5d);
        } else if (byte === 0x7d || byte === 0x5d) {
          if (stack.pop() !== byte) {
            yield syntaxError(`unexpected '${String.fromCharCode(byte)}'`);
            return;
          }
          complete = stack.length === 0;
        }
        if (byte === 0x0a && endAt !== i) line++;
        if (!complete) continue;
        collect(endAt);
        const item = element();
        yield item;
        if ('error' in item && item.error.code === 'INVALID_JSON') return;
        state = 'afterElement';
        elementStart = -1;
        if (endAt === i) i--; // the byte that ended a number or literal is read again
        continue;
      }
      if (isJsonSpace(byte)) {
        if (byte === 0x0a) line++;
        continue;
      }
      seenAnything = true;
      switch (state) {
        case 'beforeArray':
          if (byte !== 0x5b) {
            yield syntaxError(
              'expected a top-level array of objects, starting with [ (for one object per line, use NDJSON)',
            );
            return;
          }
          state = 'beforeFirst';
          continue;
        case 'afterElement':
          if (byte === 0x2c) state = 'beforeNext';
          else if (byte === 0x5d) state = 'done';
          else {
            yield syntaxError(`expected , or ] after an array element, found '${String.fromCharCode(byte)}'`);
            return;
          }
          continue;
        case 'done':
          yield syntaxError('unexpected data after the top-level array');
          return;
        case 'beforeFirst':
        case 'beforeNext':
          if (byte === 0x5d && state === 'beforeFirst') {
            state = 'done';
            continue;
          }
          if (byte === 0x5d || byte === 0x2c || byte === 0x7d || byte === 0x3a) {
            yield syntaxError(`expected an array element, found '${String.fromCharCode(byte)}'`);
            return;
          }
          state = 'inElement';
          elementLine = line;
          elementStart = i;
          inString = byte === 0x22;
          escaped = false;
          scalar = !inString && byte !== 0x7b && byte !== 0x5b;
          if (byte === 0x7b || byte === 0x5b) stack.push(byte === 0x7b ? 0x7d : 0x5d);
          continue;
      }
    }
    if (state === 'inElement') collect(chunk.length);
  }
  if ((state as JsonState) !== 'done' && seenAnything)
    yield syntaxError('unexpected end of input: the array is not closed');
}

// ---------------------------------------------------------------------------------------------
// CSV

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);
/** A decimal number literal (JSON's number grammar, RFC 8259 section 6, with a `+` sign and spaces allowed). */
const NUMBER = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Splits a CSV names cell on unescaped `|`: `\|` is a bar, `\\` a backslash; trimmed, empties dropped. */
function splitNames(cell: string): string[] {
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i]!;
    const next = cell[i + 1];
    if (c === '\\' && (next === '|' || next === '\\')) {
      current += next;
      i++;
    } else if (c === '|') {
      names.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  names.push(current);
  return names.map((name) => name.trim()).filter((name) => name !== '');
}

/** Columns the export writes as numbers, booleans or instants: never defused. */
const PLAIN_COLUMNS = new Set(['priority', 'isAustralian', 'storyPinned', 'storyLead', 'publishedAt']);

/**
 * A text cell of an export as it was before the export defused it (records/write.ts
 * defuseFormula): one leading `'` taken off a cell that starts as a formula behind it (`'=x` is
 * `=x`, `''=x` is `'=x`). Only in a file with the export's header (readCsv): in any other, a
 * leading `'` is the value's own (a headline opening with a quoted `'-40C nights'`).
 */
function undefuseFormula(cell: string): string {
  return cell.startsWith("'") && FORMULA.test(cell) ? cell.slice(1) : cell;
}

function convertCell(field: string, cell: string): unknown {
  switch (field) {
    case 'priority': {
      // read as JSON reads a number (past 2^53 rounded, past the double range Infinity), so a
      // fraction or a number out of range is OUT_OF_RANGE, as in any other format
      return NUMBER.test(cell) ? Number(cell.trim()) : cell;
    }
    case 'isAustralian':
    case 'storyPinned':
    case 'storyLead': {
      const word = cell.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return cell;
    }
    case 'authors':
    case 'topics':
    case 'separatedFrom':
    case 'separatedBy':
      return splitNames(cell);
    default:
      return cell;
  }
}

/**
 * Line numbers of CSV records from byte offsets. csv-parse tells where each record ends
 * (`info.bytes`), but its own line count takes a CRLF inside a quoted cell for two lines; this
 * counts line breaks (LF, CRLF or CR, each one) in the bytes themselves.
 */
class LineCounter {
  private chunks: Uint8Array[] = [];
  /** Offset of chunks[0] in the input. */
  private base = 0;
  /** Offset up to which line breaks have been counted. */
  private offset = 0;
  private afterCr = false;
  /** The 1-based line of the byte at `offset`. */
  line = 1;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }

  /** Moves past line breaks at the current offset (blank lines before a record); returns its line. */
  recordStart(limit = Infinity): number {
    this.scan(limit, true);
    return this.line;
  }

  /** Counts line breaks up to `offset`. */
  advanceTo(offset: number): void {
    this.scan(offset, false);
  }

  private scan(limit: number, breaksOnly: boolean): void {
    while (this.chunks.length > 0 && this.offset < limit) {
      const chunk = this.chunks[0]!;
      let i = this.offset - this.base;
      for (; i < chunk.length && this.base + i < limit; i++) {
        const byte = chunk[i]!;
        if (byte === 0x0a) {
          if (!this.afterCr) this.line++;
          this.afterCr = false;
        } else if (byte === 0x0d) {
          this.line++;
          this.afterCr = true;
        } else {
          if (breaksOnly) break;
          this.afterCr = false;
        }
      }
      this.offset = this.base + i;
      if (i < chunk.length) return;
      this.chunks.shift();
      this.base += chunk.length;
    }
  }
}

async function* readCsv(
  bytes: AsyncIterable<Uint8Array>,
  map: Record<string, string>,
  max: number,
  found: InputEncoding,
): AsyncGenerator<SourceRecord> {
  const fromHeader = new Map<string, string>();
  for (const [field, header] of Object.entries(map)) fromHeader.set(header, field);
  const rows: { cells: (string | undefined)[]; end: number }[] = [];
  let failed: Error | undefined;
  const parser: CsvParser = parseCsv({
    // RFC 4180: "," and '"' (doubled inside quotes); an unquoted empty cell is an absent field
    cast: (value, context) => (value === '' && !context.quoting ? undefined : value),
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: max,
    on_record: (cells: (string | undefined)[], context) => {
      rows.push({ cells, end: context.bytes });
      return null; // collected here, in order with errors; nothing is queued in the stream
    },
  });
  parser.on('error', (error) => {
    failed ??= error;
  });
  const lines = new LineCounter();
  let columns: string[] | null = null;
  let written = false;

  const feed = (chunk: Uint8Array | null) =>
    new Promise<void>((resolve) => {
      const done = (error?: Error | null) => {
        if (error) failed ??= error;
        resolve();
      };
      if (chunk) parser.write(chunk, done);
      else parser.end(done);
    });

  function* take(): Generator<SourceRecord, boolean> {
    for (const { cells, end } of rows.splice(0)) {
      const line = lines.recordStart();
      lines.advanceTo(end);
      if (columns === null) {
        // a file whose header is the export's, column for column, was written by the export: its
        // text cells may carry the mark that defuses a formula (defuseFormula); no other file's do
        written = cells.length === RECORD_COLUMNS.length && cells.every((cell, i) => cell === RECORD_COLUMNS[i]);
        columns = cells.map((cell) => {
          const name = (cell ?? '').trim();
          return fromHeader.get(name) ?? name;
        });
        const twice = columns.find((column, i) => column !== '' && columns!.indexOf(column) !== i);
        if (twice !== undefined) {
          yield failure(line, 'INVALID_CSV', `the header row gives the field "${twice}" more than one column`);
          return false;
        }
        continue;
      }
      if (cells.length !== columns.length) {
        yield failure(line, 'INVALID_CSV', `line ${line}: ${cells.length} cells, but the header has ${columns.length}`);
        continue;
      }
      const record: Record<string, unknown> = {};
      cells.forEach((cell, i) => {
        if (cell === undefined) return;
        const column = columns![i]!;
        put(record, column, convertCell(column, written && !PLAIN_COLUMNS.has(column) ? undefuseFormula(cell) : cell));
      });
      yield { line, record };
    }
    if (failed) {
      const error = failed as CsvError;
      const line = lines.recordStart();
      if (error.code === 'CSV_MAX_RECORD_SIZE')
        yield tooLarge(line, `the record at line ${line}`, max, 'reading stops');
      else {
        // csv-parse's own line count is off after a CRLF inside quotes: its "at line N" is left out
        const message = error.message.replace(/ at line \d+/g, '');
        yield failure(line, 'INVALID_CSV', `line ${line}: ${message}; reading stops`);
      }
      return false;
    }
    return true;
  }

  // csv-parse would decode bytes that are not UTF-8 as U+FFFD: they are refused instead
  const text = new StrictText('utf-8');
  const notUtf8 = () => {
    const line = lines.recordStart();
    return failure(
      line,
      'INVALID_CSV',
      `line ${line}: the bytes are not valid ${found.encoding} (save the file as UTF-8); reading stops`,
    );
  };
  // where the last line break fed ends (bytes): a record ending after it is not complete
  let fed = 0;
  let brokenAt = 0;
  // Before bytes that are not UTF-8: csv-parse holds the last records it was fed (it looks ahead
  // for a CRLF) until more comes or it ends, and they must not be lost. Ended, it also yields the
  // record those bytes cut short, or an error for its open quote: dropped, notUtf8 says why.
  const cutShort = async () => {
    const before = failed;
    await feed(null);
    failed = before;
    const complete = rows.filter((row) => row.end <= brokenAt);
    rows.splice(0, rows.length, ...complete);
  };
  try {
    for await (const chunk of bytes) {
      const { invalidAt } = text.decode(chunk);
      const valid = invalidAt === undefined ? chunk : chunk.subarray(0, invalidAt);
      lines.push(valid);
      await feed(valid);
      // a CR breaks a line only where the file's lines end with CR alone (as csv-parse found
      // them): in a file of LF or CRLF lines, a row ending in CR before the bad bytes is cut short
      const crAlone = parser.options.record_delimiter.some((end) => end.length === 1 && end[0] === 0x0d);
      const lastBreak = Math.max(valid.lastIndexOf(0x0a), crAlone ? valid.lastIndexOf(0x0d) : -1);
      if (lastBreak >= 0) brokenAt = fed + lastBreak + 1;
      fed += valid.length;
      if (!(yield* take())) return;
      if (invalidAt !== undefined) {
        await cutShort();
        if (!(yield* take())) return;
        yield notUtf8();
        return;
      }
    }
    if (text.decode(null).invalidAt !== undefined) {
      await cutShort();
      if (!(yield* take())) return;
      yield notUtf8();
      return;
    }
    await feed(null);
    yield* take();
  } finally {
    parser.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// RSS 2.0 and Atom 1.0

const ATOM = 'http://www.w3.org/2005/Atom';
const CONTENT = 'http://purl.org/rss/1.0/modules/content/';
const DC = 'http://purl.org/dc/elements/1.1/';
const XHTML = 'http://www.w3.org/1999/xhtml';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 822 zone names → hours east of UTC. */
const ZONES: Record<string, number> = {
  ut: 0,
  gmt: 0,
  z: 0,
  edt: -4,
  est: -5,
  cdt: -5,
  cst: -6,
  mdt: -6,
  mst: -7,
  pdt: -7,
  pst: -8,
};
const RFC822 =
  /^\s*(?:[a-z]{3}\s*,\s*)?(\d{1,2})\s+([a-z]{3})\s+(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[a-z]{1,3})\s*$/i;

/**
 * An RFC 822 date-time (as amended by RFC 1123 and RFC 2822 §3.3, what RSS 2.0's pubDate uses),
 * e.g. `Tue, 07 Apr 2026 11:24:00 +1000`, as an ISO-8601 UTC string with seconds:
 * `2026-04-07T01:24:00Z`. Accepts an optional day name, 2- or 4-digit years (2-digit: 00-49 →
 * 20xx, 50-99 → 19xx, RFC 2822 §4.3), optional seconds, numeric offsets, UT/GMT, the US zone
 * names and military letters (taken as UTC, RFC 2822 §4.3). Returns undefined when the text is
 * not such a date or names no existing time (31 Feb, 24:00, a leap second): callers keep the
 * original text then.
 */
export function rfc822ToIso(text: string): string | undefined {
  const match = RFC822.exec(text);
  if (!match) return undefined;
  const [, d, mon, y, h, mi, s = '0', zone] = match as unknown as string[];
  const month = MONTHS.indexOf(mon!.toLowerCase());
  let year = Number(y);
  if (y!.length === 2) year += year < 50 ? 2000 : 1900;
  const [day, hour, minute, second] = [d, h, mi, s].map(Number) as [number, number, number, number];
  let offsetMinutes: number;
  if (/^[+-]\d{4}$/.test(zone!)) {
    const oh = Number(zone!.slice(1, 3));
    const om = Number(zone!.slice(3));
    if (om > 59) return undefined;
    offsetMinutes = (zone!.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  } else {
    const name = zone!.toLowerCase();
    if (name in ZONES) offsetMinutes = ZONES[name]! * 60;
    else if (/^[a-ik-z]$/.test(name)) offsetMinutes = 0;
    else return undefined;
  }
  if (month < 0 || hour > 23 || minute > 59 || second > 59 || day < 1) return undefined;
  const local = new Date(0);
  local.setUTCFullYear(year, month, day);
  if (local.getUTCMonth() !== month) return undefined; // no such day in that month
  local.setUTCHours(hour, minute, second, 0);
  const instant = new Date(local.getTime() - offsetMinutes * 60_000);
  return instant.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Target =
  | 'title'
  | 'url'
  | 'guid'
  | 'description'
  | 'body'
  | 'publishedAt'
  | 'published'
  | 'updated'
  | 'author'
  | 'topic'
  | 'itemSource'
  | 'feedTitle';

interface Capture {
  target: Target;
  /** Stack depth of the element whose content is captured. */
  depth: number;
  /** Atom type="xhtml": the content is the markup inside one xhtml div (RFC 4287 §3.1.1.3). */
  xhtml: boolean;
  /** Depth of the xhtml wrapper div while open (its own tags are not part of the value); -1 once closed. */
  wrapper: number;
  parts: string[];
  size: number;
}

interface Item {
  line: number;
  depth: number;
  values: Partial<Record<Target, string>>;
  authors: string[];
  topics: string[];
  url?: string;
  guidIsPermaLink: boolean;
  size: number;
  oversized: boolean;
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text: string) => escapeText(text).replace(/"/g, '&quot;');

class XmlStop extends Error {}

/**
 * RSS 2.0 / Atom 1.0 (RFC 4287) items as records, with saxes (streaming XML 1.0 with
 * namespaces; it processes no DTD, so no entity but the five predefined ones and character
 * references is expanded, and nothing external is fetched). Per item / entry:
 * - title: RSS `title` / Atom `title`;
 * - url: RSS `link`, else a `guid` that is an http(s) URL and not isPermaLink="false" / Atom
 *   the first `link` with rel="alternate" or no rel, its href;
 * - publishedAt: RSS `pubDate` (RFC 822) as ISO-8601 UTC (the text as it is when it is not an
 *   RFC 822 date) / Atom `published`, else `updated`, as written;
 * - source: RSS item `source` text / Atom entry `source/title`, else the channel's / feed's
 *   `title` (which must come before the items, as it does in practice);
 * - description: RSS `description` / Atom `summary`; body: RSS `content:encoded` / Atom `content`;
 * - authors: RSS `author` and `dc:creator` / Atom `author/name`, in document order;
 * - topics: RSS `category` text / Atom `category@term`.
 * Only direct children of the item count. Text is entity-decoded (CDATA included) and trimmed;
 * HTML inside stays as text; markup inside an element (Atom type="xhtml", or unescaped HTML in
 * RSS) is kept as markup text. Empty values are left out, and so are authors / topics when there
 * are none. No priority or isAustralian: the importer applies defaults. The document must be
 * UTF-8 or declare an encoding that TextDecoder knows (ISO-8859-1, windows-1252, ...).
 */
async function* readFeed(
  bytes: AsyncIterable<Uint8Array>,
  kind: 'rss' | 'atom',
  max: number,
  found: InputEncoding,
): AsyncGenerator<SourceRecord> {
  const ready: SourceRecord[] = [];
  const parser = new SaxesParser({ xmlns: true, position: true, additionalNamespaces: { content: CONTENT, dc: DC } });
  const stack: { uri: string; local: string; selfClosing: boolean }[] = [];
  let startLine = 1;
  let item: Item | null = null;
  let capture: Capture | null = null;
  let feedTitle: string | undefined;

  const stop = (message: string, line = parser.line): never => {
    ready.push(failure(line, 'INVALID_XML', `line ${line}: ${message}`));
    throw new XmlStop(message);
  };
  const inItem = () => item !== null && stack.length === item.depth + 1;
  const parent = (up: number) => stack[stack.length - 1 - up];

  const begin = (target: Target, attributes: SaxesTagNS['attributes']) => {
    const type = attributes.type?.uri === '' ? attributes.type.value : undefined;
    capture = {
      target,
      depth: stack.length,
      xhtml: kind === 'atom' && type === 'xhtml',
      wrapper: 0,
      parts: [],
      size: 0,
    };
  };
  const append = (text: string) => {
    const current = capture!;
    if (item && current.target !== 'feedTitle') {
      item.size += text.length;
      if (item.size > max) item.oversized = true;
      if (item.oversized) return;
    } else if (current.size + text.length > max) return;
    current.size += text.length;
    current.parts.push(text);
  };
  const finish = (done: Capture) => {
    const value = done.parts.join('').trim();
    if (done.target === 'feedTitle') {
      if (value !== '') feedTitle ??= value;
      return;
    }
    if (!item || value === '') return;
    if (done.target === 'author') item.authors.push(value);
    else if (done.target === 'topic') item.topics.push(value);
    else item.values[done.target] ??= value;
  };

  parser.on('error', (error) => {
    const message = error.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    stop(
      message === 'undefined entity'
        ? `${message} (XML knows &amp; &lt; &gt; &quot; &apos; and numeric references only; no DTD is read)`
        : message,
    );
  });
  // characters fed since the last tag: saxes holds a text node whole until the tag after it, so a
  // text TEXT_GUARD times longer than a record may be is refused (and reading stops) rather than held
  let sinceTag = 0;
  parser.on('opentagstart', () => {
    sinceTag = 0;
    // saxes's position is past the character that ended the name: a newline puts it on column 0
    startLine = parser.column === 0 && parser.line > 1 ? parser.line - 1 : parser.line;
  });
  parser.on('opentag', (tag) => {
    stack.push({ uri: tag.uri, local: tag.local, selfClosing: tag.isSelfClosing });
    const depth = stack.length;
    if (depth > MAX_XML_DEPTH) {
      ready.push(
        failure(
          startLine,
          'TOO_DEEP',
          `line ${startLine}: elements nested more than ${MAX_XML_DEPTH} levels; reading stops here`,
        ),
      );
      throw new XmlStop('too deep');
    }
    const { uri, local, attributes } = tag;
    if (capture) {
      if (capture.xhtml && capture.wrapper === 0 && depth === capture.depth + 1 && uri === XHTML && local === 'div') {
        capture.wrapper = depth;
        return;
      }
      const attrs = Object.values(attributes)
        .map((a) => ` ${a.name}="${escapeAttribute(a.value)}"`)
        .join('');
      append(`<${tag.name}${attrs}${tag.isSelfClosing ? '/' : ''}>`);
      return;
    }
    if (depth === 1) {
      if (kind === 'rss' && (uri !== '' || local !== 'rss')) {
        stop(`the root element is <${tag.name}>, not <rss> (RSS 2.0)`, startLine);
      }
      if (kind === 'atom' && (uri !== ATOM || local !== 'feed')) {
        stop(`the root element is <${tag.name}>, not an Atom <feed> (${ATOM})`, startLine);
      }
      return;
    }
    if (kind === 'rss') {
      if (depth === 2 && (uri !== '' || local !== 'channel')) return;
      if (depth === 3 && uri === '' && parent(1)!.local === 'channel') {
        if (local === 'title') begin('feedTitle', attributes);
        if (local === 'item') item = newItem(startLine, depth);
        return;
      }
      if (!inItem()) return;
      if (uri === '') {
        const target = RSS_FIELDS[local];
        if (target === 'guid') item!.guidIsPermaLink = attributes.isPermaLink?.value.trim() !== 'false';
        if (target) begin(target, attributes);
      } else if (uri === CONTENT && local === 'encoded') begin('body', attributes);
      else if (uri === DC && local === 'creator') begin('author', attributes);
      return;
    }
    // Atom
    if (uri !== ATOM) return;
    if (depth === 2) {
      if (local === 'title') begin('feedTitle', attributes);
      if (local === 'entry') item = newItem(startLine, depth);
      return;
    }
    if (!item) return;
    if (inItem()) {
      if (local === 'link') {
        const rel = attributes.rel?.uri === '' ? attributes.rel.value.trim() : undefined;
        const href = attributes.href?.uri === '' ? attributes.href.value.trim() : '';
        if ((rel === undefined || rel === 'alternate') && href !== '') item.url ??= href;
      } else if (local === 'category') {
        const term = attributes.term?.uri === '' ? attributes.term.value.trim() : '';
        if (term !== '') item.topics.push(term);
      } else {
        const target = ATOM_FIELDS[local];
        if (target) begin(target, attributes);
      }
      return;
    }
    const up = parent(1)!;
    if (stack.length === item.depth + 2 && up.uri === ATOM) {
      if (up.local === 'author' && local === 'name') begin('author', attributes);
      if (up.local === 'source' && local === 'title') begin('itemSource', attributes);
    }
  });
  // Text and CDATA: as decoded, but escaped where it is part of markup (xhtml, or inside a child
  // element), so that the value stays the markup it was.
  const text = (value: string) => {
    if (!capture) return;
    append(capture.xhtml || stack.length > capture.depth ? escapeText(value) : value);
  };
  parser.on('text', text);
  parser.on('cdata', text);
  parser.on('closetag', (tag) => {
    sinceTag = 0;
    const closed = stack.length;
    const frame = stack.pop()!;
    if (capture) {
      if (closed === capture.depth) {
        const done: Capture = capture;
        capture = null;
        finish(done);
      } else if (closed === capture.wrapper) {
        capture.wrapper = -1; // the wrapper div is closed (there is only one)
      } else if (!frame.selfClosing) {
        append(`</${tag.name}>`);
      }
      return;
    }
    if (item && closed === item.depth) {
      const done: Item = item;
      item = null;
      ready.push(
        done.oversized ? tooLarge(done.line, `the item at line ${done.line}`, max) : toRecord(done, feedTitle),
      );
    }
  });

  // The encoding: UTF-8, or what the XML declaration names (XML 1.0 §4.3.3), looked for in the
  // first 512 bytes.
  let decoder: StrictText | null = null;
  let head: Uint8Array[] = [];
  let headSize = 0;
  let sawText = false; // white space alone is an empty input, not a document without a root
  function* take(chunk: Uint8Array | null): Generator<SourceRecord, boolean> {
    const { text, invalidAt } = decoder!.decode(chunk);
    if (!sawText && /\S/.test(text)) sawText = true;
    sinceTag += text.length;
    parser.write(text);
    yield* ready.splice(0);
    // input characters: an entity reference (`&amp;`) costs saxes more than its one character
    if (sinceTag > TEXT_GUARD * max + 65_536) {
      yield failure(parser.line, 'RECORD_TOO_LARGE', `line ${parser.line}: a text over ${TEXT_GUARD * max} characters`);
      return false;
    }
    if (invalidAt === undefined) return true;
    const encoding = found.encoding === 'UTF-8' ? decoder!.encoding : found.encoding;
    yield failure(parser.line, 'INVALID_XML', `line ${parser.line}: the bytes are not valid ${encoding}`);
    return false;
  }
  function* start(): Generator<SourceRecord, boolean> {
    const bytes = Buffer.concat(head);
    head = [];
    const declared = /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
      bytes.subarray(0, 512).toString('latin1'),
    )?.[1];
    try {
      // a UTF-16 byte order mark outranks the declaration (XML 1.0 appendix F): transcoded already
      decoder = new StrictText(found.encoding === 'UTF-8' ? (declared ?? 'utf-8') : 'utf-8');
    } catch {
      yield failure(1, 'INVALID_XML', `line 1: unsupported encoding "${declared}"`);
      return false;
    }
    return yield* take(bytes);
  }
  try {
    for await (const chunk of bytes) {
      if (decoder === null) {
        head.push(chunk);
        headSize += chunk.length;
        if (headSize < 512) continue;
        if (!(yield* start())) return;
      } else if (!(yield* take(chunk))) return;
    }
    if (decoder === null && headSize > 0 && !(yield* start())) return;
    if (decoder !== null && !(yield* take(null))) return;
    if (sawText) parser.close();
    yield* ready.splice(0);
  } catch (error) {
    if (!(error instanceof XmlStop)) throw error;
    yield* ready.splice(0);
  }
}

const RSS_FIELDS: Record<string, Target> = {
  title: 'title',
  link: 'url',
  guid: 'guid',
  description: 'description',
  pubDate: 'publishedAt',
  source: 'itemSource',
  author: 'author',
  category: 'topic',
};

const ATOM_FIELDS: Record<string, Target> = {
  title: 'title',
  summary: 'description',
  content: 'body',
  published: 'published',
  updated: 'updated',
};

function newItem(line: number, depth: number): Item {
  return { line, depth, values: {}, authors: [], topics: [], guidIsPermaLink: true, size: 0, oversized: false };
}

function toRecord(item: Item, feedTitle: string | undefined): SourceRecord {
  const { values } = item;
  const guid = item.guidIsPermaLink && values.guid && /^https?:\/\//i.test(values.guid) ? values.guid : undefined;
  const pubDate = values.publishedAt;
  const fields: [string, unknown][] = [
    ['title', values.title],
    ['url', item.url ?? values.url ?? guid],
    ['source', values.itemSource ?? feedTitle],
    ['publishedAt', pubDate !== undefined ? (rfc822ToIso(pubDate) ?? pubDate) : (values.published ?? values.updated)],
    ['description', values.description],
    ['body', values.body],
    ['authors', item.authors.length > 0 ? item.authors : undefined],
    ['topics', item.topics.length > 0 ? item.topics : undefined],
  ];
  const record: Record<string, unknown> = {};
  for (const [key, value] of fields) if (value !== undefined) record[key] = value;
  return { line: item.line, record };
}
