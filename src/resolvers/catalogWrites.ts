import type { Db } from '../db/client.ts';
import { InUseError, NotFoundError, ValidationError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { slugify } from './slugs.ts';
import type { Viewer } from './apiKeys.ts';
import { checkName, checkText, Issues } from './validation.ts';
import { isForeignKeyViolation, isUniqueViolation, requireRole, TRANSACTION, writer } from './writes.ts';

/**
 * Writes to the author and topic catalogues: create, rename, delete (refused while articles
 * use them) and merge (every article moves to the target in one transaction).
 */

type Tx = Prisma.TransactionClient;
type Maybe<T> = T | null | undefined;
type GlobalRef = { id: string | number };

const MAX_MERGE_SOURCES = 50;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const taken = (path: string[], what: string) =>
  new ValidationError([{ path, code: 'TAKEN', message: `Another ${what} already has this value` }]);

// ---------------------------------------------------------------------------------------------
// Authors

export async function createAuthor(db: Db, input: { name: string }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name);
  issues.throwIfAny();
  try {
    return await db.$transaction(async (tx) => {
      if (
        await tx.author.findFirst({ where: { name: { equals: name!, mode: 'insensitive' } }, select: { id: true } })
      ) {
        throw taken(['input', 'name'], 'author');
      }
      return tx.author.create({ data: { name: name! }, select: { id: true } });
    }, TRANSACTION);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(['input', 'name'], 'author');
    throw error;
  }
}

export async function updateAuthor(db: Db, input: { id: GlobalRef; name: string }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name);
  issues.throwIfAny();
  try {
    return await db.$transaction(async (tx) => {
      const clash = await tx.author.findFirst({
        where: { name: { equals: name!, mode: 'insensitive' }, id: { not: id } },
        select: { id: true },
      });
      if (clash) throw taken(['input', 'name'], 'author');
      const { count } = await tx.author.updateMany({ where: { id }, data: { name: name! } });
      if (count === 0) throw new NotFoundError('Author', id);
      return { id };
    }, TRANSACTION);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(['input', 'name'], 'author');
    throw error;
  }
}

export async function deleteAuthor(db: Db, input: { id: GlobalRef }, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const id = Number(input.id.id);
  try {
    return await db.$transaction(async (tx) => {
      const author = await tx.author.findUnique({ where: { id }, select: { id: true } });
      if (!author) throw new NotFoundError('Author', id);
      const used = await tx.articleAuthor.count({ where: { authorId: id } });
      if (used > 0) throw new InUseError('author', used);
      await tx.author.delete({ where: { id } });
      return { id };
    }, TRANSACTION);
  } catch (error) {
    // an article took the author between the check and the delete: the foreign key refuses
    if (isForeignKeyViolation(error))
      throw new InUseError('author', await db.articleAuthor.count({ where: { authorId: id } }));
    throw error;
  }
}

interface MergeInput {
  sourceIds: readonly GlobalRef[];
  targetId: GlobalRef;
}

function checkMerge(input: MergeInput): { sources: number[]; target: number } {
  const issues = new Issues();
  const sources = input.sourceIds.map((ref) => Number(ref.id));
  const target = Number(input.targetId.id);
  if (sources.length === 0) issues.add(['input', 'sourceIds'], 'REQUIRED', 'Name at least one source');
  if (sources.length > MAX_MERGE_SOURCES)
    issues.add(['input', 'sourceIds'], 'TOO_MANY', `At most ${MAX_MERGE_SOURCES} sources`);
  const seen = new Set<number>();
  sources.forEach((id, index) => {
    if (id === target) issues.add(['input', 'sourceIds', index], 'IS_TARGET', 'The target cannot also be a source');
    else if (seen.has(id)) issues.add(['input', 'sourceIds', index], 'DUPLICATE', 'Listed twice');
    seen.add(id);
  });
  issues.throwIfAny();
  return { sources: [...seen].filter((id) => id !== target), target };
}

