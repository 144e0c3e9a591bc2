import { DEFAULT_COUNT_CAP, type Connection } from '../resolvers/lists/connection.ts';
import { builder } from './builder.ts';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** Count fields shared by every connection: totalCount and count(cap:). */

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

/**
 * A planned query that selects the row's id too: a mutation whose selection under its data field
 * is only `__typename` plans an empty `select`, which Prisma refuses. Include mode is kept as is.
 */
export function selectingId<Q extends { select?: object | null; include?: object | null }>(query: Q): Q {
  return query.select ? { ...query, select: { ...query.select, id: true } } : query;
}
