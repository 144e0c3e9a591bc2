import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { prisma } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import {
  ARTICLE_ORDERS,
  findArticle,
  listArticles,
  nestedArticlePage,
  planArticlePage,
  searchArticles,
  type ArticleListArgs,
  type ArticleSelection,
} from '../resolvers/articles/list.ts';
import { countArticlesOf } from '../resolvers/catalog/counts.ts';
import { highlight, type HighlightField as HighlightFieldName } from '../resolvers/articles/highlights.ts';
import { checkUrl, normalizeUrl } from '../resolvers/articles/urls.ts';
import { TEXT_LIMITS } from '../resolvers/articles/writes.ts';
import { toConnection, type Connection } from '../resolvers/lists/connection.ts';
import { checkSearchText } from '../resolvers/lists/filter.ts';
import { Author } from './author.ts';
import { builder } from './builder.ts';
import { cappedCountField, totalCountField } from './common.ts';
import { ArticleFilter, orderInput } from './lists.ts';
import { selectsAny } from './lookahead.ts';
import { Topic } from './topic.ts';

/**
 * Characters of article text (description, summary, body) one response may carry: a page of
 * 100 articles with 100 KB bodies fits; aliases asking for the same long bodies again and again
 * (each alias a page of them) do not, and would otherwise build hundreds of megabytes in memory.
 */
export const MAX_RESPONSE_TEXT = 10_000_000;

const textSent = new WeakMap<object, number>();

/**
 * `text`, counted against the request's MAX_RESPONSE_TEXT; past it, RESPONSE_TOO_LARGE (the
 * fields are non-null, so the error ends the list that asked for them).
 */
function sent(context: object, text: string): string {
  const total = (textSent.get(context) ?? 0) + text.length;
  textSent.set(context, total);
  if (total > MAX_RESPONSE_TEXT) {
    throw new UserInputError(
      ErrorCode.RESPONSE_TOO_LARGE,
      `This answer would carry more than ${MAX_RESPONSE_TEXT.toLocaleString('en')} characters of article text; ask for fewer articles, or leave out body`,
      { max: MAX_RESPONSE_TEXT },
    );
  }
  return text;
}

/**
 * The Article node: a filed news article, fetched by `article`, `articles`, `node`/`nodes` and the
 * article mutations. Global ID per relay Global Object Identification
 * (https://relay.dev/graphql/objectidentification.htm); `node(id:)` of a missing one is null.
 */
export const Article = builder.prismaNode('Article', {
  id: { field: 'id' },
  // node(id:) of a deleted or unknown row is null, not an error.
  nullable: true,
  // Columns are selected per query: a list that does not ask for `body` never loads it.
  select: { id: true },
  description: 'A news article filed by an analyst.',
  fields: (t) => ({
    title: t.exposeString('title'),
    url: t.exposeString('url', { description: 'Link to the original story.' }),
    source: t.exposeString('source', { description: 'Publication name, e.g. "The Australian Financial Review".' }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the article was filed here.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    priority: t.exposeInt('priority', { description: '1 (lowest) to 5 (highest).' }),
    isAustralian: t.exposeBoolean('isAustralian', { description: 'Relevant to Australia.' }),
    description: t.string({
      select: { description: true },
      resolve: (article, _args, context) => sent(context, article.description),
    }),
    summary: t.string({
      select: { summary: true },
      resolve: (article, _args, context) => sent(context, article.summary),
    }),
    body: t.string({
      description: 'Full text.',
      select: { body: true },
      resolve: (article, _args, context) => sent(context, article.body),
    }),
    version: t.exposeInt('version', {
      description: 'Increases with every change; pass it to updateArticle as expectedVersion.',
    }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: 'Name of the API key that filed the article. Editors and admins only (null for others).',
      authScopes: { editor: true },
      unauthorizedResolver: () => null,
    }),
    updatedBy: t.exposeString('updatedBy', {
      nullable: true,
      description: 'Name of the API key that last changed the article. Editors and admins only (null for others).',
      authScopes: { editor: true },
      unauthorizedResolver: () => null,
    }),
  }),
});

