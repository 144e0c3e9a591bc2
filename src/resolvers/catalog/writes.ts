import type { Db } from '../../db/client.ts';
import { recordBefore } from '../alerts/events.ts';
import { recordRevisions } from '../articles/revisions.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../../db/errors.ts';
import { InUseError, NotFoundError, ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { freeSlug } from '../writing/references.ts';
import { isSlug, SLUG_MAX, slugify } from './slugs.ts';
import type { Viewer } from '../access/viewer.ts';
import { checkMergeIds, checkName, checkText, Issues, type MergeIds } from '../writing/validation.ts';
import { retargetSavedSearches } from '../alerts/savedSearches.ts';
import {
  lockNames,
  lockRows,
  requireRole,
  RetryTransaction,
  recordedName,
  writeTransaction,
  type Tx,
} from '../writing/transaction.ts';

/**
 * Writes to the author and topic catalogues: create, rename, delete (refused while articles
 * use them) and merge (every article moves to the target in one transaction). Names are unique
 * by name key in the database (see prisma/nameKey.ts): creates insert with ON CONFLICT on the
 * key and renames rely on its unique index, so concurrent spellings of one name make one row.
 * Locks follow the order of writing/transaction.ts (articles, then authors, then topics).
 */

type Maybe<T> = T | null | undefined;
type GlobalRef = { id: string | number };

const MAX_MERGE_SOURCES = 50;

const taken = (path: string[], what: string) =>
  new ValidationError([{ path, code: 'TAKEN', message: `Another ${what} already has this value` }]);

// ---------------------------------------------------------------------------------------------
// Authors

/** Adds an author (EDITOR). ValidationError: REQUIRED, TOO_LONG, or TAKEN when the name key exists. */
export async function createAuthor(db: Db, input: { name: string }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name);
  issues.throwIfAny();
  return writeTransaction(db, async (tx) => {
    const [row] = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO "Author" ("name") VALUES (${name}) ON CONFLICT ("nameKey") DO NOTHING RETURNING "id"`;
    if (!row) throw taken(['input', 'name'], 'author');
    return row;
  });
}

/** Renames an author (EDITOR). TAKEN when another author has the new name's key; NotFoundError. */
export async function updateAuthor(db: Db, input: { id: GlobalRef; name: string }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name);
  issues.throwIfAny();
  try {
    return await writeTransaction(db, async (tx) => {
      await lockNames(tx, 'Author', [name!]);
      const { count } = await tx.author.updateMany({ where: { id }, data: { name: name! } });
      if (count === 0) throw new NotFoundError('Author', id);
      return { id };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(['input', 'name'], 'author');
    throw error;
  }
}

/** How each catalogue's rows are linked to articles, for deletes. */
const LINKED = {
  author: {
    table: 'Author',
    links: (client: Tx, id: number) => client.articleAuthor.count({ where: { authorId: id } }),
    remove: (tx: Tx, id: number) => tx.author.delete({ where: { id } }),
  },
  topic: {
    table: 'Topic',
    links: (client: Tx, id: number) => client.articleTopic.count({ where: { topicId: id } }),
    remove: (tx: Tx, id: number) => tx.topic.delete({ where: { id } }),
  },
} as const;

/**
 * Deletes an author or topic no article uses (ADMIN): InUseError (with the number of articles)
 * otherwise, NotFoundError when there is none. The row is locked FOR UPDATE, so no byline or
 * topic link can take it until this commits.
 */
async function deleteUnused(db: Db, kind: 'author' | 'topic', input: { id: GlobalRef }, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const { table, links, remove } = LINKED[kind];
  const id = Number(input.id.id);
  try {
    return await writeTransaction(db, async (tx) => {
      if (!(await lockRows(tx, table, [id], 'FOR UPDATE')).size) throw new NotFoundError(table, id);
      const used = await links(tx, id);
      if (used > 0) throw new InUseError(kind, used);
      await remove(tx, id);
      return { id };
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new InUseError(kind, await links(db, id));
    throw error;
  }
}

/** Deletes an author no byline names (ADMIN): InUseError otherwise, NotFoundError. */
export function deleteAuthor(db: Db, input: { id: GlobalRef }, viewer: Viewer) {
  return deleteUnused(db, 'author', input, viewer);
}

type MergeInput = MergeIds;

function checkMerge(input: MergeInput): { sources: number[]; target: number } {
  const issues = new Issues();
  const ids = checkMergeIds(issues, input, MAX_MERGE_SOURCES);
  issues.throwIfAny();
  return ids;
}

/**
 * The first half of a merge, in the lock order of writing/transaction.ts: the articles linked to the sources
 * (in id order), then the sources, the target and `alsoLock(articleIds)` (other rows whose
 * counters the merge rewrites), all FOR UPDATE: no new link to them can be made until commit. A
 * source or target that is gone is NOT_FOUND. Returns the articles linked to a source now that
 * everything is locked: not those a concurrent write unlinked or deleted meanwhile; an article
 * linked in between is locked without waiting (with the rows it adds), or else the merge runs
 * again.
 */
async function lockMerge(
  tx: Tx,
  table: 'Author' | 'Topic',
  sources: number[],
  target: number,
  alsoLock: (articleIds: number[]) => Promise<number[]>,
): Promise<number[]> {
  const linked = async () => {
    const rows =
      table === 'Author'
        ? await tx.articleAuthor.findMany({ where: { authorId: { in: sources } }, select: { articleId: true } })
        : await tx.articleTopic.findMany({ where: { topicId: { in: sources } }, select: { articleId: true } });
    return [...new Set(rows.map((row) => row.articleId))].sort((a, b) => a - b);
  };
  const articleIds = await linked();
  await lockRows(tx, 'Article', articleIds, 'FOR UPDATE');
  const present = await lockRows(tx, table, [target, ...sources, ...(await alsoLock(articleIds))], 'FOR UPDATE');
  const missing = [target, ...sources].find((id) => !present.has(id));
  if (missing !== undefined) throw new NotFoundError(table, missing);
  // the sources are locked: from here on no article can gain or lose a link to them
  const now = await linked();
  const before = new Set(articleIds);
  const late = now.filter((id) => !before.has(id));
  if (late.length) {
    // locking these now would break the order; only if nobody holds them, else start again
    const nowait = async (name: 'Article' | 'Author' | 'Topic', ids: number[]) =>
      tx.$queryRaw`SELECT "id" FROM ${Prisma.raw(`"${name}"`)} WHERE "id" = ANY(${ids}::int[]) ORDER BY "id" FOR UPDATE NOWAIT`;
    try {
      await nowait('Article', late);
      await nowait(table, await alsoLock(late));
    } catch {
      throw new RetryTransaction();
    }
  }
  return now;
}

/**
 * Records that `sources` were merged into `target` (AuthorMerge, TopicMerge), and moves what was
 * merged into a source to the target, so one lookup names the last target.
 */
async function recordMergeTargets(tx: Tx, table: 'Author' | 'Topic', sources: number[], target: number): Promise<void> {
  const merges = Prisma.raw(`"${table}Merge"`);
  await tx.$executeRaw`UPDATE ${merges} SET "intoId" = ${target} WHERE "intoId" = ANY(${sources}::int[])`;
  await tx.$executeRaw`
    INSERT INTO ${merges} ("fromId", "intoId") SELECT unnest(${sources}::int[]), ${target}
    ON CONFLICT ("fromId") DO UPDATE SET "intoId" = EXCLUDED."intoId", "mergedAt" = EXCLUDED."mergedAt"`;
}

async function touchArticles(tx: Tx, articleIds: number[], viewer: Viewer): Promise<void> {
  if (!articleIds.length) return;
  await tx.article.updateMany({
    where: { id: { in: articleIds } },
    data: { version: { increment: 1 }, updatedAt: new Date(), updatedBy: recordedName(viewer) },
  });
}

/**
 * Moves every byline of the sources to the target and deletes the sources (ADMIN). In each
 * affected byline the target takes the place of the first of them, the order of the others is
 * kept, and duplicates collapse. ValidationError (REQUIRED, TOO_MANY, IS_TARGET, DUPLICATE),
 * NotFoundError.
 */
export async function mergeAuthors(db: Db, input: MergeInput, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const { sources, target } = checkMerge(input);
  return writeTransaction(db, async (tx) => {
    const bylineAuthors = async (articleIds: number[]) =>
      (await tx.articleAuthor.findMany({ where: { articleId: { in: articleIds } }, select: { authorId: true } })).map(
        (row) => row.authorId,
      );
    // the other authors of those bylines are deleted and re-inserted: their counters change twice
    const articleIds = await lockMerge(tx, 'Author', sources, target, bylineAuthors);
    const recorded = await recordBefore(tx, articleIds);
    const affected = await tx.articleAuthor.findMany({
      where: { articleId: { in: articleIds } },
      orderBy: [{ articleId: 'asc' }, { position: 'asc' }],
      select: { articleId: true, authorId: true },
    });
    const bylines = new Map<number, number[]>();
    for (const row of affected) {
      const authorId = sources.includes(row.authorId) ? target : row.authorId;
      const byline = bylines.get(row.articleId) ?? [];
      if (!byline.includes(authorId)) byline.push(authorId);
      bylines.set(row.articleId, byline);
    }
    await tx.articleAuthor.deleteMany({ where: { articleId: { in: articleIds } } });
    await tx.articleAuthor.createMany({
      data: [...bylines]
        .flatMap(([articleId, authorIds]) => authorIds.map((authorId, position) => ({ articleId, authorId, position })))
        .sort((a, b) => a.authorId - b.authorId),
    });
    await touchArticles(tx, articleIds, viewer);
    await recordRevisions(tx, await recorded(articleIds), 'MERGED', recordedName(viewer));
    await tx.author.deleteMany({ where: { id: { in: sources } } });
    await recordMergeTargets(tx, 'Author', sources, target);
    await retargetSavedSearches(tx, 'Author', sources, target);
    return { id: target, mergedIds: sources, articlesMoved: articleIds.length };
  });
}

// ---------------------------------------------------------------------------------------------
// Topics

function checkSlug(issues: Issues, value: string): string | undefined {
  const slug = checkText(issues, ['input', 'slug'], value, { min: 1, max: SLUG_MAX });
  if (slug !== undefined && !isSlug(slug)) {
    issues.add(
      ['input', 'slug'],
      'INVALID_SLUG',
      'Lower-case letters (of any script, Latin without accents) and digits in words joined by single hyphens',
    );
    return undefined;
  }
  return slug;
}

function slugFromName(issues: Issues, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const slug = slugify(name);
  if (!slug)
    issues.add(['input', 'name'], 'INVALID_NAME', 'A topic name needs at least one letter or digit (of any script)');
  return slug || undefined;
}

/** Which of `name` (by key) and `slug` another topic than `except` has, as TAKEN issues. */
async function takenByOtherTopics(
  db: Db | Tx,
  name: string | undefined,
  slug: string | undefined,
  except?: number,
): Promise<ValidationError | undefined> {
  const [row] = await db.$queryRaw<{ nameTaken: boolean | null; slugTaken: boolean | null }[]>`
    SELECT bool_or("nameKey" = "newsgraph_name_key"(${name ?? null}::text)) AS "nameTaken",
           bool_or("slug" = ${slug ?? null}::text) AS "slugTaken"
    FROM "Topic"
    WHERE ("nameKey" = "newsgraph_name_key"(${name ?? null}::text) OR "slug" = ${slug ?? null}::text)
      AND "id" <> ${except ?? 0}`;
  const issues = new Issues();
  if (row?.nameTaken) issues.add(['input', 'name'], 'TAKEN', 'Another topic already has this name');
  if (row?.slugTaken) issues.add(['input', 'slug'], 'TAKEN', 'Another topic already has this slug');
  return issues.empty ? undefined : new ValidationError(issues.list);
}

/**
 * Adds a topic (EDITOR). Its slug is the one given, or else derived from the name: the first
 * free of `slug`, `slug-2`, `slug-3`... when topics with other names have it. ValidationError:
 * TAKEN on the name (by key) or on a given slug, INVALID_NAME, INVALID_SLUG, REQUIRED, TOO_LONG.
 */
export async function createTopic(db: Db, input: { name: string; slug?: Maybe<string> }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name)!;
  const given = input.slug != null;
  const slug = given ? checkSlug(issues, input.slug!) : slugFromName(issues, name);
  issues.throwIfAny();
  return writeTransaction(db, async (tx) => {
    await lockNames(tx, 'Topic', [name], [slug!]);
    const clash = await takenByOtherTopics(tx, name, given ? slug : undefined);
    if (clash) throw clash;
    const [row] = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO "Topic" ("name", "slug") VALUES (${name}, ${given ? slug! : await freeSlug(tx, slug!)})
      ON CONFLICT DO NOTHING RETURNING "id"`;
    if (!row) throw new RetryTransaction();
    return row;
  });
}

