import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { DuplicateUrlError, NotFoundError, ValidationError, VersionConflictError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { Viewer } from './viewer.ts';
import {
  checkDistinct,
  checkLocked,
  checkRefs,
  LIMITS,
  resolveAuthorRefs,
  resolveTopicRefs,
  type Ref,
  type RefInput,
} from './refs.ts';
import { isHttpUrl, normalizeUrl } from './urls.ts';
import { checkNotNull, checkText, Issues } from './validation.ts';
import { lockRows, requireRole, writer, writeTransaction, type Tx } from './writes.ts';

/**
 * Article writes. Each runs in one transaction (writeTransaction: retried on deadlock or
 * serialization failure, rolled back when the request times out): when any part fails, nothing
 * is written. Inputs are checked in full first, so a ValidationError lists every bad field at
 * once. Rows are locked in the order of writes.ts: the article, then its authors, then its topics.
 */

type Maybe<T> = T | null | undefined;

export const TEXT_LIMITS = {
  url: 2048,
  title: 500,
  source: 200,
  description: 5_000,
  summary: 20_000,
  body: 500_000,
} as const;
/** publishedAt may be at most this far in the future (time zones, embargoed stories). */
const FUTURE_TOLERANCE_MS = 24 * 3_600_000;
const EARLIEST = new Date('1900-01-01T00:00:00Z');

export interface ArticleFieldsInput {
  title?: Maybe<string>;
  url?: Maybe<string>;
  source?: Maybe<string>;
  publishedAt?: Maybe<Date>;
  priority?: Maybe<number>;
  isAustralian?: Maybe<boolean>;
  description?: Maybe<string>;
  summary?: Maybe<string>;
  body?: Maybe<string>;
  authors?: Maybe<readonly RefInput[]>;
}

export interface CreateArticleInput extends ArticleFieldsInput {
  topics?: Maybe<readonly RefInput[]>;
}

export interface TopicsChangeInput {
  set?: Maybe<readonly RefInput[]>;
  add?: Maybe<readonly RefInput[]>;
  remove?: Maybe<readonly RefInput[]>;
}

export interface UpdateArticleInput extends ArticleFieldsInput {
  id: { id: string | number };
  expectedVersion: number;
  topics?: Maybe<TopicsChangeInput>;
}

interface CheckedFields {
  data: {
    title?: string;
    url?: string;
    urlKey?: string;
    source?: string;
    publishedAt?: Date;
    priority?: number;
    isAustralian?: boolean;
    description?: string;
    summary?: string;
    body?: string;
  };
  authors?: Ref[];
}

/** Checks the article fields present in `input`; `required` lists those that must be present. */
function checkFields(issues: Issues, input: ArticleFieldsInput, required: readonly string[], now: Date): CheckedFields {
  const at = (field: string) => ['input', field];
  const data: CheckedFields['data'] = {};
  for (const field of required) {
    if (input[field as keyof ArticleFieldsInput] == null) issues.add(at(field), 'REQUIRED', 'Required');
  }
  if (checkNotNull(issues, at('url'), input.url)) {
    const url = checkText(issues, at('url'), input.url!, { min: 1, max: TEXT_LIMITS.url });
    if (url !== undefined) {
      if (!isHttpUrl(url)) issues.add(at('url'), 'INVALID_URL', 'Must be an absolute http(s) URL');
      else {
        data.url = url;
        data.urlKey = normalizeUrl(url);
      }
    }
  }
  for (const field of ['title', 'source'] as const) {
    if (checkNotNull(issues, at(field), input[field])) {
      const value = checkText(issues, at(field), input[field]!, { min: 1, max: TEXT_LIMITS[field], label: true });
      if (value !== undefined) data[field] = value;
    }
  }
  for (const field of ['description', 'summary', 'body'] as const) {
    if (checkNotNull(issues, at(field), input[field])) {
      const value = input[field]!.normalize('NFC');
      if (value.length > TEXT_LIMITS[field])
        issues.add(at(field), 'TOO_LONG', `Must be at most ${TEXT_LIMITS[field]} characters`);
      else data[field] = value;
    }
  }
  if (checkNotNull(issues, at('priority'), input.priority)) {
    const priority = input.priority!;
    if (!Number.isInteger(priority) || priority < 1 || priority > 5)
      issues.add(at('priority'), 'OUT_OF_RANGE', 'Must be an integer from 1 to 5');
    else data.priority = priority;
  }
  if (checkNotNull(issues, at('publishedAt'), input.publishedAt)) {
    const publishedAt = input.publishedAt!;
    if (publishedAt.getTime() > now.getTime() + FUTURE_TOLERANCE_MS)
      issues.add(at('publishedAt'), 'IN_FUTURE', 'Must not be more than a day in the future');
    else if (publishedAt < EARLIEST) issues.add(at('publishedAt'), 'OUT_OF_RANGE', 'Must not be before 1900');
    else data.publishedAt = publishedAt;
  }
  if (checkNotNull(issues, at('isAustralian'), input.isAustralian)) data.isAustralian = input.isAustralian!;
  const out: CheckedFields = { data };
  if (checkNotNull(issues, at('authors'), input.authors))
    out.authors = checkRefs(issues, at('authors'), input.authors!, LIMITS.authors, 'author');
  return out;
}

/** The author ids of an article's byline, or its topic ids. */
async function linkedIds(tx: Tx, table: 'ArticleAuthor' | 'ArticleTopic', articleId: number): Promise<number[]> {
  if (table === 'ArticleAuthor') {
    return (await tx.articleAuthor.findMany({ where: { articleId }, select: { authorId: true } })).map(
      (r) => r.authorId,
    );
  }
  return (await tx.articleTopic.findMany({ where: { articleId }, select: { topicId: true } })).map((r) => r.topicId);
}

/**
 * Replaces the byline: resolves the refs (creating new names), locks the old and new authors
 * (their article counts change), checks them, then rewrites the rows. `isNew`: the article was
 * just inserted, so it has no byline yet.
 */
async function replaceAuthors(tx: Tx, issues: Issues, articleId: number, refs: Ref[], isNew: boolean): Promise<void> {
  const path = ['input', 'authors'];
  const ids = await resolveAuthorRefs(tx, refs);
  const current = isNew ? [] : await linkedIds(tx, 'ArticleAuthor', articleId);
  checkLocked(await lockRows(tx, 'Author', [...current, ...ids]), issues, path, refs, ids, 'author');
  checkDistinct(issues, path, refs, ids, 'author');
  issues.throwIfAny();
  if (current.length) await tx.articleAuthor.deleteMany({ where: { articleId } });
  const rows = ids.map((authorId, position) => ({ articleId, authorId, position }));
  await tx.articleAuthor.createMany({ data: rows.sort((a, b) => a.authorId - b.authorId) });
}

/** Replaces the topics, as replaceAuthors does the byline. */
async function replaceTopics(
  tx: Tx,
  issues: Issues,
  articleId: number,
  refs: Ref[],
  path: string[],
  isNew: boolean,
): Promise<void> {
  const ids = await resolveTopicRefs(tx, refs);
  const current = isNew ? [] : await linkedIds(tx, 'ArticleTopic', articleId);
  const known = ids.filter((id): id is number => id !== undefined);
  checkLocked(await lockRows(tx, 'Topic', [...current, ...known]), issues, path, refs, ids, 'topic');
  checkDistinct(issues, path, refs, ids, 'topic');
  issues.throwIfAny();
  if (current.length) await tx.articleTopic.deleteMany({ where: { articleId } });
  const sorted = ids.map((topicId) => topicId!).sort((a, b) => a - b);
  await tx.articleTopic.createMany({ data: sorted.map((topicId) => ({ articleId, topicId })) });
}

/** Adds and removes topics, locking the article's current, added and removed topics at once. */
async function changeTopics(tx: Tx, issues: Issues, articleId: number, add: Ref[], remove: Ref[]): Promise<void> {
  const added = await resolveTopicRefs(tx, add);
  const removed = await resolveTopicRefs(tx, remove, { create: false });
  const current = await linkedIds(tx, 'ArticleTopic', articleId);
  const known = [...added, ...removed].filter((id): id is number => id !== undefined);
  const present = await lockRows(tx, 'Topic', [...current, ...known]);
  checkLocked(present, issues, ['input', 'topics', 'add'], add, added, 'topic');
  checkLocked(present, issues, ['input', 'topics', 'remove'], remove, removed, 'topic');
  checkDistinct(issues, ['input', 'topics', 'add'], add, added, 'topic');
  const removing = new Set(removed.filter((topicId): topicId is number => topicId !== undefined));
  add.forEach((ref, i) => {
    if (removing.has(added[i]!))
      issues.add(['input', 'topics', 'add', ref.index], 'CONFLICT', 'Both added and removed');
  });
  issues.throwIfAny();
  if (removing.size) await tx.articleTopic.deleteMany({ where: { articleId, topicId: { in: [...removing] } } });
  await tx.articleTopic.createMany({
    data: added.map((topicId) => ({ articleId, topicId: topicId! })).sort((a, b) => a.topicId - b.topicId),
    skipDuplicates: true,
  });
  const total = await tx.articleTopic.count({ where: { articleId } });
  if (total > LIMITS.topics) {
    throw new ValidationError([
      { path: ['input', 'topics', 'add'], code: 'TOO_MANY', message: `An article has at most ${LIMITS.topics} topics` },
    ]);
  }
}

async function duplicateOf(db: Db, urlKey: string): Promise<DuplicateUrlError> {
  const existing = await db.article.findUnique({ where: { urlKey }, select: { id: true } });
  return new DuplicateUrlError(existing?.id ?? 0);
}

export async function createArticle(db: Db, input: CreateArticleInput, viewer: Viewer, now = new Date()) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const { data, authors } = checkFields(issues, input, ['title', 'url', 'source', 'publishedAt', 'priority'], now);
  const topics = input.topics ? checkRefs(issues, ['input', 'topics'], input.topics, LIMITS.topics, 'topic') : [];
  issues.throwIfAny();
  try {
    const id = await writeTransaction(db, async (tx) => {
      const existing = await tx.article.findUnique({ where: { urlKey: data.urlKey! }, select: { id: true } });
      if (existing) throw new DuplicateUrlError(existing.id);
      const article = await tx.article.create({
        // checkFields has ensured the required fields are present
        data: { ...(data as Prisma.ArticleUncheckedCreateInput), createdBy: writer(viewer), updatedBy: writer(viewer) },
        select: { id: true },
      });
      const found = new Issues();
      await replaceAuthors(tx, found, article.id, authors ?? [], true);
      await replaceTopics(tx, found, article.id, topics, ['input', 'topics'], true);
      return article.id;
    });
    return { id };
  } catch (error) {
    if (isUniqueViolation(error)) throw await duplicateOf(db, data.urlKey!);
    throw error;
  }
}

