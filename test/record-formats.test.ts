import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  detectFormat,
  detectStreamFormat,
  MAX_RECORD_BYTES,
  MAX_XML_DEPTH,
  readRecords,
  rfc822ToIso,
  type ReadOptions,
  type RecordFormat,
  type SourceRecord,
} from '../src/records/read.ts';
import { csvHeader, csvRow, ndjsonLine, RECORD_COLUMNS } from '../src/records/write.ts';

/**
 * Readers and writers of article records for bulk import / export (src/records): every format,
 * line numbers, error codes, streaming with bounded look-ahead, and round trips.
 */

/** `text` as a stream of `size`-byte chunks (one chunk when size is omitted). */
function chunked(text: string | Buffer, size?: number): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const chunks: Buffer[] = [];
  const step = size ?? Math.max(bytes.length, 1);
  for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
  return Readable.from(chunks);
}

async function collect(
  input: AsyncIterable<string | Uint8Array> | NodeJS.ReadableStream,
  format: RecordFormat,
  options?: ReadOptions,
) {
  const out: SourceRecord[] = [];
  for await (const item of readRecords(input, format, options)) out.push(item);
  return out;
}

/** Reads `text` whole, and again in 1-byte and 7-byte chunks: all three must agree. */
async function read(text: string | Buffer, format: RecordFormat, options?: ReadOptions) {
  const whole = await collect(chunked(text), format, options);
  expect(await collect(chunked(text, 1), format, options)).toEqual(whole);
  expect(await collect(chunked(text, 7), format, options)).toEqual(whole);
  return whole;
}

const error = (line: number, code: string, message: unknown = expect.any(String)) => ({
  line,
  error: { code, message },
});

describe('detectFormat', () => {
  it('goes by the extension first', () => {
    expect(detectFormat('articles.ndjson', '[')).toBe('ndjson');
    expect(detectFormat('dump.JSONL', '')).toBe('ndjson');
    expect(detectFormat('a.json', '{"a":1}')).toBe('json');
    expect(detectFormat('/tmp/x.csv', '[')).toBe('csv');
    expect(detectFormat('feed.rss', '')).toBe('rss');
    expect(detectFormat('feed.atom', '<rss>')).toBe('atom');
    expect(detectFormat('feed.xml', '<rss version="2.0">')).toBe('rss');
    expect(detectFormat('odd.constructor', '[')).toBe('json'); // not a known extension: sniffed
    expect(detectFormat('feed.xml', '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">')).toBe('atom');
  });

  it('sniffs stdin and unknown extensions from the first non-blank characters', () => {
    expect(detectFormat(null, ' \n\t[{"a":1}]')).toBe('json');
    expect(detectFormat('-', '\uFEFF{"a":1}\n')).toBe('ndjson');
    expect(detectFormat('data.txt', 'title,url\n')).toBe('csv');
    expect(detectFormat(null, '')).toBe('csv');
    expect(detectFormat(null, '<rss version="2.0"><channel>')).toBe('rss');
    expect(
      detectFormat(
        null,
        '<?xml version="1.0"?>\n<!-- a <feed> comment -->\n<!DOCTYPE x [ <!ENTITY a "]>"> ]>\n<?pi x?><atom:feed xmlns:atom="http://www.w3.org/2005/Atom">',
      ),
    ).toBe('atom');
    expect(detectFormat(null, '<?xml version="1.0"?><rdf:RDF>')).toBe('rss');
  });

  it('peeks a stream without losing what it read', async () => {
    const stdin = new PassThrough();
    stdin.write('\n  ');
    setTimeout(() => {
      stdin.write('<fe');
      setTimeout(
        () =>
          stdin.end('ed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry><title>E</title></entry></feed>'),
        5,
      );
    }, 5);
    const { format, input } = await detectStreamFormat(stdin, '-');
    expect(format).toBe('atom');
    expect(await collect(input, format)).toEqual([{ line: 2, record: { title: 'E', source: 'F' } }]);

    const file = chunked('{"a":1}\n{"a":2}\n', 3);
    const sniffed = await detectStreamFormat(file, null);
    expect(sniffed.format).toBe('ndjson');
    expect(await collect(sniffed.input, sniffed.format)).toEqual([
      { line: 1, record: { a: 1 } },
      { line: 2, record: { a: 2 } },
    ]);

    let pulled = 0;
    async function* never() {
      pulled++;
      yield Buffer.from('x');
    }
    const named = await detectStreamFormat(never(), 'a.csv');
    expect([named.format, pulled]).toEqual(['csv', 0]); // the extension decides: nothing read
    expect(await detectStreamFormat(Readable.from([]), '-').then((r) => r.format)).toBe('csv');
    // a UTF-8 byte order mark, or a character, cut by a chunk's end: more bytes decide
    for (const text of ['\uFEFF{"a":1}\n', '\uFEFF[{"a":1}]', '\uFEFF\u00A0{"a":1}\n']) {
      for (const size of [1, 2]) {
        const cut = await detectStreamFormat(chunked(text, size), '-');
        expect(cut.format, `${JSON.stringify(text)} in ${size}-byte chunks`).toBe(
          text.includes('[') ? 'json' : 'ndjson',
        );
      }
    }
  });
});

