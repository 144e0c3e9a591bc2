import { queryFromInfo } from '@pothos/plugin-prisma';
import { prisma } from '../db/client.ts';
import { articleFacets, DEFAULT_SAMPLE_ABOVE, SAMPLE_ABOVE_RANGE, type Facets } from '../resolvers/articles/facets.ts';
import { articleHistogram, MAX_HISTOGRAM_BUCKETS, type HistogramBucket } from '../resolvers/articles/histogram.ts';
import { ArticleCollapse } from './article.ts';
import { ArticleFilter } from './lists.ts';
import { builder } from './builder.ts';
import { Topic } from './topic.ts';

type TopicShape = { id: number };
type FacetsShape = Omit<Facets, 'topics'> & { topics: { topic: TopicShape; count: number }[] };

const TopicFacet = builder.objectRef<{ topic: TopicShape; count: number }>('TopicFacet').implement({
  fields: (t) => ({
    topic: t.field({ type: Topic, resolve: (facet) => facet.topic as never }),
    count: t.exposeInt('count'),
  }),
});

const SourceFacet = builder.objectRef<Facets['sources'][number]>('SourceFacet').implement({
  fields: (t) => ({ source: t.exposeString('source'), count: t.exposeInt('count') }),
});

const PriorityFacet = builder.objectRef<Facets['priorities'][number]>('PriorityFacet').implement({
  fields: (t) => ({ priority: t.exposeInt('priority'), count: t.exposeInt('count') }),
});

const AustralianFacet = builder.objectRef<Facets['australian'][number]>('AustralianFacet').implement({
  fields: (t) => ({ isAustralian: t.exposeBoolean('value'), count: t.exposeInt('count') }),
});

const MonthFacet = builder.objectRef<Facets['months'][number]>('MonthFacet').implement({
  fields: (t) => ({
    month: t.exposeString('month', { description: 'Year and month, "YYYY-MM" (UTC).' }),
    start: t.expose('start', { type: 'DateTime', description: 'First instant of the month (UTC).' }),
    count: t.exposeInt('count'),
  }),
});

const FacetSample = builder.objectRef<NonNullable<Facets['sample']>>('FacetSample').implement({
  description:
    'The uniform sample of the matches that estimated counts were counted on (articles chosen by a hash of their id).',
  fields: (t) => ({
    articles: t.exposeInt('articles', { description: 'Matching articles in the sample.' }),
    fraction: t.exposeFloat('fraction', {
      description: 'The share of the matches in the sample, 0 to 1 (`articles / total`).',
    }),
  }),
});

const ArticleFacets = builder.objectRef<FacetsShape>('ArticleFacets').implement({
  description:
    'How the articles matching a filter and search break down. The counts are exact when `exact` is true, else estimates from a uniform sample (`sample`); `total` is exact unless `totalExact` is false.',
  fields: (t) => ({
    total: t.exposeInt('total', {
      description:
        "Articles matching: exact, except for a search that sampled (`totalExact` false): then the sample's size times the inverse of its fraction of the articles (1/16 or 1/128), rounded.",
    }),
    totalExact: t.exposeBoolean('totalExact', {
      description:
        'Whether `total` is exact. False only for a search whose 1/16 sample alone holds `sampleAbove` matches: counting a search\'s matches reads every one of their rows in PostgreSQL, so beyond that the total is estimated from the sample, as search engines report "about N results".',
    }),
    exact: t.boolean({
      description:
        'Whether every count below is exact. False when a filter the count rollup does not answer matched at least twice `sampleAbove` articles, or a search matched so many that 1/16 of them (by a hash of the id) hold `sampleAbove`: then each count is an estimate, the count in `sample` scaled by `total / sample.articles` and rounded; also when counting every match ran past its time on a PostgreSQL server (see `articleFacets`). The span of `months` (first to last match) stays exact, except after such a timeout: then it spans the matches in the sample.',
      resolve: (facets) => facets.sample == null,
    }),
    sample: t.field({
      type: FacetSample,
      nullable: true,
      description: 'The sample the counts were estimated from; null when they are exact.',
      resolve: (facets) => facets.sample,
    }),
    topics: t.field({
      type: [TopicFacet],
      description: 'The `topTopics` most frequent topics, most frequent first (ties: older topic first).',
      resolve: (facets) => facets.topics,
    }),
    sources: t.field({
      type: [SourceFacet],
      description:
        'The `topSources` most frequent sources, most frequent first (ties in dictionary order, as titles sort).',
      resolve: (facets) => facets.sources,
    }),
    priorities: t.field({
      type: [PriorityFacet],
      description: 'Every priority, 1 to 5 (zero counts included).',
      resolve: (facets) => facets.priorities,
    }),
    australian: t.field({
      type: [AustralianFacet],
      description: 'isAustralian true, then false.',
      resolve: (facets) => facets.australian,
    }),
    months: t.field({
      type: [MonthFacet],
      description:
        'A histogram of publication months (UTC): every month from the earliest to the latest match, zero counts included.',
      resolve: (facets) => facets.months,
    }),
  }),
});

