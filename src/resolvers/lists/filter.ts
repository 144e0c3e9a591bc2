import { ErrorCode, UserInputError } from '../../errors.ts';
import { boundMs } from '../../input/instant.ts';
import { codePoints, isBlank } from '../../input/text.ts';
import { all, any, not, type Comparison, type Condition } from './condition.ts';

/**
 * The one reading of the public filter inputs (ArticleFilter, AuthorFilter, TopicFilter): each
 * is checked against FILTER_LIMITS and turned into a Condition (condition.ts), which either
 * backend runs. Adding a filter field is one edit here (plus its GraphQL input and a test).
 *
 * Errors: a filter past a limit, a number outside its column's range, a `text` needle without a
 * trigram, all throw BAD_USER_INPUT naming the argument (`extensions.argumentName`).
 */

type Maybe<T> = T | null | undefined;

/** Text operators (case-insensitive; `%` and `_` match only themselves). */
export interface StringFilterInput {
  equals?: Maybe<string>;
  in?: Maybe<readonly string[]>;
  contains?: Maybe<string>;
  startsWith?: Maybe<string>;
}
/** Integer operators. */
export interface IntFilterInput {
  equals?: Maybe<number>;
  in?: Maybe<readonly number[]>;
  gt?: Maybe<number>;
  gte?: Maybe<number>;
  lt?: Maybe<number>;
  lte?: Maybe<number>;
}
/** Instant operators (compared at millisecond precision, see input/instant.ts). */
export interface DateTimeFilterInput {
  gt?: Maybe<Date>;
  gte?: Maybe<Date>;
  lt?: Maybe<Date>;
  lte?: Maybe<Date>;
}
/** Decoded global IDs: the relay plugin hands us `{ typename, id }`. */
export interface IdFilterInput {
  equals?: Maybe<{ id: string | number }>;
  in?: Maybe<readonly { id: string | number }[]>;
}
/** AuthorFilter (and the author side of ArticleFilter.authors). */
export interface AuthorFilterInput {
  id?: Maybe<IdFilterInput>;
  name?: Maybe<StringFilterInput>;
}
/** TopicFilter (and the topic side of ArticleFilter.topics). */
export interface TopicFilterInput {
  id?: Maybe<IdFilterInput>;
  name?: Maybe<StringFilterInput>;
  slug?: Maybe<StringFilterInput>;
}
/** A quantified condition on a to-many relation. */
export interface RelationFilterInput<F> {
  some?: Maybe<F>;
  every?: Maybe<F>;
  none?: Maybe<F>;
}
/** ArticleFilter: every field given must hold; AND, OR and NOT nest. */
export interface ArticleFilterInput {
  AND?: Maybe<readonly ArticleFilterInput[]>;
  OR?: Maybe<readonly ArticleFilterInput[]>;
  NOT?: Maybe<ArticleFilterInput>;
  priority?: Maybe<IntFilterInput>;
  publishedAt?: Maybe<DateTimeFilterInput>;
  createdAt?: Maybe<DateTimeFilterInput>;
  isAustralian?: Maybe<boolean>;
  source?: Maybe<StringFilterInput>;
  title?: Maybe<StringFilterInput>;
  text?: Maybe<string>;
  authors?: Maybe<RelationFilterInput<AuthorFilterInput>>;
  topics?: Maybe<RelationFilterInput<TopicFilterInput>>;
}

/**
 * Limits on the shape of one filter: hostile inputs are refused, not truncated. Depth counts
 * AND/OR/NOT levels; conditions count one per string operator and one per number, date, ID or
 * boolean filter, OR, NOT and text; lengths are in list items and code points.
 */
export const FILTER_LIMITS = { maxDepth: 5, maxConditions: 100, maxListLength: 100, maxStringLength: 500 } as const;

/** Letters or digits a `text` needle must have in a row: one trigram (pg_trgm). */
export const MIN_TEXT_RUN = 3;
const TEXT_RUN = new RegExp(`[\\p{L}\\p{N}\\p{M}]{${MIN_TEXT_RUN}}`, 'u');

/** The columns `text` searches, in the order the backends test them. */
export const TEXT_COLUMNS = ['title', 'description', 'summary', 'body'] as const;

