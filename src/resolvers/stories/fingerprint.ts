import xxhash from 'xxhash-wasm';

/**
 * What the story detector knows of an article's text: MinHash signatures of its word shingles
 * and their locality-sensitive hashing buckets.
 *
 * - Shingling and MinHash: A. Z. Broder, "On the resemblance and containment of documents",
 *   Compression and Complexity of Sequences 1997. The body is read as words (NFKC, lower-cased, letters and digits only, so punctuation and case do not
 *   count) and cut into overlapping shingles of SHINGLE_WORDS words; the signature holds, for
 *   each of SIGNATURE_SIZE hash functions, the least hash of any shingle. The share of equal
 *   positions in two signatures estimates the Jaccard similarity of the two shingle sets.
 * - Banding: Leskovec, Rajaraman and Ullman, Mining of Massive Datasets, 3rd ed., section 3.4.
 *   The first CONTENT_BANDS x BAND_ROWS positions are cut into bands of BAND_ROWS; each band
 *   hashes to a bucket (a row of ArticleBand). Two articles are compared only when they share a
 *   bucket: with 20 bands of 2 rows, two texts of Jaccard similarity 0.4 share one with
 *   probability 1 - (1 - 0.4^2)^20 = 0.97, two of 0.1 with 0.18, unrelated texts almost never.
 * - The title's words (not shingles) get a signature of TITLE_BANDS x BAND_ROWS positions and
 *   TITLE_BANDS buckets of their own, so short texts (no body) find each other by their titles.
 *
 * Shingles are hashed with xxHash32 (xxhash-wasm); the i-th hash function is MurmurHash3's
 * 32-bit finalizer (fmix32) of that hash XOR a fixed per-function seed. Every constant here is
 * part of the stored data: changing one means recomputing every fingerprint (empty
 * ArticleFingerprint and ArticleBand, then `npm run stories:backfill`).
 */

/** Words per shingle. */
export const SHINGLE_WORDS = 4;
/** Hash functions (positions) of a content signature. */
export const SIGNATURE_SIZE = 128;
/** Positions per band. */
export const BAND_ROWS = 2;
/** Bands (buckets) of a content signature. */
export const CONTENT_BANDS = 20;
/** Bands (buckets) of a title signature. */
export const TITLE_BANDS = 4;
/** Fewest distinct title words a title match needs ("Market wrap" twice is not one story). */
export const MIN_TITLE_WORDS = 3;

const { h32 } = await xxhash();

/** MurmurHash3's fmix32: a bijection on 32-bit integers that mixes every input bit into every output bit. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The per-function seeds: fixed, derived from their index. */
const SEEDS = Uint32Array.from({ length: SIGNATURE_SIZE }, (_, i) => h32(`newsgraph-minhash-${i}`, 0x9e3779b9));

/** The words of a text: NFKC, lower-cased, runs of letters, marks and digits. */
export function words(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{M}\p{N}]+/gu) ?? []
  );
}

/** The MinHash signature (`size` unsigned 32-bit minima) of a set of 32-bit hashes; empty for an empty set. */
function minHash(hashes: Iterable<number>, size: number): number[] {
  const minima = new Uint32Array(size).fill(0xffffffff);
  let any = false;
  for (const hash of hashes) {
    any = true;
    for (let i = 0; i < size; i++) {
      const value = fmix32(hash ^ SEEDS[i]!);
      if (value < minima[i]!) minima[i] = value;
    }
  }
  return any ? Array.from(minima) : [];
}

/** Buckets of `bands` bands of a signature, each a signed 32-bit hash of its kind, index and positions. */
function bandBuckets(signature: readonly number[], bands: number, kind: string): number[] {
  const out: number[] = [];
  for (let band = 0; band < bands && (band + 1) * BAND_ROWS <= signature.length; band++) {
    const rows = signature.slice(band * BAND_ROWS, (band + 1) * BAND_ROWS).join(',');
    out.push(h32(`${kind}${band}:${rows}`, 0) | 0);
  }
  return out;
}

/** The text the detector reads of an article. */
export interface ArticleText {
  title: string;
  body: string;
}

