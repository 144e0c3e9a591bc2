import { all, any, type Condition } from './condition.ts';
import type { Direction, KeyValue, PageWindow, SortTerm } from './connection.ts';

/**
 * Keyset pagination ("seek method"): the rows after a cursor are those whose sort key compares
 * greater in the list's order, as the expanded lexicographic comparison
 * (a > x) OR (a = x AND b > y) OR ... with the id last, which handles mixed directions where a
 * row-value comparison `(a, b) > (x, y)` cannot. One expansion, run by either backend.
 */

/** The direction of the id tie-breaker: that of the last sort term (newest first by default). */
export function tieBreakDirection(terms: readonly SortTerm[]): Direction {
  return terms.at(-1)?.direction ?? 'DESC';
}

/**
 * The condition "row comes after `values` in `terms` order" (or before it). `column(term, i)`
 * names the column holding the i-th key (default: the term's column); the id is `id`.
 */
export function keysetCondition(
  terms: readonly SortTerm[],
  values: readonly KeyValue[],
  side: 'after' | 'before',
  column: (term: SortTerm, index: number) => string = (term) => term.column,
): Condition {
  const keys = [
    ...terms.map((term, index) => ({ column: column(term, index), term })),
    { column: 'id', term: { column: 'id', kind: 'int' as const, direction: tieBreakDirection(terms) } },
  ];
  return any(
    keys.map(({ column: name, term }, index) => {
      const comparison = (side === 'after') === (term.direction === 'ASC') ? 'gt' : 'lt';
      const equalities: Condition[] = keys.slice(0, index).map((prior, j) => ({
        kind: 'compare',
        column: prior.column,
        comparison: 'equals',
        value: values[j]!,
        valueKind: prior.term.kind === 'float' ? 'float' : undefined,
      }));
      const valueKind = term.kind === 'float' ? 'float' : undefined;
      return all([...equalities, { kind: 'compare', column: name, comparison, value: values[index]!, valueKind }]);
    }),
  );
}

/** The keyset conditions of a page window (either side, both or neither). */
export function windowCondition(
  terms: readonly SortTerm[],
  window: PageWindow,
  column?: (term: SortTerm, index: number) => string,
): Condition {
  return all([
    ...(window.after ? [keysetCondition(terms, window.after, 'after', column)] : []),
    ...(window.before ? [keysetCondition(terms, window.before, 'before', column)] : []),
  ]);
}

/** The order to read a window in: the terms then the id, reversed when paging backwards. */
export function readingOrder(
  terms: readonly SortTerm[],
  window: Pick<PageWindow, 'backward'>,
): { column: string; index: number | null; direction: Direction }[] {
  const flip = (direction: Direction): Direction =>
    window.backward ? (direction === 'ASC' ? 'DESC' : 'ASC') : direction;
  return [
    ...terms.map((term, index) => ({ column: term.column, index, direction: flip(term.direction) })),
    { column: 'id', index: null, direction: flip(tieBreakDirection(terms)) },
  ];
}