/** An inclusive integer range. */
export interface IntRange {
  min: number;
  max: number;
}

/** What the integer columns hold: priority is a smallint. */
export const INT_COLUMNS = {
  priority: { min: -32_768, max: 32_767 },
} as const satisfies Record<string, IntRange>;

/**
 * The checks of one filter argument while it is read: counts its conditions against
 * FILTER_LIMITS and refuses what is past them, naming the argument in the error.
 */
export class FilterLimiter {
  private conditions = 0;
  constructor(readonly argumentName: string) {}
  /** Throws BAD_USER_INPUT: `"<argument>": <message>`. */
  fail(message: string): never {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${this.argumentName}": ${message}`, {
      argumentName: this.argumentName,
    });
  }
  /** One more condition; past maxConditions, refused. */
  count(): void {
    this.conditions += 1;
    if (this.conditions > FILTER_LIMITS.maxConditions) this.fail(`more than ${FILTER_LIMITS.maxConditions} conditions`);
  }
  /** A list operand: at most maxListLength items. */
  list<T>(values: readonly T[], what: string): readonly T[] {
    if (values.length > FILTER_LIMITS.maxListLength)
      this.fail(`${what} has more than ${FILTER_LIMITS.maxListLength} values`);
    return values;
  }
  /**
   * A filter string: at most maxStringLength characters (code points). One with nothing visible
   * in it (spaces, zero-width or direction marks only) is taken as empty.
   */
  text(value: string, what: string): string {
    if (codePoints(value) > FILTER_LIMITS.maxStringLength)
      this.fail(`${what} is longer than ${FILTER_LIMITS.maxStringLength} characters`);
    return isBlank(value) ? '' : value;
  }
  /**
   * A `text` needle: a filter string (text()) that, unless empty, holds a run of at least
   * MIN_TEXT_RUN letters or digits. Trigram indexes find only needles with a whole trigram in
   * them; a shorter one matches most articles and would read every article's text.
   */
  needle(value: string): string {
    const text = this.text(value, 'text');
    if (text && !TEXT_RUN.test(text)) {
      this.fail(
        `"text" needs ${MIN_TEXT_RUN} letters or digits in a row (shorter text matches most articles); use "search" for short words such as "AI"`,
      );
    }
    return text;
  }
  /** A number compared with a column: within what the column holds, or refused (not clamped). */
  int(value: number, what: string, range: IntRange): number {
    if (value < range.min || value > range.max) this.fail(`${what} must be from ${range.min} to ${range.max}`);
    return value;
  }
}

function stringConditions(
  column: string,
  input: StringFilterInput,
  limiter: FilterLimiter,
  what = column,
): Condition[] {
  const out: Condition[] = [];
  if (input.equals != null)
    out.push({ kind: 'text', column, match: 'equals', value: limiter.text(input.equals, what) });
  if (input.in != null) {
    const values = limiter.list(input.in, `${what}.in`).map((value) => limiter.text(value, what));
    out.push({ kind: 'textIn', column, values });
  }
  // every text contains (and starts with) the empty text: no condition
  const contains = input.contains != null ? limiter.text(input.contains, what) : '';
  if (contains) out.push({ kind: 'text', column, match: 'contains', value: contains });
  const startsWith = input.startsWith != null ? limiter.text(input.startsWith, what) : '';
  if (startsWith) out.push({ kind: 'text', column, match: 'startsWith', value: startsWith });
  out.forEach(() => limiter.count());
  return out;
}

const COMPARISONS = ['gt', 'gte', 'lt', 'lte'] as const satisfies readonly Comparison[];

function intConditions(
  column: string,
  input: IntFilterInput,
  limiter: FilterLimiter,
  range: IntRange = { min: -2_147_483_648, max: 2_147_483_647 },
): Condition[] {
  const checked = (value: number) => limiter.int(value, column, range);
  const out: Condition[] = [];
  if (input.equals != null) out.push({ kind: 'compare', column, comparison: 'equals', value: checked(input.equals) });
  if (input.in != null) out.push({ kind: 'in', column, values: limiter.list(input.in, `${column}.in`).map(checked) });
  for (const comparison of COMPARISONS) {
    const value = input[comparison];
    if (value != null) out.push({ kind: 'compare', column, comparison, value: checked(value) });
  }
  limiter.count();
  return out;
}