describe('NDJSON', () => {
  it('reads one object per line, skipping blank lines, with CRLF and a BOM', async () => {
    const text =
      '\uFEFF{"title":"A","authors":["Ann","Bob"],"priority":3}\r\n' +
      '\r\n' +
      '   \n' +
      '{"title":"B","authors":[{"name":"Cy"},{"id":"au_1"}],"isAustralian":"yes"}\r\n' +
      '{"title":"C"}';
    expect(await read(text, 'ndjson')).toEqual([
      { line: 1, record: { title: 'A', authors: ['Ann', 'Bob'], priority: 3 } },
      { line: 4, record: { title: 'B', authors: [{ name: 'Cy' }, { id: 'au_1' }], isAustralian: 'yes' } },
      { line: 5, record: { title: 'C' } },
    ]);
  });

  it('reports bad lines and goes on', async () => {
    const text = ['{"title":"ok"}', '{"title": }', '[1,2]', '"just a string"', 'null', '{"title":"still ok"}', ''].join(
      '\n',
    );
    expect(await read(text, 'ndjson')).toEqual([
      { line: 1, record: { title: 'ok' } },
      error(2, 'INVALID_JSON', expect.stringMatching(/^line 2 is not JSON: /)),
      error(3, 'NOT_AN_OBJECT', 'line 3 is an array, not a JSON object'),
      error(4, 'NOT_AN_OBJECT', 'line 4 is a string, not a JSON object'),
      error(5, 'NOT_AN_OBJECT', 'line 5 is null, not a JSON object'),
      { line: 6, record: { title: 'still ok' } },
    ]);
  });

  it('says why a file whose lines end with CR alone is one line that is not JSON', async () => {
    // a blank line first, or a broken record first, and lines that are JSON after it
    for (const text of ['\r {"title":"A"}\r{"title":"B"}\r', '{"title":"A"\r{"title":"B"}\r']) {
      expect(await read(text, 'ndjson'), JSON.stringify(text)).toEqual([
        error(
          1,
          'INVALID_JSON',
          expect.stringMatching(/\(its lines end with CR alone: NDJSON lines end with LF or CRLF\)$/),
        ),
      ]);
    }
    expect(await read('{"title":"A"}\r{"title":"B"}\r', 'ndjson')).toEqual([
      error(
        1,
        'INVALID_JSON',
        expect.stringMatching(
          /^line 1 is not JSON: .*\(its lines end with CR alone: NDJSON lines end with LF or CRLF\)$/,
        ),
      ),
    ]);
    // a CR that ends no line: not JSON, for its own reason
    for (const text of ['{"title": }\r\n', '{"title":"A\rB"}\n', '{"title":"A",\r"x":1 x}\n', '{"title":"A\r\n']) {
      expect(await read(text, 'ndjson'), JSON.stringify(text)).toEqual([
        error(1, 'INVALID_JSON', expect.not.stringMatching(/CR alone/)),
      ]);
    }
  });

  it('reports a line that is not UTF-8 as INVALID_JSON', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"title":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"title":"é"}\n'),
    ]);
    expect(await read(bad, 'ndjson')).toEqual([
      error(1, 'INVALID_JSON', 'line 1 is not valid UTF-8'),
      { line: 2, record: { title: 'é' } },
    ]);
  });

  it('skips a line over the size limit without holding it', async () => {
    const limit = 40;
    const exact = `{"body":"${'x'.repeat(limit - 11)}"}`; // 40 bytes: allowed
    expect(Buffer.byteLength(exact)).toBe(limit);
    const text = `${exact}\n{"body":"${'y'.repeat(limit)}"}\n{"ok":true}\n`;
    expect(await read(text, 'ndjson', { maxRecordBytes: limit })).toEqual([
      { line: 1, record: { body: 'x'.repeat(limit - 11) } },
      error(2, 'RECORD_TOO_LARGE', `line 2 is larger than ${limit} bytes; skipped`),
      { line: 3, record: { ok: true } },
    ]);
  });

  it('has a 4 MiB default limit', async () => {
    expect(MAX_RECORD_BYTES).toBe(4 * 1024 * 1024);
    const huge = `{"body":"${'z'.repeat(MAX_RECORD_BYTES)}"}`;
    const out = await collect(chunked(`{"a":1}\n${huge}\n{"a":3}\n`, 65536), 'ndjson');
    expect(out).toEqual([{ line: 1, record: { a: 1 } }, error(2, 'RECORD_TOO_LARGE'), { line: 3, record: { a: 3 } }]);
  });
});

describe('JSON', () => {
  it('streams the elements of a top-level array with the line each starts on', async () => {
    const text = [
      '\uFEFF[',
      '  {"title": "A", "authors": [{"name": "Ann"}, {"id": "au_1"}]},',
      '  "not an object",',
      '  {',
      '    "title": "B ] } \\" [ {", "topics": ["x"]',
      '  },',
      '  [1, 2],',
      '  null, 42, true',
      ']',
      '',
    ].join('\n');
    expect(await read(text, 'json')).toEqual([
      { line: 2, record: { title: 'A', authors: [{ name: 'Ann' }, { id: 'au_1' }] } },
      error(3, 'NOT_AN_OBJECT', 'the array element at line 3 is a string, not a JSON object'),
      { line: 4, record: { title: 'B ] } " [ {', topics: ['x'] } },
      error(7, 'NOT_AN_OBJECT', 'the array element at line 7 is an array, not a JSON object'),
      error(8, 'NOT_AN_OBJECT', 'the array element at line 8 is null, not a JSON object'),
      error(8, 'NOT_AN_OBJECT', 'the array element at line 8 is a number, not a JSON object'),
      error(8, 'NOT_AN_OBJECT', 'the array element at line 8 is a boolean, not a JSON object'),
    ]);
  });

  it('stops at a syntax error, reporting its line', async () => {
    expect(await read('[\n {"a": 1},\n {"b": tru},\n {"c": 3}\n]', 'json')).toEqual([
      { line: 2, record: { a: 1 } },
      error(3, 'INVALID_JSON', expect.stringMatching(/^the array element at line 3 is not JSON: /)),
    ]);
    expect(await read('[\n{"a":1}\n{"b":2}]', 'json')).toEqual([
      { line: 2, record: { a: 1 } },
      error(3, 'INVALID_JSON', "line 3: expected , or ] after an array element, found '{'"),
    ]);
    expect(await read('[{"a":1},\n]', 'json')).toEqual([
      { line: 1, record: { a: 1 } },
      error(2, 'INVALID_JSON', "line 2: expected an array element, found ']'"),
    ]);
    expect(await read('[\n{"a":[1}]', 'json')).toEqual([error(2, 'INVALID_JSON', "line 2: unexpected '}'")]);
    expect(await read('[{"a":1},\n{"b":2}', 'json')).toEqual([
      { line: 1, record: { a: 1 } },
      { line: 2, record: { b: 2 } },
      error(2, 'INVALID_JSON', 'line 2: unexpected end of input: the array is not closed'),
    ]);
    expect(await read('{"a":1}\n{"a":2}', 'json')).toEqual([
      error(1, 'INVALID_JSON', expect.stringMatching(/^line 1: expected a top-level array/)),
    ]);
    expect(await read('[]\n[]', 'json')).toEqual([
      error(2, 'INVALID_JSON', 'line 2: unexpected data after the top-level array'),
    ]);
    expect(await read('[{"a":1}, 1x, {"b":2}]', 'json')).toEqual([
      { line: 1, record: { a: 1 } },
      error(1, 'INVALID_JSON', expect.stringMatching(/^the array element at line 1 is not JSON: /)),
    ]);
  });

  it('refuses an unknown format or a bad size limit', async () => {
    await expect(collect(chunked('{}'), 'yaml' as RecordFormat)).rejects.toThrow(TypeError);
    await expect(collect(chunked('{}'), 'ndjson', { maxRecordBytes: 0 })).rejects.toThrow(RangeError);
  });

  it('reads empty inputs as no records', async () => {
    expect(await read('', 'json')).toEqual([]);
    expect(await read(' \n ', 'json')).toEqual([]);
    expect(await read('[ ]', 'json')).toEqual([]);
  });

  it('skips an element over the size limit and goes on', async () => {
    const text = `[{"body":"${'x'.repeat(100)}"},\n{"ok":1}]`;
    expect(await read(text, 'json', { maxRecordBytes: 32 })).toEqual([
      error(1, 'RECORD_TOO_LARGE', 'the array element at line 1 is larger than 32 bytes; skipped'),
      { line: 2, record: { ok: 1 } },
    ]);
  });
});

