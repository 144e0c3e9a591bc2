import type { InputObjectRef, ObjectRef } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.ts';
import { prisma, type Db } from '../db/client.ts';
import { ForbiddenError, InUseError, NotFoundError, ValidationError } from '../errors.ts';
import type { Viewer } from '../resolvers/access/viewer.ts';
import { listCatalog, type CatalogKind, type CatalogListArgs } from '../resolvers/catalog/list.ts';
import {
  createAuthor,
  createTopic,
  deleteAuthor,
  deleteTopic,
  mergeAuthors,
  mergeTopics,
  updateAuthor,
  updateTopic,
} from '../resolvers/catalog/writes.ts';
import { NAMED_COLUMNS } from '../resolvers/lists/order.ts';
import { Author, CreateAuthorInput, UpdateAuthorInput } from './author.ts';
import { builder, capitalize, encodeGlobalID } from './builder.ts';
import { cappedCountField, selectingId, totalCountField } from './common.ts';
import { AuthorListFilter, orderInput, TopicListFilter } from './lists.ts';
import { selectsAny } from './lookahead.ts';
import { CreateTopicInput, Topic, UpdateTopicInput } from './topic.ts';

/**
 * The catalog in the schema: authors and topics are listed, created, renamed, deleted and
 * merged alike, so their list query (`authors`, `topics`), connection types and mutations
 * (`create<Kind>`, `update<Kind>`, `delete<Kind>`, `merge<Kind>s`) are made here once per kind
 * (catalogSchema, called below for each). What differs (a topic's slug) is in the kind's own
 * module: its node, its lookup query and its create and update inputs.
 */

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type GlobalRef = { typename: string; id: string };
/** What a catalog row is to the schema: a row with an id (plugin-prisma selects the rest). */
type Row = { id: number };

/** The order entry of the `authors` and `topics` queries (NamedOrder, NamedOrderField). */
export const NamedOrder = orderInput(
  'NamedOrder',
  NAMED_COLUMNS,
  'Order of authors or topics; ties are broken by id.',
  'Default ASC; for RELEVANCE, DESC (most similar first).',
);

/** One kind of the catalog, as its schema is made. */
interface CatalogSpec<Create extends object, Update extends object> {
  kind: CatalogKind;
  node: ObjectRef<Types, Row>;
  /** GraphQL name of the node type. */
  name: 'Author' | 'Topic';
  /** The list query's field name, capitalized in type names. */
  plural: 'authors' | 'topics';
  /** An indefinite article and the noun, for descriptions ("an author"). */
  one: string;
  listFilter: InputObjectRef<Types, CatalogListArgs<CatalogKind>['filter'] & object>;
  create: {
    input: InputObjectRef<Types, Create>;
    run: (db: Db, input: Create, viewer: Viewer) => Promise<{ id: number }>;
  };
  update: {
    input: InputObjectRef<Types, Update>;
    run: (db: Db, input: Update, viewer: Viewer) => Promise<{ id: number }>;
    description: string;
  };
  remove: (db: Db, input: { id: GlobalRef }, viewer: Viewer) => Promise<{ id: number }>;
  merge: {
    run: (
      db: Db,
      input: { sourceIds: readonly GlobalRef[]; targetId: GlobalRef },
      viewer: Viewer,
    ) => Promise<{ id: number }>;
    description: string;
  };
}

