import type { Db } from '../../db/client.ts';
import { NotFoundError, VersionConflictError } from '../../errors.ts';
import type { Viewer } from '../access/viewer.ts';
import {
  lockRows,
  recordedName,
  requireRole,
  RetryTransaction,
  writeTransaction,
  type Tx,
} from '../writing/transaction.ts';
import { checkExpectedVersion, checkMergeIds, Issues, type MergeIds } from '../writing/validation.ts';

/**
 * Editors' corrections of stories (EDITOR). Each runs in one write transaction, taking its locks
 * in the lock order of writing/transaction.ts: the articles it moves (step 1), then the stories
 * (step 7). Every article an editor places is pinned (`storyPinned`): the detector never moves
 * it again. The stories' own columns (lead, count, sources, span) follow from the Article
 * triggers, which also delete a story left without members; each change moves the version of
 * the stories it touched and of the articles it moved.
 */

/** Most stories one mergeStories takes as sources. */
export const MAX_MERGE_STORIES = 50;

/** Locks stories FOR UPDATE (step 7), in id order; returns their versions. */
async function lockStories(tx: Tx, ids: readonly number[]): Promise<Map<number, number>> {
  const rows = await tx.$queryRaw<{ id: number; version: number }[]>`
    SELECT "id", "version" FROM "Story" WHERE "id" = ANY(${[...new Set(ids)]}::int[]) ORDER BY "id" FOR UPDATE`;
  return new Map(rows.map((row) => [row.id, row.version]));
}