describe('CSV', () => {
  const header = 'title,url,source,publishedAt,priority,isAustralian,description,authors,topics,extra';

  it('converts cells to our types only where a field needs it', async () => {
    const text = [
      header,
      'A,https://a,S,2026-04-07T01:24:00Z,3,TRUE,,Ann | Bob |  | Cy,Rates|Economy,kept',
      'B,,,,  4 ,y,"",x\\|y,back\\\\|z,',
      'C,,,,2.5,No,"d, with comma",lone\\x,"",',
      'D,,,,high,maybe,,,,',
      'E,,,,+2,1,,,,',
      'F,,,,99999999999999999999,0,,,,',
      'G,,,,-1,n,,,,',
      'H,,,,"",""," ",,,',
    ].join('\r\n');
    expect(await read(text, 'csv')).toEqual([
      {
        line: 2,
        record: {
          title: 'A',
          url: 'https://a',
          source: 'S',
          publishedAt: '2026-04-07T01:24:00Z',
          priority: 3,
          isAustralian: true,
          authors: ['Ann', 'Bob', 'Cy'],
          topics: ['Rates', 'Economy'],
          extra: 'kept',
        },
      },
      {
        line: 3,
        record: {
          title: 'B',
          priority: 4,
          isAustralian: true,
          description: '',
          authors: ['x|y'],
          topics: ['back\\', 'z'],
        },
      },
      {
        line: 4,
        record: {
          title: 'C',
          priority: 2.5,
          isAustralian: false,
          description: 'd, with comma',
          authors: ['lone\\x'],
          topics: [],
        },
      },
      { line: 5, record: { title: 'D', priority: 'high', isAustralian: 'maybe' } },
      { line: 6, record: { title: 'E', priority: 2, isAustralian: true } },
      // a number as JSON reads it: past 2^53 rounded (the import refuses it as OUT_OF_RANGE)
      { line: 7, record: { title: 'F', priority: 1e20, isAustralian: false } },
      { line: 8, record: { title: 'G', priority: -1, isAustralian: false } },
      { line: 9, record: { title: 'H', priority: '', isAustralian: '', description: ' ' } },
    ]);
  });

  it('maps the file’s header names to our fields', async () => {
    const text = 'headline,link,outlet,when,rank,aussie,by,tags,Other\nT,https://t,O,2026-01-01,2,yes,A|B,x,o\n';
    const map = {
      title: 'headline',
      url: 'link',
      source: 'outlet',
      publishedAt: 'when',
      priority: 'rank',
      isAustralian: 'aussie',
      authors: 'by',
      topics: 'tags',
    };
    expect(await read(text, 'csv', { map })).toEqual([
      {
        line: 2,
        record: {
          title: 'T',
          url: 'https://t',
          source: 'O',
          publishedAt: '2026-01-01',
          priority: 2,
          isAustralian: true,
          authors: ['A', 'B'],
          topics: ['x'],
          Other: 'o',
        },
      },
    ]);
    // without the map, the same file's columns pass through as they are
    expect(await read(text, 'csv')).toEqual([
      {
        line: 2,
        record: {
          headline: 'T',
          link: 'https://t',
          outlet: 'O',
          when: '2026-01-01',
          rank: '2',
          aussie: 'yes',
          by: 'A|B',
          tags: 'x',
          Other: 'o',
        },
      },
    ]);
    // a field given two columns is refused
    expect(await read('headline,title\na,b\n', 'csv', { map: { title: 'headline' } })).toEqual([
      error(1, 'INVALID_CSV', 'the header row gives the field "title" more than one column'),
    ]);
  });

  it('numbers lines where records start, across quoted line breaks and blank lines', async () => {
    const text = [
      '\uFEFFtitle,priority', // 1
      'ok,1', // 2
      '"multi', // 3
      'line, with CRLF",2', // 4
      'too,many,cells', // 5
      '', // 6
      'after,3', // 7
      '"lf\nonly\n",4', // 8-10
      'bad,"unterminated', // 11
      'never,5',
      '',
    ].join('\r\n');
    expect(await read(text, 'csv')).toEqual([
      { line: 2, record: { title: 'ok', priority: 1 } },
      { line: 3, record: { title: 'multi\r\nline, with CRLF', priority: 2 } },
      error(5, 'INVALID_CSV', 'line 5: 3 cells, but the header has 2'),
      { line: 7, record: { title: 'after', priority: 3 } },
      { line: 8, record: { title: 'lf\nonly\n', priority: 4 } },
      error(11, 'INVALID_CSV', expect.stringMatching(/^line 11: Quote Not Closed.*; reading stops$/)),
    ]);
    expect(await read('title\n"a"b\nc\n', 'csv')).toEqual([
      error(2, 'INVALID_CSV', expect.stringMatching(/^line 2: /)),
    ]);
    expect(await read('a,b\r1,2\r"x\ry",3\r', 'csv')).toEqual([
      { line: 2, record: { a: '1', b: '2' } },
      { line: 3, record: { a: 'x\ry', b: '3' } },
    ]);
  });

  it('refuses bytes that are not UTF-8 (a Latin-1 file), at the record holding them', async () => {
    const latin1 = Buffer.from('title,body\r\nok,fine\r\n"caf\xe9\r\ncr\xe8me",x\r\nnever,x\r\n', 'latin1');
    expect(await read(latin1, 'csv')).toEqual([
      { line: 2, record: { title: 'ok', body: 'fine' } },
      error(3, 'INVALID_CSV', 'line 3: the bytes are not valid UTF-8 (save the file as UTF-8); reading stops'),
    ]);
    // the rows before it are never lost, though csv-parse holds the last ones back (a CRLF may follow)
    for (const text of ['title,b\nok,1\nA\xff,2\nnever,3\n', 'title,b\rok,1\r"A\r\xff",2\rnever,3\r']) {
      expect(await read(Buffer.from(text, 'latin1'), 'csv'), JSON.stringify(text)).toEqual([
        { line: 2, record: { title: 'ok', b: '1' } },
        error(3, 'INVALID_CSV', 'line 3: the bytes are not valid UTF-8 (save the file as UTF-8); reading stops'),
      ]);
    }
    // a CR ends no line in a file of LF (or CRLF) lines: the row it ends is cut short too
    for (const text of [
      'title,url\nA,https://a.example/1\nB,https://a.example/2\r\xff',
      'title,url\r\nA,https://a.example/1\r\nB,https://a.example/2\r\xff',
    ]) {
      expect(await read(Buffer.from(text, 'latin1'), 'csv'), JSON.stringify(text)).toEqual([
        { line: 2, record: { title: 'A', url: 'https://a.example/1' } },
        error(3, 'INVALID_CSV', 'line 3: the bytes are not valid UTF-8 (save the file as UTF-8); reading stops'),
      ]);
    }
    const cut = Buffer.concat([Buffer.from('title\nok\nZo'), Buffer.from('ë').subarray(0, 1)]);
    expect(await read(cut, 'csv')).toEqual([
      { line: 2, record: { title: 'ok' } },
      error(3, 'INVALID_CSV', 'line 3: the bytes are not valid UTF-8 (save the file as UTF-8); reading stops'),
    ]);
  });

  it('yields nothing for an empty file or a header alone', async () => {
    expect(await read('', 'csv')).toEqual([]);
    expect(await read('\uFEFF', 'csv')).toEqual([]);
    expect(await read('title,url\r\n', 'csv')).toEqual([]);
  });

  it('stops at a record over the size limit', async () => {
    const text = `title,body\nok,short\nbig,${'x'.repeat(100)}\nnever,x\n`;
    expect(await read(text, 'csv', { maxRecordBytes: 64 })).toEqual([
      { line: 2, record: { title: 'ok', body: 'short' } },
      error(3, 'RECORD_TOO_LARGE', 'the record at line 3 is larger than 64 bytes; reading stops'),
    ]);
  });

  it('keeps a header named __proto__ as a plain field', async () => {
    const [item] = await read('__proto__,title\n{},x\n', 'csv');
    expect(item).toEqual({ line: 2, record: { ['__proto__']: '{}', title: 'x' } });
    const record = (item as { record: Record<string, unknown> }).record;
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual(['__proto__', 'title']);
  });
});