/**
 * Creates the article, or updates the one whose normalized URL matches, in one statement
 * (INSERT ... ON CONFLICT), so concurrent upserts of the same story make one row. Fields left
 * out keep their values on update; `authors`/`topics`, when given, replace the lists.
 */
export async function upsertArticle(db: Db, input: CreateArticleInput, viewer: Viewer, now = new Date()) {
  requireRole(viewer, 'EDITOR');
  const issues = new Issues();
  const { data, authors } = checkFields(issues, input, ['title', 'url', 'source', 'publishedAt', 'priority'], now);
  const topics = input.topics
    ? checkRefs(issues, ['input', 'topics'], input.topics, LIMITS.topics, 'topic')
    : undefined;
  issues.throwIfAny();
  const by = writer(viewer);
  return writeTransaction(db, async (tx) => {
    const [row] = await tx.$queryRaw<{ id: number; inserted: boolean }[]>`
      INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "priority", "isAustralian",
                             "description", "summary", "body", "createdBy", "updatedBy", "updatedAt")
      VALUES (${data.title}, ${data.url}, ${data.urlKey}, ${data.source}, ${data.publishedAt}, ${data.priority},
              COALESCE(${data.isAustralian ?? null}::boolean, false), COALESCE(${data.description ?? null}::text, ''),
              COALESCE(${data.summary ?? null}::text, ''), COALESCE(${data.body ?? null}::text, ''), ${by}, ${by}, ${now})
      ON CONFLICT ("urlKey") DO UPDATE SET
        "title" = EXCLUDED."title",
        "url" = EXCLUDED."url",
        "source" = EXCLUDED."source",
        "publishedAt" = EXCLUDED."publishedAt",
        "priority" = EXCLUDED."priority",
        "isAustralian" = COALESCE(${data.isAustralian ?? null}::boolean, "Article"."isAustralian"),
        "description" = COALESCE(${data.description ?? null}::text, "Article"."description"),
        "summary" = COALESCE(${data.summary ?? null}::text, "Article"."summary"),
        "body" = COALESCE(${data.body ?? null}::text, "Article"."body"),
        "updatedBy" = EXCLUDED."updatedBy",
        "updatedAt" = EXCLUDED."updatedAt",
        "version" = "Article"."version" + 1
      RETURNING "id", (xmax = 0) AS "inserted"`;
    const { id, inserted } = row!;
    const found = new Issues();
    if (authors || inserted) await replaceAuthors(tx, found, id, authors ?? [], inserted);
    if (topics || inserted) await replaceTopics(tx, found, id, topics ?? [], ['input', 'topics'], inserted);
    return { id, created: inserted };
  });
}

