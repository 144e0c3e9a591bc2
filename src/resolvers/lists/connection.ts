import { ErrorCode, UserInputError } from '../../errors.ts';
import { parseInstant } from '../../input/instant.ts';
import { characterProblem, codePoints } from '../../input/text.ts';
import { INT2, INT4 } from '../../db/ranges.ts';

/**
 * Relay connections (GraphQL Cursor Connections Specification,
 * https://relay.dev/graphql/connections.htm) with keyset cursors, for every list. A cursor
 * records the sort key of a row (its ordered values and id) and the ordering it belongs to, so
 * pages stay stable while rows are inserted, and a cursor from another ordering or a tampered
 * one is refused (INVALID_CURSOR). Page sizes are refused past MAX_PAGE_SIZE (INVALID_PAGE_SIZE).
 */

/** Rows on a page when neither `first` nor `last` is given. */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest `first`/`last` (and `nodes(ids:)` length); more is INVALID_PAGE_SIZE. */
export const MAX_PAGE_SIZE = 100;

/** A sort direction. */
export type Direction = 'ASC' | 'DESC';
/** What a sort key holds: `int` a 32-bit integer column, `smallint` a 16-bit one. */
export type KeyKind = 'date' | 'int' | 'smallint' | 'float' | 'string';

/** Integer ranges of the key kinds, and the longest text key (titles are at most 500 characters). */
const KEY_RANGES = { int: INT4, smallint: INT2 } as const;
const MAX_TEXT_KEY = 500;
/** One value of a row's sort key, as a cursor carries it. */
export type KeyValue = Date | number | string;

/** The relay paging arguments of a connection field. */
export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** One ordering term; `column` names the Prisma scalar field. The id tie-breaker is implicit. */
export interface SortTerm {
  column: string;
  kind: KeyKind;
  direction: Direction;
  /**
   * What a computed key's values are relative to (for a relevance, a digest of the text ranked
   * by: order.ts `rankedBy`): a cursor issued under another scope is refused.
   */
  scope?: string;
}

/** A checked page request: how many rows to read, in which direction, past which cursors. */
export interface PageWindow {
  /** Rows to fetch: the page size plus one to learn whether more exist. */
  take: number;
  size: number;
  /** True when paging backwards (`last`): fetch in reverse order, then reverse the rows. */
  backward: boolean;
  after: KeyValue[] | null;
  before: KeyValue[] | null;
}

/** A page size (`first`, `last`) of 0-MAX_PAGE_SIZE, or INVALID_PAGE_SIZE; null when not given. */
export function checkSize(name: 'first' | 'last', value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new UserInputError(
      ErrorCode.INVALID_PAGE_SIZE,
      `"${name}" must be between 0 and ${MAX_PAGE_SIZE}; got ${value}`,
      {
        argumentName: name,
        max: MAX_PAGE_SIZE,
      },
    );
  }
  return value;
}

/** The ordering a cursor belongs to, e.g. `publishedAt:DESC,title:ASC` or `relevance:DESC@<scope>`. */
export function orderSignature(terms: readonly SortTerm[]): string {
  return terms.map((term) => `${term.column}:${term.direction}${term.scope ? `@${term.scope}` : ''}`).join(',');
}

/**
 * The opaque cursor of a row: base64url of JSON `[orderSignature, [key values..., id]]`, instants
 * as ISO-8601 strings.
 */
export function encodeCursor(terms: readonly SortTerm[], values: readonly KeyValue[]): string {
  const plain = values.map((value) => (value instanceof Date ? value.toISOString() : value));
  return Buffer.from(JSON.stringify([orderSignature(terms), plain]), 'utf8').toString('base64url');
}

/**
 * The key values of a cursor issued for `terms`. Throws INVALID_CURSOR (naming `argumentName`)
 * for a malformed cursor (over 2,048 characters, not base64url JSON, a key its column cannot
 * hold) or one issued for another ordering, or for another search's relevance.
 */