describe('writers and round trips', () => {
  const records: Record<string, unknown>[] = [
    {
      title: 'Quotes "inside", commas, and\nnew lines',
      url: 'https://example.com/a?x=1,2',
      source: 'The "Daily"',
      publishedAt: '2026-04-07T01:24:00Z',
      priority: 5,
      isAustralian: true,
      description: '',
      summary: '  padded  ',
      body: 'Line 1\r\nLine 2\n\nLine 4\r',
      authors: ['Ann | Bob', 'C:\\path\\', 'Zoë 🦘'],
      topics: ['Économie', 'a\\|b', '|'],
    },
    {
      title: '=SUM(A1)',
      url: 'https://example.com/b',
      source: '日本経済新聞',
      publishedAt: '2026-01-01T00:00:00.000Z',
      priority: 1,
      isAustralian: false,
      authors: [],
      topics: ['x'],
    },
    { title: 'only a title' },
  ];

  it('writes the header and rows of RFC 4180 CSV', () => {
    expect(RECORD_COLUMNS).toEqual([
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
    expect(csvHeader()).toBe(
      'title,url,source,publishedAt,priority,isAustralian,description,summary,body,authors,topics,story,storyPinned,storyLead,separatedFrom,separatedBy\r\n',
    );
    expect(csvRow(records[0]!)).toBe(
      '"Quotes ""inside"", commas, and\nnew lines","https://example.com/a?x=1,2","The ""Daily""",2026-04-07T01:24:00Z,5,true,"",  padded  ,"Line 1\r\nLine 2\n\nLine 4\r",Ann \\| Bob|C:\\\\path\\\\|Zoë 🦘,Économie|a\\\\\\|b|\\|,,,,,\r\n',
    );
    expect(csvRow({ title: 'x', authors: [], publishedAt: new Date('2026-02-03T04:05:06Z'), ignored: 1 })).toBe(
      'x,,,2026-02-03T04:05:06.000Z,,,,,,"",,,,,,\r\n',
    );
    expect(csvRow({ authors: [{ name: 'By | Ref' }] })).toBe(',,,,,,,,,By \\| Ref,,,,,,\r\n');
    expect(() => csvRow({ authors: [{ id: 'au_1' }] })).toThrow(TypeError);
    expect(() => csvRow({ topics: 'a|b' })).toThrow(TypeError);
    expect(() => csvRow({ title: { text: 'x' } })).toThrow(TypeError);
  });

  it('reads back the CSV it writes', async () => {
    const text = csvHeader() + records.map(csvRow).join('');
    const out = await read(text, 'csv');
    expect(out).toEqual([
      { line: 2, record: records[0] },
      // record 0 spans lines 2-7: a LF in the title, CRLF, LF LF and a lone CR in the body
      { line: 8, record: records[1] },
      { line: 9, record: records[2] },
    ]);
  });

  it("writes a cell a spreadsheet would run as a formula behind one more ', and reads it back without it", async () => {
    const formulas = {
      title: '=1+1',
      source: '+Desk',
      description: '-2',
      summary: '@SUM(A1)',
      body: '\tTabbed',
      authors: ['=Evil', 'Bob'],
      topics: ["'=Marked", "''@Twice"],
    };
    expect(csvRow(formulas)).toBe(`'=1+1,,'+Desk,,,,'-2,'@SUM(A1),'\tTabbed,'=Evil|Bob,''=Marked|''@Twice,,,,,\r\n`);
    // a text that only starts with ', or holds a formula character later, is written as it is
    expect(csvRow({ title: "'quoted", source: 'A=B', summary: ' =spaced' })).toBe(
      `'quoted,,A=B,,,,, =spaced,,,,,,,,\r\n`,
    );
    const plain = { title: "'quoted", source: 'A=B', summary: ' =spaced', description: "'", body: "''" };
    for (const record of [formulas, plain]) {
      expect(await read(csvHeader() + csvRow(record), 'csv')).toEqual([{ line: 2, record }]);
    }
    // a file with another header is not the export's: a leading ' is the value's own
    expect(await read("title,source\r\n'-40C nights' ahead,'@Desk\r\n", 'csv')).toEqual([
      { line: 2, record: { title: "'-40C nights' ahead", source: "'@Desk" } },
    ]);
    // a spreadsheet's own CSV holds no such mark: its cells are read as they are
    expect(await read('title,source\r\n=1+1,-Desk\r\n', 'csv')).toEqual([
      { line: 2, record: { title: '=1+1', source: '-Desk' } },
    ]);
  });

  it('reads back the NDJSON it writes', async () => {
    const withRefs = [
      ...records,
      { title: 'refs', authors: [{ name: 'Ann' }, { id: 'au_1' }], topics: [{ id: 'to_1' }] },
    ];
    const text = withRefs.map(ndjsonLine).join('');
    expect(text.split('\n')).toHaveLength(withRefs.length + 1);
    expect(ndjsonLine({ title: 'a\nb', at: new Date('2026-02-03T04:05:06Z'), skip: undefined })).toBe(
      '{"title":"a\\nb","at":"2026-02-03T04:05:06.000Z"}\n',
    );
    expect(await read(text, 'ndjson')).toEqual(withRefs.map((record, i) => ({ line: i + 1, record })));
  });
});

const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>The Times &amp; Écho 🦘</title>
  <link>https://example.com/</link>
  <description>News</description>
  <atom:link href="https://example.com/feed" rel="self"/>
  <item>
    <title><![CDATA[Rates <b>rise</b>]]> &amp; fall &#8212; again&#x21;</title>
    <link>
      https://example.com/rates
    </link>
    <description>&lt;p&gt;Hello &amp;amp; welcome&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>Body with <a href="https://x">a link</a> &amp; more</p>]]></content:encoded>
    <pubDate>Tue, 07 Apr 2026 11:24:00 +1000</pubDate>
    <author>jo@example.com (Jo Citizen)</author>
    <dc:creator>Sam Lee</dc:creator>
    <author>al@example.com (Al)</author>
    <category>Economy</category>
    <category domain="x"> Interest rates </category>
    <category></category>
    <source url="https://wire.example/rss">The Wire</source>
    <guid isPermaLink="false">rates-1</guid>
  </item>
  <item
      id="second"><title>Second</title><guid>https://example.com/second</guid><pubDate>sometime soon</pubDate><description><p>raw &amp; <br/>html</p></description></item>
  <item>
    <title>Third</title>
    <link>https://example.com/third</link>
    <guid isPermaLink="false">https://example.com/not-a-permalink</guid>
    <pubDate>7 Apr 26 11:24 GMT</pubDate>
  </item>
