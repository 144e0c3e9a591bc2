import { createHash } from 'node:crypto';
import { ErrorCode, UserInputError } from '../../errors.ts';
import type { Direction, KeyKind, SortTerm } from './connection.ts';

/**
 * Orders of lists: a public `orderBy` (a list of enum field and direction) becomes sort terms,
 * the columns the keyset and the cursors use, always followed by the id as tie-breaker.
 */

/** One `orderBy` entry: a field of the list's order enum and an optional direction. */
export interface OrderInput<F extends string> {
  field: F;
  direction?: Direction | null;
}

/** Turns a public orderBy list into sort terms; each field at most once. */
export function sortTerms<F extends string>(
  orderBy: readonly OrderInput<F>[] | null | undefined,
  columns: Record<F, { column: string; kind: KeyKind; defaultDirection?: Direction }>,
  fallback: readonly { field: F; direction: Direction }[],
): SortTerm[] {
  const given = orderBy && orderBy.length > 0 ? orderBy : fallback;
  const seen = new Set<F>();
  return given.map(({ field, direction }) => {
    if (seen.has(field)) {
      throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"orderBy" names ${field} more than once`, {
        argumentName: 'orderBy',
      });
    }
    seen.add(field);
    const { column, kind, defaultDirection } = columns[field];
    return { column, kind, direction: direction ?? defaultDirection ?? 'ASC' };
  });
}

/** Column name of the computed relevance key (search rank, name similarity): not a table column. */
export const RELEVANCE_COLUMN = 'relevance';

/** The RELEVANCE entry of an order table: the computed relevance, most relevant first by default. */
export function relevanceOrder(description: string) {
  return { column: RELEVANCE_COLUMN, kind: 'float', defaultDirection: 'DESC', description } as const;
}

/**
 * `terms` with their relevance term scoped to the list (`list`, e.g. "Article") and the text it
 * ranks by (`text`, blanks collapsed and lower-cased; a SHA-256 digest, 66 bits of it), so that
 * a cursor of one search is refused by another, or by another list's (INVALID_CURSOR), instead
 * of paging it by rank values that mean nothing there.
 */
export function rankedBy(terms: readonly SortTerm[], list: string, text: string): SortTerm[] {
  const scope = createHash('sha256')
    // blanks and case change no rank (full-text search and pg_trgm both ignore case)
    .update(`${list}\u0000${text.trim().replace(/\s+/gu, ' ').toLowerCase()}`)
    .digest('base64url')
    .slice(0, 11);
  return terms.map((term) => (term.column === RELEVANCE_COLUMN ? { ...term, scope } : term));
}

/** Refuses a RELEVANCE order where there is nothing to rank by. */
export function withoutRelevance(terms: SortTerm[], needs: string): SortTerm[] {
  if (terms.some((term) => term.column === RELEVANCE_COLUMN)) {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"orderBy" RELEVANCE needs ${needs}`, {
      argumentName: 'orderBy',
    });
  }
  return terms;
}

/**
 * The orders of author and topic lists, which sort the same ways (name A-Z by default). The
 * NamedOrderField enum is made from this table (schema/lists.ts `orderInput`).
 */
export const NAMED_COLUMNS = {
  NAME: { column: 'name', kind: 'string' },
  ARTICLE_COUNT: { column: 'articleCount', kind: 'int' },
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  RELEVANCE: relevanceOrder('Similarity to `filter.nameSearch`; only with it.'),
} as const;

/** The orders of author and topic lists (NamedOrderField). */
export type NamedOrderField = keyof typeof NAMED_COLUMNS;
/** Authors and topics: A-Z by name. */
export const DEFAULT_NAMED_ORDER = [{ field: 'NAME', direction: 'ASC' }] as const;