export function decodeCursor(terms: readonly SortTerm[], cursor: string, argumentName: string): KeyValue[] {
  const invalid = (why: string) =>
    new UserInputError(ErrorCode.INVALID_CURSOR, `"${argumentName}" is not a cursor of this list: ${why}`, {
      argumentName,
    });
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid('malformed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('malformed');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[1])) throw invalid('malformed');
  const [signature, raw] = parsed as [unknown, unknown[]];
  if (signature !== orderSignature(terms)) {
    const unscoped = (text: string) => text.replace(/@[A-Za-z0-9_-]*/g, '');
    // the same order, ranked by another text: its relevance values mean nothing to this search
    const sameOrder = typeof signature === 'string' && unscoped(signature) === unscoped(orderSignature(terms));
    throw invalid(sameOrder ? 'it was issued for a different search' : 'it was issued for a different orderBy');
  }
  const kinds: KeyKind[] = [...terms.map((term) => term.kind), 'int'];
  if (raw.length !== kinds.length) throw invalid('malformed');
  // an edited cursor is input like any other: each key must be a value its column can hold
  return raw.map((value, index) => {
    const kind = kinds[index]!;
    if ((kind === 'int' || kind === 'smallint') && Number.isSafeInteger(value)) {
      const { min, max } = KEY_RANGES[kind];
      if ((value as number) >= min && (value as number) <= max) return value as number;
    }
    if (kind === 'float' && typeof value === 'number' && Number.isFinite(value)) return value;
    if (kind === 'string' && typeof value === 'string' && !characterProblem(value) && codePoints(value) <= MAX_TEXT_KEY)
      return value;
    if (kind === 'date' && typeof value === 'string') {
      try {
        return parseInstant(value);
      } catch {
        // falls through to INVALID_CURSOR
      }
    }
    throw invalid('malformed');
  });
}

/**
 * `first` and `last` checked (checkSize), and not both given: INVALID_PAGE_SIZE otherwise, as
 * every list answers them.
 */
export function checkPageSizes(args: { first?: number | null; last?: number | null }): {
  first: number | null;
  last: number | null;
} {
  const first = checkSize('first', args.first);
  const last = checkSize('last', args.last);
  if (first != null && last != null) {
    throw new UserInputError(ErrorCode.INVALID_PAGE_SIZE, 'Pass "first" or "last", not both', { argumentName: 'last' });
  }
  return { first, last };
}

/** Validates first/last/after/before into the window to fetch. */
export function pageWindow(terms: readonly SortTerm[], args: ConnectionArgs): PageWindow {
  const { first, last } = checkPageSizes(args);
  const backward = last != null || (first == null && args.before != null && args.after == null);
  const size = first ?? last ?? DEFAULT_PAGE_SIZE;
  return {
    take: size + 1,
    size,
    backward,
    after: args.after != null ? decodeCursor(terms, args.after, 'after') : null,
    before: args.before != null ? decodeCursor(terms, args.before, 'before') : null,
  };
}

/** A relay edge: the row and its cursor. */
export interface Edge<T> {
  cursor: string;
  node: T;
}

/** A count that stops at a cap (`count(cap:)`). */
export interface CappedCount {
  /** The number of matches, or `cap` when there are more. */
  value: number;
  /** True when there are more than `cap` matches (the value is then a lower bound). */
  isCapped: boolean;
}

/**
 * A relay connection (https://relay.dev/graphql/connections.htm) with lazily computed totals:
 * `totalCount()` counts exactly, `count(cap)` stops after `cap` matches.
 */
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: () => Promise<number>;
  count: (cap: number) => Promise<CappedCount>;
}

/**
 * Counts the matches of a list: exactly without a cap, else at most `cap + 1` of them (so a
 * capped count stops reading early).
 */
export type Counter = (cap?: number) => Promise<number>;

/** `count(cap:)` when no cap is given. */
export const DEFAULT_COUNT_CAP = 1000;
/** Largest `cap` of `count(cap:)`. */
export const MAX_COUNT_CAP = 100_000;

/** A `cap` from 1 to MAX_COUNT_CAP, or BAD_USER_INPUT. */
export function checkCap(cap: number): number {
  if (!Number.isInteger(cap) || cap < 1 || cap > MAX_COUNT_CAP) {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"cap" must be between 1 and ${MAX_COUNT_CAP}; got ${cap}`, {
      argumentName: 'cap',
    });
  }
  return cap;
}

/**
 * Totals of one connection, computed at most once and only when asked for. When the whole
 * result fits on the first page, or the page query counted the matches already (`known`), no
 * count query runs at all.
 */
function totals(counter: Counter, known: number | null): Pick<Connection<unknown>, 'totalCount' | 'count'> {
  let exact: Promise<number> | undefined;
  const totalCount = () => (exact ??= known != null ? Promise.resolve(known) : counter());
  return {
    totalCount,
    count: async (cap) => {
      checkCap(cap);
      const counted = exact || known != null ? await totalCount() : await counter(cap);
      return { value: Math.min(counted, cap), isCapped: counted > cap };
    },
  };
}

/**
 * Builds the connection from rows fetched with `window.take` in (possibly reversed) order.
 * Cursors hold each row's sort key: its columns named by `terms`, or `keysOf(row)` when the key
 * is computed by the query (search rank, similarity).
 */
export function toConnection<T extends { id: number }>(
  rows: T[],
  terms: readonly SortTerm[],
  window: PageWindow,
  counter: Counter,
  options: { keysOf?: (row: T) => readonly KeyValue[]; total?: number | null } = {},
): Connection<T> {
  const hasMore = rows.length > window.size;
  const page = rows.slice(0, window.size);
  if (window.backward) page.reverse();
  const keysOf =
    options.keysOf ??
    ((node: T) => [...terms.map((term) => (node as unknown as Record<string, KeyValue>)[term.column]!), node.id]);
  // cursors are encoded when read (most pages ask for endCursor at most), once each; the
  // accessors are own properties, so a spread copy of an edge carries its cursor
  const edges = page.map((node) => {
    let cursor: string | undefined;
    return {
      node,
      get cursor() {
        return (cursor ??= encodeCursor(terms, keysOf(node)));
      },
    };
  });
  const wholeResult = window.after == null && window.before == null && !hasMore;
  return {
    edges,
    pageInfo: {
      hasNextPage: window.backward ? window.before != null : hasMore,
      hasPreviousPage: window.backward ? hasMore : window.after != null,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
    ...totals(counter, options.total ?? (wholeResult ? page.length : null)),
  };
}
