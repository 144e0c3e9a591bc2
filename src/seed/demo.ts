import { dataChanged } from '../responseCache.ts';
import type { Db } from '../db/client.ts';
import { normalizeUrl } from '../resolvers/articles/urls.ts';
import { slugify } from '../resolvers/catalog/slugs.ts';
import { detectStory, holdDetector, storySettings } from '../resolvers/stories/detect.ts';
import { seededRandom, type Random } from './random.ts';

/**
 * The deterministic demo dataset: 500+ articles, 80 authors, 40 topics over two years, plus one
 * record with the facts of a real tracker entry, two syndicated copies of its story and two other
 * stories on the same topics (SYNDICATED_RECORDS), all grouped into stories by the detector. Loaded only into an empty database, in one
 * transaction, so a restart never duplicates it and an interrupted load leaves nothing behind.
 */

/** The seed of the demo dataset loaded at start-up; another seed gives another, equally deterministic one. */
export const DEMO_SEED = 20260407;
/** How many generated articles, authors and topics the demo has (EXAMPLE_RECORD and SYNDICATED_RECORDS are 5 articles more). */
export const DEMO_SIZES = { articles: 500, authors: 80, topics: 40 } as const;
/** Publication dates fall in these two years (fixed, so the data never depends on today). */
const RANGE_START = Date.UTC(2024, 10, 1);
const RANGE_END = Date.UTC(2026, 9, 31);

const FIRST_NAMES = [
  'Amelia',
  'James',
  'Olivia',
  'Liam',
  'Charlotte',
  'Noah',
  'Isla',
  'Lucas',
  'Mia',
  'Ethan',
  'Grace',
  'Hiroshi',
  'Priya',
  'Mateo',
  'Zoe',
  'Chen',
  'Aisha',
  'Tom',
  'Hannah',
  'Ravi',
  'Sofia',
  'Daniel',
  'Emily',
  'Kai',
  'Fatima',
  'Jack',
  'Lena',
  'Marcus',
  'Nina',
  'Oscar',
];
const LAST_NAMES = [
  'Nguyen',
  'Smith',
  'Patel',
  'Williams',
  'Brown',
  'Kowalski',
  'Tanaka',
  'Garcia',
  'Murphy',
  "O'Brien",
  'Chen',
  'Singh',
  'Taylor',
  'Wilson',
  'Anderson',
  'Rossi',
  'Haddad',
  'Kim',
  'Walsh',
  'Fischer',
  'Lee',
  'Martin',
  'Clarke',
  'Novak',
  'Hughes',
  'Dubois',
  'Silva',
  'Campbell',
  'Ahmed',
  'Kelly',
];

/** The demo's topics (their slugs derived with slugify); each article gets 1-8 of them. */
export const TOPIC_NAMES = [
  'AI',
  'AI Safety',
  'AI Security',
  'AI Regulation',
  'Frontier Models',
  'Open-Source AI',
  'Semiconductors',
  'Export Controls',
  'China',
  'United States',
  'European Union',
  'Australia',
  'Cybersecurity',
  'Biosecurity',
  'Compute',
  'Data Centres',
  'Elections',
  'Misinformation',
  'Privacy',
  'Copyright',
  'Labour Markets',
  'Education',
  'Healthcare',
  'Defence',
  'Autonomous Weapons',
  'Robotics',
  'Quantum Computing',
  'Energy',
  'Climate',
  'Venture Capital',
  'Big Tech',
  'Antitrust',
  'OpenAI',
  'Anthropic',
  'Google',
  'Microsoft',
  'Meta',
  'Nvidia',
  'Standards',
  'International Governance',
] as const;