// Relations to types that point back at Article are added once both refs exist.
builder.prismaObjectFields(Article, (t) => ({
  authors: t.field({
    type: [Author],
    description: 'Authors in byline order.',
    select: (_args, _ctx, nestedSelection) => ({
      authors: { orderBy: { position: 'asc' }, select: { author: nestedSelection(true) } },
    }),
    resolve: (article) => article.authors.map((byline) => byline.author),
  }),
  topics: t.field({
    type: [Topic],
    description: 'Topics, A-Z.',
    select: (_args, _ctx, nestedSelection) => ({
      topics: { orderBy: { topic: { name: 'asc' } }, select: { topic: nestedSelection(true) } },
    }),
    resolve: (article) => article.topics.map((tag) => tag.topic),
  }),
}));

/** Which text field `ArticleEdge.highlight(field:)` takes its excerpt from. */
export const HighlightField = builder.enumType('HighlightField', {
  description: 'The text a search highlight is taken from.',
  values: ['TITLE', 'DESCRIPTION', 'SUMMARY', 'BODY'] as const,
});

/** An edge of a searched list carries its search, for highlights. */
type ArticleEdgeShape = { cursor: string; node: unknown; search?: string };

/**
 * The page type of every article list (`articles`, `Author.articles`, `Topic.articles`): a relay
 * connection (https://relay.dev/graphql/connections.htm) with `totalCount` and `count(cap:)`, whose
 * ArticleEdge has `highlight` when the list was searched.
 */
export const ArticleConnection = builder.connectionObject(
  {
    type: Article,
    name: 'ArticleConnection',
    fields: (t) => ({
      totalCount: totalCountField(
        t,
        'Articles matching the filter (and search), across all pages (stories, with `collapse: STORY`): an exact count. On lists that can be large, prefer `count(cap:)`.',
      ),
      count: cappedCountField(t),
    }),
  },
  {
    name: 'ArticleEdge',
    fields: (t) => ({
      highlight: t.string({
        nullable: true,
        description:
          'With a `search`: an excerpt of `field` with the matching words between the markers. Null without a search or when the field is empty. The excerpt is made by the database from the first 50,000 characters of the field; the article text is not loaded for it. A request may ask for 4 different settings (search, field, maxWords, maxFragments; BAD_USER_INPUT past that); markers and escapeHtml may differ freely.',
        args: {
          field: t.arg({ type: HighlightField, defaultValue: 'BODY', required: true }),
          startMarker: t.arg.string({ defaultValue: '<mark>', required: true, description: 'At most 32 characters.' }),
          stopMarker: t.arg.string({ defaultValue: '</mark>', required: true, description: 'At most 32 characters.' }),
          escapeHtml: t.arg.boolean({
            defaultValue: true,
            required: true,
            description: 'HTML-escape the text (not the markers), so the excerpt can be inserted as HTML.',
          }),
          maxWords: t.arg.int({ defaultValue: 30, required: true, description: 'Words per fragment, 3 to 100.' }),
          maxFragments: t.arg.int({
            defaultValue: 2,
            required: true,
            description: 'Fragments joined by " … ", 0 to 5; 0 gives one excerpt around the best match.',
          }),
        },
        resolve: (edge, args, context) => {
          const { search, node } = edge as unknown as ArticleEdgeShape;
          if (search == null) return null;
          return highlight(context, prisma, search, (node as { id: number }).id, {
            ...args,
            field: args.field as HighlightFieldName,
          });
        },
      }),
    }),
  },
);

/** How a list collapses its articles (`articles(collapse:)`, `articleFacets(collapse:)`, schema/story.ts). */
export const ArticleCollapse = builder.enumType('ArticleCollapse', {
  description: 'Collapse a list of articles.',
  values: {
    STORY: {
      description:
        "One article per story: the story's first matching article in the list's order (the best ranked for a search, the newest by default). Counts then count stories.",
    },
  } as const,
});

/** The order entry of article lists (ArticleOrder, ArticleOrderField), from the list's order table. */
export const ArticleOrder = orderInput(
  'ArticleOrder',
  ARTICLE_ORDERS,
  undefined,
  'Default ASC; for RELEVANCE, DESC (most relevant first).',
);

/** Arguments of every article list (Query.articles, Author.articles, Topic.articles). */
export const articleListArgs = builder.args((t) => ({
  filter: t.field({ type: ArticleFilter }),
  orderBy: t.field({
    type: [ArticleOrder],
    description: 'Default: newest first (PUBLISHED_AT DESC). Ties are broken by id.',
  }),
}));

