import { ErrorCode, UserInputError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { boundMs } from '../input/instant.ts';
import { codePoints, isBlank } from '../input/text.ts';

/**
 * Translates the public filter inputs into Prisma where-clauses. Prisma sends every value as a
 * bind parameter; the only text we shape is LIKE patterns, whose wildcards are escaped so that
 * `%` and `_` typed by a user match only themselves.
 */

type Maybe<T> = T | null | undefined;

export interface StringFilterInput {
  equals?: Maybe<string>;
  in?: Maybe<readonly string[]>;
  contains?: Maybe<string>;
  startsWith?: Maybe<string>;
}
export interface IntFilterInput {
  equals?: Maybe<number>;
  in?: Maybe<readonly number[]>;
  gt?: Maybe<number>;
  gte?: Maybe<number>;
  lt?: Maybe<number>;
  lte?: Maybe<number>;
}
export interface DateTimeFilterInput {
  gt?: Maybe<Date>;
  gte?: Maybe<Date>;
  lt?: Maybe<Date>;
  lte?: Maybe<Date>;
}
/** Decoded global IDs: the plugin hands us `{ typename, id }`. */
export interface IdFilterInput {
  equals?: Maybe<{ id: string | number }>;
  in?: Maybe<readonly { id: string | number }[]>;
}
export interface AuthorFilterInput {
  id?: Maybe<IdFilterInput>;
  name?: Maybe<StringFilterInput>;
}
export interface TopicFilterInput {
  id?: Maybe<IdFilterInput>;
  name?: Maybe<StringFilterInput>;
  slug?: Maybe<StringFilterInput>;
}
export interface RelationFilterInput<F> {
  some?: Maybe<F>;
  every?: Maybe<F>;
  none?: Maybe<F>;
}
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

/** Limits on the shape of one filter: hostile inputs are refused, not truncated. */
export const FILTER_LIMITS = { maxDepth: 5, maxConditions: 100, maxListLength: 100, maxStringLength: 500 } as const;

/** Letters or digits a `text` needle must have in a row: one trigram (pg_trgm). */
export const MIN_TEXT_RUN = 3;
const TEXT_RUN = new RegExp(`[\\p{L}\\p{N}\\p{M}]{${MIN_TEXT_RUN}}`, 'u');

export class Budget {
  conditions = 0;
  constructor(readonly argumentName: string) {}
  fail(message: string): never {
    throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${this.argumentName}": ${message}`, {
      argumentName: this.argumentName,
    });
  }
  count(): void {
    this.conditions += 1;
    if (this.conditions > FILTER_LIMITS.maxConditions) this.fail(`more than ${FILTER_LIMITS.maxConditions} conditions`);
  }
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

export interface IntRange {
  min: number;
  max: number;
}

/** What the integer columns hold: priority is a smallint. */
export const INT_COLUMNS = {
  priority: { min: -32_768, max: 32_767 },
} as const satisfies Record<string, IntRange>;

/** Escapes LIKE wildcards (PostgreSQL's default escape character is the backslash). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}

function stringWhere(input: StringFilterInput, what: string, budget: Budget): Prisma.StringFilter[] {
  const out: Prisma.StringFilter[] = [];
  // Prisma renders case-insensitive equals/contains/startsWith as ILIKE: escape the pattern.
  if (input.equals != null) out.push({ equals: escapeLike(budget.text(input.equals, what)), mode: 'insensitive' });
  if (input.in != null)
    out.push({ in: [...budget.list(input.in, `${what}.in`)].map((v) => budget.text(v, what)), mode: 'insensitive' });
  // every text contains (and starts with) the empty text: no condition
  const contains = input.contains != null ? budget.text(input.contains, what) : '';
  if (contains) out.push({ contains: escapeLike(contains), mode: 'insensitive' });
  const startsWith = input.startsWith != null ? budget.text(input.startsWith, what) : '';
  if (startsWith) out.push({ startsWith: escapeLike(startsWith), mode: 'insensitive' });
  out.forEach(() => budget.count());
  return out;
}

function numberWhere(input: IntFilterInput, what: string, budget: Budget, range: IntRange): Prisma.IntFilter {
  const out: Prisma.IntFilter = {};
  const checked = (value: number) => budget.int(value, what, range);
  if (input.equals != null) out.equals = checked(input.equals);
  if (input.in != null) out.in = budget.list(input.in, `${what}.in`).map(checked);
  if (input.gt != null) out.gt = checked(input.gt);
  if (input.gte != null) out.gte = checked(input.gte);
  if (input.lt != null) out.lt = checked(input.lt);
  if (input.lte != null) out.lte = checked(input.lte);
  budget.count();
  return out;
}

function dateWhere(input: DateTimeFilterInput, budget: Budget): Prisma.DateTimeFilter {
  const out: Prisma.DateTimeFilter = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) if (input[op] != null) out[op] = boundMs(input[op], op);
  budget.count();
  return out;
}

function idWhere(input: IdFilterInput, budget: Budget): Prisma.IntFilter {
  const out: Prisma.IntFilter = {};
  if (input.equals != null) out.equals = Number(input.equals.id);
  if (input.in != null) out.in = budget.list(input.in, 'id.in').map((ref) => Number(ref.id));
  budget.count();
  return out;
}

function fieldConditions<W>(column: string, filters: readonly unknown[]): W[] {
  return filters.map((filter) => ({ [column]: filter }) as W);
}

export function authorWhere(input: AuthorFilterInput, budget = new Budget('filter')): Prisma.AuthorWhereInput {
  const and: Prisma.AuthorWhereInput[] = [];
  if (input.id) and.push({ id: idWhere(input.id, budget) });
  if (input.name)
    and.push(...fieldConditions<Prisma.AuthorWhereInput>('name', stringWhere(input.name, 'name', budget)));
  return { AND: and };
}

export function topicWhere(input: TopicFilterInput, budget = new Budget('filter')): Prisma.TopicWhereInput {
  const and: Prisma.TopicWhereInput[] = [];
  if (input.id) and.push({ id: idWhere(input.id, budget) });
  if (input.name) and.push(...fieldConditions<Prisma.TopicWhereInput>('name', stringWhere(input.name, 'name', budget)));
  if (input.slug) and.push(...fieldConditions<Prisma.TopicWhereInput>('slug', stringWhere(input.slug, 'slug', budget)));
  return { AND: and };
}

/**
 * A condition on a byline or topic link. Conditions on the id test the link's own foreign key,
 * so the database need not join the author or topic table: the planner then sees the same shape
 * as a hand-written EXISTS and can walk the article index in order, stopping after a page.
 */
