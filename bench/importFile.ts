import fs from 'node:fs';
import { once } from 'node:events';

/**
 * Generated NDJSON import files (the import test and the import benchmark): `count` lines of
 * which `bad` are refused records of every kind the import reports (see BAD_KINDS), spread evenly,
 * the rest valid and distinct articles (a unique URL each, authors and topics from small pools, a
 * body of random words so that few are copies of each other). Deterministic for a given `seed`.
 */

/** One kind of refused record: how to make it from a valid one, and the error the import gives (path, code). */
interface BadKind {
  code: string;
  path: (string | number)[];
  /** The line's text, from a valid record. */
  make: (record: Record<string, unknown>) => string;
}

const json = (record: Record<string, unknown>) => JSON.stringify(record);

/**
 * `length` characters of a URL path that the WHATWG parser leaves as they are but a link's key
 * percent-encodes (about a third are `[ ] ^ |`, three characters each in the key), the rest
 * letters and digits, pseudo-random from `seed`: so a link within the 2,048 characters of
 * `url` has a key over them, and one too varied for PostgreSQL to compress into a btree entry
 * (2,704 bytes at most).
 */
export function expandingPath(length: number, seed: string): string {
  const next = random(seed);
  const plain = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length }, () =>
    next() < 0.3 ? '[]^|'[Math.floor(next() * 4)] : plain[Math.floor(next() * plain.length)],
  ).join('');
}

/** Every kind of refused record, with the first error it must get. */
export const BAD_KINDS: readonly BadKind[] = [
  { code: 'INVALID_JSON', path: [], make: (r) => json(r).slice(0, 40) },
  { code: 'NOT_AN_OBJECT', path: [], make: (r) => JSON.stringify([r.title]) },
  { code: 'UNKNOWN_FIELD', path: ['headline'], make: (r) => json({ ...r, headline: r.title }) },
  { code: 'INVALID_TYPE', path: ['priority'], make: (r) => json({ ...r, priority: 'high' }) },
  { code: 'INVALID_DATE', path: ['publishedAt'], make: (r) => json({ ...r, publishedAt: 'yesterday' }) },
  { code: 'REQUIRED', path: ['title'], make: (r) => json({ ...r, title: undefined }) },
  { code: 'TOO_LONG', path: ['title'], make: (r) => json({ ...r, title: 'x'.repeat(501) }) },
  {
    code: 'TOO_LONG',
    path: ['url'],
    make: (r) => json({ ...r, url: `${r.url}/${expandingPath(1_990, String(r.url))}` }),
  },
  {
    code: 'INVALID_URL',
    path: ['url'],
    make: (r) => json({ ...r, url: `ftp://files.example/${String(r.url).length}` }),
  },
  { code: 'OUT_OF_RANGE', path: ['priority'], make: (r) => json({ ...r, priority: 9 }) },
  { code: 'IN_FUTURE', path: ['publishedAt'], make: (r) => json({ ...r, publishedAt: '2099-01-01T00:00:00Z' }) },
  { code: 'INVALID_CHARACTER', path: ['title'], make: (r) => json({ ...r, title: `${r.title}\u0000` }) },
  {
    code: 'TOO_MANY',
    path: ['authors'],
    make: (r) => json({ ...r, authors: Array.from({ length: 21 }, (_, i) => `Crowd Member ${i}`) }),
  },
  { code: 'INVALID_REF', path: ['authors', 0], make: (r) => json({ ...r, authors: [{}] }) },
  { code: 'INVALID_NAME', path: ['topics', 0, 'name'], make: (r) => json({ ...r, topics: ['!!!'] }) },
  { code: 'DUPLICATE', path: ['authors', 1], make: (r) => json({ ...r, authors: ['Twice Named', 'TWICE named'] }) },
];

/** A small deterministic PRNG (mulberry32) seeded from a string. */
function random(seed: string): () => number {
  let state = [...seed].reduce((hash, c) => Math.imul(hash ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'su', 'da', 'fo'];

/** The valid record number `i` of a file seeded `seed`. */
export function importRecord(i: number, seed: string, next: () => number): Record<string, unknown> {
  const word = () =>
    Array.from({ length: 2 + Math.floor(next() * 3) }, () => SYLLABLES[Math.floor(next() * 12)]).join('');
  const words = (n: number) => Array.from({ length: n }, word).join(' ');
  const published = new Date(Date.UTC(2024, 0, 1) + Math.floor(next() * 700 * 86_400_000));
  return {
    title: `${words(6)} ${i}`,
    url: `https://import.example/${seed}/${i}`,
    source: `Import Source ${Math.floor(next() * 20)}`,
    publishedAt: published.toISOString(),
    priority: 1 + Math.floor(next() * 5),
    isAustralian: next() < 0.3,
    description: words(20),
    body: words(80),
    authors: Array.from({ length: 1 + Math.floor(next() * 3) }, (_, k) => `Import Author ${(i * 7 + k * 13) % 2000}`),
    topics: [
      ...new Set(Array.from({ length: 1 + Math.floor(next() * 3) }, () => `Import Topic ${Math.floor(next() * 100)}`)),
    ],
  };
}

/** Where the bad records of a file are: line → its kind. */
export function badLines(count: number, bad: number): Map<number, BadKind> {
  const out = new Map<number, BadKind>();
  for (let k = 0; k < bad; k++) {
    out.set(Math.floor(((k + 0.5) * count) / bad) + 1, BAD_KINDS[k % BAD_KINDS.length]!);
  }
  return out;
}

/**
 * Writes the file (streaming: memory stays flat at any size) and returns where its bad records
 * are (line → kind). Lines are 1-based, one record per line.
 */
export async function writeImportFile(
  file: string,
  options: { count: number; bad?: number; seed?: string },
): Promise<Map<number, BadKind>> {
  const seed = options.seed ?? 'import';
  const next = random(seed);
  const bad = badLines(options.count, options.bad ?? 0);
  const out = fs.createWriteStream(file);
  for (let line = 1; line <= options.count; line++) {
    const record = importRecord(line, seed, next);
    const kind = bad.get(line);
    if (!out.write(`${kind ? kind.make(record) : JSON.stringify(record)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bad;
}
