import { queryFromInfo } from '@pothos/plugin-prisma';
import { prisma } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { nestedArticlePage, planArticlePage } from '../resolvers/articles.ts';
import { countArticlesOf } from '../resolvers/counts.ts';
import { toConnection, type Connection } from '../resolvers/pagination.ts';
import { listTopics } from '../resolvers/topics.ts';
import { Article, ArticleConnection, articleListArgs } from './article.ts';
import { NamedOrder } from './author.ts';
import { builder } from './builder.ts';
import { StringFilter } from './common.ts';

export const Topic = builder.prismaNode('Topic', {
  id: { field: 'id' },
  // node(id:) of a deleted or unknown row is null, not an error.
  nullable: true,
  select: { id: true },
  fields: (t) => ({
    name: t.exposeString('name'),
    slug: t.exposeString('slug', { description: 'URL-safe form of the name, unique.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    articleCount: t.exposeInt('articleCount', { description: 'Articles with this topic.' }),
  }),
});

builder.prismaObjectFields(Topic, (t) => ({
  articles: t.connection(
    {
      type: Article,
      description: 'Articles with this topic matching `filter`, in `orderBy` order (default newest first).',
      args: articleListArgs,
      select: (args, _ctx, nestedSelection) => ({
        articles: nestedArticlePage(planArticlePage(args), nestedSelection(true, ['edges', 'node'])),
      }),
      resolve: (topic, args, context) => {
        const plan = planArticlePage(args);
        const rows = topic.articles.map((tag) => tag.article);
        return toConnection(rows, plan.terms, plan.window, () =>
          countArticlesOf(context, prisma, 'topic', topic.id, plan.where),
        ) as Connection<never>;
      },
    },
    ArticleConnection,
  ),
}));

export const TopicIDFilter = builder.inputType('TopicIDFilter', {
  description: 'Topic global IDs; an ID of another type is refused.',
  fields: (t) => ({
    equals: t.globalID({ for: Topic }),
    in: t.globalIDList({ for: Topic }),
  }),
});

export const TopicFilter = builder.inputType('TopicFilter', {
  fields: (t) => ({
    id: t.field({ type: TopicIDFilter }),
    name: t.field({ type: StringFilter }),
    slug: t.field({ type: StringFilter }),
  }),
});

export const TopicConnection = builder.connectionObject({
  type: Topic,
  name: 'TopicConnection',
  fields: (t) => ({
    totalCount: t.int({ resolve: (connection) => (connection as unknown as Connection<unknown>).totalCount() }),
  }),
});

builder.queryFields((t) => ({
  topic: t.prismaField({
    type: 'Topic',
    nullable: true,
    description: 'One topic, by `id` or by `slug` (exactly one of them).',
    args: { id: t.arg.globalID({ for: Topic }), slug: t.arg.string() },
    resolve: (query, _root, args) => {
      if ((args.id == null) === (args.slug == null)) {
        throw new UserInputError(ErrorCode.BAD_USER_INPUT, 'Pass exactly one of "id" and "slug"');
      }
      const where = args.id ? { id: Number(args.id.id) } : { slug: args.slug! };
      return prisma.topic.findUnique({ ...query, where });
    },
  }),
  topics: t.connection(
    {
      type: Topic,
      description: 'Topics matching `filter`, A-Z by default.',
      args: {
        filter: t.arg({ type: TopicFilter }),
        orderBy: t.arg({ type: [NamedOrder] }),
      },
      resolve: (_root, args, context, info) =>
        listTopics(prisma, args, queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } })),
    },
    TopicConnection,
  ),
}));