</channel>
</rss>
`;

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Example &amp; Feed</title>
  <author><name>Feed Author</name></author>
  <entry>
    <title type="html">A &lt;em&gt;title&lt;/em&gt;</title>
    <link rel="edit" href="https://example.org/edit/1"/>
    <link rel="alternate" type="text/html" href="https://example.org/2026/04/07/one"/>
    <link href="https://example.org/other"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-04-07T18:30:02Z</updated>
    <published>2026-04-07T09:00:00+10:00</published>
    <summary><![CDATA[Some <i>text</i>.]]></summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi &amp; <br/>there</p><p class="x">Two</p></div></content>
    <author><name>Ann</name><email>ann@example.org</email></author>
    <author><name> Bob </name></author>
    <category term="science"/><category term="tech" label="Tech"/>
  </entry>
  <entry>
    <title>Two</title>
    <updated>2026-01-01T00:00:00Z</updated>
    <source><title>Origin Feed</title><author><name>Not an entry author</name></author></source>
    <link href="https://example.org/two"/>
    <content type="html">&lt;p&gt;Escaped &amp;amp; html&lt;/p&gt;</content>
  </entry>
</feed>
`;

describe('RSS 2.0 and Atom 1.0', () => {
  it('reads RSS items', async () => {
    expect(await read(RSS, 'rss')).toEqual([
      {
        line: 8,
        record: {
          title: 'Rates <b>rise</b> & fall — again!',
          url: 'https://example.com/rates',
          source: 'The Wire',
          publishedAt: '2026-04-07T01:24:00Z',
          description: '<p>Hello &amp; welcome</p>',
          body: '<p>Body with <a href="https://x">a link</a> &amp; more</p>',
          authors: ['jo@example.com (Jo Citizen)', 'Sam Lee', 'al@example.com (Al)'],
          topics: ['Economy', 'Interest rates'],
        },
      },
      {
        line: 25,
        record: {
          title: 'Second',
          url: 'https://example.com/second',
          source: 'The Times & Écho 🦘',
          publishedAt: 'sometime soon',
          description: '<p>raw &amp; <br/>html</p>',
        },
      },
      {
        line: 27,
        record: {
          title: 'Third',
          url: 'https://example.com/third',
          source: 'The Times & Écho 🦘',
          publishedAt: '2026-04-07T11:24:00Z',
        },
      },
    ]);
  });

  it('reads Atom entries', async () => {
    expect(await read(ATOM, 'atom')).toEqual([
      {
        line: 5,
        record: {
          title: 'A <em>title</em>',
          url: 'https://example.org/2026/04/07/one',
          source: 'Example & Feed',
          publishedAt: '2026-04-07T09:00:00+10:00',
          description: 'Some <i>text</i>.',
          body: '<p>Hi &amp; <br/>there</p><p class="x">Two</p>',
          authors: ['Ann', 'Bob'],
          topics: ['science', 'tech'],
        },
      },
      {
        line: 19,
        record: {
          title: 'Two',
          url: 'https://example.org/two',
          source: 'Origin Feed',
          publishedAt: '2026-01-01T00:00:00Z',
          body: '<p>Escaped &amp; html</p>',
        },
      },
    ]);
  });

  it('reports XML errors once, at their line, after the items before them', async () => {
    const broken =
      '<rss>\n<channel><title>T</title>\n<item><title>ok</title></item>\n<item><title>bad</item>\n</channel></rss>';
    expect(await read(broken, 'rss')).toEqual([
      { line: 3, record: { title: 'ok', source: 'T' } },
      error(4, 'INVALID_XML', expect.stringMatching(/^line 4: /)),
    ]);
    expect(await read('<rss><channel>\n<item><title>a &nbsp; b</title></item></channel></rss>', 'rss')).toEqual([
      error(2, 'INVALID_XML', expect.stringMatching(/^line 2: undefined entity/)),
    ]);
    expect(await read('<rss><channel><item><title>x</title></item></channel></rss><rss/>', 'rss')).toEqual([
      { line: 1, record: { title: 'x' } },
      error(1, 'INVALID_XML'),
    ]);
    expect(await read('<rss><channel><item><title>cut', 'rss')).toEqual([error(1, 'INVALID_XML')]);
    expect(await read('\n<feed xmlns="http://www.w3.org/2005/Atom"/>', 'rss')).toEqual([
      error(2, 'INVALID_XML', 'line 2: the root element is <feed>, not <rss> (RSS 2.0)'),
    ]);
    expect(await read('<feed><entry/></feed>', 'atom')).toEqual([
      error(1, 'INVALID_XML', 'line 1: the root element is <feed>, not an Atom <feed> (http://www.w3.org/2005/Atom)'),
    ]);
    const notUtf8 = Buffer.concat([
      Buffer.from('<rss><channel>\n<item><title>'),
      Buffer.from([0xe9]),
      Buffer.from('</title></item></channel></rss>'),
    ]);
    expect(await read(notUtf8, 'rss')).toEqual([error(2, 'INVALID_XML', 'line 2: the bytes are not valid utf-8')]);
  });

  it('decodes a declared encoding', async () => {
    const latin1 = Buffer.from(
      '<?xml version="1.0" encoding="ISO-8859-1"?>\n<rss><channel><item><title>Caf\xe9 cr\xe8me</title></item></channel></rss>',
      'latin1',
    );
    expect(await read(latin1, 'rss')).toEqual([{ line: 2, record: { title: 'Café crème' } }]);
    expect(await read('<?xml version="1.0" encoding="x-nonsense"?><rss/>', 'rss')).toEqual([
      error(1, 'INVALID_XML', 'line 1: unsupported encoding "x-nonsense"'),
    ]);
  });

  it('reads empty inputs as no records', async () => {
    expect(await read('', 'rss')).toEqual([]);
    expect(await read(' \n', 'atom')).toEqual([]);
    expect(await read('<rss version="2.0"><channel><title>T</title></channel></rss>', 'rss')).toEqual([]);
  });

  it('keeps external and internal entities inert (no XXE, no entity expansion)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-xxe-'));
    try {
      const secret = path.join(dir, 'secret.txt');
      fs.writeFileSync(secret, 'TOP-SECRET-VALUE');
      const url = pathToFileURL(secret).href;
      const xxe = `<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY xxe SYSTEM "${url}">
  <!ENTITY % remote SYSTEM "${url}">
  %remote;
]>
<rss version="2.0"><channel><title>T</title>
<item><title>before</title></item>
<item><title>&xxe;</title></item>
</channel></rss>`;
      const out = await read(xxe, 'rss');
      expect(out).toEqual([
        { line: 8, record: { title: 'before', source: 'T' } },
        error(9, 'INVALID_XML', expect.stringMatching(/^line 9: undefined entity/)),
      ]);
      expect(JSON.stringify(out)).not.toContain('TOP-SECRET');

      // the parameter entity alone (never referenced in content): the DTD is not read
      const unused = xxe.replace('<item><title>&xxe;</title></item>\n', '');
      expect(await read(unused, 'rss')).toEqual([{ line: 8, record: { title: 'before', source: 'T' } }]);

      const laughs = `<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&c;</title></entry></feed>`;
      expect(await read(laughs, 'atom')).toEqual([error(3, 'INVALID_XML', expect.stringMatching(/undefined entity/))]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`stops at an element nested past ${MAX_XML_DEPTH} levels (TOO_DEEP), after the items before it`, async () => {
    // rss, channel, item and description are 4 levels; markup inside the description the rest
    const nested = (levels: number) =>
      `<item><title>deep ${levels}</title><description>${'<b>'.repeat(levels - 4)}x${'</b>'.repeat(levels - 4)}</description></item>`;
    const feed = (...items: string[]) => `<rss><channel>\n${items.join('\n')}\n</channel></rss>`;
    expect(await read(feed(nested(MAX_XML_DEPTH)), 'rss')).toEqual([
      {
        line: 2,
        record: {
          title: `deep ${MAX_XML_DEPTH}`,
          description: `${'<b>'.repeat(MAX_XML_DEPTH - 4)}x${'</b>'.repeat(MAX_XML_DEPTH - 4)}`,
        },
      },
    ]);
    const past = `line 3: elements nested more than ${MAX_XML_DEPTH} levels; reading stops here`;
    expect(await read(feed('<item><title>before</title></item>', nested(MAX_XML_DEPTH + 1), nested(5)), 'rss')).toEqual(
      [{ line: 2, record: { title: 'before' } }, error(3, 'TOO_DEEP', past)],
    );
    // a document of nothing but nested tags stops at the first one too deep, however deep it goes
    // (saxes resolves each tag's namespace up the stack: 200,000 levels took minutes)
    const deep = `<feed xmlns="http://www.w3.org/2005/Atom"><entry>\n<content>${'<a>'.repeat(200_000)}</content></entry></feed>`;
    expect(await read(deep, 'atom')).toEqual([
      error(2, 'TOO_DEEP', `line 2: elements nested more than ${MAX_XML_DEPTH} levels; reading stops here`),
    ]);
  });

  it('skips an item over the size limit and goes on', async () => {
    const text = `<rss><channel>\n<item><description>${'x'.repeat(200)}</description></item>\n<item><title>small</title></item></channel></rss>`;
    expect(await read(text, 'rss', { maxRecordBytes: 100 })).toEqual([
      error(2, 'RECORD_TOO_LARGE', 'the item at line 2 is larger than 100 bytes; skipped'),
      { line: 3, record: { title: 'small' } },
    ]);
  });
});

