import type { Db } from '../../db/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { tsQuery } from '../articles/search.ts';
import type { Condition, Relation } from '../lists/condition.ts';
import { and, tableScope, toSql } from '../lists/sqlWhere.ts';
import type { ArticleEventMessage } from './events.ts';

/**
 * Which watched questions an article event is a new match of: the article matches the question
 * now and, for an update, did not before it (its `before` in the outbox). One statement evaluates
 * every question (up to MAX_WATCHES_PER_STATEMENT) against the article as it is, and for an update
 * with any match, one more against the article as it was; so a process's cost per event does not
 * grow with the number of subscribers asking the same questions.
 */

/** A question: an ArticleFilter's Condition (lists/filter.ts) and a checked search text, or none. */
export interface Watch {
  condition: Condition;
  search?: string | null;
}

/** A key equal for watches asking the same question. */
export function watchKey(watch: Watch): string {
  return JSON.stringify([watch.condition, watch.search ?? null]);
}

function conditionOf(watch: Watch): Prisma.Sql {
  const parts = [toSql(watch.condition, tableScope('a'))];
  if (watch.search) parts.push(Prisma.sql`a."searchVector" @@ ${tsQuery(watch.search)}`);
  return and(parts);
}

function columns(watches: readonly Watch[]): Prisma.Sql {
  return Prisma.join(
    watches.map((watch, index) => Prisma.sql`COALESCE(${conditionOf(watch)}, false) AS ${Prisma.raw(`"m${index}"`)}`),
  );
}

function flags(row: Record<string, boolean> | undefined, count: number): boolean[] {
  return Array.from({ length: count }, (_, index) => row?.[`m${index}`] === true);
}

/** For each of `watches`, whether the article as recorded in the outbox row `eventId` (its `before`) matched. */
async function matchedBefore(db: Db, eventId: bigint, watches: readonly Watch[]): Promise<boolean[]> {
  // the article as it was: its row and links from the outbox, the links as CTEs named as the
  // link tables, which the conditions' EXISTS subqueries then read
  const [row] = await db.$queryRaw<Record<string, boolean>[]>`
    WITH "ArticleAuthor" AS (
      SELECT e."articleId", x::int AS "authorId"
      FROM "ArticleEvent" e, jsonb_array_elements_text(e."before"->'authors') AS x WHERE e."id" = ${eventId}),
    "ArticleTopic" AS (
      SELECT e."articleId", x::int AS "topicId"
      FROM "ArticleEvent" e, jsonb_array_elements_text(e."before"->'topics') AS x WHERE e."id" = ${eventId})
    SELECT ${columns(watches)}
    FROM "ArticleEvent" e CROSS JOIN LATERAL jsonb_populate_record(NULL::"Article", e."before"->'row') AS a
    WHERE e."id" = ${eventId}`;
  return flags(row, watches.length);
}

/**
 * For each of `watches`, whether `event` is a new match of it: the article as the write left it
 * matches, and, for an update, the article as it was before did not. "As the write left it" is
 * the article as the next write of it found it (that write's `before`) when there is one, else the
 * article as it is: so an event read late (by the webhook worker) is judged on its own write, not
 * on later ones. An article deleted since matches nothing.
 */
export async function newMatches(db: Db, event: ArticleEventMessage, watches: readonly Watch[]): Promise<boolean[]> {
  return (await newMatchesOfEach(db, [event], watches))[0]!;
}

/**
 * newMatches of several events at once (a backlog): one statement for all of them and every
 * question (up to MAX_WATCHES_PER_STATEMENT questions and MAX_EVENTS_PER_STATEMENT events each),
 * then one for each event judged on a later write's `before`, and one for each update with a match.
 */
export async function newMatchesOfEach(
  db: Db,
  events: readonly ArticleEventMessage[],
  watches: readonly Watch[],
): Promise<boolean[][]> {
  if (!watches.length || !events.length) return events.map(() => watches.map(() => false));
  const followed = await followingMerges(db, watches);
  // the article before an update matched if it matched the question as asked (an author's
  // article, before the merge moved it to the target) or as it reads now (the target's already)
  const before = followed.map((watch, at) =>
    watch === watches[at]
      ? watch
      : { ...watch, condition: { kind: 'any', parts: [watches[at]!.condition, watch.condition] } as Condition },
  );
  return matchEach(db, events, followed, before);
}