function dateConditions(column: string, input: DateTimeFilterInput, limiter: FilterLimiter): Condition[] {
  const out: Condition[] = [];
  for (const comparison of COMPARISONS) {
    const value = input[comparison];
    if (value != null) out.push({ kind: 'compare', column, comparison, value: boundMs(value, comparison) });
  }
  limiter.count();
  return out;
}

function idConditions(input: IdFilterInput, limiter: FilterLimiter): Condition[] {
  return intConditions(
    'id',
    {
      equals: input.equals != null ? Number(input.equals.id) : null,
      in: input.in != null ? limiter.list(input.in, 'id.in').map((ref) => Number(ref.id)) : null,
    },
    limiter,
  );
}

/** The condition of an AuthorFilter (without its `nameSearch`, which ranks: see ranked.ts). */
export function authorCondition(input: AuthorFilterInput, limiter = new FilterLimiter('filter')): Condition {
  return all([
    ...(input.id ? idConditions(input.id, limiter) : []),
    ...(input.name ? stringConditions('name', input.name, limiter) : []),
  ]);
}

/** The condition of a TopicFilter (without its `nameSearch`). */
export function topicCondition(input: TopicFilterInput, limiter = new FilterLimiter('filter')): Condition {
  return all([
    ...(input.id ? idConditions(input.id, limiter) : []),
    ...(input.name ? stringConditions('name', input.name, limiter) : []),
    ...(input.slug ? stringConditions('slug', input.slug, limiter) : []),
  ]);
}

const QUANTIFIERS = ['some', 'every', 'none'] as const;

function articleConditionAt(input: ArticleFilterInput, depth: number, limiter: FilterLimiter): Condition {
  if (depth > FILTER_LIMITS.maxDepth) limiter.fail(`AND/OR/NOT nested deeper than ${FILTER_LIMITS.maxDepth}`);
  const parts: Condition[] = [];
  if (input.AND)
    parts.push(...limiter.list(input.AND, 'AND').map((sub) => articleConditionAt(sub, depth + 1, limiter)));
  if (input.OR) {
    limiter.count();
    parts.push(any(limiter.list(input.OR, 'OR').map((sub) => articleConditionAt(sub, depth + 1, limiter))));
  }
  if (input.NOT) {
    limiter.count();
    parts.push(not(articleConditionAt(input.NOT, depth + 1, limiter)));
  }
  if (input.priority) parts.push(...intConditions('priority', input.priority, limiter, INT_COLUMNS.priority));
  if (input.publishedAt) parts.push(...dateConditions('publishedAt', input.publishedAt, limiter));
  if (input.createdAt) parts.push(...dateConditions('createdAt', input.createdAt, limiter));
  if (input.isAustralian != null) {
    limiter.count();
    parts.push({ kind: 'compare', column: 'isAustralian', comparison: 'equals', value: input.isAustralian });
  }
  if (input.source) parts.push(...stringConditions('source', input.source, limiter));
  if (input.title) parts.push(...stringConditions('title', input.title, limiter));
  if (input.text != null) {
    limiter.count();
    const value = limiter.needle(input.text);
    if (value) parts.push(any(TEXT_COLUMNS.map((column) => ({ kind: 'text', column, match: 'contains', value }))));
  }
  for (const quantifier of QUANTIFIERS) {
    const authors = input.authors?.[quantifier];
    if (authors) {
      parts.push({ kind: 'related', relation: 'authors', quantifier, condition: authorCondition(authors, limiter) });
    }
    const topics = input.topics?.[quantifier];
    if (topics)
      parts.push({ kind: 'related', relation: 'topics', quantifier, condition: topicCondition(topics, limiter) });
  }
  return all(parts);
}

/**
 * The condition of an ArticleFilter (none: always true). `argumentName` is the argument the
 * errors name.
 */
export function articleCondition(input: ArticleFilterInput | null | undefined, argumentName = 'filter'): Condition {
  return input ? articleConditionAt(input, 0, new FilterLimiter(argumentName)) : all([]);
}
