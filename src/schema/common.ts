import { DEFAULT_COUNT_CAP, type Connection } from '../resolvers/lists/connection.ts';
import { builder } from './builder.ts';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** Filter and ordering inputs shared by every domain module. */

/** The direction of an `orderBy` entry (ArticleOrder, NamedOrder). */
export const OrderDirection = builder.enumType('OrderDirection', {
  values: {
    ASC: { description: 'Smallest, earliest or A first' },
    DESC: { description: 'Largest, latest or Z first' },
  } as const,
});

/** Conditions on a text column (title, source, author and topic names, slugs) in the list filters. */
export const StringFilter = builder.inputType('StringFilter', {
  description: 'Case-insensitive text conditions; `%` and `_` match only themselves. All given conditions must hold.',
  fields: (t) => ({
    equals: t.string(),
    in: t.stringList(),
    contains: t.string(),
    startsWith: t.string(),
  }),
});

/** Conditions on an integer column (`ArticleFilter.priority`). */
export const IntFilter = builder.inputType('IntFilter', {
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
export const DateTimeFilter = builder.inputType('DateTimeFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    gt: t.field({ type: 'DateTime' }),
    gte: t.field({ type: 'DateTime' }),
    lt: t.field({ type: 'DateTime' }),
    lte: t.field({ type: 'DateTime' }),
  }),
});

/** The result of a connection's `count(cap:)`: the number of matches up to the cap, and whether there are more. */
export const CappedCount = builder.objectType(builder.objectRef<{ value: number; isCapped: boolean }>('CappedCount'), {
  description:
    'A count that stops at a cap: cheap on large results. Show "1,000+" when isCapped, the exact value otherwise.',
  fields: (t) => ({
    value: t.exposeInt('value', { description: 'The number of matches, or the cap when there are more.' }),
    isCapped: t.exposeBoolean('isCapped', { description: 'More than `value` match.' }),
  }),
});

/** `count(cap:)` of a connection, for lists that may be large. */
export function cappedCountField(t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>) {
  return t.field({
    type: CappedCount,
    description:
      'Matches across all pages, counted up to `cap` (1 to 100,000). Prefer it to totalCount on lists that can be large: it stops reading at the cap.',
    args: { cap: t.arg.int({ defaultValue: DEFAULT_COUNT_CAP, required: true }) },
    resolve: (connection, args) => (connection as Connection<unknown>).count(args.cap),
  });
}

/** `totalCount` of a connection: the exact number of matches across all pages (one COUNT, when asked). */
export function totalCountField(t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>, description: string) {
  return t.int({ description, resolve: (connection) => (connection as Connection<unknown>).totalCount() });
}
