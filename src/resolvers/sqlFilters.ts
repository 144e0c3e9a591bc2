import { Prisma } from '../generated/prisma/client.ts';
import { boundMs } from '../input/instant.ts';
import {
  Budget,
  FILTER_LIMITS,
  INT_COLUMNS,
  escapeLike,
  type IntRange,
  type ArticleFilterInput,
  type AuthorFilterInput,
  type DateTimeFilterInput,
  type IdFilterInput,
  type IntFilterInput,
  type StringFilterInput,
  type TopicFilterInput,
} from './filters.ts';

/**
 * The same filters as ./filters.ts, compiled to SQL conditions for the queries Prisma cannot
 * express (full-text search, similarity ranking, facets). Values are bind parameters; the only
 * text shaped here is LIKE patterns, escaped as in filters.ts. The article table is aliased `a`.
 * Tests check both compilations against the same expectations.
 */

type Sql = Prisma.Sql;

export const TRUE = Prisma.sql`TRUE`;
const FALSE = Prisma.sql`FALSE`;

export function and(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return TRUE;
  return parts.length === 1 ? parts[0]! : Prisma.sql`(${Prisma.join(parts, ' AND ')})`;
}

function or(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return FALSE;
  return parts.length === 1 ? parts[0]! : Prisma.sql`(${Prisma.join(parts, ' OR ')})`;
}

/** Case-insensitive, as the Prisma compilation (ILIKE with an escaped pattern; lower() for lists). */
function stringSql(column: Sql, input: StringFilterInput, what: string, budget: Budget): Sql[] {
  const out: Sql[] = [];
  if (input.equals != null) out.push(Prisma.sql`${column} ILIKE ${escapeLike(budget.text(input.equals, what))}`);
  if (input.in != null) {
    const values = budget.list(input.in, `${what}.in`).map((value) => budget.text(value, what));
    out.push(
      values.length
        ? Prisma.sql`lower(${column}) IN (${Prisma.join(values.map((value) => Prisma.sql`lower(${value})`))})`
        : FALSE,
    );
  }
  // every text contains (and starts with) the empty text: no condition
  const contains = input.contains != null ? budget.text(input.contains, what) : '';
  if (contains) out.push(Prisma.sql`${column} ILIKE '%' || ${escapeLike(contains)} || '%'`);
  const startsWith = input.startsWith != null ? budget.text(input.startsWith, what) : '';
  if (startsWith) out.push(Prisma.sql`${column} ILIKE ${escapeLike(startsWith)} || '%'`);
  out.forEach(() => budget.count());
  return out;
}

function intSql(column: Sql, input: IntFilterInput, what: string, budget: Budget, range?: IntRange): Sql[] {
  const out: Sql[] = [];
  const checked = (value: number) => (range ? budget.int(value, what, range) : value);
  if (input.equals != null) out.push(Prisma.sql`${column} = ${checked(input.equals)}`);
  if (input.in != null) {
    const values = budget.list(input.in, `${what}.in`).map(checked);
    out.push(values.length ? Prisma.sql`${column} IN (${Prisma.join(values)})` : FALSE);
  }
  if (input.gt != null) out.push(Prisma.sql`${column} > ${checked(input.gt)}`);
  if (input.gte != null) out.push(Prisma.sql`${column} >= ${checked(input.gte)}`);
  if (input.lt != null) out.push(Prisma.sql`${column} < ${checked(input.lt)}`);
  if (input.lte != null) out.push(Prisma.sql`${column} <= ${checked(input.lte)}`);
  budget.count();
  return out;
}

/** Instants are sent as ISO strings and cast, so no session time zone can shift them. */
export function timestamp(value: Date): Sql {
  return Prisma.sql`${value.toISOString()}::timestamptz`;
}

function dateSql(column: Sql, input: DateTimeFilterInput, budget: Budget): Sql[] {
  const out: Sql[] = [];
  if (input.gt != null) out.push(Prisma.sql`${column} > ${timestamp(boundMs(input.gt, 'gt'))}`);
  if (input.gte != null) out.push(Prisma.sql`${column} >= ${timestamp(boundMs(input.gte, 'gte'))}`);
  if (input.lt != null) out.push(Prisma.sql`${column} < ${timestamp(boundMs(input.lt, 'lt'))}`);
  if (input.lte != null) out.push(Prisma.sql`${column} <= ${timestamp(boundMs(input.lte, 'lte'))}`);
  budget.count();
  return out;
}

function idSql(column: Sql, input: IdFilterInput, budget: Budget): Sql[] {
  return intSql(
    column,
    {
      equals: input.equals != null ? Number(input.equals.id) : null,
      in: input.in != null ? budget.list(input.in, 'id.in').map((ref) => Number(ref.id)) : null,
    },
    'id',
    budget,
  );
}