const PUBLICATIONS = [
  'The Australian Financial Review',
  'The Sydney Morning Herald',
  'The Guardian Australia',
  'ABC News',
  'The Age',
  'Reuters',
  'Bloomberg',
  'Financial Times',
  'The New York Times',
  'The Economist',
  'Nikkei Asia',
  'The Conversation',
  'MIT Technology Review',
  'Wired',
  'The Verge',
  'Politico Europe',
] as const;
const DOMAINS: Record<(typeof PUBLICATIONS)[number], string> = {
  'The Australian Financial Review': 'www.afr.com',
  'The Sydney Morning Herald': 'www.smh.com.au',
  'The Guardian Australia': 'www.theguardian.com',
  'ABC News': 'www.abc.net.au',
  'The Age': 'www.theage.com.au',
  Reuters: 'www.reuters.com',
  Bloomberg: 'www.bloomberg.com',
  'Financial Times': 'www.ft.com',
  'The New York Times': 'www.nytimes.com',
  'The Economist': 'www.economist.com',
  'Nikkei Asia': 'asia.nikkei.com',
  'The Conversation': 'theconversation.com',
  'MIT Technology Review': 'www.technologyreview.com',
  Wired: 'www.wired.com',
  'The Verge': 'www.theverge.com',
  'Politico Europe': 'www.politico.eu',
};
const AUSTRALIAN = new Set<string>([
  'The Australian Financial Review',
  'The Sydney Morning Herald',
  'The Guardian Australia',
  'ABC News',
  'The Age',
  'The Conversation',
]);

const ACTORS = [
  'Canberra',
  'Regulators',
  'Lawmakers',
  'Start-ups',
  'Chipmakers',
  'Universities',
  'Banks',
  'Hospitals',
  'Insurers',
  'Researchers',
  'Unions',
  'Telcos',
  'Defence officials',
  'Publishers',
  'Investors',
];
const VERBS = [
  'weigh',
  'push for',
  'warn over',
  'back',
  'question',
  'race to adopt',
  'call for limits on',
  'bet big on',
  'scramble to secure',
  'rethink',
];
const SUBJECTS = [
  'frontier AI oversight',
  'model evaluations',
  'chip export rules',
  'data centre power demand',
  'AI copyright claims',
  'deepfake election ads',
  'safety testing standards',
  'open-weight models',
  'AI tutoring in schools',
  'automated hiring tools',
  'AI-assisted diagnosis',
  'model theft by rivals',
  'compute thresholds',
  'incident reporting rules',
  'AI liability laws',
];
const TAILS = [
  '',
  '',
  ' as deadline looms',
  ' after landmark report',
  ' amid industry pushback',
  ': what it means for Australia',
  ' in $2bn deal',
  ' as rivals close the gap',
  ' despite safety concerns',
];

function makeAuthors(random: Random): string[] {
  const names = new Set<string>(['Shirin Ghaffary', 'Maggie Eastland']);
  while (names.size < DEMO_SIZES.authors) names.add(`${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`);
  return [...names];
}

function sentence(random: Random, subject: string): string {
  const openers = [
    'The move follows months of debate over',
    'Officials say the plan addresses',
    'Critics argue the focus on',
    'Industry groups welcomed the attention to',
    'Analysts expect further scrutiny of',
  ];
  const closers = [
    'before the end of the year.',
    'across the region.',
    'in coming months.',
    'as competition intensifies.',
    'under the new framework.',
  ];
  return `${random.pick(openers)} ${subject} ${random.pick(closers)}`;
}

const DATELINE_CITIES = ['SYDNEY', 'MELBOURNE', 'CANBERRA', 'BRISBANE', 'PERTH', 'WASHINGTON', 'LONDON', 'SINGAPORE'];