/**
 * Renames a topic (EDITOR); its slug follows the new name (as in createTopic) unless a slug is
 * given. As createTopic, plus NotFoundError.
 */
export async function updateTopic(
  db: Db,
  input: { id: GlobalRef; name?: Maybe<string>; slug?: Maybe<string> },
  viewer: Viewer,
) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  if (input.name == null && input.slug == null) issues.add(['input'], 'NOTHING_TO_UPDATE', 'Give a new name or slug');
  const name = input.name != null ? checkName(issues, ['input', 'name'], input.name) : undefined;
  const given = input.slug != null;
  const slug = given ? checkSlug(issues, input.slug!) : slugFromName(issues, name);
  issues.throwIfAny();
  try {
    return await writeTransaction(db, async (tx) => {
      await lockNames(tx, 'Topic', name ? [name] : [], slug ? [slug] : []);
      const clash = await takenByOtherTopics(tx, name, given ? slug : undefined, id);
      if (clash) throw clash;
      // a new spelling of the same name keeps the topic's slug, which may have been set by hand
      const [current] = name
        ? await tx.$queryRaw<{ sameName: boolean }[]>`
            SELECT "nameKey" = "newsgraph_name_key"(${name}) AS "sameName" FROM "Topic" WHERE "id" = ${id}`
        : [];
      const keepSlug = !given && current?.sameName;
      const newSlug = keepSlug ? undefined : slug && !given ? await freeSlug(tx, slug, id) : slug;
      const { count } = await tx.topic.updateMany({
        where: { id },
        data: { ...(name ? { name } : {}), ...(newSlug ? { slug: newSlug } : {}) },
      });
      if (count === 0) throw new NotFoundError('Topic', id);
      return { id };
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw (await takenByOtherTopics(db, name, slug, id)) ?? taken(['input', 'name'], 'topic');
    throw error;
  }
}

/** Deletes a topic no article has (ADMIN): InUseError otherwise, NotFoundError. */
export function deleteTopic(db: Db, input: { id: GlobalRef }, viewer: Viewer) {
  return deleteUnused(db, 'topic', input, viewer);
}

/**
 * Moves every article of the sources to the target (duplicates collapse) and deletes the sources
 * (ADMIN). ValidationError (REQUIRED, TOO_MANY, IS_TARGET, DUPLICATE), NotFoundError.
 */
export async function mergeTopics(db: Db, input: MergeInput, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const { sources, target } = checkMerge(input);
  return writeTransaction(db, async (tx) => {
    const articleIds = await lockMerge(tx, 'Topic', sources, target, async () => []);
    const recorded = await recordBefore(tx, articleIds);
    await tx.articleTopic.createMany({
      data: articleIds.map((articleId) => ({ articleId, topicId: target })),
      skipDuplicates: true,
    });
    await tx.articleTopic.deleteMany({ where: { topicId: { in: sources } } });
    await touchArticles(tx, articleIds, viewer);
    await recordRevisions(tx, await recorded(articleIds), 'MERGED', recordedName(viewer));
    await tx.topic.deleteMany({ where: { id: { in: sources } } });
    await recordMergeTargets(tx, 'Topic', sources, target);
    await retargetSavedSearches(tx, 'Topic', sources, target);
    return { id: target, mergedIds: sources, articlesMoved: articleIds.length };
  });
}