/** The members of stories, in id order. */
async function members(tx: Tx, storyIds: readonly number[]): Promise<number[]> {
  const rows = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "Article" WHERE "storyId" = ANY(${[...storyIds]}::int[]) ORDER BY "id"`;
  return rows.map((row) => row.id);
}

/**
 * Moves every article of the `sourceIds` stories into `targetId` and pins all the target's
 * members (forgetting whom they were separated from: the editor has grouped them now), if the
 * target is still at `expectedVersion`; the sources, left empty, are deleted.
 * ValidationError (REQUIRED, TOO_MANY, IS_TARGET, DUPLICATE, OUT_OF_RANGE), NotFoundError for a
 * story that is gone, VersionConflictError. Returns the target's id.
 */
export async function mergeStories(db: Db, input: MergeIds & { expectedVersion: number }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const { sources, target } = checkMergeIds(issues, input, MAX_MERGE_STORIES);
  checkExpectedVersion(issues, input.expectedVersion);
  issues.throwIfAny();
  const stories = [...sources, target];
  return writeTransaction(db, async (tx) => {
    const before = await members(tx, stories);
    await lockRows(tx, 'Article', before, 'FOR UPDATE');
    const versions = await lockStories(tx, stories);
    for (const id of [target, ...sources]) if (!versions.has(id)) throw new NotFoundError('Story', id);
    if (versions.get(target) !== input.expectedVersion)
      throw new VersionConflictError(target, versions.get(target)!, 'Story');
    // an article that joined or left meanwhile: read and lock again
    const now = await members(tx, stories);
    if (now.length !== before.length || now.some((id, i) => id !== before[i])) throw new RetryTransaction();
    await tx.$executeRaw`
      UPDATE "Article" SET "storyId" = ${target}, "storyPinned" = true, "separatedFrom" = '{}',
             "version" = "version" + 1, "updatedAt" = now(), "updatedBy" = ${recordedName(viewer)}
      WHERE "storyId" = ANY(${stories}::int[])
        AND ("storyId" <> ${target} OR NOT "storyPinned" OR cardinality("separatedFrom") > 0)`;
    return { id: target };
  });
}

/**
 * Takes an article out of its story into a story of its own, and pins it there, if it is still at
 * `expectedVersion`; it remembers the articles it was taken from (`separatedFrom`), which the
 * detector then never puts in its story. An article alone in its story is only pinned. NotFoundError,
 * VersionConflictError (the article's), ValidationError (OUT_OF_RANGE). Returns the article's id.
 */
export async function detachArticle(
  db: Db,
  input: { articleId: { id: string | number }; expectedVersion: number },
  viewer: Viewer,
) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  checkExpectedVersion(issues, input.expectedVersion);
  issues.throwIfAny();
  const id = Number(input.articleId.id);
  return writeTransaction(db, async (tx) => {
    const [article] = await tx.$queryRaw<{ version: number; storyId: number; storyPinned: boolean }[]>`
      SELECT "version", "storyId", "storyPinned" FROM "Article" WHERE "id" = ${id} FOR UPDATE`;
    if (!article) throw new NotFoundError('Article', id);
    if (article.version !== input.expectedVersion) throw new VersionConflictError(id, article.version);
    await lockStories(tx, [article.storyId]);
    const others = (
      await tx.$queryRaw<{ id: number }[]>`
        SELECT "id" FROM "Article" WHERE "storyId" = ${article.storyId} AND "id" <> ${id} ORDER BY "id"`
    ).map((row) => row.id);
    if (others.length === 0 && article.storyPinned) return { id };
    const storyId =
      others.length === 0
        ? article.storyId
        : (await tx.$queryRaw<{ id: number }[]>`INSERT INTO "Story" DEFAULT VALUES RETURNING "id"`)[0]!.id;
    await tx.$executeRaw`
      UPDATE "Article" SET "storyId" = ${storyId}, "storyPinned" = true,
             "separatedFrom" = ARRAY(SELECT DISTINCT x FROM unnest("separatedFrom" || ${others}::int[]) AS x ORDER BY x),
             "version" = "version" + 1, "updatedAt" = now(), "updatedBy" = ${recordedName(viewer)}
      WHERE "id" = ${id}`;
    return { id };
  });
}

/**
 * Makes `articleId` the lead of `storyId` (kept while it stays a member), if the story is still at
 * `expectedVersion`. NotFoundError (story or article), VersionConflictError (the story's),
 * ValidationError (NOT_A_MEMBER, OUT_OF_RANGE). Returns the story's id.
 */
export async function setStoryLead(
  db: Db,
  input: { storyId: { id: string | number }; articleId: { id: string | number }; expectedVersion: number },
  viewer: Viewer,
) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  checkExpectedVersion(issues, input.expectedVersion);
  issues.throwIfAny();
  const storyId = Number(input.storyId.id);
  const articleId = Number(input.articleId.id);
  return writeTransaction(db, async (tx) => {
    const [article] = await tx.$queryRaw<{ storyId: number }[]>`
      SELECT "storyId" FROM "Article" WHERE "id" = ${articleId} FOR NO KEY UPDATE`;
    const versions = await lockStories(tx, [storyId]);
    const version = versions.get(storyId);
    if (version === undefined) throw new NotFoundError('Story', storyId);
    if (!article) throw new NotFoundError('Article', articleId);
    if (version !== input.expectedVersion) throw new VersionConflictError(storyId, version, 'Story');
    if (article.storyId !== storyId) {
      issues.add(['input', 'articleId'], 'NOT_A_MEMBER', 'The article is not in this story');
      issues.throwIfAny();
    }
    await tx.$executeRaw`
      UPDATE "Story" SET "leadId" = ${articleId}, "leadChosen" = true, "version" = "version" + 1, "updatedAt" = now()
      WHERE "id" = ${storyId} AND ("leadId" IS DISTINCT FROM ${articleId} OR NOT "leadChosen")`;
    return { id: storyId };
  });
}

/**
 * The advisory lock (namespace, 0) a transaction restoring separations holds, exclusively, from
 * before it looks up the articles they name until it commits: the two records of a separation
 * filed by two transactions at once (two imports) would each miss the other's uncommitted row; one
 * now waits for the other's commit and then sees it.
 */
export const SEPARATION_LOCK = 7407;

/** A new article's separations as an import names them: normalized URLs (see restoreSeparations). */
export interface SeparationKeys {
  articleId: number;
  /** The links of the articles an editor took this one away from (export: `separatedFrom`). */
  from?: readonly string[];
  /** The links of the articles an editor took away from this one (export: `separatedBy`). */
  by?: readonly string[];
}

/**
 * Restores the separations an export wrote (transfer/export.ts) for `articles`, just inserted by
 * this transaction: each link that names an article now (one not in the trash) adds that
 * article's id to the new article's `separatedFrom` (`from`), or the new article's id to that
 * article's (`by`), as detachArticle had; a link naming nothing yet is left to the article it
 * names, whose record names this one the other way when it is filed. When any separation is
 * named, SEPARATION_LOCK is taken first, then the existing articles it adds to are locked (FOR NO
 * KEY UPDATE, ascending): step 1 of the lock order, so call it before the names' locks. One
 * deleted meanwhile is skipped; their version is not moved (nothing a client reads changes). Four
 * statements at most, none without a separation. Returns, for each article of a separation
 * restored, the articles it is now separated from either way (detectNewStories keeps it out of
 * their stories).
 */
export async function restoreSeparations(tx: Tx, articles: readonly SeparationKeys[]): Promise<Map<number, number[]>> {
  const apart = new Map<number, number[]>();
  const named = articles.filter((article) => article.from?.length || article.by?.length);
  if (!named.length) return apart;
  const keys = [...new Set(named.flatMap((article) => [...(article.from ?? []), ...(article.by ?? [])]))];
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SEPARATION_LOCK}::int, 0)`;
  const ids = new Map(
    (
      await tx.$queryRaw<{ urlKey: string; id: number }[]>`
        SELECT "urlKey", "id" FROM "Article"
        WHERE "urlKey" = ANY(ARRAY(SELECT json_array_elements_text(${JSON.stringify(keys)}::json)))`
    ).map((row) => [row.urlKey, row.id]),
  );
  // the article whose separatedFrom gets ids -> those ids
  const adds = new Map<number, Set<number>>();
  const add = (holder: number | undefined, other: number | undefined) => {
    if (holder === undefined || other === undefined || holder === other) return;
    const set = adds.get(holder) ?? new Set<number>();
    set.add(other);
    adds.set(holder, set);
  };
  for (const article of named) {
    for (const key of article.from ?? []) add(article.articleId, ids.get(key));
    for (const key of article.by ?? []) add(ids.get(key), article.articleId);
  }
  if (!adds.size) return apart;
  const own = new Set(articles.map((article) => article.articleId));
  const locked = await lockRows(
    tx,
    'Article',
    [...adds.keys()].filter((id) => !own.has(id)),
  );
  const rows = [...adds]
    .filter(([id]) => own.has(id) || locked.has(id))
    .sort(([x], [y]) => x - y)
    .map(([id, set]) => ({ id, add: [...set] }));
  if (!rows.length) return apart;
  await tx.$executeRaw`
    UPDATE "Article" a
    SET "separatedFrom" = ARRAY(SELECT DISTINCT x FROM unnest(a."separatedFrom" || r."add") AS x ORDER BY x)
    FROM json_to_recordset(${JSON.stringify(rows)}::json) AS r("id" int, "add" int[])
    WHERE a."id" = r."id"`;
  const pair = (article: number, other: number) => {
    const list = apart.get(article);
    if (list) list.push(other);
    else apart.set(article, [other]);
  };
  for (const { id, add: others } of rows) {
    for (const other of others) {
      pair(id, other);
      pair(other, id);
    }
  }
  return apart;
}
