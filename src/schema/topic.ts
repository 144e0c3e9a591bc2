import { prisma } from '../db/client.ts';
import { ErrorCode, UserInputError } from '../errors.ts';
import { builder } from './builder.ts';

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
}));

/** createTopic's input (the mutation is made in catalog.ts). */
export const CreateTopicInput = builder.inputType('CreateTopicInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1-200 characters; whitespace is collapsed.' }),
    slug: t.string({ description: 'Default: derived from the name.' }),
  }),
});
/** updateTopic's input. */
export const UpdateTopicInput = builder.inputType('UpdateTopicInput', {
  fields: (t) => ({
    id: t.globalID({ for: Topic, required: true }),
    name: t.string({ description: 'The new name; the slug follows it unless `slug` is given.' }),
    slug: t.string(),
  }),
});
