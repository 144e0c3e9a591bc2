import { queryFromInfo } from '@pothos/plugin-prisma';
import { prisma } from '../db/client.ts';
import { nestedArticlePage, planArticlePage } from '../resolvers/articles.ts';
import { listAuthors } from '../resolvers/authors.ts';
import { countArticlesOf } from '../resolvers/counts.ts';
import { toConnection, type Connection } from '../resolvers/pagination.ts';
import { Article, ArticleConnection, articleListArgs } from './article.ts';
import { builder } from './builder.ts';
import { OrderDirection, StringFilter } from './common.ts';

export const Author = builder.prismaNode('Author', {
  id: { field: 'id' },
  // node(id:) of a deleted or unknown row is null, not an error.
  nullable: true,
  select: { id: true },
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    articleCount: t.exposeInt('articleCount', { description: 'Articles with this author in the byline.' }),
  }),
});

builder.prismaObjectFields(Author, (t) => ({
  articles: t.connection(
    {
      type: Article,
      description: "This author's articles matching `filter`, in `orderBy` order (default newest first).",
      args: articleListArgs,
      select: (args, _ctx, nestedSelection) => ({
        articles: nestedArticlePage(planArticlePage(args), nestedSelection(true, ['edges', 'node'])),
      }),
      resolve: (author, args, context) => {
        const plan = planArticlePage(args);
        const rows = author.articles.map((byline) => byline.article);
        return toConnection(rows, plan.terms, plan.window, () =>
          countArticlesOf(context, prisma, 'author', author.id, plan.where),
        ) as Connection<never>;
      },
    },
    ArticleConnection,
  ),
}));

export const AuthorIDFilter = builder.inputType('AuthorIDFilter', {
  description: 'Author global IDs; an ID of another type is refused.',
  fields: (t) => ({
    equals: t.globalID({ for: Author }),
    in: t.globalIDList({ for: Author }),
  }),
});

export const AuthorFilter = builder.inputType('AuthorFilter', {
  fields: (t) => ({
    id: t.field({ type: AuthorIDFilter }),
    name: t.field({ type: StringFilter }),
  }),
});

export const NamedOrderField = builder.enumType('NamedOrderField', {
  values: ['NAME', 'ARTICLE_COUNT', 'CREATED_AT'] as const,
});

export const NamedOrder = builder.inputType('NamedOrder', {
  description: 'Order of authors or topics; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: NamedOrderField, required: true }),
    direction: t.field({ type: OrderDirection, defaultValue: 'ASC' }),
  }),
});

export const AuthorConnection = builder.connectionObject({
  type: Author,
  name: 'AuthorConnection',
  fields: (t) => ({
    totalCount: t.int({ resolve: (connection) => (connection as unknown as Connection<unknown>).totalCount() }),
  }),
});

builder.queryFields((t) => ({
  author: t.prismaField({
    type: 'Author',
    nullable: true,
    args: { id: t.arg.globalID({ for: Author, required: true }) },
    resolve: (query, _root, args) => prisma.author.findUnique({ ...query, where: { id: Number(args.id.id) } }),
  }),
  authors: t.connection(
    {
      type: Author,
      description: 'Authors matching `filter`, A-Z by default.',
      args: {
        filter: t.arg({ type: AuthorFilter }),
        orderBy: t.arg({ type: [NamedOrder] }),
      },
      resolve: (_root, args, context, info) =>
        listAuthors(prisma, args, queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } })),
    },
    AuthorConnection,
  ),
}));