builder.queryFields((t) => ({
  articleFacets: t.field({
    type: ArticleFacets,
    description:
      'Counts of the articles `articles(filter:, search:)` would list, by topic, source, priority, Australian relevance and month. Filters the count rollup answers (see `totalCount`) are summed from it in one SQL statement, exactly, when they have no topic (and, testing `source`, with `topTopics: 0`). Any other filter reads and counts its matches and groups all of them, or a uniform sample of about `sampleAbove` to twice that many when more match. A search reads the 1/128, then the 1/16 sample of the articles (by a hash of the id, through partial indexes) and estimates everything, total included, from the first that holds `sampleAbove` matches, or, when neither does, counts every match exactly. On a PostgreSQL server, when counting the matches (outside the rollup, search or not) takes more than half the statement time limit, the 1/16 sample answers instead, however few it holds (the 1/128 one when that too takes more than a quarter) (`totalExact` and `exact` false). One statement; plus one to load the topics shown, one first for a search with a `-` (does it name a word to find?), and, on a server, the transaction of a count outside the rollup.',
    args: {
      filter: t.arg({ type: ArticleFilter }),
      search: t.arg.string({ description: 'As in `articles(search:)`.' }),
      collapse: t.arg({
        type: ArticleCollapse,
        description:
          'STORY: count stories (each story with a matching article once per value) instead of articles: exactly, by reading every match in one statement, never from the rollup or a sample.',
      }),
      topTopics: t.arg.int({ defaultValue: 10, required: true, description: '0 to 100.' }),
      topSources: t.arg.int({ defaultValue: 10, required: true, description: '0 to 100.' }),
      sampleAbove: t.arg.int({
        defaultValue: DEFAULT_SAMPLE_ABOVE,
        description: `The smallest sample to estimate from: when at least twice this many articles match (and the rollup cannot answer), the breakdowns count a uniform sample holding at least this many (a filter: up to twice this many; a search: 1/16 or 1/128 of its matches), and are estimates (\`exact\` false). ${SAMPLE_ABOVE_RANGE.min.toLocaleString('en')} to ${SAMPLE_ABOVE_RANGE.max.toLocaleString('en')}; null counts every match, however many (slow on large results).`,
      }),
    },
    resolve: async (_root, args, context, info) => {
      const facets = await articleFacets(prisma, args);
      const ids = facets.topics.map((facet) => facet.topicId);
      const topics = ids.length
        ? await prisma.topic.findMany({
            ...queryFromInfo({ context, info, typeName: 'Topic', path: ['topics', 'topic'], select: { id: true } }),
            where: { id: { in: ids } },
          })
        : [];
      const byId = new Map(topics.map((topic) => [topic.id, topic]));
      return {
        ...facets,
        // A topic deleted since the count is left out.
        topics: facets.topics.flatMap(({ topicId, count }) => {
          const topic = byId.get(topicId);
          return topic ? [{ topic, count }] : [];
        }),
      };
    },
  }),
}));

/** A bucket width of `articleHistogram`. */
export const HistogramInterval = builder.enumType('HistogramInterval', {
  values: {
    DAY: { description: 'Midnight to midnight in the time zone (23 or 25 hours on daylight-saving days).' },
    WEEK: { description: 'ISO weeks, Monday to Monday.' },
    MONTH: {},
    YEAR: {},
  } as const,
});

const HistogramBucketType = builder.objectRef<HistogramBucket>('HistogramBucket').implement({
  description: 'The articles published in one interval of the time zone.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: 'The first instant of the interval.' }),
    count: t.exposeInt('count', { description: 'Matching articles published in it (and in [from, to)); exact.' }),
  }),
});

builder.queryFields((t) => ({
  articleHistogram: t.field({
    type: [HistogramBucketType],
    description: `How many articles \`articles(filter:, search:)\` would list were published in each day, week, month or year of \`timeZone\`, from the interval holding \`from\` to the one before \`to\`; empty intervals are included, counts are exact. At most ${MAX_HISTOGRAM_BUCKETS} buckets. One SQL statement (one more first for a search with a \`-\`).`,
    args: {
      filter: t.arg({ type: ArticleFilter }),
      search: t.arg.string({ description: 'As in `articles(search:)`.' }),
      collapse: t.arg({
        type: ArticleCollapse,
        description:
          'STORY: count stories (each story with a matching article once per value) instead of articles: exactly, by reading every match in one statement, never from the rollup or a sample.',
      }),
      interval: t.arg({ type: HistogramInterval, required: true }),
      timeZone: t.arg.string({
        defaultValue: 'UTC',
        required: true,
        description: 'An IANA time zone name, e.g. "Australia/Sydney"; offsets and abbreviations are refused.',
      }),
      from: t.arg({ type: 'DateTime', required: true, description: 'Inclusive; 0002-01-02T00:00:00Z or later.' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Exclusive.' }),
    },
    resolve: (_root, args) => articleHistogram(prisma, args),
  }),
}));