/**
 * The page `articles` answers for `args` (a list, or a search whose edges carry the search for
 * their highlights), loaded with the selection of the connection field being resolved (`info`).
 */
export async function resolveArticleList(
  args: ArticleListArgs,
  context: object,
  info: GraphQLResolveInfo,
): Promise<Connection<never>> {
  const selection = queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } });
  if (args.search == null) return listArticles(prisma, args, selection) as Promise<Connection<never>>;
  // as searched: the highlights parse the same text
  const search = checkSearchText(args.search, 'search');
  const connection = await searchArticles(prisma, { ...args, search }, selection, {
    countWanted: selectsAny(info, ['totalCount', 'count']),
  });
  return { ...connection, edges: connection.edges.map((edge) => ({ ...edge, search })) } as never;
}

builder.queryFields((t) => ({
  article: t.prismaField({
    type: 'Article',
    nullable: true,
    description: 'One article, by `id` or by `url` (exactly one of them; the URL matches in normalized form).',
    args: {
      id: t.arg.globalID({ for: Article }),
      url: t.arg.string(),
    },
    resolve: (query, _root, args) => {
      if ((args.id == null) === (args.url == null)) {
        throw new UserInputError(ErrorCode.BAD_USER_INPUT, 'Pass exactly one of "id" and "url"');
      }
      if (args.id) return findArticle(prisma, { id: Number(args.id.id) }, query);
      // no article has a longer link (createArticle refuses them): refused before it is parsed
      if (args.url!.length > 2 * TEXT_LIMITS.url) {
        throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"url": Must be at most ${TEXT_LIMITS.url} characters`, {
          argumentName: 'url',
        });
      }
      const checked = checkUrl(args.url!.trim());
      if ('problem' in checked) {
        throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"url": ${checked.problem}`, { argumentName: 'url' });
      }
      return findArticle(prisma, { urlKey: normalizeUrl(checked.href) }, query);
    },
  }),
  articles: t.connection(
    {
      type: Article,
      description:
        'Articles matching `filter` (and `search`), in `orderBy` order, a page at a time (default 20, at most 100).',
      args: {
        ...articleListArgs,
        collapse: t.arg({
          type: ArticleCollapse,
          description:
            'STORY: one article per story (syndicated copies and near-duplicates collapsed), and `totalCount` counts stories. The page is then found in SQL and loaded by id: one statement more than without.',
        }),
        search: t.arg.string({
          description:
            'Full-text search of title, description, summary and body, in web-search syntax: words must all occur (in any form: "elections" finds "election"), "quoted phrases" in order, -word excludes (a search must also name a word to find: one that only excludes is BAD_USER_INPUT), `or` between words gives alternatives. Orders by RELEVANCE unless `orderBy` says otherwise.',
        }),
      },
      resolve: (_root, args, context, info) => resolveArticleList(args, context, info),
    },
    ArticleConnection,
  ),
}));

/**
 * `Author.articles` and `Topic.articles`: a parent's articles through its link table. The page
 * is one nested Prisma relation query planned with the parent (no statement per parent); the
 * totals of all parents on a page are one grouped COUNT (countArticlesOf).
 */
function parentArticles(parent: 'author' | 'topic', description: string) {
  return {
    type: Article,
    description,
    args: articleListArgs,
    select: (args: ArticleListArgs, _context: unknown, nestedSelection: NestedSelection) => ({
      articles: nestedArticlePage(planArticlePage(args), nestedSelection(true, ['edges', 'node'])),
    }),
    resolve: (row: { id: number; articles: { article: { id: number } }[] }, args: ArticleListArgs, context: object) => {
      const plan = planArticlePage(args);
      const rows = row.articles.map((link) => link.article);
      return toConnection(rows, plan.terms, plan.window, () =>
        countArticlesOf(context, prisma, parent, row.id, plan.where),
      ) as Connection<never>;
    },
  };
}

type NestedSelection = (selection: true, path: string[]) => ArticleSelection;

builder.prismaObjectFields(Author, (t) => ({
  articles: t.connection(
    parentArticles('author', "This author's articles matching `filter`, in `orderBy` order (default newest first)."),
    ArticleConnection,
  ),
}));

builder.prismaObjectFields(Topic, (t) => ({
  articles: t.connection(
    parentArticles('topic', 'Articles with this topic matching `filter`, in `orderBy` order (default newest first).'),
    ArticleConnection,
  ),
}));
