import { Prisma } from '../../generated/prisma/client.ts';
import type { Condition, Relation, Scalar, ValueKind } from './condition.ts';
import { escapeLike } from './prismaWhere.ts';

/**
 * The SQL backend of the list engine: a Condition (condition.ts) as a PostgreSQL condition, for
 * the queries Prisma cannot express (full-text search, similarity ranking, facets, computed sort
 * keys). Values are bind parameters; LIKE patterns are escaped as in prismaWhere.ts; instants
 * are sent as ISO strings and cast, so no session time zone can shift them.
 */

type Sql = Prisma.Sql;

/** Where the columns of a condition are: `column(name)` is the SQL expression of a column. */
export interface SqlScope {
  column(name: string): Sql;
  /** The row alias the relations of an article hang from (`a`); only articles have relations. */
  articleAlias?: string;
}

/** The columns of the table aliased `alias`: `alias."name"`. */
export function tableScope(alias: string): SqlScope {
  return { column: (name) => Prisma.raw(`${alias}."${name}"`), articleAlias: alias };
}

/** The SQL condition that always holds. */
export const TRUE = Prisma.sql`TRUE`;
const FALSE = Prisma.sql`FALSE`;

/** `(a AND b ...)`; TRUE for none. */
export function and(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return TRUE;
  return parts.length === 1 ? parts[0]! : Prisma.sql`(${Prisma.join(parts, ' AND ')})`;
}

/** `(a OR b ...)`; FALSE for none. */
export function or(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return FALSE;
  return parts.length === 1 ? parts[0]! : Prisma.sql`(${Prisma.join(parts, ' OR ')})`;
}

/** An instant as an ISO-8601 literal cast to timestamptz. */
export function timestamp(value: Date): Sql {
  return Prisma.sql`${value.toISOString()}::timestamptz`;
}

/** A bind parameter typed for comparison with a column of `kind`. */
export function sqlValue(value: Scalar, kind?: ValueKind): Sql {
  if (value instanceof Date) return timestamp(value);
  if (kind === 'float') return Prisma.sql`${value}::float8`;
  return Prisma.sql`${value}`;
}

const OPERATORS = { equals: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

const LINK_TABLES: Record<Relation, { table: string; target: string; key: string }> = {
  authors: { table: 'ArticleAuthor', target: 'Author', key: 'authorId' },
  topics: { table: 'ArticleTopic', target: 'Topic', key: 'topicId' },
};

function usesOnlyId(condition: Condition): boolean {
  if (condition.kind === 'all' || condition.kind === 'any') return condition.parts.every(usesOnlyId);
  if (condition.kind === 'not') return usesOnlyId(condition.part);
  if (condition.kind === 'related') return false;
  return condition.column === 'id';
}

/**
 * `EXISTS` over the link rows of the article: conditions on the id test the link's foreign key,
 * so the author or topic table is joined only when a condition names another column (as the
 * Prisma backend does).
 */
function relatedSql(condition: Extract<Condition, { kind: 'related' }>, articleAlias: string): Sql {
  const { table, target, key } = LINK_TABLES[condition.relation];
  const idOnly = usesOnlyId(condition.condition);
  const join = idOnly ? '' : ` JOIN "${target}" t ON t."id" = j."${key}"`;
  const from = Prisma.raw(`FROM "${table}" j${join} WHERE j."articleId" = ${articleAlias}."id"`);
  const inner = toSql(condition.condition, {
    column: (name) => Prisma.raw(name === 'id' ? `j."${key}"` : `t."${name}"`),
  });
  if (condition.quantifier === 'some') return Prisma.sql`EXISTS (SELECT 1 ${from} AND ${inner})`;
  if (condition.quantifier === 'none') return Prisma.sql`NOT EXISTS (SELECT 1 ${from} AND ${inner})`;
  return Prisma.sql`NOT EXISTS (SELECT 1 ${from} AND NOT ${inner})`;
}

/** The SQL of `condition`, its columns found through `scope`. */
export function toSql(condition: Condition, scope: SqlScope): Sql {
  const render = (part: Condition) => toSql(part, scope);
  switch (condition.kind) {
    case 'all':
      return and(condition.parts.map(render));
    case 'any':
      return or(condition.parts.map(render));
    case 'not':
      return Prisma.sql`NOT ${render(condition.part)}`;
    case 'compare': {
      const operator = Prisma.raw(OPERATORS[condition.comparison]);
      return Prisma.sql`${scope.column(condition.column)} ${operator} ${sqlValue(condition.value, condition.valueKind)}`;
    }
    case 'in':
      return condition.values.length
        ? Prisma.sql`${scope.column(condition.column)} IN (${Prisma.join([...condition.values])})`
        : FALSE;
    case 'text': {
      const column = scope.column(condition.column);
      const pattern = escapeLike(condition.value);
      if (condition.match === 'equals') return Prisma.sql`${column} ILIKE ${pattern}`;
      if (condition.match === 'startsWith') return Prisma.sql`${column} ILIKE ${pattern} || '%'`;
      return Prisma.sql`${column} ILIKE '%' || ${pattern} || '%'`;
    }
    case 'textIn': {
      const column = scope.column(condition.column);
      const values = condition.values.map((value) => Prisma.sql`lower(${value})`);
      return values.length ? Prisma.sql`lower(${column}) IN (${Prisma.join(values)})` : FALSE;
    }
    case 'related':
      if (!scope.articleAlias) throw new Error('a relation condition outside an article scope');
      return relatedSql(condition, scope.articleAlias);
  }
}
