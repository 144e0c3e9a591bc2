import { queryFromInfo } from '@pothos/plugin-prisma';
import { prisma } from '../db/client.ts';
import {
  ErrorCode,
  ForbiddenError,
  NotFoundError,
  UserInputError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import {
  findArticle,
  listArticles,
  planArticlePage,
  searchArticles,
  type ArticleListArgs,
  type ArticleSelection,
} from '../resolvers/articles/list.ts';
import { toConnection, type Connection } from '../resolvers/lists/connection.ts';
import { checkSearchText } from '../resolvers/lists/filter.ts';
import { prismaPageQuery, selectWithKeys } from '../resolvers/lists/page.ts';
import { countArticlesOf } from '../resolvers/catalog/counts.ts';
import { detachArticle, MAX_MERGE_STORIES, mergeStories, setStoryLead } from '../resolvers/stories/writes.ts';
import { Article, ArticleConnection, articleListArgs } from './article.ts';
import { readBack } from './articleMutations.ts';
import { builder, encodeGlobalID } from './builder.ts';
import { cappedCountField, selectingId, totalCountField } from './common.ts';
import { selectsAny } from './lookahead.ts';
import './errors.ts';

/**
 * Stories: an article and its syndicated copies and near-duplicates, found by the story detector
 * (src/resolvers/stories/detect.ts) and corrected by editors.
 */

/**
 * The lead of `story` (read with its `leadId`), with the Article fields `query` selects. The leads
 * of a page of stories take one statement: Prisma batches the findUnique calls of one tick that
 * select the same fields (leadId is no foreign key; see prisma/schema.prisma). A lead moved to the
 * trash after the story was read is not there any more: the story's lead as it is now is read
 * (a few times, while trash moves go on); a story whose every article went to the trash
 * meanwhile answers NOT_FOUND (read it again), never a null where the schema promises an article.
 */
async function leadOf(story: { id: number; leadId: number | null }, query: ArticleSelection) {
  let leadId = story.leadId;
  for (let attempt = 0; attempt < 3 && leadId !== null; attempt++) {
    const lead = await findArticle(prisma, { id: leadId }, query);
    if (lead) return lead;
    const [now] = await prisma.$queryRaw<{ leadId: number | null }[]>`
      SELECT "leadId" FROM "Story" WHERE "id" = ${story.id}`;
    leadId = now?.leadId ?? null;
  }
  throw new UserInputError(
    ErrorCode.NOT_FOUND,
    `The articles of story ${encodeGlobalID('Story', story.id)} moved to the trash while it was read; read it again`,
  );
}

/**
 * The Story node. Its columns other than the id and version are kept by the database (see the
 * stories migration), so a page of stories is one statement.
 */
export const Story = builder.prismaNode('Story', {
  id: { field: 'id' },
  nullable: true,
  select: { id: true },
  description:
    'A news story: an article and its syndicated copies and near-duplicates (the same text republished, trimmed, re-headlined or with boilerplate added, published close together). Every article belongs to exactly one story.',
  fields: (t) => ({
    lead: t.prismaField({
      type: 'Article',
      description:
        'The earliest-published member (ties: the first filed), unless an editor chose another (`leadChosen`).',
      select: { id: true, leadId: true },
      resolve: (query, story) => leadOf(story, query),
    }),
    leadChosen: t.exposeBoolean('leadChosen', { description: 'An editor chose the lead (setStoryLead).' }),
    articleCount: t.exposeInt('articleCount', { description: 'Members, at least 1.' }),
    sources: t.exposeStringList('sources', { description: "The members' publications, A-Z, each once." }),
    firstPublishedAt: t.field({
      type: 'DateTime',
      description: 'When the earliest member was published.',
      select: { firstPublishedAt: true },
      resolve: (story) => story.firstPublishedAt!,
    }),
    lastPublishedAt: t.field({
      type: 'DateTime',
      description: 'When the latest member was published.',
      select: { lastPublishedAt: true },
      resolve: (story) => story.lastPublishedAt!,
    }),
    version: t.exposeInt('version', {
      description:
        'Increases with every change of members or lead; pass it to mergeStories (as the target) and setStoryLead as expectedVersion.',
    }),
  }),
});

builder.prismaObjectFields(Story, (t) => ({
  articles: t.connection(
    {
      type: Article,
      description: "The story's articles matching `filter`, in `orderBy` order (default newest first).",
      args: articleListArgs,
      select: (args: ArticleListArgs, _context, nestedSelection) => {
        const plan = planArticlePage(args);
        const page = prismaPageQuery(plan.condition, plan.terms, plan.window);
        const selection = nestedSelection(true, ['edges', 'node']) as ArticleSelection;
        return { articles: { ...page, ...selectWithKeys(selection, plan.terms) } as never };
      },
      resolve: (story, args, context) => {
        const plan = planArticlePage(args);
        const rows = (story as unknown as { articles: { id: number }[] }).articles;
        // the totals of every story on a page: one grouped COUNT (countArticlesOf)
        return toConnection(rows, plan.terms, plan.window, () =>
          countArticlesOf(context, prisma, 'story', story.id, plan.where),
        ) as Connection<never>;
      },
    },
    ArticleConnection,
  ),
}));

builder.prismaObjectFields(Article, (t) => ({
  story: t.relation('story', { description: 'The story this article belongs to.' }),
  storyPinned: t.exposeBoolean('storyPinned', {
    description:
      'An editor placed this article in its story (detachArticle, mergeStories): the detector leaves it there.',
  }),
}));

/** The page type of `stories`. */
export const StoryConnection = builder.connectionObject({
  type: Story,
  name: 'StoryConnection',
  fields: (t) => ({
    totalCount: totalCountField(t, 'Stories with a matching article, across all pages (exact).'),
    count: cappedCountField(t),
  }),
});

builder.queryFields((t) => ({
  stories: t.connection(
    {
      type: Story,
      description:
        "Stories with at least one article matching `filter` (and `search`), each once, ordered by their first matching article in `orderBy` order (as `articles(collapse: STORY)` lists them; its cursors page here too). Two statements (the page's story ids, then the stories), plus a search's.",
      args: {
        ...articleListArgs,
        search: t.arg.string({ description: 'As in `articles(search:)`.' }),
      },
      resolve: async (_root, args, context, info) => {
        const listArgs = { ...args, collapse: 'STORY' as const };
        const articles =
          args.search == null
            ? await listArticles(prisma, listArgs, { select: { id: true, storyId: true } })
            : await searchArticles(
                prisma,
                { ...listArgs, search: checkSearchText(args.search, 'search') },
                { select: { id: true, storyId: true } },
                { countWanted: selectsAny(info, ['totalCount', 'count']) },
              );
        const storyIds = articles.edges.map((edge) => (edge.node as unknown as { storyId: number }).storyId);
        const query = queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } });
        const stories = storyIds.length
          ? await prisma.story.findMany({ ...(query as object), where: { id: { in: storyIds } } })
          : [];
        const byId = new Map(stories.map((story) => [story.id, story]));
        // a story merged away between the two statements is left out
        const edges = articles.edges
          .map((edge) => ({
            cursor: edge.cursor,
            node: byId.get((edge.node as unknown as { storyId: number }).storyId)!,
          }))
          .filter((edge) => edge.node !== undefined);
        return { ...articles, edges } as never;
      },
    },
    StoryConnection,
  ),
}));

