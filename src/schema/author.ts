import { prisma } from '../db/client.ts';
import { builder } from './builder.ts';

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

builder.queryFields((t) => ({
  author: t.prismaField({
    type: 'Author',
    nullable: true,
    args: { id: t.arg.globalID({ for: Author, required: true }) },
    resolve: (query, _root, args) => prisma.author.findUnique({ ...query, where: { id: Number(args.id.id) } }),
  }),
}));

/** createAuthor's input (the mutation is made in catalog.ts). */
export const CreateAuthorInput = builder.inputType('CreateAuthorInput', {
  fields: (t) => ({ name: t.string({ required: true, description: '1-200 characters; whitespace is collapsed.' }) }),
});
/** updateAuthor's input. */
export const UpdateAuthorInput = builder.inputType('UpdateAuthorInput', {
  fields: (t) => ({
    id: t.globalID({ for: Author, required: true }),
    name: t.string({ required: true, description: 'The new name.' }),
  }),
});