/** The opening line of the n-th generated article (no randomness: the dataset stays as it was). */
function dateline(n: number, publishedAt: Date, source: string, title: string): string {
  const day = publishedAt.toLocaleDateString('en-AU', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  return `${DATELINE_CITIES[n % DATELINE_CITIES.length]}, ${day} (${source}): ${title}. Demo article ${n + 1}, written for Newsgraph.`;
}

/** One demo article as generated: authors in byline order and topics by name. */
export interface DemoArticle {
  title: string;
  url: string;
  source: string;
  publishedAt: Date;
  createdAt: Date;
  priority: number;
  isAustralian: boolean;
  description: string;
  summary: string;
  body: string;
  authors: string[];
  topics: string[];
}

/**
 * The paragraphs of the wire story behind the tracker record (our own prose; the facts are the
 * record's): every syndicated copy below reuses them, trimmed or not.
 */
const WIRE_PARAGRAPHS = [
  'Rivals OpenAI, Anthropic and Google have begun sharing information to stop competitors from copying the capabilities of their most advanced artificial intelligence models, in a rare collaboration between companies that usually compete fiercely for customers and researchers.',
  'The three developers are working through the Frontier Model Forum, an industry group they founded, to detect so-called distillation attempts, in which outside actors send large numbers of queries to a frontier model and use the answers to train a cheaper imitation.',
  'People familiar with the effort said the companies exchange signals about suspicious accounts and usage patterns, much as banks share information about fraud, so that an attempt blocked by one developer can be recognised quickly by the others.',
  'The companies have said some of the activity they detected came from users in China, where several laboratories have released models that perform close to the leading US systems at a fraction of the cost of training them.',
  "Distillation in breach of a provider's terms of service is hard to prove, and the companies have not said how many attempts they have stopped. Policy makers in Washington have pressed the industry to protect model weights and capabilities as a matter of national security.",
];

/** The tracker record the demo data must contain (facts only; the prose is our own). */
export const EXAMPLE_RECORD: DemoArticle = {
  title: 'OpenAI, Google, and Anthropic Collaborate to Combat Chinese AI Model Theft',
  url: 'https://www.afr.com/world/north-america/openai-google-and-anthropic-collaborate-to-combat-chinese-ai-model-theft-20260407',
  source: 'The Australian Financial Review',
  publishedAt: new Date('2026-04-07T01:24:00.000Z'),
  createdAt: new Date('2026-04-07T02:00:00.000Z'),
  priority: 4,
  isAustralian: true,
  description: 'Three rival US AI developers are pooling information to stop competitors copying their models.',
  summary:
    'Through the Frontier Model Forum, the companies share signals of distillation attempts, in which outside actors query frontier models to train imitations. Demo summary written for Newsgraph.',
  // the republisher's masthead and section line, then the wire copy
  body: ['World North America AI Print article', 'Shirin Ghaffary and Maggie Eastland', ...WIRE_PARAGRAPHS].join(
    '\n\n',
  ),
  authors: ['Shirin Ghaffary', 'Maggie Eastland'],
  topics: ['AI', 'AI Security', 'China', 'Frontier Models', 'OpenAI', 'Anthropic', 'Google'],
};

/**
 * The record's story as other publications filed it, and near-misses that must stay apart: the
 * wire original, a re-headlined copy trimmed to three paragraphs with changed case and
 * punctuation and the wire's boilerplate, and two other stories on the same topics, the same
 * days, naming the same companies and carrying the same boilerplate.
 */
export const SYNDICATED_RECORDS: DemoArticle[] = [
  {
    ...EXAMPLE_RECORD,
    title: 'OpenAI, Anthropic, Google Unite to Fight Model Copying by Chinese Rivals',
    url: 'https://www.bloomberg.com/news/articles/2026-04-06/openai-anthropic-google-unite-to-fight-model-copying',
    source: 'Bloomberg',
    publishedAt: new Date('2026-04-06T23:05:00.000Z'),
    createdAt: new Date('2026-04-07T00:10:00.000Z'),
    isAustralian: false,
    description: 'The wire original of the model-copying story.',
    summary: 'Demo summary written for Newsgraph: the wire report of the three companies sharing distillation signals.',
    body: [...WIRE_PARAGRAPHS, 'Read more from Bloomberg: subscribe for unlimited access to news and analysis.'].join(
      '\n\n',
    ),
  },
  {
    ...EXAMPLE_RECORD,
    title: "US AI rivals team up against Chinese 'distillation'",
    url: 'https://www.japantimes.co.jp/business/2026/04/07/tech/us-ai-rivals-distillation/',
    source: 'The Japan Times',
    publishedAt: new Date('2026-04-07T06:30:00.000Z'),
    createdAt: new Date('2026-04-07T07:00:00.000Z'),
    priority: 3,
    isAustralian: false,
    description: 'OpenAI, Anthropic and Google pool data on copying attempts.',
    summary: 'Demo summary written for Newsgraph: a shortened republication of the wire story.',
    body: [
      ...WIRE_PARAGRAPHS.slice(0, 3).map((paragraph) => paragraph.replaceAll(',', ' -').toUpperCase()),
      'This article was first published by Bloomberg. (c) 2026 Bloomberg L.P. All rights reserved.',
    ].join('\n\n'),
  },
  {
    ...EXAMPLE_RECORD,
    title: 'Anthropic accuses Chinese labs of distilling its Claude models',
    url: 'https://www.reuters.com/technology/anthropic-accuses-chinese-labs-distilling-claude-2026-04-08/',
    source: 'Reuters',
    publishedAt: new Date('2026-04-08T03:15:00.000Z'),
    createdAt: new Date('2026-04-08T04:00:00.000Z'),
    description: 'A separate complaint by one developer about copying of its models.',
    summary: 'Demo summary written for Newsgraph: one company names laboratories it says copied its models.',
    body: [
      'Anthropic said on Wednesday that it had identified three Chinese laboratories that used thousands of fake accounts to query its Claude models and train their own systems on the answers.',
      'The company said it had closed the accounts and shared the technical indicators with OpenAI and Google through the Frontier Model Forum, and that it would tighten the checks it runs when new business customers sign up.',
      'The laboratories did not respond to requests for comment. Anthropic said the activity peaked in March and had cost it millions of dollars in computing time.',
      'Read more from Bloomberg: subscribe for unlimited access to news and analysis.',
    ].join('\n\n'),
    authors: ['Shirin Ghaffary'],
  },
  {
    ...EXAMPLE_RECORD,
    title: 'Frontier Model Forum publishes security framework for AI developers',
    url: 'https://www.theverge.com/2026/4/7/frontier-model-forum-security-framework',
    source: 'The Verge',
    publishedAt: new Date('2026-04-07T15:40:00.000Z'),
    createdAt: new Date('2026-04-07T16:30:00.000Z'),
    priority: 3,
    isAustralian: false,
    description: 'The industry group sets out how members should protect model weights.',
    summary: 'Demo summary written for Newsgraph: a framework on securing weights, not the information-sharing effort.',
    body: [
      'The Frontier Model Forum, whose members include OpenAI, Anthropic and Google, published a framework on Tuesday describing how developers should protect the weights of their most capable models from theft.',
      'The document recommends hardware security modules, two-person rules for access to weights and regular red-team exercises, and asks members to report serious incidents to each other within days.',
      'This article was first published by Bloomberg. (c) 2026 Bloomberg L.P. All rights reserved.',
    ].join('\n\n'),
    authors: ['Maggie Eastland'],
  },
];

/** How many articles the demo dataset has. */
export const DEMO_ARTICLE_COUNT = DEMO_SIZES.articles + 1 + SYNDICATED_RECORDS.length;

/** The demo articles, deterministic for a seed. */
export function demoArticles(seed = DEMO_SEED): { authors: string[]; articles: DemoArticle[] } {
  const random = seededRandom(seed);
  const authors = makeAuthors(random);
  const articles: DemoArticle[] = [];
  const titles = new Set<string>([EXAMPLE_RECORD.title]);
  while (articles.length < DEMO_SIZES.articles) {
    const subject = random.pick(SUBJECTS);
    const title = `${random.pick(ACTORS)} ${random.pick(VERBS)} ${subject}${random.pick(TAILS)}`;
    if (titles.has(title)) continue;
    titles.add(title);
    const source = random.pick(PUBLICATIONS);
    const publishedAt = new Date(RANGE_START + Math.floor((random.next() * (RANGE_END - RANGE_START)) / 60000) * 60000);
    const createdAt = new Date(publishedAt.getTime() + random.int(10, 36 * 60) * 60000);
    const paragraphs = Array.from({ length: random.int(3, 6) }, () => sentence(random, subject));
    articles.push({
      title,
      url: `https://${DOMAINS[source]}/news/${slugify(title)}-${articles.length + 1}`,
      source,
      publishedAt,
      createdAt,
      priority: random.int(1, 5),
      isAustralian: AUSTRALIAN.has(source) ? random.next() < 0.85 : random.next() < 0.15,
      description: sentence(random, subject),
      summary: paragraphs.slice(0, 2).join(' '),
      // a dateline of its own: the generated sentences repeat across articles on one subject,
      // and without it two such articles a day apart read as copies of one story
      body: [dateline(articles.length, publishedAt, source, title), ...paragraphs].join('\n\n'),
      authors: random.sample(authors, random.int(1, 4)),
      topics: random.sample(TOPIC_NAMES, random.int(1, 8)),
    });
  }
  articles.push(EXAMPLE_RECORD, ...SYNDICATED_RECORDS);
  return { authors, articles };
}

/** Loads the demo dataset when the database has no articles; returns how many were inserted. */
export async function seedDemoData(db: Db, seed = DEMO_SEED): Promise<number> {
  const { authors, articles } = demoArticles(seed);
  const inserted = await db.$transaction(
    async (tx) => {
      // Serialise concurrent seeders (two replicas starting at once) before checking emptiness.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7031)`;
      if ((await tx.article.count()) > 0) return 0;
      const authorRows = await tx.author.createManyAndReturn({
        data: authors.map((name) => ({ name })),
        select: { id: true, name: true },
      });
      const topicRows = await tx.topic.createManyAndReturn({
        data: TOPIC_NAMES.map((name) => ({ name, slug: slugify(name) })),
        select: { id: true, name: true },
      });
      const authorId = new Map(authorRows.map((row) => [row.name, row.id]));
      const topicId = new Map(topicRows.map((row) => [row.name, row.id]));
      const articleRows = await tx.article.createManyAndReturn({
        data: articles.map(({ authors: _a, topics: _t, ...article }) => ({
          ...article,
          urlKey: normalizeUrl(article.url),
          updatedAt: article.createdAt,
        })),
        select: { id: true, url: true },
      });
      const articleId = new Map(articleRows.map((row) => [row.url, row.id]));
      await tx.articleAuthor.createMany({
        data: articles.flatMap((article) =>
          article.authors.map((name, position) => ({
            articleId: articleId.get(article.url)!,
            authorId: authorId.get(name)!,
            position,
          })),
        ),
      });
      await tx.articleTopic.createMany({
        data: articles.flatMap((article) =>
          article.topics.map((name) => ({ articleId: articleId.get(article.url)!, topicId: topicId.get(name)! })),
        ),
      });
      // the story detector reads them as if filed in order of publication, holding the detector
      // lock alone: 505 articles' bucket locks would fill the server's shared lock table
      await holdDetector(tx);
      const settings = storySettings();
      const byDate = await tx.article.findMany({
        orderBy: [{ publishedAt: 'asc' }, { id: 'asc' }],
        select: { id: true },
      });
      for (const { id } of byDate) await detectStory(tx, id, settings);
      return articleRows.length;
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  // answers cached while the database was empty are not served after the seed
  if (inserted > 0) await dataChanged();
  return inserted;
}