describe('a JSON array element nested very deep', () => {
  it('is read (the importer refuses it as TOO_DEEP), and so are the elements after it', async () => {
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const text = `[\n{"a":${deep}},\n{"title":"after"}\n]`;
    const out = await collect(chunked(text, 4096), 'json');
    expect(out.map((item) => item.line)).toEqual([2, 3]);
    expect(out[1]).toEqual({ line: 3, record: { title: 'after' } });
  });
});

describe('an XML text too long to hold', () => {
  it('stops the reading with RECORD_TOO_LARGE rather than holding it', async () => {
    async function* feed(): AsyncGenerator<string> {
      yield '<rss><channel>\n<item><title>before</title></item>\n<item><description>';
      for (let i = 0; i < 1_000; i++) yield 'x'.repeat(1_000);
      yield '</description></item><item><title>after</title></item></channel></rss>';
    }
    const out = await collect(feed(), 'rss', { maxRecordBytes: 10_000 });
    expect(out).toEqual([{ line: 2, record: { title: 'before' } }, error(3, 'RECORD_TOO_LARGE')]);
  });
});

describe('UTF-16 inputs (with a byte order mark)', () => {
  /** `text` in UTF-16 with its byte order mark, little- or big-endian (code units as they are, lone surrogates too). */
  const utf16 = (text: string, order: 'LE' | 'BE') => {
    const bytes = Buffer.from(`\uFEFF${text}`, 'utf16le');
    return order === 'LE' ? bytes : bytes.swap16();
  };
  const NDJSON = '{"title":"Écho 🦘","priority":3}\r\n\n{"title":"B"}\n';
  const CSV = 'title,authors\nÉcho 🦘,Ann|Bob\n"two\nlines",Cy\n';
  const JSON_ARRAY = '[\n  {"title":"Écho 🦘"},\n  {"title":"B"}\n]';

  for (const order of ['LE', 'BE'] as const) {
    it(`reads every format in UTF-16${order} as it reads the same text in UTF-8, whatever the chunks`, async () => {
      // 1- and 7-byte chunks cut code units and surrogate pairs (read() tries both)
      for (const [text, format] of [
        [NDJSON, 'ndjson'],
        [CSV, 'csv'],
        [JSON_ARRAY, 'json'],
        [RSS, 'rss'],
        [ATOM, 'atom'],
      ] as const) {
        const expected = await read(text, format);
        expect(expected.length, format).toBeGreaterThan(1);
        expect(await read(utf16(text, order), format), format).toEqual(expected);
      }
      // a declaration naming UTF-16, or another encoding: the mark decides (XML 1.0 appendix F)
      for (const declared of ['UTF-16', 'ISO-8859-1']) {
        expect(await read(utf16(RSS.replace('UTF-8', declared), order), 'rss')).toEqual(await read(RSS, 'rss'));
      }
    });

    it(`refuses what is not UTF-16${order} where it is, and reads on as for bytes that are not UTF-8`, async () => {
      // a lone high surrogate, a lone low one, and a high one cut off by the end of the input
      const text = '{"title":"\uD83Dx"}\n{"title":"ok"}\n{"title":"\uDE18"}\n{"title":"🦘"}\n{"title":"\uD83D';
      expect(await read(utf16(text, order), 'ndjson')).toEqual([
        error(1, 'INVALID_JSON', `line 1 is not valid UTF-16${order}`),
        { line: 2, record: { title: 'ok' } },
        error(3, 'INVALID_JSON', `line 3 is not valid UTF-16${order}`),
        { line: 4, record: { title: '🦘' } },
        error(5, 'INVALID_JSON', `line 5 is not valid UTF-16${order}`),
      ]);
      // an odd byte at the end
      expect(await read(Buffer.concat([utf16('{"title":"a"}\n', order), Buffer.of(0x7b)]), 'ndjson')).toEqual([
        { line: 1, record: { title: 'a' } },
        error(2, 'INVALID_JSON', `line 2 is not valid UTF-16${order}`),
      ]);
      expect(await read(utf16('title\nok\nA\uDC00\nnever\n', order), 'csv')).toEqual([
        { line: 2, record: { title: 'ok' } },
        error(
          3,
          'INVALID_CSV',
          `line 3: the bytes are not valid UTF-16${order} (save the file as UTF-8); reading stops`,
        ),
      ]);
      expect(
        await read(utf16('<rss><channel>\n<item><title>\uD800</title></item></channel></rss>', order), 'rss'),
      ).toEqual([error(2, 'INVALID_XML', `line 2: the bytes are not valid UTF-16${order}`)]);
    });

    it(`sniffs the format of a UTF-16${order} stream, whatever its first chunks hold: part of the mark, or of a code unit`, async () => {
      for (const [text, format] of [
        [NDJSON, 'ndjson'],
        [CSV, 'csv'],
        [JSON_ARRAY, 'json'],
        [ATOM, 'atom'],
      ] as const) {
        for (const size of [1, 2, 3, 5]) {
          const sniffed = await detectStreamFormat(chunked(utf16(text, order), size), '-');
          expect(sniffed.format, `${format} in ${size}-byte chunks`).toBe(format);
          expect(await collect(sniffed.input, sniffed.format)).toEqual(await read(text, format));
        }
      }
    });
  }
});

