import type { InputObjectRef } from '@pothos/core';
import { QUANTIFIERS } from '../resolvers/lists/condition.ts';
import {
  ARTICLE_FILTER,
  AUTHOR_LIST_FILTER,
  TOPIC_LIST_FILTER,
  type FilterDefinition,
  type FilterField,
  type FilterInput,
  type FilterNode,
} from '../resolvers/lists/filter.ts';
import { Author } from './author.ts';
import { builder } from './builder.ts';
import { Topic } from './topic.ts';

/**
 * The inputs of every list, built from the list engine's definitions, so that the schema and the
 * engine cannot disagree: the filter input types from FilterDefinitions (resolvers/lists/filter.ts)
 * and the order enums from the order tables (`orderEnum`). A filter field or an order added
 * there appears here with no edit.
 */

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type InputRef = InputObjectRef<Types, object>;
type FieldBuilder = PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>;

/** The direction of an `orderBy` entry (ArticleOrder, NamedOrder). */
export const OrderDirection = builder.enumType('OrderDirection', {
  values: {
    ASC: { description: 'Smallest, earliest or A first' },
    DESC: { description: 'Largest, latest or Z first' },
  } as const,
});

/** Conditions on a text column (title, source, author and topic names, slugs) in the list filters. */
const StringFilter = builder.inputType('StringFilter', {
  description: 'Case-insensitive text conditions; `%` and `_` match only themselves. All given conditions must hold.',
  fields: (t) => ({
    equals: t.string(),
    in: t.stringList(),
    contains: t.string(),
    startsWith: t.string(),
  }),
});

/** Conditions on an integer column (`ArticleFilter.priority`). */
const IntFilter = builder.inputType('IntFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    equals: t.int(),
    in: t.intList(),
    gt: t.int(),
    gte: t.int(),
    lt: t.int(),
    lte: t.int(),
  }),
});

/** Bounds on an instant column (`ArticleFilter.publishedAt`, `createdAt`): DateTime values (ISO 8601 / RFC 3339). */
const DateTimeFilter = builder.inputType('DateTimeFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    gt: t.field({ type: 'DateTime' }),
    gte: t.field({ type: 'DateTime' }),
    lt: t.field({ type: 'DateTime' }),
    lte: t.field({ type: 'DateTime' }),
  }),
});

const NODES = { Author, Topic } as const satisfies Record<FilterNode, unknown>;

function once<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    if (!made.has(key)) made.set(key, make(key));
    return made.get(key)!;
  };
}

/** `<Node>IDFilter`: global IDs of one node type (an ID of another type is INVALID_ID). */
const idFilter = once((node: FilterNode) =>
  builder.inputType(`${node}IDFilter`, {
    description: `${node} global IDs; an ID of another type is refused.`,
    fields: (t) => ({ equals: t.globalID({ for: NODES[node] }), in: t.globalIDList({ for: NODES[node] }) }),
  }),
);

/** `<Node>RelationFilter`: some, every or none of an article's linked rows match the related filter. */
const relationFilter = once((field: Extract<FilterField, { kind: 'related' }>) => {
  const of = filterInput(field.of);
  return builder.inputType(field.relationInput, {
    description: `Conditions on an article's ${field.noun}s.`,
    fields: (t) =>
      Object.fromEntries(
        Object.entries(QUANTIFIERS).map(([quantifier, meaning]) => [
          quantifier,
          t.field({ type: of, description: meaning.replace('{noun}', field.noun) }),
        ]),
      ),
  });
});

function inputField(t: FieldBuilder, field: FilterField, self: InputRef) {
  const description = field.description;
  switch (field.kind) {
    case 'int':
      return t.field({ type: IntFilter, description });
    case 'instant':
      return t.field({ type: DateTimeFilter, description });
    case 'string':
      return t.field({ type: StringFilter, description });
    case 'boolean':
      return t.boolean({ description });
    case 'id':
      return t.field({ type: idFilter(field.node), description });
    case 'substring':
    case 'similarity':
      return t.string({ description });
    case 'related':
      return t.field({ type: relationFilter(field), description });
    case 'and':
    case 'or':
      return t.field({ type: [self], description });
    case 'not':
      return t.field({ type: self, description });
  }
}

/**
 * The GraphQL input type of a filter definition, typed as the values readFilter reads. Made
 * once per definition: the top-level filters below, and the related ones through their relation
 * filter.
 */
function filterInput<D extends FilterDefinition>(definition: D) {
  const ref = builder.inputRef<object>(definition.name);
  ref.implement({
    description: definition.description,
    fields: (t) =>
      Object.fromEntries(Object.entries(definition.fields).map(([name, field]) => [name, inputField(t, field, ref)])),
  });
  // the fields are made from the definition, so the values are the definition's
  return ref as InputObjectRef<Types, FilterInput<D['fields']>>;
}

/** ArticleFilter: the `filter` of every article list, facet and histogram. */
export const ArticleFilter = filterInput(ARTICLE_FILTER);
/** AuthorListFilter: the `filter` of the `authors` query. */
export const AuthorListFilter = filterInput(AUTHOR_LIST_FILTER);
/** TopicListFilter: the `filter` of the `topics` query. */
export const TopicListFilter = filterInput(TOPIC_LIST_FILTER);

/**
 * An order enum and its `orderBy` entry input from a list's order table (`{ FIELD: { description? } }`):
 * `<name>Field` and `<name>` (a field and an optional direction; `directionDescription` says its default).
 */
export function orderInput<F extends string>(
  name: string,
  orders: Record<F, { column: string; description?: string }>,
  description: string | undefined,
  directionDescription: string,
) {
  const values = Object.fromEntries(
    Object.entries<{ column: string; description?: string }>(orders).map(([value, order]) => [
      value,
      { description: order.description },
    ]),
  ) as Record<F, { description?: string }>;
  const Field = builder.enumType(`${name}Field`, { values });
  return builder.inputType(name, {
    description,
    fields: (t) => ({
      field: t.field({ type: Field, required: true }),
      direction: t.field({ type: OrderDirection, description: directionDescription }),
    }),
  });
}
