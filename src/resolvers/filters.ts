import { ErrorCode, UserInputError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';

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
  text(value: string, what: string): string {
    if (value.length > FILTER_LIMITS.maxStringLength)
      this.fail(`${what} is longer than ${FILTER_LIMITS.maxStringLength} characters`);
    return value;
  }
}

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
  if (input.contains != null)
    out.push({ contains: escapeLike(budget.text(input.contains, what)), mode: 'insensitive' });
  if (input.startsWith != null)
    out.push({ startsWith: escapeLike(budget.text(input.startsWith, what)), mode: 'insensitive' });
  out.forEach(() => budget.count());
  return out;
}

function numberWhere(input: IntFilterInput, what: string, budget: Budget): Prisma.IntFilter {
  const out: Prisma.IntFilter = {};
  if (input.equals != null) out.equals = input.equals;
  if (input.in != null) out.in = [...budget.list(input.in, `${what}.in`)];
  if (input.gt != null) out.gt = input.gt;
  if (input.gte != null) out.gte = input.gte;
  if (input.lt != null) out.lt = input.lt;
  if (input.lte != null) out.lte = input.lte;
  budget.count();
  return out;
}

function dateWhere(input: DateTimeFilterInput, budget: Budget): Prisma.DateTimeFilter {
  const out: Prisma.DateTimeFilter = {};
  if (input.gt != null) out.gt = input.gt;
  if (input.gte != null) out.gte = input.gte;
  if (input.lt != null) out.lt = input.lt;
  if (input.lte != null) out.lte = input.lte;
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

function articleWhereAt(input: ArticleFilterInput, depth: number, budget: Budget): Prisma.ArticleWhereInput {
  if (depth > FILTER_LIMITS.maxDepth) budget.fail(`AND/OR/NOT nested deeper than ${FILTER_LIMITS.maxDepth}`);
  const and: Prisma.ArticleWhereInput[] = [];
  if (input.AND) {
    and.push(...budget.list(input.AND, 'AND').map((sub) => articleWhereAt(sub, depth + 1, budget)));
  }
  if (input.OR) {
    budget.count();
    const branches = budget.list(input.OR, 'OR').map((sub) => articleWhereAt(sub, depth + 1, budget));
    // An empty OR is false (no alternative holds); Prisma would treat it as no condition.
    and.push(branches.length ? { OR: branches } : { id: { in: [] } });
  }
  if (input.NOT) {
    budget.count();
    and.push({ NOT: articleWhereAt(input.NOT, depth + 1, budget) });
  }
  if (input.priority) and.push({ priority: numberWhere(input.priority, 'priority', budget) });
  if (input.publishedAt) and.push({ publishedAt: dateWhere(input.publishedAt, budget) });
  if (input.createdAt) and.push({ createdAt: dateWhere(input.createdAt, budget) });
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
    const contains = escapeLike(budget.text(input.text, 'text'));
    and.push({
      OR: (['title', 'description', 'summary', 'body'] as const).map((column) => ({
        [column]: { contains, mode: 'insensitive' },
      })),
    });
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
  return and.length === 1 ? and[0]! : { AND: and };
}

/** The Prisma where-clause for an ArticleFilter (an empty filter matches every article). */
export function articleWhere(
  input: ArticleFilterInput | null | undefined,
  argumentName = 'filter',
): Prisma.ArticleWhereInput {
  return input ? articleWhereAt(input, 0, new Budget(argumentName)) : {};
}