function authorLinkWhere(input: AuthorFilterInput, budget: Budget): Prisma.ArticleAuthorWhereInput {
  const and: Prisma.ArticleAuthorWhereInput[] = [];
  if (input.id) and.push({ authorId: idWhere(input.id, budget) });
  if (input.name) and.push({ author: authorWhere({ name: input.name }, budget) });
  return { AND: and };
}

function topicLinkWhere(input: TopicFilterInput, budget: Budget): Prisma.ArticleTopicWhereInput {
  const and: Prisma.ArticleTopicWhereInput[] = [];
  if (input.id) and.push({ topicId: idWhere(input.id, budget) });
  if (input.name || input.slug) and.push({ topic: topicWhere({ name: input.name, slug: input.slug }, budget) });
  return { AND: and };
}

/** No article matches it. (Prisma reads an empty condition as none at all.) */
const NOTHING: Prisma.ArticleWhereInput = { id: { in: [] } };

/** The conditions of one filter level; `null` when it has none, which every article meets. */
function articleWhereAt(input: ArticleFilterInput, depth: number, budget: Budget): Prisma.ArticleWhereInput | null {
  if (depth > FILTER_LIMITS.maxDepth) budget.fail(`AND/OR/NOT nested deeper than ${FILTER_LIMITS.maxDepth}`);
  const and: Prisma.ArticleWhereInput[] = [];
  if (input.AND) {
    for (const sub of budget.list(input.AND, 'AND')) {
      const condition = articleWhereAt(sub, depth + 1, budget);
      if (condition) and.push(condition);
    }
  }
  if (input.OR) {
    budget.count();
    const branches = budget.list(input.OR, 'OR').map((sub) => articleWhereAt(sub, depth + 1, budget));
    // an empty OR holds for no article (no alternative holds); a branch without conditions, for all
    if (!branches.length) and.push(NOTHING);
    else if (branches.every((branch) => branch !== null)) and.push({ OR: branches });
  }
  if (input.NOT) {
    budget.count();
    const negated = articleWhereAt(input.NOT, depth + 1, budget);
    // NOT of no condition: no article
    and.push(negated ? { NOT: negated } : NOTHING);
  }
  // an operator object without operators ({ priority: {} }) is no condition, as in the SQL compiler
  const some = <T extends object>(condition: T) => Object.keys(condition).length > 0;
  if (input.priority) {
    const condition = numberWhere(input.priority, 'priority', budget, INT_COLUMNS.priority);
    if (some(condition)) and.push({ priority: condition });
  }
  for (const column of ['publishedAt', 'createdAt'] as const) {
    const condition = input[column] ? dateWhere(input[column], budget) : {};
    if (some(condition)) and.push({ [column]: condition });
  }
  if (input.isAustralian != null) {
    budget.count();
    and.push({ isAustralian: input.isAustralian });
  }
  if (input.source)
    and.push(...fieldConditions<Prisma.ArticleWhereInput>('source', stringWhere(input.source, 'source', budget)));
  if (input.title)
    and.push(...fieldConditions<Prisma.ArticleWhereInput>('title', stringWhere(input.title, 'title', budget)));
  if (input.text != null) {
    budget.count();
    const contains = escapeLike(budget.needle(input.text));
    if (contains) {
      and.push({
        OR: (['title', 'description', 'summary', 'body'] as const).map((column) => ({
          [column]: { contains, mode: 'insensitive' },
        })),
      });
    }
  }
  if (input.authors) {
    const { some, every, none } = input.authors;
    if (some) and.push({ authors: { some: authorLinkWhere(some, budget) } });
    if (every) and.push({ authors: { every: authorLinkWhere(every, budget) } });
    if (none) and.push({ authors: { none: authorLinkWhere(none, budget) } });
  }
  if (input.topics) {
    const { some, every, none } = input.topics;
    if (some) and.push({ topics: { some: topicLinkWhere(some, budget) } });
    if (every) and.push({ topics: { every: topicLinkWhere(every, budget) } });
    if (none) and.push({ topics: { none: topicLinkWhere(none, budget) } });
  }
  if (and.length === 0) return null;
  return and.length === 1 ? and[0]! : { AND: and };
}

/** The Prisma where-clause for an ArticleFilter (an empty filter matches every article). */
export function articleWhere(
  input: ArticleFilterInput | null | undefined,
  argumentName = 'filter',
): Prisma.ArticleWhereInput {
  return (input && articleWhereAt(input, 0, new Budget(argumentName))) ?? {};
}