/** Inputs of the story mutations. */
const MergeStoriesInput = builder.inputType('MergeStoriesInput', {
  fields: (t) => ({
    sourceIds: t.globalIDList({
      for: Story,
      required: true,
      description: `Stories whose articles move to the target (1-${MAX_MERGE_STORIES}); they are deleted.`,
    }),
    targetId: t.globalID({ for: Story, required: true, description: 'The story that remains.' }),
    expectedVersion: t.int({ required: true, description: "The target's `version` you read." }),
  }),
});

const DetachArticleInput = builder.inputType('DetachArticleInput', {
  fields: (t) => ({
    articleId: t.globalID({ for: Article, required: true }),
    expectedVersion: t.int({ required: true, description: "The article's `version` you read." }),
  }),
});

const SetStoryLeadInput = builder.inputType('SetStoryLeadInput', {
  fields: (t) => ({
    storyId: t.globalID({ for: Story, required: true }),
    articleId: t.globalID({ for: Article, required: true, description: 'A member of the story.' }),
    expectedVersion: t.int({ required: true, description: "The story's `version` you read." }),
  }),
});

/** The story after a write, read with the mutation's selection; NotFoundError if merged away since. */
async function storyAfter(id: number, query: Omit<Prisma.StoryFindUniqueArgs, 'where'>) {
  const row = await prisma.story.findUnique({ ...selectingId(query), where: { id } });
  if (!row) throw new NotFoundError('Story', id);
  return row;
}

builder.mutationFields((t) => ({
  mergeStories: t.prismaField({
    type: 'Story',
    description:
      "Moves every article of the source stories into the target, deletes the sources, and pins all the target's articles so the detector leaves them there (EDITOR).",
    args: { input: t.arg({ type: MergeStoriesInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionConflictError, ForbiddenError],
      dataField: { name: 'story' },
    },
    resolve: async (query, _root, { input }, context) =>
      storyAfter((await mergeStories(prisma, input, context.viewer)).id, query),
  }),
  detachArticle: t.prismaField({
    type: 'Article',
    description:
      'Takes an article out of its story into a story of its own and pins it there: the detector never puts it back (EDITOR).',
    args: { input: t.arg({ type: DetachArticleInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionConflictError, ForbiddenError],
      dataField: { name: 'article' },
    },
    resolve: async (query, _root, { input }, context) => {
      const { id } = await detachArticle(prisma, input, context.viewer);
      return readBack(id, query);
    },
  }),
  setStoryLead: t.prismaField({
    type: 'Story',
    description: "Makes a member the story's lead, kept while it stays a member (EDITOR).",
    args: { input: t.arg({ type: SetStoryLeadInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionConflictError, ForbiddenError],
      dataField: { name: 'story' },
    },
    resolve: async (query, _root, { input }, context) =>
      storyAfter((await setStoryLead(prisma, input, context.viewer)).id, query),
  }),
}));