function catalogSchema<Create extends object, Update extends object>(spec: CatalogSpec<Create, Update>) {
  const { kind, node, name, plural, one } = spec;
  const Plural = capitalize(plural);

  /**
   * The row a mutation answers, read once with everything the GraphQL query selected under
   * `<kind>` (planned through the errors plugin's result type, as a prismaField's query is), so
   * no field is loaded again later. NotFoundError when another request deleted or merged it away
   * between this write's commit and this read (the write itself was saved).
   */
  const load = async (id: number, context: Context, info: GraphQLResolveInfo): Promise<Row> => {
    const query = queryFromInfo({ context, info }) as { select?: object; include?: object };
    const args = { ...selectingId(query), where: { id } };
    const row = kind === 'author' ? await prisma.author.findUnique(args) : await prisma.topic.findUnique(args);
    if (!row) throw new NotFoundError(name, id);
    return row;
  };

  const Connection = builder.connectionObject({
    type: node,
    name: `${name}Connection`,
    fields: (t) => ({
      totalCount: totalCountField(t, 'Matches across all pages (exact).'),
      count: cappedCountField(t),
    }),
  });
  const DeleteInput = builder.inputType(`Delete${name}Input`, {
    fields: (t) => ({ id: t.globalID({ for: node, required: true }) }),
  });
  const MergeInput = builder.inputType(`Merge${Plural}Input`, {
    fields: (t) => ({
      sourceIds: t.globalIDList({ for: node, required: true, description: `${Plural} to merge away (1-50).` }),
      targetId: t.globalID({ for: node, required: true, description: `The ${kind} that remains.` }),
    }),
  });

  builder.queryField(plural, (t) =>
    t.connection(
      {
        type: node,
        description: `${Plural} matching \`filter\`, A-Z by default.`,
        args: { filter: t.arg({ type: spec.listFilter }), orderBy: t.arg({ type: [NamedOrder] }) },
        resolve: (_root, args, context, info) =>
          listCatalog<CatalogKind, Row>(
            prisma,
            kind,
            args,
            queryFromInfo({ context, info, path: ['edges', 'node'], select: { id: true } }),
            { countWanted: selectsAny(info, ['totalCount', 'count']) },
          ),
      },
      Connection,
    ),
  );

  builder.mutationFields((t) => ({
    [`create${name}`]: t.field({
      type: node,
      description: `Adds ${one} (EDITOR).`,
      args: { input: t.arg({ type: spec.create.input, required: true }) },
      errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: kind } },
      resolve: async (_root, args, context, info) =>
        load((await spec.create.run(prisma, (args as { input: Create }).input, context.viewer)).id, context, info),
    }),
    [`update${name}`]: t.field({
      type: node,
      description: spec.update.description,
      args: { input: t.arg({ type: spec.update.input, required: true }) },
      errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: kind } },
      resolve: async (_root, args, context, info) =>
        load((await spec.update.run(prisma, (args as { input: Update }).input, context.viewer)).id, context, info),
    }),
    [`delete${name}`]: t.field({
      type: 'ID',
      description: `Deletes ${one} no article uses (ADMIN); merge it into another ${kind} instead when articles do.`,
      args: { input: t.arg({ type: DeleteInput, required: true }) },
      errors: { types: [NotFoundError, InUseError, ForbiddenError], dataField: { name: 'deletedId' } },
      resolve: async (_root, { input }, context) =>
        encodeGlobalID(name, (await spec.remove(prisma, input, context.viewer)).id),
    }),
    [`merge${Plural}`]: t.field({
      type: node,
      description: spec.merge.description,
      args: { input: t.arg({ type: MergeInput, required: true }) },
      errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: kind } },
      resolve: async (_root, { input }, context, info) =>
        load((await spec.merge.run(prisma, input, context.viewer)).id, context, info),
    }),
  }));
}

catalogSchema({
  kind: 'author',
  node: Author,
  name: 'Author',
  plural: 'authors',
  one: 'an author',
  listFilter: AuthorListFilter,
  create: { input: CreateAuthorInput, run: createAuthor },
  update: { input: UpdateAuthorInput, run: updateAuthor, description: 'Renames an author (EDITOR).' },
  remove: deleteAuthor,
  merge: {
    run: mergeAuthors,
    description:
      'Moves every byline of the sources to the target and deletes the sources, in one transaction (ADMIN). Byline order is kept; duplicates collapse.',
  },
});

catalogSchema({
  kind: 'topic',
  node: Topic,
  name: 'Topic',
  plural: 'topics',
  one: 'a topic',
  listFilter: TopicListFilter,
  create: { input: CreateTopicInput, run: createTopic },
  update: {
    input: UpdateTopicInput,
    run: updateTopic,
    description: 'Renames a topic, or changes its slug (EDITOR).',
  },
  remove: deleteTopic,
  merge: {
    run: mergeTopics,
    description:
      'Moves every article of the sources to the target and deletes the sources, in one transaction (ADMIN).',
  },
});