/** Locks the rows involved (in id order, so concurrent merges cannot deadlock) and checks they exist. */
async function lockAll(tx: Tx, table: 'Author' | 'Topic', ids: number[]): Promise<void> {
  const rows =
    table === 'Author'
      ? await tx.$queryRaw<
          { id: number }[]
        >`SELECT "id" FROM "Author" WHERE "id" = ANY(${ids}::int[]) ORDER BY "id" FOR UPDATE`
      : await tx.$queryRaw<
          { id: number }[]
        >`SELECT "id" FROM "Topic" WHERE "id" = ANY(${ids}::int[]) ORDER BY "id" FOR UPDATE`;
  const found = new Set(rows.map((row) => row.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw new NotFoundError(table, missing);
}

async function touchArticles(tx: Tx, articleIds: number[], viewer: Viewer): Promise<void> {
  if (!articleIds.length) return;
  await tx.article.updateMany({
    where: { id: { in: articleIds } },
    data: { version: { increment: 1 }, updatedAt: new Date(), updatedBy: writer(viewer) },
  });
}

/**
 * Moves every byline of the sources to the target and deletes the sources. In each affected
 * byline the target takes the place of the first of them, the order of the others is kept,
 * and duplicates collapse.
 */
export async function mergeAuthors(db: Db, input: MergeInput, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const { sources, target } = checkMerge(input);
  return db.$transaction(async (tx) => {
    await lockAll(
      tx,
      'Author',
      [target, ...sources].sort((a, b) => a - b),
    );
    const affected = await tx.articleAuthor.findMany({
      where: { article: { authors: { some: { authorId: { in: sources } } } } },
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
    const articleIds = [...bylines.keys()];
    await tx.articleAuthor.deleteMany({ where: { articleId: { in: articleIds } } });
    await tx.articleAuthor.createMany({
      data: [...bylines].flatMap(([articleId, authorIds]) =>
        authorIds.map((authorId, position) => ({ articleId, authorId, position })),
      ),
    });
    await touchArticles(tx, articleIds, viewer);
    await tx.author.deleteMany({ where: { id: { in: sources } } });
    return { id: target, mergedIds: sources, articlesMoved: articleIds.length };
  }, TRANSACTION);
}

// ---------------------------------------------------------------------------------------------
// Topics

function checkSlug(issues: Issues, value: string): string | undefined {
  const slug = checkText(issues, ['input', 'slug'], value, { min: 1, max: 200 });
  if (slug !== undefined && !SLUG.test(slug)) {
    issues.add(['input', 'slug'], 'INVALID_SLUG', 'Lower-case letters and digits in words joined by single hyphens');
    return undefined;
  }
  return slug;
}

function slugFromName(issues: Issues, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const slug = slugify(name);
  if (!slug) issues.add(['input', 'name'], 'INVALID_NAME', 'A topic name needs at least one letter or digit');
  return slug || undefined;
}

async function checkTopicFree(
  tx: Tx,
  name: string | undefined,
  slug: string | undefined,
  except?: number,
): Promise<void> {
  const issues = new Issues();
  const not = except === undefined ? {} : { id: { not: except } };
  if (
    name !== undefined &&
    (await tx.topic.findFirst({ where: { name: { equals: name, mode: 'insensitive' }, ...not }, select: { id: true } }))
  ) {
    issues.add(['input', 'name'], 'TAKEN', 'Another topic already has this name');
  }
  if (slug !== undefined && (await tx.topic.findFirst({ where: { slug, ...not }, select: { id: true } }))) {
    issues.add(['input', 'slug'], 'TAKEN', 'Another topic already has this slug');
  }
  issues.throwIfAny();
}

export async function createTopic(db: Db, input: { name: string; slug?: Maybe<string> }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const name = checkName(issues, ['input', 'name'], input.name);
  const slug = input.slug != null ? checkSlug(issues, input.slug) : slugFromName(issues, name);
  issues.throwIfAny();
  try {
    return await db.$transaction(async (tx) => {
      await checkTopicFree(tx, name, slug);
      return tx.topic.create({ data: { name: name!, slug: slug! }, select: { id: true } });
    }, TRANSACTION);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(['input', 'name'], 'topic');
    throw error;
  }
}

/** Renames a topic; its slug follows the new name unless a slug is given. */
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
  const slug = input.slug != null ? checkSlug(issues, input.slug) : slugFromName(issues, name);
  issues.throwIfAny();
  try {
    return await db.$transaction(async (tx) => {
      await checkTopicFree(tx, name, slug, id);
      const { count } = await tx.topic.updateMany({
        where: { id },
        data: { ...(name ? { name } : {}), ...(slug ? { slug } : {}) },
      });
      if (count === 0) throw new NotFoundError('Topic', id);
      return { id };
    }, TRANSACTION);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(['input', 'name'], 'topic');
    throw error;
  }
}

export async function deleteTopic(db: Db, input: { id: GlobalRef }, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const id = Number(input.id.id);
  try {
    return await db.$transaction(async (tx) => {
      const topic = await tx.topic.findUnique({ where: { id }, select: { id: true } });
      if (!topic) throw new NotFoundError('Topic', id);
      const used = await tx.articleTopic.count({ where: { topicId: id } });
      if (used > 0) throw new InUseError('topic', used);
      await tx.topic.delete({ where: { id } });
      return { id };
    }, TRANSACTION);
  } catch (error) {
    if (isForeignKeyViolation(error))
      throw new InUseError('topic', await db.articleTopic.count({ where: { topicId: id } }));
    throw error;
  }
}

/** Moves every article of the sources to the target (duplicates collapse) and deletes the sources. */
export async function mergeTopics(db: Db, input: MergeInput, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const { sources, target } = checkMerge(input);
  return db.$transaction(async (tx) => {
    await lockAll(
      tx,
      'Topic',
      [target, ...sources].sort((a, b) => a - b),
    );
    const rows = await tx.articleTopic.findMany({
      where: { topicId: { in: sources } },
      select: { articleId: true },
      distinct: ['articleId'],
    });
    const articleIds = rows.map((row) => row.articleId);
    await tx.articleTopic.createMany({
      data: articleIds.map((articleId) => ({ articleId, topicId: target })),
      skipDuplicates: true,
    });
    await tx.articleTopic.deleteMany({ where: { topicId: { in: sources } } });
    await touchArticles(tx, articleIds, viewer);
    await tx.topic.deleteMany({ where: { id: { in: sources } } });
    return { id: target, mergedIds: sources, articlesMoved: articleIds.length };
  }, TRANSACTION);
}
