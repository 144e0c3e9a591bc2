import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.ts';
import { prisma } from '../db/client.ts';
import { ForbiddenError, InUseError, NotFoundError, ValidationError } from '../errors.ts';
import { createAuthor, deleteAuthor, mergeAuthors, updateAuthor } from '../resolvers/catalog/writes.ts';
import { listCatalog } from '../resolvers/catalog/list.ts';
import { builder, encodeGlobalID } from './builder.ts';
import { catalogTypes } from './catalog.ts';
import { OrderDirection, StringFilter } from './common.ts';
import { selectsAny } from './lookahead.ts';

/**
 * The Author node: a person credited in article bylines, with the number of articles bylining them.
 * `node(id:)` of a missing one is null.
 */
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

/** The catalog types of authors (catalog.ts): AuthorIDFilter, AuthorConnection, DeleteAuthorInput, MergeAuthorsInput. */
export const {
  IDFilter: AuthorIDFilter,
  Connection: AuthorConnection,
  DeleteInput: DeleteAuthorInput,
  MergeInput: MergeAuthorsInput,
} = catalogTypes(Author, 'Author', 'Authors');

/** What an article's author must match in AuthorRelationFilter (`ArticleFilter.authors`). */
export const AuthorFilter = builder.inputType('AuthorFilter', {
  description: "Conditions on an article's author.",
  fields: (t) => ({
    id: t.field({ type: AuthorIDFilter }),
    name: t.field({ type: StringFilter }),
  }),
});

/** The GraphQL description of `nameSearch` in AuthorListFilter and TopicListFilter. */
export const NAME_SEARCH_DESCRIPTION =
  'Names resembling this text, even misspelt or partial ("ghafary" finds "Shirin Ghaffary"), by trigram similarity. Orders by RELEVANCE (most similar first) unless `orderBy` says otherwise.';

/** The `filter` of the `authors` query: ID and name conditions, and `nameSearch` (trigram similarity). */
export const AuthorListFilter = builder.inputType('AuthorListFilter', {
  description: 'Which authors to list. All given conditions must hold.',
  fields: (t) => ({
    id: t.field({ type: AuthorIDFilter }),
    name: t.field({ type: StringFilter }),
    nameSearch: t.string({ description: NAME_SEARCH_DESCRIPTION }),
  }),
});

/** The keys the `authors` and `topics` lists can be ordered by; RELEVANCE only with `filter.nameSearch`. */
export const NamedOrderField = builder.enumType('NamedOrderField', {
  values: {
    NAME: {},
    ARTICLE_COUNT: {},
    CREATED_AT: {},
    RELEVANCE: { description: 'Similarity to `filter.nameSearch`; only with it.' },
  } as const,
});

/** One entry of the `orderBy` of the `authors` and `topics` queries: a key and its direction. */
export const NamedOrder = builder.inputType('NamedOrder', {
  description: 'Order of authors or topics; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: NamedOrderField, required: true }),
    direction: t.field({ type: OrderDirection, description: 'Default ASC; for RELEVANCE, DESC (most similar first).' }),
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
        filter: t.arg({ type: AuthorListFilter }),
        orderBy: t.arg({ type: [NamedOrder] }),
      },
      resolve: (_root, args, context, info) =>
        listCatalog(
          prisma,
          'author',
          args,
          queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } }),
          {
            countWanted: selectsAny(info, ['totalCount', 'count']),
          },
        ),
    },
    AuthorConnection,
  ),
}));

const CreateAuthorInput = builder.inputType('CreateAuthorInput', {
  fields: (t) => ({ name: t.string({ required: true, description: '1-200 characters; whitespace is collapsed.' }) }),
});
const UpdateAuthorInput = builder.inputType('UpdateAuthorInput', {
  fields: (t) => ({
    id: t.globalID({ for: Author, required: true }),
    name: t.string({ required: true, description: 'The new name.' }),
  }),
});

function loadAuthor(id: number, context: Context, info: GraphQLResolveInfo) {
  return prisma.author.findUniqueOrThrow({
    where: { id },
    ...queryFromInfo({ context, info, path: ['author'], typeName: 'Author', select: { id: true } }),
  });
}

builder.mutationFields((t) => ({
  createAuthor: t.field({
    type: Author,
    description: 'Adds an author (EDITOR).',
    args: { input: t.arg({ type: CreateAuthorInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], dataField: { name: 'author' } },
    resolve: async (_root, { input }, context, info) =>
      loadAuthor((await createAuthor(prisma, input, context.viewer)).id, context, info),
  }),
  updateAuthor: t.field({
    type: Author,
    description: 'Renames an author (EDITOR).',
    args: { input: t.arg({ type: UpdateAuthorInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: 'author' } },
    resolve: async (_root, { input }, context, info) =>
      loadAuthor((await updateAuthor(prisma, input, context.viewer)).id, context, info),
  }),
  deleteAuthor: t.field({
    type: 'ID',
    description: 'Deletes an author no article uses (ADMIN); merge it into another author instead when articles do.',
    args: { input: t.arg({ type: DeleteAuthorInput, required: true }) },
    errors: { types: [NotFoundError, InUseError, ForbiddenError], dataField: { name: 'deletedId' } },
    resolve: async (_root, { input }, context) =>
      encodeGlobalID('Author', (await deleteAuthor(prisma, input, context.viewer)).id),
  }),
  mergeAuthors: t.field({
    type: Author,
    description:
      'Moves every byline of the sources to the target and deletes the sources, in one transaction (ADMIN). Byline order is kept; duplicates collapse.',
    args: { input: t.arg({ type: MergeAuthorsInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: 'author' } },
    resolve: async (_root, { input }, context, info) =>
      loadAuthor((await mergeAuthors(prisma, input, context.viewer)).id, context, info),
  }),
}));
