import type { Condition, Relation } from './condition.ts';

/**
 * The Prisma backend of the list engine: a Condition (condition.ts) as a Prisma where-clause.
 * Prisma sends every value as a bind parameter; the only text shaped here is LIKE patterns
 * (Prisma renders case-insensitive equals/contains/startsWith as ILIKE), whose wildcards are
 * escaped so that `%` and `_` typed by a user match only themselves.
 */

/** A Prisma where-clause of any model (the callers know which model's). */
export type Where = Record<string, unknown>;

/** Escapes LIKE wildcards (PostgreSQL's default escape character is the backslash). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** No row matches it. (Prisma reads an empty condition as none at all.) */
const NOTHING: Where = { id: { in: [] } };

/** How a relation of the article is reached: its link model's relation field and foreign key. */
const LINKS: Record<Relation, { target: string; key: string }> = {
  authors: { target: 'author', key: 'authorId' },
  topics: { target: 'topic', key: 'topicId' },
};

/**
 * A condition on a byline or topic link. Conditions on the id test the link's own foreign key,
 * so the database need not join the author or topic table: the planner then sees the same shape
 * as a hand-written EXISTS and can walk the article index in order, stopping after a page.
 */
function linkWhere(relation: Relation, condition: Condition): Where {
  const parts = condition.kind === 'all' ? condition.parts : [condition];
  const { target, key } = LINKS[relation];
  const onKey = (part: Condition) => 'column' in part && part.column === 'id';
  const out: Where[] = parts.filter(onKey).map((part) => toPrismaWhere(part, (where) => rename(where, 'id', key)));
  const others = parts.filter((part) => !onKey(part));
  if (others.length) out.push({ [target]: toPrismaWhere({ kind: 'all', parts: others }) });
  return { AND: out };
}

function rename(where: Where, from: string, to: string): Where {
  return Object.fromEntries(Object.entries(where).map(([name, value]) => [name === from ? to : name, value]));
}

/**
 * The Prisma where-clause of `condition`, on the model whose fields its columns name. `leaf`
 * rewrites each column condition, e.g. `(where) => ({ article: where })` to reach the article
 * through a link row.
 */
export function toPrismaWhere(condition: Condition, leaf: (where: Where) => Where = (where) => where): Where {
  const render = (part: Condition) => toPrismaWhere(part, leaf);
  switch (condition.kind) {
    case 'all':
      return condition.parts.length === 1 ? render(condition.parts[0]!) : { AND: condition.parts.map(render) };
    case 'any':
      return condition.parts.length === 0 ? leaf(NOTHING) : { OR: condition.parts.map(render) };
    case 'not':
      return { NOT: render(condition.part) };
    case 'compare':
      return leaf({ [condition.column]: { [condition.comparison]: condition.value } });
    case 'in':
      return leaf({ [condition.column]: { in: condition.values } });
    case 'text':
      return leaf({ [condition.column]: { [condition.match]: escapeLike(condition.value), mode: 'insensitive' } });
    case 'textIn':
      return leaf({ [condition.column]: { in: condition.values, mode: 'insensitive' } });
    case 'related':
      return leaf({
        [condition.relation]: { [condition.quantifier]: linkWhere(condition.relation, condition.condition) },
      });
  }
}