export async function updateArticle(db: Db, input: UpdateArticleInput, viewer: Viewer, now = new Date()) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  const { data, authors } = checkFields(issues, input, [], now);
  if (!Number.isInteger(input.expectedVersion) || input.expectedVersion < 1) {
    issues.add(['input', 'expectedVersion'], 'OUT_OF_RANGE', 'Must be a version you read (1 or more)');
  }
  const topics = input.topics;
  let topicSet: Ref[] | undefined;
  let topicAdd: Ref[] = [];
  let topicRemove: Ref[] = [];
  if (checkNotNull(issues, ['input', 'topics'], topics)) {
    if (topics!.set != null && (topics!.add != null || topics!.remove != null)) {
      issues.add(['input', 'topics'], 'INVALID_CHANGE', 'Give "set" alone, or "add" and/or "remove"');
    }
    if (topics!.set != null)
      topicSet = checkRefs(issues, ['input', 'topics', 'set'], topics!.set, LIMITS.topics, 'topic');
    if (topics!.add != null)
      topicAdd = checkRefs(issues, ['input', 'topics', 'add'], topics!.add, LIMITS.topics, 'topic');
    if (topics!.remove != null)
      topicRemove = checkRefs(issues, ['input', 'topics', 'remove'], topics!.remove, LIMITS.topics, 'topic');
  }
  if (Object.keys(data).length === 0 && !authors && topics == null && issues.empty) {
    issues.add(['input'], 'NOTHING_TO_UPDATE', 'Give at least one field to change');
  }
  issues.throwIfAny();
  try {
    await writeTransaction(db, async (tx) => {
      if (data.urlKey) {
        const other = await tx.article.findUnique({ where: { urlKey: data.urlKey }, select: { id: true } });
        if (other && other.id !== id) throw new DuplicateUrlError(other.id);
      }
      const { count } = await tx.article.updateMany({
        where: { id, version: input.expectedVersion },
        data: { ...data, version: { increment: 1 }, updatedAt: now, updatedBy: writer(viewer) },
      });
      if (count === 0) {
        const current = await tx.article.findUnique({ where: { id }, select: { version: true } });
        if (!current) throw new NotFoundError('Article', id);
        throw new VersionConflictError(id, current.version);
      }
      const found = new Issues();
      if (authors) await replaceAuthors(tx, found, id, authors, false);
      if (topicSet) await replaceTopics(tx, found, id, topicSet, ['input', 'topics', 'set'], false);
      if (topicAdd.length || topicRemove.length) await changeTopics(tx, found, id, topicAdd, topicRemove);
    });
  } catch (error) {
    if (data.urlKey && isUniqueViolation(error)) throw await duplicateOf(db, data.urlKey);
    throw error;
  }
  return { id };
}

/** Deletes an article; the article, then its authors and topics (whose counts drop) are locked first. */
export async function deleteArticle(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const id = Number(input.id.id);
  await writeTransaction(db, async (tx) => {
    if (!(await lockRows(tx, 'Article', [id], 'FOR UPDATE')).size) throw new NotFoundError('Article', id);
    await lockRows(tx, 'Author', await linkedIds(tx, 'ArticleAuthor', id));
    await lockRows(tx, 'Topic', await linkedIds(tx, 'ArticleTopic', id));
    await tx.article.delete({ where: { id } });
  });
  return { id };
}