describe('rfc822ToIso', () => {
  it('turns RFC 822 / RFC 2822 dates into ISO-8601 UTC', () => {
    expect(rfc822ToIso('Tue, 07 Apr 2026 11:24:00 +1000')).toBe('2026-04-07T01:24:00Z');
    expect(rfc822ToIso('7 Apr 26 11:24 GMT')).toBe('2026-04-07T11:24:00Z');
    expect(rfc822ToIso('Fri, 01 Jan 1999 00:00:00 EST')).toBe('1999-01-01T05:00:00Z');
    expect(rfc822ToIso('31 Dec 99 23:59:59 -0030')).toBe('2000-01-01T00:29:59Z');
    expect(rfc822ToIso('sat, 29 feb 2028 12:00:00 pdt')).toBe('2028-02-29T19:00:00Z');
    expect(rfc822ToIso('1 Jan 2026 00:00:00 Z')).toBe('2026-01-01T00:00:00Z');
  });

  it('refuses what is not an RFC 822 date, or no real time', () => {
    expect(rfc822ToIso('Sat, 31 Feb 2026 10:00:00 GMT')).toBeUndefined();
    expect(rfc822ToIso('Tue, 07 Apr 2026 24:00:00 GMT')).toBeUndefined();
    expect(rfc822ToIso('Tue, 07 Apr 2026 23:59:60 GMT')).toBeUndefined();
    expect(rfc822ToIso('Tue, 07 Apr 2026 11:24:00')).toBeUndefined();
    expect(rfc822ToIso('Tue, 07 Foo 2026 11:24:00 GMT')).toBeUndefined();
    expect(rfc822ToIso('2026-04-07T01:24:00Z')).toBeUndefined();
    expect(rfc822ToIso('Tue, 07 Apr 2026 11:24:00 XYZ')).toBeUndefined();
  });
});

