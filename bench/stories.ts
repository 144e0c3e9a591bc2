import type { Db } from '../src/db/client.ts';
import { backfillStories } from '../src/resolvers/stories/backfill.ts';
import type { StorySettings } from '../src/resolvers/stories/detect.ts';
import { seededRandom, type Random } from '../src/seed/random.ts';
import { vocabulary, zipf } from './generate.ts';

/**
 * The labelled evaluation set of the story detector, made by a seeded generator, and its
 * precision and recall over "same story" pairs.
 *
 * Each base article belongs to a beat (a few named entities and a day range of its own) and has
 * 4-8 paragraphs of Zipf-distributed words with the beat's entities. Its syndicated copies are
 * filed by other publications within 36 hours: re-headlined, trimmed to at least half of the
 * paragraphs or with them reordered, with the publication's boilerplate added, punctuation and
 * case changed. Hard negatives come for free: the other bases of a beat are published the same
 * days, name the same entities, carry the same publications' boilerplate, and two in five paste
 * the beat's background paragraph. One base in ten is
 * a short text (no body), whose copies keep the title with changed case and punctuation, or one
 * word more.
 */

export interface EvalArticle {
  title: string;
  url: string;
  source: string;
  publishedAt: Date;
  body: string;
  /** The base article this one copies (itself for a base): the label. */
  group: number;
}

const PUBLICATIONS = 12;
const BEATS_PER_BASE = 1 / 6;

function boilerplate(random: Random, words: () => string): string {
  return `${Array.from({ length: random.int(12, 30) }, words).join(' ')}.`;
}

function paragraph(random: Random, words: () => string, entities: string[]): string {
  const length = random.int(25, 45);
  const out: string[] = [];
  for (let i = 0; i < length; i++) out.push(random.next() < 0.08 ? random.pick(entities) : words());
  return `${out.join(' ')}.`;
}

/** Changes case and punctuation the way a republisher's style does, without changing a word. */
function restyle(random: Random, text: string): string {
  const styled = text.replaceAll('.', random.next() < 0.5 ? ' -' : ';');
  return random.next() < 0.5 ? styled.toUpperCase() : styled.toLowerCase();
}

/** The evaluation set: `bases` base articles and their copies, deterministic for a seed. */
export function storyEvaluationSet(bases: number, seed = 1997): EvalArticle[] {
  const random = seededRandom(seed);
  const vocab = vocabulary(random, 20_000);
  const rank = zipf(random, vocab.length, 1.0);
  const word = () => vocab[rank()]!;
  const publications = Array.from({ length: PUBLICATIONS }, (_, i) => ({
    name: `Publication ${i + 1}`,
    boilerplate: boilerplate(random, word),
  }));
  const beats = Array.from({ length: Math.max(1, Math.round(bases * BEATS_PER_BASE)) }, () => {
    const entities = Array.from({ length: 5 }, () => `${random.pick(vocab)} ${random.pick(vocab)}`);
    return {
      entities,
      // the paragraph of background a newsroom pastes into every story of the beat
      background: paragraph(random, word, entities),
      day: Date.UTC(2026, 0, 1) + random.int(0, 300) * 86_400_000,
    };
  });
  const out: EvalArticle[] = [];
  for (let group = 0; group < bases; group++) {
    const beat = random.pick(beats);
    const short = random.next() < 0.1;
    const paragraphs = short
      ? []
      : Array.from({ length: random.int(4, 8) }, () => paragraph(random, word, beat.entities));
    const title = Array.from({ length: random.int(6, 10) }, () =>
      random.next() < 0.2 ? random.pick(beat.entities) : word(),
    ).join(' ');
    const publishedAt = beat.day + random.int(0, 3 * 86_400_000);
    const home = random.pick(publications);
    out.push({
      title,
      url: `https://eval.example/${group}/0`,
      source: home.name,
      publishedAt: new Date(publishedAt),
      body: paragraphs.join('\n\n'),
      group,
    });
    const copies = random.int(0, 3);
    for (let copy = 1; copy <= copies; copy++) {
      const publication = random.pick(publications);
      let body = [...paragraphs];
      const edit = random.int(0, 2);
      if (edit === 0 && body.length > 1) body = body.slice(0, random.int(Math.ceil(body.length / 2), body.length));
      if (edit === 1) body = random.sample(body, body.length);
      if (body.length) {
        if (random.next() < 0.6) body.push(publication.boilerplate);
        if (random.next() < 0.3) body.unshift(publication.boilerplate);
      }
      const retitled = short
        ? random.next() < 0.5
          ? restyle(random, title)
          : `${title} ${word()}`
        : Array.from({ length: random.int(6, 10) }, word).join(' ');
      out.push({
        title: retitled,
        url: `https://eval.example/${group}/${copy}`,
        source: publication.name,
        publishedAt: new Date(publishedAt + random.int(0, 36 * 3_600_000)),
        body: random.next() < 0.5 ? restyle(random, body.join('\n\n')) : body.join('\n\n'),
        group,
      });
    }
  }
  return out;
}

/** Precision and recall of the "same story" pairs a grouping makes, against the labels. */
export interface PairScores {
  articles: number;
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
  precision: number;
  recall: number;
}

/** Scores `predicted` (a story per article, in the set's order) against the set's groups. */
export function pairScores(set: readonly EvalArticle[], predicted: readonly number[]): PairScores {
  const pairsOf = (labels: readonly number[]) => {
    const sizes = new Map<number, number>();
    for (const label of labels) sizes.set(label, (sizes.get(label) ?? 0) + 1);
    let pairs = 0;
    for (const size of sizes.values()) pairs += (size * (size - 1)) / 2;
    return pairs;
  };
  const both = set.map((article, i) => `${article.group}:${predicted[i]}`);
  const bothIds = new Map<string, number>();
  const joint = both.map((key) => {
    if (!bothIds.has(key)) bothIds.set(key, bothIds.size);
    return bothIds.get(key)!;
  });
  const truePairs = pairsOf(set.map((article) => article.group));
  const predictedPairs = pairsOf(predicted);
  const correctPairs = pairsOf(joint);
  return {
    articles: set.length,
    truePairs,
    predictedPairs,
    correctPairs,
    precision: predictedPairs ? correctPairs / predictedPairs : 1,
    recall: truePairs ? correctPairs / truePairs : 1,
  };
}

/**
 * Files the set into an empty database (plain inserts, then the backfill command's detector, in
 * order of publication, as the API would have read them) and scores the stories it made.
 */
export async function evaluateStories(db: Db, set: readonly EvalArticle[], settings?: StorySettings) {
  await db.article.createMany({
    data: set.map((article) => ({
      title: article.title,
      url: article.url,
      urlKey: article.url,
      source: article.source,
      publishedAt: article.publishedAt,
      priority: 3,
      body: article.body,
    })),
  });
  const started = performance.now();
  await backfillStories(db, { settings });
  const ms = performance.now() - started;
  const rows = await db.article.findMany({ select: { urlKey: true, storyId: true } });
  const storyOf = new Map(rows.map((row) => [row.urlKey, row.storyId]));
  return {
    ...pairScores(
      set,
      set.map((article) => storyOf.get(article.url)!),
    ),
    msPerArticle: ms / set.length,
  };
}
