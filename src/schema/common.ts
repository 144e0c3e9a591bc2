import { ErrorCode, UserInputError } from '../errors.ts';
import { DEFAULT_COUNT_CAP, type Connection } from '../resolvers/lists/connection.ts';
import { builder } from './builder.ts';
import { INT4 } from '../db/ranges.ts';

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

/**
 * A `prismaConnection` query (cursor 'id', list ordered by id descending) paged by keyset
 * instead of Prisma's cursor: the rows past the cursor's id, whether or not its row still exists
 * (Prisma's `cursor` finds nothing once that row is gone, and the next page came back empty).
 * The id the cursor carries must be one a row can have, else INVALID_CURSOR (an edited cursor
 * decoded to a string, a date or an object made Prisma refuse the query: a 500).
 */
export function idKeysetQuery<Q extends { cursor?: unknown; skip?: number; take?: number }>(
  query: Q,
): Omit<Q, 'cursor' | 'skip'> & { where?: { id: { lt: number } | { gt: number } } } {
  const { cursor, skip: _skip, ...rest } = query;
  if (cursor === undefined) return rest;
  const id = (cursor as { id?: unknown } | null)?.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > INT4.max) {
    throw new UserInputError(ErrorCode.INVALID_CURSOR, 'Not a cursor of this list');
  }
  // a negative take pages backwards: the rows just above the cursor's id, in the list's order
  return { ...rest, where: { id: (rest.take ?? 0) < 0 ? { gt: id } : { lt: id } } };
}