describe('streaming', () => {
  /** A lazily made input of `count` chunks, counting how many the reader has pulled. */
  function lazy(count: number, chunk: (i: number) => string, prefix = '', suffix = '') {
    const state = { pulled: 0, closed: false };
    async function* generate() {
      try {
        if (prefix) yield Buffer.from(prefix);
        for (let i = 0; i < count; i++) {
          state.pulled++;
          yield Buffer.from(chunk(i));
        }
        if (suffix) yield Buffer.from(suffix);
      } finally {
        state.closed = true;
      }
    }
    return { input: generate(), state };
  }

  const PER_CHUNK = 200;
  const CHUNKS = 60; // 12,000 records of ~700 bytes: about 8 MB per format
  const text = 'x'.repeat(600);
  const article = (i: number) => ({ title: `Article ${i}`, url: `https://example.com/${i}`, body: text });
  const cases: [RecordFormat, (i: number) => string, string, string][] = [
    [
      'ndjson',
      (c) =>
        range(c)
          .map((i) => ndjsonLine(article(i)))
          .join(''),
      '',
      '',
    ],
    [
      'json',
      (c) =>
        range(c)
          .map((i) => `${i === 0 ? '' : ','}${JSON.stringify(article(i))}\n`)
          .join(''),
      '[\n',
      ']',
    ],
    [
      'csv',
      (c) =>
        range(c)
          .map((i) => csvRow(article(i)))
          .join(''),
      csvHeader(),
      '',
    ],
    [
      'rss',
      (c) =>
        range(c)
          .map(
            (i) =>
              `<item><title>Article ${i}</title><link>https://example.com/${i}</link><content:encoded>${text}</content:encoded></item>\n`,
          )
          .join(''),
      '<rss xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>\n',
      '</channel></rss>',
    ],
    [
      'atom',
      (c) =>
        range(c)
          .map(
            (i) =>
              `<entry><title>Article ${i}</title><link href="https://example.com/${i}"/><content>${text}</content></entry>\n`,
          )
          .join(''),
      '<feed xmlns="http://www.w3.org/2005/Atom">\n',
      '</feed>',
    ],
  ];
  function range(chunk: number) {
    return Array.from({ length: PER_CHUNK }, (_, k) => chunk * PER_CHUNK + k);
  }

  it.each(cases)('%s: pulls input only as records are taken', async (format, chunk, prefix, suffix) => {
    const { input, state } = lazy(CHUNKS, chunk, prefix, suffix);
    let n = 0;
    for await (const item of readRecords(input, format)) {
      expect(item).toMatchObject({ record: { title: `Article ${n}` } });
      // record n is in chunk floor(n / PER_CHUNK): the reader is never more than a chunk ahead
      expect(state.pulled).toBeLessThanOrEqual(Math.floor(n / PER_CHUNK) + 2);
      n++;
    }
    expect(n).toBe(CHUNKS * PER_CHUNK);
    expect(state.closed).toBe(true);
  });

  it.each(cases)('%s: breaking out closes the input', async (format, chunk, prefix, suffix) => {
    const { input, state } = lazy(CHUNKS, chunk, prefix, suffix);
    for await (const item of readRecords(input, format)) {
      expect(item).toMatchObject({ line: format === 'csv' ? 2 : format === 'ndjson' ? 1 : 2 });
      break;
    }
    expect(state.pulled).toBe(1);
    expect(state.closed).toBe(true);
  });

  it('yields records from a stdin-like stream before it ends, and leaves the rest unread', async () => {
    const stdin = new PassThrough({ highWaterMark: 1024 });
    const records = readRecords(stdin, 'ndjson');
    stdin.write('{"title":"first"}\n{"title":"sec');
    expect(await records.next()).toEqual({ done: false, value: { line: 1, record: { title: 'first' } } });
    expect(stdin.writableEnded).toBe(false);
    // the consumer does not pull: what is written waits in the stream (back-pressure)
    let accepted = true;
    for (let i = 0; i < 100 && accepted; i++) accepted = stdin.write(`ond"}\n{"title":"line ${i}`);
    expect(accepted).toBe(false);
    expect(stdin.readableLength).toBeGreaterThan(0);
    expect(await records.next()).toEqual({ done: false, value: { line: 2, record: { title: 'second' } } });
    await records.return(undefined);
    expect(stdin.destroyed).toBe(true);
  });

  it('holds a bounded amount of memory on a large input', async () => {
    // 96 MB of NDJSON, made lazily; a reader that buffered would hold it all
    const big = 'y'.repeat(4000);
    const { input } = lazy(1600, (c) =>
      Array.from({ length: 15 }, (_, k) => ndjsonLine({ title: `${c}-${k}`, body: big })).join(''),
    );
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = used();
    let peak = 0;
    let n = 0;
    for await (const item of readRecords(input, 'ndjson')) {
      if ('error' in item) throw new Error(item.error.message);
      if (++n % 500 === 0) peak = Math.max(peak, used() - before);
    }
    expect(n).toBe(24_000);
    expect(peak).toBeLessThan(40 * 1024 * 1024);
  });
});
