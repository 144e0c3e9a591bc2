import { prisma } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import {
  ArticleInTrashError,
  DuplicateUrlError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { createArticle, deleteArticle, updateArticle, upsertArticle } from '../resolvers/articles/writes.ts';
import { Article } from './article.ts';
import { selectingId } from './common.ts';
import { Author } from './author.ts';
import { builder, encodeGlobalID } from './builder.ts';
import { Topic } from './topic.ts';
import './errors.ts';

/** Article mutations: one `input` argument each; expected failures are members of the result union. */

/**
 * A byline entry in CreateArticleInput and UpdateArticleInput: an existing author by global ID, or
 * one by name (created when new).
 */
export const AuthorRef = builder.inputType('AuthorRef', {
  description:
    'An existing author by `id`, or by `name`: the author with that name in any spelling (case, Unicode form, spacing), created when new. Exactly one.',
  fields: (t) => ({
    id: t.globalID({ for: Author }),
    name: t.string(),
  }),
});

/**
 * A topic of an article in CreateArticleInput and TopicsChange: an existing one by global ID, or one
 * by name (created when new, except in `remove`).
 */
export const TopicRef = builder.inputType('TopicRef', {
  description:
    'An existing topic by `id`, or by `name`: the topic with that name in any spelling (case, Unicode form, spacing), created when new. Exactly one.',
  fields: (t) => ({
    id: t.globalID({ for: Topic }),
    name: t.string(),
  }),
});

/** The `input` of createArticle and upsertArticle; lengths in characters (limits: TEXT_LIMITS). */
export const CreateArticleInput = builder.inputType('CreateArticleInput', {
  fields: (t) => ({
    title: t.string({ required: true, description: '1-500 characters.' }),
    url: t.string({ required: true, description: 'Absolute http(s) URL, at most 2,048 characters.' }),
    source: t.string({ required: true, description: 'Publication name, 1-200 characters.' }),
    publishedAt: t.field({ type: 'DateTime', required: true, description: 'Not more than a day in the future.' }),
    priority: t.int({ required: true, description: '1 (lowest) to 5 (highest).' }),
    isAustralian: t.boolean({ description: 'Default false.' }),
    description: t.string({ description: 'At most 5,000 characters.' }),
    summary: t.string({ description: 'At most 20,000 characters.' }),
    body: t.string({ description: 'At most 500,000 characters.' }),
    authors: t.field({ type: [AuthorRef], description: 'In byline order; at most 20.' }),
    topics: t.field({ type: [TopicRef], description: 'At most 50.' }),
  }),
});

/** `UpdateArticleInput.topics`: replace an article's topics, or add and remove some. */
export const TopicsChange = builder.inputType('TopicsChange', {
  description: 'Either `set` (replace all), or `add` and/or `remove`.',
  fields: (t) => ({
    set: t.field({ type: [TopicRef] }),
    add: t.field({ type: [TopicRef] }),
    remove: t.field({ type: [TopicRef], description: 'Topics not on the article are ignored; none are created.' }),
  }),
});

/** The `input` of updateArticle: the article, the version the client read, and the fields to change. */
export const UpdateArticleInput = builder.inputType('UpdateArticleInput', {
  description: 'Fields left out keep their values.',
  fields: (t) => ({
    id: t.globalID({ for: Article, required: true }),
    expectedVersion: t.int({
      required: true,
      description: 'The `version` you read; a stale one gives VersionConflictError.',
    }),
    title: t.string(),
    url: t.string(),
    source: t.string(),
    publishedAt: t.field({ type: 'DateTime' }),
    priority: t.int(),
    isAustralian: t.boolean(),
    description: t.string(),
    summary: t.string(),
    body: t.string(),
    authors: t.field({ type: [AuthorRef], description: 'Replaces the byline, in this order.' }),
    topics: t.field({ type: TopicsChange }),
  }),
});

/** The `input` of deleteArticle (move to the trash): the article's global ID. */
export const DeleteArticleInput = builder.inputType('DeleteArticleInput', {
  fields: (t) => ({ id: t.globalID({ for: Article, required: true }) }),
});

/** The UpsertArticleSuccess result of upsertArticle: the article, and whether it was created or updated. */
export const UpsertArticleSuccessRef = builder.objectRef<{ id: number; created: boolean }>('UpsertArticleSuccess');

/**
 * The written article, read with `query`: everything the mutation's selection asks for under
 * `article` (Pothos plans it through the errors plugin's result type), in one read, so no field
 * is loaded again later. NotFoundError when another request deleted it between this write's
 * commit and this read (the write itself was saved).
 */
export async function readBack(id: number, query: Omit<Prisma.ArticleFindUniqueArgs, 'where'>) {
  const row = await prisma.article.findUnique({ ...selectingId(query), where: { id } });
  if (!row) throw new NotFoundError('Article', id);
  return row;
}

builder.mutationFields((t) => ({
  createArticle: t.prismaField({
    type: 'Article',
    description: 'Files a new article (EDITOR). Authors and topics named for the first time are created.',
    args: { input: t.arg({ type: CreateArticleInput, required: true }) },
    errors: {
      types: [ValidationError, DuplicateUrlError, ArticleInTrashError, NotFoundError, ForbiddenError],
      dataField: { name: 'article' },
    },
    resolve: async (query, _root, { input }, context) => {
      const { id } = await createArticle(prisma, input, context.viewer);
      return readBack(id, query);
    },
  }),
  upsertArticle: t.field({
    type: UpsertArticleSuccessRef,
    description:
      'Files the article, or updates the one with the same normalized URL (EDITOR). Concurrent upserts of one story make one row.',
    args: { input: t.arg({ type: CreateArticleInput, required: true }) },
    errors: { types: [ValidationError, ArticleInTrashError, ForbiddenError], directResult: true },
    resolve: (_root, { input }, context) => upsertArticle(prisma, input, context.viewer),
  }),
  updateArticle: t.prismaField({
    type: 'Article',
    description: 'Changes an article if it is still at `expectedVersion` (EDITOR).',
    args: { input: t.arg({ type: UpdateArticleInput, required: true }) },
    errors: {
      types: [
        ValidationError,
        NotFoundError,
        VersionConflictError,
        DuplicateUrlError,
        ArticleInTrashError,
        ForbiddenError,
      ],
      dataField: { name: 'article' },
    },
    resolve: async (query, _root, { input }, context) => {
      const { id } = await updateArticle(prisma, input, context.viewer);
      return readBack(id, query);
    },
  }),
  deleteArticle: t.field({
    type: 'ID',
    description:
      'Moves an article to the trash (EDITOR): it is gone from every list, search, count, facet, story, feed and subscription until restoreArticle; purgeArticle deletes it for good, as does the server TRASH_RETENTION_DAYS later.',
    args: { input: t.arg({ type: DeleteArticleInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'deletedId' } },
    resolve: async (_root, { input }, context) => {
      const { id } = await deleteArticle(prisma, input, context.viewer);
      return encodeGlobalID('Article', id);
    },
  }),
}));

builder.objectType(UpsertArticleSuccessRef, {
  fields: (t) => ({
    created: t.exposeBoolean('created', {
      description: 'True when a new article was filed, false when one was updated.',
    }),
    article: t.prismaField({
      type: 'Article',
      nullable: true,
      description: 'The article as saved; null when another request deleted it right after this write.',
      resolve: (query, result) => prisma.article.findUnique({ ...query, where: { id: result.id } }),
    }),
  }),
});