/** Conditions on the author aliased `alias`. */
export function authorSql(
  alias: string,
  input: AuthorFilterInput,
  budget = new Budget('filter'),
  idColumn = `${alias}."id"`,
): Sql[] {
  const column = (name: string) => Prisma.raw(`${alias}."${name}"`);
  const out: Sql[] = [];
  if (input.id) out.push(...idSql(Prisma.raw(idColumn), input.id, budget));
  if (input.name) out.push(...stringSql(column('name'), input.name, 'name', budget));
  return out;
}

/** Conditions on the topic aliased `alias`. */
export function topicSql(
  alias: string,
  input: TopicFilterInput,
  budget = new Budget('filter'),
  idColumn = `${alias}."id"`,
): Sql[] {
  const column = (name: string) => Prisma.raw(`${alias}."${name}"`);
  const out: Sql[] = [];
  if (input.id) out.push(...idSql(Prisma.raw(idColumn), input.id, budget));
  if (input.name) out.push(...stringSql(column('name'), input.name, 'name', budget));
  if (input.slug) out.push(...stringSql(column('slug'), input.slug, 'slug', budget));
  return out;
}

const col = (name: string) => Prisma.raw(`a."${name}"`);

function relationSql(
  joinTable: 'ArticleAuthor' | 'ArticleTopic',
  target: 'Author' | 'Topic',
  key: 'authorId' | 'topicId',
  quantifier: 'some' | 'every' | 'none',
  conditions: Sql[],
  /** Only conditions on the id: test the link's foreign key, no join (as the Prisma compilation). */
  idOnly: boolean,
): Sql {
  const join = idOnly ? '' : ` JOIN "${target}" t ON t."id" = j."${key}"`;
  const from = Prisma.raw(`FROM "${joinTable}" j${join} WHERE j."articleId" = a."id"`);
  const condition = and(conditions);
  if (quantifier === 'some') return Prisma.sql`EXISTS (SELECT 1 ${from} AND ${condition})`;
  if (quantifier === 'none') return Prisma.sql`NOT EXISTS (SELECT 1 ${from} AND ${condition})`;
  return Prisma.sql`NOT EXISTS (SELECT 1 ${from} AND NOT ${condition})`;
}

function articleSqlAt(input: ArticleFilterInput, depth: number, budget: Budget): Sql {
  if (depth > FILTER_LIMITS.maxDepth) budget.fail(`AND/OR/NOT nested deeper than ${FILTER_LIMITS.maxDepth}`);
  const out: Sql[] = [];
  if (input.AND) out.push(...budget.list(input.AND, 'AND').map((sub) => articleSqlAt(sub, depth + 1, budget)));
  if (input.OR) {
    budget.count();
    out.push(or(budget.list(input.OR, 'OR').map((sub) => articleSqlAt(sub, depth + 1, budget))));
  }
  if (input.NOT) {
    budget.count();
    out.push(Prisma.sql`NOT ${articleSqlAt(input.NOT, depth + 1, budget)}`);
  }
  if (input.priority) out.push(...intSql(col('priority'), input.priority, 'priority', budget, INT_COLUMNS.priority));
  if (input.publishedAt) out.push(...dateSql(col('publishedAt'), input.publishedAt, budget));
  if (input.createdAt) out.push(...dateSql(col('createdAt'), input.createdAt, budget));
  if (input.isAustralian != null) {
    budget.count();
    out.push(Prisma.sql`a."isAustralian" = ${input.isAustralian}`);
  }
  if (input.source) out.push(...stringSql(col('source'), input.source, 'source', budget));
  if (input.title) out.push(...stringSql(col('title'), input.title, 'title', budget));
  if (input.text != null) {
    budget.count();
    const pattern = escapeLike(budget.needle(input.text));
    if (pattern) {
      out.push(
        or(
          (['title', 'description', 'summary', 'body'] as const).map(
            (name) => Prisma.sql`${col(name)} ILIKE '%' || ${pattern} || '%'`,
          ),
        ),
      );
    }
  }
  for (const quantifier of ['some', 'every', 'none'] as const) {
    const authors = input.authors?.[quantifier];
    if (authors) {
      const conditions = authorSql('t', authors, budget, 'j."authorId"');
      out.push(relationSql('ArticleAuthor', 'Author', 'authorId', quantifier, conditions, !authors.name));
    }
    const topics = input.topics?.[quantifier];
    if (topics) {
      const conditions = topicSql('t', topics, budget, 'j."topicId"');
      out.push(relationSql('ArticleTopic', 'Topic', 'topicId', quantifier, conditions, !topics.name && !topics.slug));
    }
  }
  return and(out);
}

/** The SQL condition on `a` (an "Article" row) for an ArticleFilter; TRUE for no filter. */
export function articleSql(input: ArticleFilterInput | null | undefined, argumentName = 'filter'): Sql {
  return input ? articleSqlAt(input, 0, new Budget(argumentName)) : TRUE;
}