/** What ArticleFingerprint stores of an article, and its buckets (ArticleBand). */
export interface Fingerprint {
  /** SIGNATURE_SIZE minima as signed int4 (PostgreSQL has no unsigned int); empty without a body. */
  signature: number[];
  /** Distinct content shingles; 0 without a body. */
  shingles: number;
  /** The title's distinct words, sorted. */
  titleWords: string[];
  /** Distinct buckets, ascending. */
  buckets: number[];
}

/**
 * The fingerprint of an article's text. An article with no body is a short text: it has no
 * content signature, and only its title's buckets and words identify it.
 */
export function fingerprint(text: ArticleText): Fingerprint {
  const titleWords = [...new Set(words(text.title))].sort();
  const shingleHashes = new Set<number>();
  if (text.body.trim()) {
    // the body only: description and summary are an analyst's own words for each filing
    const tokens = words(text.body);
    for (let i = 0; i + SHINGLE_WORDS <= tokens.length; i++) {
      shingleHashes.add(h32(tokens.slice(i, i + SHINGLE_WORDS).join(' '), 0));
    }
  }
  const content = minHash(shingleHashes, SIGNATURE_SIZE);
  const title = minHash(
    titleWords.map((word) => h32(word, 0)),
    TITLE_BANDS * BAND_ROWS,
  );
  const buckets = [...new Set([...bandBuckets(content, CONTENT_BANDS, 'c'), ...bandBuckets(title, TITLE_BANDS, 't')])];
  return {
    signature: content.map((value) => value | 0),
    shingles: shingleHashes.size,
    titleWords,
    buckets: buckets.sort((a, b) => a - b),
  };
}

/** The thresholds of `sameStory` (config: STORY_SIMILARITY, STORY_TITLE_SIMILARITY). */
export interface StoryThresholds {
  /** Least estimated containment of the smaller content in the larger, 0-1. */
  similarity: number;
  /** Least Jaccard similarity of the title word sets, 0-1, when either article has no body. */
  titleSimilarity: number;
}

/**
 * How much of the smaller of two contents the larger holds, estimated from their signatures:
 * J = equal positions / SIGNATURE_SIZE estimates |A ∩ B| / |A ∪ B|, so |A ∩ B| = J (|A| + |B|) / (1 + J),
 * divided by min(|A|, |B|). Containment rather than resemblance, because a syndicated copy is
 * often the original trimmed, or the original plus a publisher's boilerplate (Broder 1997, section 2).
 */
export function containment(a: Pick<Fingerprint, 'signature' | 'shingles'>, b: typeof a): number {
  if (!a.signature.length || !b.signature.length) return 0;
  let equal = 0;
  for (let i = 0; i < SIGNATURE_SIZE; i++) if (a.signature[i] === b.signature[i]) equal++;
  const jaccard = equal / SIGNATURE_SIZE;
  const shared = (jaccard * (a.shingles + b.shingles)) / (1 + jaccard);
  return Math.min(1, shared / Math.min(a.shingles, b.shingles));
}

/** Jaccard similarity of two sorted word lists. */
export function titleSimilarity(a: readonly string[], b: readonly string[]): number {
  const setB = new Set(b);
  const shared = a.filter((word) => setB.has(word)).length;
  const union = a.length + b.length - shared;
  return union ? shared / union : 0;
}

/**
 * Whether two articles (published close together: the caller's window) tell the same story, and
 * how similar they are (0-1; 0 when not): by content when both have a body, else by title.
 */
export function storySimilarity(
  a: Omit<Fingerprint, 'buckets'>,
  b: Omit<Fingerprint, 'buckets'>,
  thresholds: StoryThresholds,
): number {
  if (a.signature.length && b.signature.length) {
    const value = containment(a, b);
    return value >= thresholds.similarity ? value : 0;
  }
  if (Math.min(a.titleWords.length, b.titleWords.length) < MIN_TITLE_WORDS) return 0;
  const value = titleSimilarity(a.titleWords, b.titleWords);
  return value >= thresholds.titleSimilarity ? value : 0;
}
