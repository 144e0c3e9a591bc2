import { seededRandom, type Random } from '../src/seed/random.ts';

/**
 * A deterministic, realistic dataset for the benchmark: the same seed and size always give the
 * same rows. Topic and author popularity are Zipf-skewed (a few topics and authors carry most
 * articles, as in a real archive); 1-4 authors and 1-8 topics per article; summaries of about
 * 400 characters and bodies of about 4 KB, drawn from a Zipf-distributed vocabulary so that
 * full-text search sees common and rare words in realistic proportions.
 */

export const TOPIC_COUNT = 500;

/** Samples ranks 0..n-1 with probability proportional to 1 / (rank + 1)^s. */
export function zipf(random: Random, n: number, s = 1.0): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const target = random.next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** `count` distinct ranks from a sampler (falls back to uniform after many repeats). */
function distinct(random: Random, sample: () => number, count: number, n: number): number[] {
  const out = new Set<number>();
  let attempts = 0;
  while (out.size < Math.min(count, n)) {
    out.add(attempts++ < count * 20 ? sample() : random.int(0, n - 1));
  }
  return [...out];
}

// Common news words first (they are drawn most often), then generated ones for a long tail.
const NEWS_WORDS =
  'the of and to in a for on that with said is was by as at from has have will its it be are government minister policy market report year new people first security company companies state federal national election labor coalition budget inflation rates bank reserve economy growth jobs energy climate emissions gas coal solar wind power grid water health hospital school students university research data technology artificial intelligence model models chips semiconductors export controls china united states europe australia sydney melbourne brisbane canberra perth adelaide defence military trade tariffs deal agreement talks court ruling law legislation senate parliament council housing prices rent interest mortgage investors shares stocks profit revenue chief executive board regulator regulators commission inquiry investigation police fire flood drought bushfire storm weather season team match final league cup players coach record million billion percent week month quarter after before during under over against between while where because'.split(
    ' ',
  );
/** The syllables of the made-up words of the vocabulary's long tail. */
export const SYLLABLES =
  'ka ro mi ne ta lu vo shi de pa gri bel tor man sen dal wen fi cor ax mo ly pe qua ri zen'.split(' ');

export function vocabulary(random: Random, size = 20_000): string[] {
  const words = new Set(NEWS_WORDS);
  while (words.size < size) {
    const parts = random.int(2, 4);
    let word = '';
    for (let i = 0; i < parts; i++) word += random.pick(SYLLABLES);
    words.add(word);
  }
  return [...words];
}

const FIRST =
  'James Olivia Liam Charlotte Noah Isla Lucas Mia Ethan Grace Hiroshi Priya Mateo Zoe Chen Aisha Tom Hannah Ravi Sofia Daniel Emily Kai Fatima Jack Lena Marcus Nina Oscar Shirin Maggie Ana Ben Carla Dev Elif Femi Gus Hana Ivan'.split(
    ' ',
  );
const LAST =
  'Nguyen Smith Patel Williams Brown Kowalski Tanaka Garcia Murphy Obrien Chen Singh Taylor Wilson Anderson Rossi Haddad Kim Walsh Fischer Lee Martin Clarke Novak Hughes Dubois Silva Campbell Ahmed Kelly Ghaffary Eastland Okafor Larsen Moreau Petrov Quinn Reyes Sato Varga'.split(
    ' ',
  );
const SOURCES = [
  'The Australian Financial Review',
  'The Sydney Morning Herald',
  'The Age',
  'The Australian',
  'ABC News',
  'The Guardian Australia',
  'Reuters',
  'Bloomberg',
  'The New York Times',
  'The Washington Post',
  'Financial Times',
  'The Economist',
  'Wired',
  'The Verge',
  'Axios',
  'Politico',
  'Nikkei Asia',
  'South China Morning Post',
  'The Conversation',
  'Crikey',
  'InnovationAus',
  'iTnews',
  'The Mandarin',
  'Canberra Times',
  'Brisbane Times',
  'WAtoday',
  'The Saturday Paper',
  'The Monthly',
  'Lowy Interpreter',
  'ASPI Strategist',
];

