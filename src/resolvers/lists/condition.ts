/**
 * The condition language of the list engine: what a filter, a cursor or a search asks of a row,
 * independent of how it is run. `filter.ts` builds conditions from the public filter inputs
 * (checking their limits once); `keyset.ts` builds the "after this cursor" condition; the two
 * backends render them, `prismaWhere.ts` as a Prisma where-clause and `sqlWhere.ts` as SQL.
 *
 * Semantics (both backends): `text` and `textIn` compare case-insensitively (a `compare` on a
 * string, as keysets make, is exact), `%` and `_` in them match only
 * themselves; an empty `all` holds for every row, an empty `any` for none.
 */

/** A value a column is compared with. Dates are instants (timestamptz). */
export type Scalar = number | string | boolean | Date;

/** How a compared value is typed in SQL: `float` keys are sent as float8 (search ranks). */
export type ValueKind = 'int' | 'float' | 'date' | 'string' | 'boolean';

/** How a compared value relates to the column's: `=`, `>`, `>=`, `<`, `<=`. */
export type Comparison = 'equals' | 'gt' | 'gte' | 'lt' | 'lte';

/**
 * Which rows of a to-many relation must match, each with what it means for one related row
 * (`{noun}`: "author", "topic"); the relation filter inputs are made from this table.
 */
export const QUANTIFIERS = {
  some: 'At least one {noun} matches.',
  every: 'Every {noun} matches (true when there are none).',
  none: 'No {noun} matches.',
} as const;

/** Which rows of a to-many relation must match: at least one, all of them, or none. */
export type Quantifier = keyof typeof QUANTIFIERS;

/** The article's to-many relations a filter can reach (through the byline and topic links). */
export type Relation = 'authors' | 'topics';

/** A condition on one row (a tree; see the module comment for its semantics). */
export type Condition =
  /** Every part holds (no parts: always true). */
  | { kind: 'all'; parts: Condition[] }
  /** At least one part holds (no parts: never true). */
  | { kind: 'any'; parts: Condition[] }
  | { kind: 'not'; part: Condition }
  /** `column <comparison> value`; `valueKind` types the value where SQL needs it. */
  | { kind: 'compare'; column: string; comparison: Comparison; value: Scalar; valueKind?: ValueKind }
  /** The column's value is one of `values` (none: never true). */
  | { kind: 'in'; column: string; values: readonly number[] }
  /** Case-insensitive text match of a column: whole text, contains, or starts with. */
  | { kind: 'text'; column: string; match: 'equals' | 'contains' | 'startsWith'; value: string }
  /** Case-insensitive: the column's text is one of `values` (none: never true). */
  | { kind: 'textIn'; column: string; values: readonly string[] }
  /** A condition on the rows linked through `relation`; `id` in it is the link's foreign key. */
  | { kind: 'related'; relation: Relation; quantifier: Quantifier; condition: Condition };

/** Always true. */
export const ALWAYS: Condition = { kind: 'all', parts: [] };
/** Never true. */
export const NEVER: Condition = { kind: 'any', parts: [] };

/** True when `condition` holds for every row by construction (no test to run). */
export function isAlways(condition: Condition): boolean {
  return condition.kind === 'all' && condition.parts.length === 0;
}

/** The conjunction of `parts`, flattening always-true ones; one part stands alone. */
export function all(parts: readonly Condition[]): Condition {
  const kept = parts.filter((part) => !isAlways(part));
  return kept.length === 1 ? kept[0]! : { kind: 'all', parts: kept };
}

/** The disjunction of `parts`: always true when one of them is; none is never true. */
export function any(parts: readonly Condition[]): Condition {
  if (parts.some(isAlways)) return ALWAYS;
  return parts.length === 1 ? parts[0]! : { kind: 'any', parts: [...parts] };
}

/** The negation of `part` (of an always-true one: never true). */
export function not(part: Condition): Condition {
  return isAlways(part) ? NEVER : { kind: 'not', part };
}