/** newMatchesOfEach of `watches`, whose articles before an update are judged by `asBefore` (same order). */
async function matchEach(
  db: Db,
  events: readonly ArticleEventMessage[],
  watches: readonly Watch[],
  asBefore: readonly Watch[],
): Promise<boolean[][]> {
  // PostgreSQL's select list holds at most 1,664 entries: many questions take a statement per chunk
  if (watches.length > MAX_WATCHES_PER_STATEMENT || events.length > MAX_EVENTS_PER_STATEMENT) {
    const result: boolean[][] = events.map(() => []);
    for (let first = 0; first < events.length; first += MAX_EVENTS_PER_STATEMENT) {
      const some = events.slice(first, first + MAX_EVENTS_PER_STATEMENT);
      for (let start = 0; start < watches.length; start += MAX_WATCHES_PER_STATEMENT) {
        const end = start + MAX_WATCHES_PER_STATEMENT;
        const part = await matchEach(db, some, watches.slice(start, end), asBefore.slice(start, end));
        part.forEach((row, index) => result[first + index]!.push(...row));
      }
    }
    return result;
  }
  const rows = await db.$queryRaw<(Record<string, boolean> & { at: number; next: bigint | null })[]>`
    SELECT e."at", (SELECT n."id" FROM "ArticleEvent" n WHERE n."articleId" = a."id" AND n."id" > e."id"
                    ORDER BY n."id" LIMIT 1) AS "next", ${columns(watches)}
    FROM unnest(${events.map((event) => BigInt(event.id))}::bigint[], ${events.map((event) => event.articleId)}::int[])
      WITH ORDINALITY AS e("id", "articleId", "at")
    JOIN "Article" a ON a."id" = e."articleId"`;
  const byIndex = new Map(rows.map((row) => [Number(row.at) - 1, row]));
  const result: boolean[][] = [];
  for (const [index, event] of events.entries()) {
    const now = byIndex.get(index);
    const after = now?.next != null ? await matchedBefore(db, now.next, watches) : flags(now, watches.length);
    if (event.kind === 'CREATED' || !after.some(Boolean)) {
      result.push(after);
      continue;
    }
    const before = await matchedBefore(
      db,
      BigInt(event.id),
      asBefore.filter((_, at) => after[at]),
    );
    let next = 0;
    result.push(after.map((matches) => matches && !before[next++]));
  }
  return result;
}

/** Events one statement evaluates. */
export const MAX_EVENTS_PER_STATEMENT = 200;

/** Distinct questions one statement evaluates (PostgreSQL's select list holds at most 1,664). */
export const MAX_WATCHES_PER_STATEMENT = 1_000;

/**
 * `condition` with the id of each author or topic an `id` condition names (inside a `related`
 * one) replaced by `map(relation, id)`; what `map` returns unchanged leaves that part as it was.
 */
function mapRelatedIds(
  condition: Condition,
  map: (relation: Relation, id: number) => number,
  relation: Relation | null = null,
): Condition {
  switch (condition.kind) {
    case 'all':
    case 'any':
      return { ...condition, parts: condition.parts.map((part) => mapRelatedIds(part, map, relation)) };
    case 'not':
      return { ...condition, part: mapRelatedIds(condition.part, map, relation) };
    case 'related':
      return { ...condition, condition: mapRelatedIds(condition.condition, map, condition.relation) };
    case 'compare':
      if (!relation || condition.column !== 'id' || typeof condition.value !== 'number') return condition;
      return { ...condition, value: map(relation, condition.value) };
    case 'in':
      if (!relation || condition.column !== 'id') return condition;
      return { ...condition, values: [...new Set(condition.values.map((id) => map(relation, id)))] };
    default:
      return condition;
  }
}

/**
 * `watches` with every author or topic they name by id that a merge took away (AuthorMerge,
 * TopicMerge: the last target) named by the one it was merged into: a question asked about an
 * author goes on matching that author's articles once they are the target's, as a saved search
 * does (mergeAuthors and mergeTopics retarget those: retargetSavedSearches), also for a
 * subscription opened before the merge. One statement when a watch names an id, none otherwise.
 */
async function followingMerges(db: Db, watches: readonly Watch[]): Promise<readonly Watch[]> {
  const named: Record<Relation, Set<number>> = { authors: new Set(), topics: new Set() };
  for (const watch of watches) mapRelatedIds(watch.condition, (relation, id) => (named[relation].add(id), id));
  if (!named.authors.size && !named.topics.size) return watches;
  const rows = await db.$queryRaw<{ relation: Relation; fromId: number; intoId: number }[]>`
    SELECT 'authors' AS "relation", "fromId", "intoId" FROM "AuthorMerge" WHERE "fromId" = ANY(${[...named.authors]}::int[])
    UNION ALL
    SELECT 'topics', "fromId", "intoId" FROM "TopicMerge" WHERE "fromId" = ANY(${[...named.topics]}::int[])`;
  if (!rows.length) return watches;
  const moved: Record<Relation, Map<number, number>> = { authors: new Map(), topics: new Map() };
  for (const row of rows) moved[row.relation].set(row.fromId, row.intoId);
  return watches.map((watch) => ({
    ...watch,
    condition: mapRelatedIds(watch.condition, (relation, id) => moved[relation].get(id) ?? id),
  }));
}
