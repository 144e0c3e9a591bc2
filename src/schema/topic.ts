import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.ts';
import { prisma } from '../db/client.ts';
import { ErrorCode, ForbiddenError, InUseError, NotFoundError, UserInputError, ValidationError } from '../errors.ts';
import { createTopic, deleteTopic, mergeTopics, updateTopic } from '../resolvers/catalog/writes.ts';
import { listCatalog } from '../resolvers/catalog/list.ts';
import { NAME_SEARCH_DESCRIPTION, NamedOrder } from './author.ts';
import { builder, encodeGlobalID } from './builder.ts';
import { catalogTypes } from './catalog.ts';
import { StringFilter } from './common.ts';
import { selectsAny } from './lookahead.ts';

/**
 * The Topic node: a subject articles are filed under, with a unique slug and its article count.
 * `node(id:)` of a missing one is null.
 */
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

/** The catalog types of topics (catalog.ts): TopicIDFilter, TopicConnection, DeleteTopicInput, MergeTopicsInput. */
export const {
  IDFilter: TopicIDFilter,
  Connection: TopicConnection,
  DeleteInput: DeleteTopicInput,
  MergeInput: MergeTopicsInput,
} = catalogTypes(Topic, 'Topic', 'Topics');

/** What an article's topic must match in TopicRelationFilter (`ArticleFilter.topics`). */
export const TopicFilter = builder.inputType('TopicFilter', {
  description: "Conditions on an article's topic.",
  fields: (t) => ({
    id: t.field({ type: TopicIDFilter }),
    name: t.field({ type: StringFilter }),
    slug: t.field({ type: StringFilter }),
  }),
});

/**
 * The `filter` of the `topics` query: ID, name and slug conditions, and `nameSearch` (trigram
 * similarity).
 */
export const TopicListFilter = builder.inputType('TopicListFilter', {
  description: 'Which topics to list. All given conditions must hold.',
  fields: (t) => ({
    id: t.field({ type: TopicIDFilter }),
    name: t.field({ type: StringFilter }),
    slug: t.field({ type: StringFilter }),
    nameSearch: t.string({ description: NAME_SEARCH_DESCRIPTION }),
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
        filter: t.arg({ type: TopicListFilter }),
        orderBy: t.arg({ type: [NamedOrder] }),
      },
      resolve: (_root, args, context, info) =>
        listCatalog(
          prisma,
          'topic',
          args,
          queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } }),
          {
            countWanted: selectsAny(info, ['totalCount', 'count']),
          },
        ),
    },
    TopicConnection,
  ),
}));

const CreateTopicInput = builder.inputType('CreateTopicInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1-200 characters; whitespace is collapsed.' }),
    slug: t.string({ description: 'Default: derived from the name.' }),
  }),
});
const UpdateTopicInput = builder.inputType('UpdateTopicInput', {
  fields: (t) => ({
    id: t.globalID({ for: Topic, required: true }),
    name: t.string({ description: 'The new name; the slug follows it unless `slug` is given.' }),
    slug: t.string(),
  }),
});

function loadTopic(id: number, context: Context, info: GraphQLResolveInfo) {
  return prisma.topic.findUniqueOrThrow({
    where: { id },
    ...queryFromInfo({ context, info, path: ['topic'], typeName: 'Topic', select: { id: true } }),
  });
}

builder.mutationFields((t) => ({
  createTopic: t.field({
    type: Topic,
    description: 'Adds a topic (EDITOR).',
    args: { input: t.arg({ type: CreateTopicInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], dataField: { name: 'topic' } },
    resolve: async (_root, { input }, context, info) =>
      loadTopic((await createTopic(prisma, input, context.viewer)).id, context, info),
  }),
  updateTopic: t.field({
    type: Topic,
    description: 'Renames a topic (EDITOR).',
    args: { input: t.arg({ type: UpdateTopicInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: 'topic' } },
    resolve: async (_root, { input }, context, info) =>
      loadTopic((await updateTopic(prisma, input, context.viewer)).id, context, info),
  }),
  deleteTopic: t.field({
    type: 'ID',
    description: 'Deletes a topic no article uses (ADMIN).',
    args: { input: t.arg({ type: DeleteTopicInput, required: true }) },
    errors: { types: [NotFoundError, InUseError, ForbiddenError], dataField: { name: 'deletedId' } },
    resolve: async (_root, { input }, context) =>
      encodeGlobalID('Topic', (await deleteTopic(prisma, input, context.viewer)).id),
  }),
  mergeTopics: t.field({
    type: Topic,
    description:
      'Moves every article of the sources to the target and deletes the sources, in one transaction (ADMIN).',
    args: { input: t.arg({ type: MergeTopicsInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: 'topic' } },
    resolve: async (_root, { input }, context, info) =>
      loadTopic((await mergeTopics(prisma, input, context.viewer)).id, context, info),
  }),
}));