export interface BenchArticle {
  title: string;
  url: string;
  source: string;
  publishedAt: Date;
  priority: number;
  isAustralian: boolean;
  description: string;
  summary: string;
  body: string;
  /** Indexes into the authors list, byline order. */
  authors: number[];
  /** Indexes into the topics list. */
  topics: number[];
}

export interface Dataset {
  authors: string[];
  topics: { name: string; slug: string }[];
  /** Articles are produced lazily, in batches, so a million never sit in memory at once. */
  articles(batchSize: number): Generator<BenchArticle[]>;
  size: number;
}

const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

export const DATASET_SEED = 20261127;

/**
 * A search for the benchmark: two words of the generated long tail (vocabulary ranks 1500 and
 * 3000) that each occur in a few percent of articles, as a specific news search does; the most
 * common words occur in most articles and would rank half the archive on every request.
 */
export function benchSearchText(seed = DATASET_SEED): string {
  const words = vocabulary(seededRandom(seed));
  return `${words[1500]} or ${words[3000]}`;
}

export function dataset(size: number, seed = DATASET_SEED): Dataset {
  const random = seededRandom(seed);
  const words = vocabulary(random);
  const wordRank = zipf(random, words.length, 1.05);
  const authorCount = Math.max(10, Math.floor(size / 10));

  const topics: { name: string; slug: string }[] = [];
  const topicNames = new Set<string>();
  while (topics.length < TOPIC_COUNT) {
    // Topic names from the less common words, so they read as subjects.
    const name = `${capitalize(words[random.int(40, 2000)]!)} ${capitalize(words[random.int(40, 4000)]!)}`;
    if (topicNames.has(name)) continue;
    topicNames.add(name);
    topics.push({ name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-') });
  }
  const authors: string[] = [];
  const authorNames = new Set<string>();
  for (let i = 0; authors.length < authorCount; i++) {
    let name = `${random.pick(FIRST)} ${String.fromCharCode(65 + random.int(0, 25))}. ${random.pick(LAST)}`;
    if (authorNames.has(name)) name = `${name} ${i}`;
    if (authorNames.has(name)) continue;
    authorNames.add(name);
    authors.push(name);
  }

  function* articles(batchSize: number): Generator<BenchArticle[]> {
    // A separate stream per purpose keeps the dataset stable when one part changes.
    const r = seededRandom(seed + 1);
    const topicRank = zipf(r, TOPIC_COUNT, 1.0);
    const authorRank = zipf(r, authorCount, 0.9);
    const text = (approxChars: number) => {
      const out: string[] = [];
      let length = 0;
      let sentence = 0;
      while (length < approxChars) {
        let word = words[wordRank()]!;
        if (sentence === 0) word = capitalize(word);
        sentence += 1;
        if (sentence > 8 && r.next() < 0.15) {
          word += '.';
          sentence = 0;
        } else if (r.next() < 0.05) word += ',';
        out.push(word);
        length += word.length + 1;
      }
      return out.join(' ').replace(/[,]?$/, '.');
    };
    const start = Date.UTC(2021, 0, 1);
    const span = Date.UTC(2026, 10, 1) - start;
    let batch: BenchArticle[] = [];
    for (let i = 0; i < size; i++) {
      const title = capitalize(text(r.int(40, 90)).replace(/\.$/, '').replace(/[.,]/g, ''));
      batch.push({
        title,
        url: `https://news.example/${i.toString(36)}/${title
          .slice(0, 40)
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')}`,
        source: SOURCES[Math.min(SOURCES.length - 1, Math.floor(-Math.log(1 - r.next()) * 6))]!,
        // Later articles are newer, with jitter, like an archive filled over time.
        publishedAt: new Date(start + Math.floor(((i + r.next() * 50) / (size + 50)) * span)),
        priority: [1, 2, 2, 3, 3, 3, 3, 4, 4, 5][r.int(0, 9)]!,
        isAustralian: r.next() < 0.35,
        description: text(150),
        summary: text(400),
        body: text(4000),
        authors: distinct(r, authorRank, r.int(1, 4), authorCount),
        topics: distinct(r, topicRank, r.int(1, 8), TOPIC_COUNT),
      });
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  return { authors, topics, articles, size };
}
