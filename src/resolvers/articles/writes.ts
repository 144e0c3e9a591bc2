import type { Db } from '../../db/client.ts';
import { recordBefore, recordCreated } from '../alerts/events.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { intArray } from '../../db/arrays.ts';
import {
  ArticleInTrashError,
  DuplicateUrlError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
  type FieldIssue,
} from '../../errors.ts';
import {
  recordCreatedRevisions,
  recordRevisions,
  stateAtVersion,
  type LinkedName,
  type RevisionAction,
} from './revisions.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Viewer } from '../access/viewer.ts';
import {
  checkDistinct,
  checkLocked,
  checkRefs,
  MAX_LINKS_PER_ARTICLE,
  resolveAuthorRefs,
  resolveTopicRefs,
  type Ref,
  type RefInput,
} from '../writing/references.ts';
import { applyStoryDecisions, detectStory, lockBucketsBeforeChange, placeInStoryOf } from '../stories/detect.ts';
import { restoreSeparations } from '../stories/writes.ts';
import { checkUrl, normalizeUrl } from './urls.ts';
import { checkExpectedVersion, checkNotNull, checkText, Issues } from '../writing/validation.ts';
import {
  lockRows,
  requireRole,
  RetryTransaction,
  recordedName,
  writeTransaction,
  type Tx,
} from '../writing/transaction.ts';
import { INT4 } from '../../db/ranges.ts';

/**
 * Article writes. Each runs in one transaction (writeTransaction: retried on deadlock or
 * serialization failure, rolled back when the request times out): when any part fails, nothing
 * is written. Inputs are checked in full first, so a ValidationError lists every bad field at
 * once. Rows are locked in the order of writing/transaction.ts: the article, then its authors, then its topics.
 */

type Maybe<T> = T | null | undefined;

/** Longest value of each article text field, in characters (code points) after trimming (checkText). */
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

/**
 * The article fields createArticle, upsertArticle and updateArticle share. Absent: not given; null
 * is refused (REQUIRED). `authors` is the byline, in order.
 */
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

/**
 * Input of createArticle and upsertArticle: title, url, source, publishedAt and priority are
 * required; `topics` are the article's topics (order irrelevant).
 */
export interface CreateArticleInput extends ArticleFieldsInput {
  topics?: Maybe<readonly RefInput[]>;
}

/**
 * How updateArticle changes the topics: `set` replaces them all; or `add` and/or `remove` edit
 * them (INVALID_CHANGE when `set` comes with either).
 */
export interface TopicsChangeInput {
  set?: Maybe<readonly RefInput[]>;
  add?: Maybe<readonly RefInput[]>;
  remove?: Maybe<readonly RefInput[]>;
}

/**
 * Input of updateArticle: the article (decoded global ID), the version the client read
 * (`expectedVersion`, 1 or more), and only the fields to change.
 */
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
    // null: checkNotNull below says so, once
    if (input[field as keyof ArticleFieldsInput] === undefined) issues.add(at(field), 'REQUIRED', 'Required');
  }
  if (checkNotNull(issues, at('url'), input.url)) {
    const url = checkText(issues, at('url'), input.url!, { min: 1, max: TEXT_LIMITS.url });
    if (url !== undefined) {
      const checked = checkUrl(url);
      if ('problem' in checked) issues.add(at('url'), 'INVALID_URL', checked.problem);
      else if (checked.href.length > TEXT_LIMITS.url) {
        // what is stored, exported and imported again is the written form: it must fit too
        issues.add(
          at('url'),
          'TOO_LONG',
          `Must be at most ${TEXT_LIMITS.url} characters as written in a URL, non-ASCII characters percent-encoded (got ${checked.href.length})`,
        );
      } else {
        const urlKey = normalizeUrl(checked.href);
        // the key percent-encodes what the written form leaves raw (`|`, `[`, a stray `%`...),
        // three characters for one; within this bound it always fits its unique index (a btree
        // entry holds at most 2,704 bytes, and the key is ASCII)
        if (urlKey.length > TEXT_LIMITS.url) {
          issues.add(
            at('url'),
            'TOO_LONG',
            `Must be at most ${TEXT_LIMITS.url} characters with the characters URLs do not allow raw (such as | [ ] ^ { } and a % that starts no encoding) percent-encoded (got ${urlKey.length})`,
          );
        } else {
          data.url = checked.href;
          data.urlKey = urlKey;
        }
      }
    }
  }
  for (const field of ['title', 'source'] as const) {
    if (checkNotNull(issues, at(field), input[field])) {
      // one-line labels: line breaks and runs of spaces become one space
      const value = checkText(issues, at(field), input[field]!, {
        min: 1,
        max: TEXT_LIMITS[field],
        label: true,
        collapse: true,
      });
      if (value !== undefined) data[field] = value;
    }
  }
  for (const field of ['description', 'summary', 'body'] as const) {
    // long text keeps its inner spacing and line breaks; it is measured as stored (trimmed), and
    // nothing visible in it is the same as empty
    if (checkNotNull(issues, at(field), input[field])) {
      const value = checkText(issues, at(field), input[field]!, { max: TEXT_LIMITS[field] });
      if (value !== undefined) data[field] = value;
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
    out.authors = checkRefs(issues, at('authors'), input.authors!, MAX_LINKS_PER_ARTICLE.authors, 'author');
  return out;
}

/** The author ids of an article's byline in order, or its topic ids (ascending). */
async function linkedIds(tx: Tx, table: 'ArticleAuthor' | 'ArticleTopic', articleId: number): Promise<number[]> {
  if (table === 'ArticleAuthor') {
    const rows = await tx.articleAuthor.findMany({
      where: { articleId },
      orderBy: { position: 'asc' },
      select: { authorId: true },
    });
    return rows.map((row) => row.authorId);
  }
  const rows = await tx.articleTopic.findMany({
    where: { articleId },
    orderBy: { topicId: 'asc' },
    select: { topicId: true },
  });
  return rows.map((row) => row.topicId);
}

const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Replaces the byline: resolves the refs (creating new names), locks the old and new authors
 * (their article counts change), checks them, then rewrites the rows, unless the byline is the
 * same. `isNew`: the article was just inserted, so it has no byline yet. Returns whether it changed.
 */
async function replaceAuthors(
  tx: Tx,
  issues: Issues,
  articleId: number,
  refs: Ref[],
  isNew: boolean,
): Promise<boolean> {
  const path = ['input', 'authors'];
  const ids = await resolveAuthorRefs(tx, refs);
  const current = isNew ? [] : await linkedIds(tx, 'ArticleAuthor', articleId);
  checkLocked(await lockRows(tx, 'Author', [...current, ...ids]), issues, path, refs, ids, 'author');
  checkDistinct(issues, path, refs, ids, 'author');
  issues.throwIfAny();
  if (sameList(ids, current)) return false;
  if (current.length) await tx.articleAuthor.deleteMany({ where: { articleId } });
  const rows = ids.map((authorId, position) => ({ articleId, authorId, position }));
  await tx.articleAuthor.createMany({ data: rows.sort((a, b) => a.authorId - b.authorId) });
  return true;
}

/** Replaces the topics, as replaceAuthors does the byline; returns whether they changed. */
async function replaceTopics(
  tx: Tx,
  issues: Issues,
  articleId: number,
  refs: Ref[],
  path: string[],
  isNew: boolean,
): Promise<boolean> {
  const ids = await resolveTopicRefs(tx, refs);
  const current = isNew ? [] : await linkedIds(tx, 'ArticleTopic', articleId);
  const known = ids.filter((id): id is number => id !== undefined);
  checkLocked(await lockRows(tx, 'Topic', [...current, ...known]), issues, path, refs, ids, 'topic');
  checkDistinct(issues, path, refs, ids, 'topic');
  issues.throwIfAny();
  const sorted = ids.map((topicId) => topicId!).sort((a, b) => a - b);
  if (sameList(sorted, current)) return false;
  if (current.length) await tx.articleTopic.deleteMany({ where: { articleId } });
  await tx.articleTopic.createMany({ data: sorted.map((topicId) => ({ articleId, topicId })) });
  return true;
}

/**
 * Adds and removes topics, locking the article's current, added and removed topics at once.
 * Returns whether the topics changed (adding one it has, or removing one it lacks, does not).
 */
async function changeTopics(tx: Tx, issues: Issues, articleId: number, add: Ref[], remove: Ref[]): Promise<boolean> {
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
  const has = new Set(current);
  const dropping = [...removing].filter((topicId) => has.has(topicId));
  const adding = [...new Set(added.map((topicId) => topicId!))].filter((topicId) => !has.has(topicId));
  if (current.length - dropping.length + adding.length > MAX_LINKS_PER_ARTICLE.topics) {
    throw new ValidationError([
      {
        path: ['input', 'topics', 'add'],
        code: 'TOO_MANY',
        message: `An article has at most ${MAX_LINKS_PER_ARTICLE.topics} topics`,
      },
    ]);
  }
  if (dropping.length) await tx.articleTopic.deleteMany({ where: { articleId, topicId: { in: dropping } } });
  if (adding.length) {
    await tx.articleTopic.createMany({ data: adding.sort((a, b) => a - b).map((topicId) => ({ articleId, topicId })) });
  }
  return dropping.length > 0 || adding.length > 0;
}

type Column = keyof CheckedFields['data'];

/** The changes an update asks for, beyond the article's columns. */
interface LinkChanges {
  authors?: Ref[];
  topicSet?: Ref[];
  topicAdd?: Ref[];
  topicRemove?: Ref[];
}

/**
 * Applies `data` and the byline and topic changes to the article, which is locked first
 * (FOR UPDATE: the lock order's first step). Only what differs from the article is written, and
 * only then do `version` and `updatedAt` move: an update that changes nothing leaves the article
 * exactly as it was. NotFoundError when it is gone; VersionConflictError when `expectedVersion`
 * is given and the article is at another version. A change is recorded as a revision (`action`).
 * Returns the columns that changed, and whether anything did (columns or links).
 */
async function applyChanges(
  tx: Tx,
  id: number,
  data: CheckedFields['data'],
  links: LinkChanges,
  by: string | null,
  now: Date,
  expectedVersion?: number,
  action: Exclude<RevisionAction, 'CREATED' | 'MERGED'> = 'UPDATED',
): Promise<{ columns: Column[]; changed: boolean }> {
  const columns = Object.keys(data) as Column[];
  const selected = Prisma.raw(['"version"', ...columns.map((column) => `"${column}"`)].join(', '));
  const [current] = await tx.$queryRaw<(Record<Column, unknown> & { version: number })[]>`
    SELECT ${selected} FROM "Article" WHERE "id" = ${id} FOR UPDATE`;
  if (!current) throw new NotFoundError('Article', id);
  if (expectedVersion !== undefined && current.version !== expectedVersion) {
    throw new VersionConflictError(id, current.version);
  }
  const recorded = await recordBefore(tx, [id]);
  const same = (a: unknown, b: unknown) =>
    a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
  const changed = Object.fromEntries(
    columns.filter((column) => !same(current[column], data[column])).map((c) => [c, data[c]]),
  );
  const found = new Issues();
  let linksChanged = false;
  if (links.authors) linksChanged = (await replaceAuthors(tx, found, id, links.authors, false)) || linksChanged;
  if (links.topicSet) {
    linksChanged =
      (await replaceTopics(tx, found, id, links.topicSet, ['input', 'topics', 'set'], false)) || linksChanged;
  }
  if (links.topicAdd?.length || links.topicRemove?.length) {
    linksChanged = (await changeTopics(tx, found, id, links.topicAdd ?? [], links.topicRemove ?? [])) || linksChanged;
  }
  if (!linksChanged && Object.keys(changed).length === 0) {
    await recorded([]);
    return { columns: [], changed: false };
  }
  // the detector's buckets before the UPDATE locks the story (lockBucketsBeforeChange)
  if (STORY_COLUMNS.some((column) => column in changed)) {
    await lockBucketsBeforeChange(tx, id, {
      title: changed.title as string | undefined,
      body: changed.body as string | undefined,
    });
  }
  await tx.article.update({
    where: { id },
    data: { ...changed, version: { increment: 1 }, updatedAt: now, updatedBy: by },
    select: { id: true },
  });
  await recordRevisions(tx, await recorded([id]), action, by);
  return { columns: Object.keys(changed) as Column[], changed: true };
}

/** The columns whose change makes the story detector look at an article again. */
const STORY_COLUMNS: readonly Column[] = ['title', 'body', 'publishedAt'];

/** Runs the story detector when a change touched what it reads (detectStory, step 6 of the lock order). */
async function redetect(tx: Tx, id: number, changed: readonly Column[]): Promise<void> {
  if (changed.some((column) => STORY_COLUMNS.includes(column))) await detectStory(tx, id);
}

/** The text and date of a new article, as stored (absent long texts are empty). */
export function newText(data: CheckedFields['data']) {
  return {
    title: data.title!,
    body: data.body ?? '',
    publishedAt: data.publishedAt!,
  };
}

/**
 * Refuses a link whose article is in the trash (ArticleInTrashError). Run after the write's
 * insert or URL change: that waits for a concurrent deleteArticle of the article holding the
 * link, whose trash row this statement then sees.
 */
async function checkNotTrashed(tx: Tx, urlKey: string): Promise<void> {
  const [trashed] = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "TrashedArticle" WHERE "urlKey" = ${urlKey}`;
  if (trashed) throw new ArticleInTrashError(trashed.id);
}

async function duplicateOf(db: Db, urlKey: string): Promise<DuplicateUrlError> {
  const existing = await db.article.findUnique({ where: { urlKey }, select: { id: true } });
  return new DuplicateUrlError(existing?.id ?? 0);
}

/**
 * The fields of a new article (create or upsert), checked in full: all of them given and valid,
 * `topics` (undefined when not given) within MAX_LINKS_PER_ARTICLE. ValidationError listing every
 * problem at once.
 */
export function checkNewArticle(input: CreateArticleInput, now: Date) {
  const issues = new Issues();
  const { data, authors } = checkFields(issues, input, ['title', 'url', 'source', 'publishedAt', 'priority'], now);
  const topics = input.topics
    ? checkRefs(issues, ['input', 'topics'], input.topics, MAX_LINKS_PER_ARTICLE.topics, 'topic')
    : undefined;
  issues.throwIfAny();
  return { data, authors, topics };
}

/**
 * Files a new article (EDITOR) with its byline and topics, creating authors and topics named for
 * the first time; returns `{ id }`. `now` bounds publishedAt (at most 24 h ahead). ValidationError
 * (REQUIRED, TOO_LONG, INVALID_URL, OUT_OF_RANGE, IN_FUTURE, TOO_MANY, INVALID_REF, NOT_FOUND,
 * DUPLICATE...), DuplicateUrlError when an article has the same normalized URL.
 */
export async function createArticle(db: Db, input: CreateArticleInput, viewer: Viewer, now = new Date()) {
  requireRole(viewer, 'EDITOR');
  const checked = checkNewArticle(input, now);
  const { data, authors } = checked;
  const topics = checked.topics ?? [];
  try {
    const id = await writeTransaction(db, async (tx) => {
      const existing = await tx.article.findUnique({ where: { urlKey: data.urlKey! }, select: { id: true } });
      if (existing) throw new DuplicateUrlError(existing.id);
      const article = await tx.article.create({
        // checkFields has ensured the required fields are present
        data: {
          ...(data as Prisma.ArticleUncheckedCreateInput),
          createdBy: recordedName(viewer),
          updatedBy: recordedName(viewer),
        },
        select: { id: true },
      });
      await checkNotTrashed(tx, data.urlKey!);
      const found = new Issues();
      await replaceAuthors(tx, found, article.id, authors ?? [], true);
      await replaceTopics(tx, found, article.id, topics, ['input', 'topics'], true);
      await detectStory(tx, article.id, undefined, newText(data));
      await recordCreated(tx, [article.id]);
      await recordCreatedRevisions(tx, [article.id], recordedName(viewer));
      return article.id;
    });
    return { id };
  } catch (error) {
    if (isUniqueViolation(error)) throw await duplicateOf(db, data.urlKey!);
    throw error;
  }
}

/** The normalized form of a link an import names (checkUrl, then normalizeUrl), or why it is not one. */
function linkKey(url: string): { key: string } | { problem: string } {
  const checked = checkUrl(url);
  return 'problem' in checked ? checked : { key: normalizeUrl(checked.href) };
}

/** The normalized URL of an import's `story` (see upsertArticle); ValidationError INVALID_URL at `input.story`. */
export function storyKeyOf(storyOf: string): string {
  const link = linkKey(storyOf);
  if ('problem' in link) {
    throw new ValidationError([{ path: ['input', 'story'], code: 'INVALID_URL', message: link.problem }]);
  }
  return link.key;
}

/** An import's separations (transfer/export.ts: `separatedFrom`, `separatedBy`): lists of URLs. */
export interface SeparationUrls {
  separatedFrom?: readonly string[];
  separatedBy?: readonly string[];
}

/**
 * Most URLs in one of an import's separation lists (an article separated from more articles than
 * this, all members of one story once, is not imported): a batch holds its records' lists in memory
 * three times over.
 */
export const MAX_SEPARATIONS = 10_000;

/**
 * The normalized URLs of an import's separations (see restoreSeparations), duplicates dropped;
 * ValidationError INVALID_URL at `input.separatedFrom.N` / `input.separatedBy.N` for every one
 * that is not an http(s) URL, TOO_MANY at `input.separatedFrom` / `input.separatedBy` for a list
 * of more than MAX_SEPARATIONS.
 */
export function separationKeysOf(urls: SeparationUrls): { from: string[]; by: string[] } {
  const issues = new Issues();
  const keysOf = (field: 'separatedFrom' | 'separatedBy') => {
    const keys = new Set<string>();
    const list = urls[field] ?? [];
    if (list.length > MAX_SEPARATIONS) {
      issues.add(['input', field], 'TOO_MANY', `At most ${MAX_SEPARATIONS} URLs (got ${list.length})`);
      return [];
    }
    list.forEach((url, index) => {
      const link = linkKey(url);
      if ('problem' in link) issues.add(['input', field, index], 'INVALID_URL', link.problem);
      else keys.add(link.key);
    });
    return [...keys];
  };
  const keys = { from: keysOf('separatedFrom'), by: keysOf('separatedBy') };
  issues.throwIfAny();
  return keys;
}

/** What an import's record says besides CreateArticleInput (see upsertArticle). */
export type ImportedPlacement = { storyOf?: string; storyPinned?: boolean; storyLead?: boolean } & SeparationUrls;

/**
 * checkNewArticle for an import's record, with its `story` (storyKeyOf) and separations
 * (separationKeysOf): one ValidationError with every issue of the three. Returns checkNewArticle's
 * result, `storyKey` (the normalized URL of `storyOf`) and `separations` (normalized URLs).
 */
export function checkImportedArticle(input: CreateArticleInput, placement: ImportedPlacement, now: Date) {
  const found: FieldIssue[] = [];
  const collect = <T>(check: () => T): T | undefined => {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      found.push(...error.fields);
      return undefined;
    }
  };
  const checked = collect(() => checkNewArticle(input, now));
  const storyKey = collect(() => (placement.storyOf === undefined ? undefined : storyKeyOf(placement.storyOf)));
  const separations = collect(() => separationKeysOf(placement));
  if (found.length) throw new ValidationError(found);
  return { ...checked!, storyKey, separations: separations! };
}

/**
 * Creates the article, or updates the one whose normalized URL matches (INSERT ... ON CONFLICT,
 * so concurrent upserts of the same story make one row). Fields left out keep their values on
 * update; `authors`/`topics`, when given, replace the lists. Filing the same story again with
 * nothing new changes nothing, not even its version. Returns `{ id, created, changed }` (changed:
 * false when it was filed already exactly so). `storyOf` (imports of exported records): a new
 * article joins the story of the article with that URL (its own URL: a story of its own) instead
 * of the detector's choice, when that article exists; `storyPinned` pins a new article where it
 * was placed, `storyLead` makes it its story's chosen lead unless one is chosen already
 * (applyStoryDecisions); `separatedFrom` and `separatedBy` restore an editor's separations
 * (restoreSeparations). None of these changes an article filed before, but for the separations a
 * new article's record names (added to the other article's `separatedFrom`). ValidationError,
 * ArticleInTrashError.
 */
export async function upsertArticle(
  db: Db,
  input: CreateArticleInput,
  viewer: Viewer,
  now = new Date(),
  options: ImportedPlacement = {},
) {
  requireRole(viewer, 'EDITOR');
  const { data, authors, topics, storyKey, separations } = checkImportedArticle(input, options, now);
  const by = recordedName(viewer);
  return writeTransaction(db, async (tx) => {
    const [row] = await tx.$queryRaw<{ id: number }[]>`
      INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "priority", "isAustralian",
                             "description", "summary", "body", "createdBy", "updatedBy", "updatedAt")
      VALUES (${data.title}, ${data.url}, ${data.urlKey}, ${data.source}, ${data.publishedAt}, ${data.priority},
              COALESCE(${data.isAustralian ?? null}::boolean, false), COALESCE(${data.description ?? null}::text, ''),
              COALESCE(${data.summary ?? null}::text, ''), COALESCE(${data.body ?? null}::text, ''), ${by}, ${by}, ${now})
      ON CONFLICT ("urlKey") DO NOTHING
      RETURNING "id"`;
    if (row) {
      await checkNotTrashed(tx, data.urlKey!);
      await restoreSeparations(tx, [{ articleId: row.id, ...separations }]);
      const found = new Issues();
      await replaceAuthors(tx, found, row.id, authors ?? [], true);
      await replaceTopics(tx, found, row.id, topics ?? [], ['input', 'topics'], true);
      const placed = storyKey !== undefined && (await placeInStoryOf(tx, row.id, storyKey, newText(data)));
      if (!placed) await detectStory(tx, row.id, undefined, newText(data));
      await applyStoryDecisions(tx, [{ articleId: row.id, pinned: options.storyPinned, lead: options.storyLead }]);
      await recordCreated(tx, [row.id]);
      await recordCreatedRevisions(tx, [row.id], by);
      return { id: row.id, created: true, changed: true };
    }
    // filed before (possibly by a transaction that just committed): update it in place
    const existing = await tx.article.findUnique({ where: { urlKey: data.urlKey! }, select: { id: true } });
    if (!existing) throw new RetryTransaction(); // deleted since the insert looked
    let applied: Awaited<ReturnType<typeof applyChanges>>;
    try {
      applied = await applyChanges(tx, existing.id, data, { authors, topicSet: topics }, by, now);
    } catch (error) {
      if (error instanceof NotFoundError) throw new RetryTransaction();
      throw error;
    }
    await redetect(tx, existing.id, applied.columns);
    return { id: existing.id, created: false, changed: applied.changed };
  });
}

/**
 * Changes the given fields of an article (EDITOR): `authors` replaces the byline, `topics` as in
 * TopicsChangeInput; returns `{ id }`. Only what differs is written; an update that changes nothing
 * leaves `version` and `updatedAt` as they were. ValidationError (as createArticle, plus
 * NOTHING_TO_UPDATE, INVALID_CHANGE, CONFLICT), DuplicateUrlError, NotFoundError,
 * VersionConflictError when the article is no longer at `expectedVersion`.
 */
export async function updateArticle(db: Db, input: UpdateArticleInput, viewer: Viewer, now = new Date()) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  const { data, authors } = checkFields(issues, input, [], now);
  checkExpectedVersion(issues, input.expectedVersion);
  const topics = input.topics;
  let topicSet: Ref[] | undefined;
  let topicAdd: Ref[] = [];
  let topicRemove: Ref[] = [];
  if (checkNotNull(issues, ['input', 'topics'], topics)) {
    if (topics!.set != null && (topics!.add != null || topics!.remove != null)) {
      issues.add(['input', 'topics'], 'INVALID_CHANGE', 'Give "set" alone, or "add" and/or "remove"');
    }
    if (topics!.set != null)
      topicSet = checkRefs(issues, ['input', 'topics', 'set'], topics!.set, MAX_LINKS_PER_ARTICLE.topics, 'topic');
    if (topics!.add != null)
      topicAdd = checkRefs(issues, ['input', 'topics', 'add'], topics!.add, MAX_LINKS_PER_ARTICLE.topics, 'topic');
    if (topics!.remove != null)
      topicRemove = checkRefs(
        issues,
        ['input', 'topics', 'remove'],
        topics!.remove,
        MAX_LINKS_PER_ARTICLE.topics,
        'topic',
      );
  }
  const topicChange = topicSet !== undefined || topicAdd.length > 0 || topicRemove.length > 0;
  if (Object.keys(data).length === 0 && !authors && !topicChange && issues.empty) {
    issues.add(['input'], 'NOTHING_TO_UPDATE', 'Give at least one field to change');
  }
  issues.throwIfAny();
  try {
    await writeTransaction(db, async (tx) => {
      if (data.urlKey) {
        const other = await tx.article.findUnique({ where: { urlKey: data.urlKey }, select: { id: true } });
        if (other && other.id !== id) throw new DuplicateUrlError(other.id);
      }
      const links = { authors, topicSet, topicAdd, topicRemove };
      const { columns } = await applyChanges(tx, id, data, links, recordedName(viewer), now, input.expectedVersion);
      if (columns.includes('urlKey')) await checkNotTrashed(tx, data.urlKey!);
      await redetect(tx, id, columns);
    });
  } catch (error) {
    if (data.urlKey && isUniqueViolation(error)) throw await duplicateOf(db, data.urlKey);
    throw error;
  }
  return { id };
}

/**
 * The names of an article's links as the trash keeps them, `[{ id, name }]`, in the order
 * Article.authors and Article.topics list them: the byline in order, topics by name (as the
 * database collates it).
 */
const LINKS_JSON = {
  authors: Prisma.sql`(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', o."id", 'name', o."name") ORDER BY j."position"), '[]'::jsonb)
      FROM "ArticleAuthor" j JOIN "Author" o ON o."id" = j."authorId" WHERE j."articleId" = a."id")`,
  topics: Prisma.sql`(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', o."id", 'name', o."name") ORDER BY o."name", o."id"), '[]'::jsonb)
      FROM "ArticleTopic" j JOIN "Topic" o ON o."id" = j."topicId" WHERE j."articleId" = a."id")`,
};

/**
 * Moves an article to the trash (EDITOR): its row and links go to TrashedArticle, under its id, and
 * it leaves Article, so every read path, count, rollup and story loses it (their triggers run as
 * for a deletion). The article, then its authors and topics (whose counts drop) are locked first.
 * Its revisions stay. NotFoundError when there is no such live article. Returns `{ id }`.
 */
export async function deleteArticle(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  await writeTransaction(db, async (tx) => {
    if (!(await lockRows(tx, 'Article', [id], 'FOR UPDATE')).size) throw new NotFoundError('Article', id);
    await lockRows(tx, 'Author', await linkedIds(tx, 'ArticleAuthor', id));
    await lockRows(tx, 'Topic', await linkedIds(tx, 'ArticleTopic', id));
    await tx.$executeRaw`
      INSERT INTO "TrashedArticle" ("id", "urlKey", "title", "source", "publishedAt", "row", "authors", "topics", "deletedBy")
      SELECT a."id", a."urlKey", a."title", a."source", a."publishedAt", to_jsonb(a) - 'searchVector',
             ${LINKS_JSON.authors}, ${LINKS_JSON.topics}, ${recordedName(viewer)}
      FROM "Article" a WHERE a."id" = ${id}`;
    await tx.article.delete({ where: { id } });
  });
  return { id };
}

/**
 * Refs to the linked rows a trashed article or a revision names: by id while it exists; else the
 * author or topic it was merged into (AuthorMerge, TopicMerge) while that exists; else the one
 * that has its old name now; else by that name (created anew). Links that now name one row (or
 * one new name) collapse into the first, as a merge collapses them. A link with neither row nor
 * name is NOT_FOUND in `issues`.
 */
async function refsOf(
  tx: Tx,
  table: 'Author' | 'Topic',
  linked: readonly { id: number; name: string | null }[],
  issues: Issues,
  path: string[],
): Promise<Ref[]> {
  const rows = linked.length
    ? await tx.$queryRaw<{ now: number | null; key: string | null }[]>`
        SELECT COALESCE(x."id", t."id", k."id") AS "now", "newsgraph_name_key"(l."name") AS "key"
        FROM unnest(${intArray(linked.map((link) => link.id))}::int[], ${linked.map((link) => link.name)}::text[])
             WITH ORDINALITY AS l("id", "name", "i")
        LEFT JOIN ${Prisma.raw(`"${table}"`)} x ON x."id" = l."id"
        LEFT JOIN ${Prisma.raw(`"${table}Merge"`)} m ON x."id" IS NULL AND m."fromId" = l."id"
        LEFT JOIN ${Prisma.raw(`"${table}"`)} t ON t."id" = m."intoId"
        LEFT JOIN ${Prisma.raw(`"${table}"`)} k
               ON x."id" IS NULL AND t."id" IS NULL AND k."nameKey" = "newsgraph_name_key"(l."name")
        ORDER BY l."i"`
    : [];
  const seen = new Set<string>();
  const refs: RefInput[] = [];
  linked.forEach((link, i) => {
    const { now, key } = rows[i]!;
    if (now === null && (link.name === null || key === null)) {
      issues.add(
        [...path, String(i), 'id'],
        'NOT_FOUND',
        `No such ${table.toLowerCase()}, and no name to link instead`,
      );
      return;
    }
    const identity = now !== null ? `id:${now}` : `key:${key}`;
    if (seen.has(identity)) return;
    seen.add(identity);
    refs.push(now !== null ? { id: { id: now } } : { name: link.name! });
  });
  const kind = table === 'Author' ? 'author' : 'topic';
  return checkRefs(issues, path, refs, MAX_LINKS_PER_ARTICLE[`${kind}s`], kind);
}

/**
 * Runs `link` (linking the refs refsOf made) and turns its NOT_FOUND and DUPLICATE link issues into
 * RetryTransaction: refsOf names only rows that existed and collapses repeats, so either means an
 * author or topic was merged, deleted or renamed since it read them; the next attempt follows that.
 */
async function linkRestored<T>(link: () => Promise<T>): Promise<T> {
  try {
    return await link();
  } catch (error) {
    const raced =
      error instanceof ValidationError &&
      error.fields.every(
        (issue) =>
          (issue.path[1] === 'authors' || issue.path[1] === 'topics') &&
          (issue.code === 'NOT_FOUND' || issue.code === 'DUPLICATE'),
      );
    if (raced) throw new RetryTransaction();
    throw error;
  }
}

/**
 * For restoreArticle, once the links are back: when they are not the ones trashed (an author or
 * topic merged meanwhile came back as the one it was merged into, one deleted meanwhile as a new
 * row of its name), the article changed, so it gets a new version (updatedAt, updatedBy) and its
 * revision (RESTORED, the links it had as previous values), as a merge of a live article makes one.
 */
async function recordRelinked(
  tx: Tx,
  id: number,
  trashed: { authors: LinkedName[]; topics: LinkedName[] },
  by: string | null,
): Promise<void> {
  const [now] = await tx.$queryRaw<{ authors: number[]; topics: number[] }[]>`
    SELECT ARRAY(SELECT "authorId" FROM "ArticleAuthor" WHERE "articleId" = ${id} ORDER BY "position") AS "authors",
           ARRAY(SELECT "topicId" FROM "ArticleTopic" WHERE "articleId" = ${id} ORDER BY "topicId") AS "topics"`;
  const differs = (was: readonly LinkedName[], ids: readonly number[]) =>
    was.length !== ids.length || was.some((link, i) => link.id !== ids[i]);
  // topics are a set: the trash keeps them A-Z (older rows by id), revisions list them by id
  const topics = [...trashed.topics].sort((a, b) => a.id - b.id);
  const changes = {
    ...(differs(trashed.authors, now!.authors) ? { authors: trashed.authors } : {}),
    ...(differs(topics, now!.topics) ? { topics } : {}),
  };
  if (!Object.keys(changes).length) return;
  await tx.$executeRaw`
    WITH "touched" AS (
      UPDATE "Article" SET "version" = "version" + 1, "updatedAt" = now(), "updatedBy" = ${by}
      WHERE "id" = ${id} RETURNING "version"
    )
    INSERT INTO "ArticleRevision" ("articleId", "version", "action", "by", "changes")
    SELECT ${id}, t."version", 'RESTORED', ${by}, ${JSON.stringify(changes)}::jsonb FROM "touched" t`;
}

/**
 * Takes an article out of the trash (EDITOR), as it was, under its id and version: its byline and
 * topics come back (an author or topic merged meanwhile as the one it was merged into; one
 * deleted meanwhile by its old name, created anew when no one has it; either way, then, under a
 * new version with its revision: recordRelinked); it rejoins its story when
 * an editor had placed it there and the story still exists, else the story detector places it. Subscribers and webhooks see it as
 * created. NotFoundError when it is not in the trash (restored or purged meanwhile);
 * DuplicateUrlError when a live article now has its link. Returns `{ id }`.
 */
export async function restoreArticle(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  try {
    await writeTransaction(db, async (tx) => {
      const [trashed] = await tx.$queryRaw<
        { row: Record<string, unknown>; authors: LinkedName[]; topics: LinkedName[]; urlKey: string }[]
      >`DELETE FROM "TrashedArticle" WHERE "id" = ${id} RETURNING "row", "authors", "topics", "urlKey"`;
      if (!trashed) throw new NotFoundError('Article', id);
      const live = await tx.article.findUnique({ where: { urlKey: trashed.urlKey }, select: { id: true } });
      if (live) throw new DuplicateUrlError(live.id);
      await tx.$executeRaw`
        INSERT INTO "Article" ("id", "title", "url", "urlKey", "source", "publishedAt", "createdAt", "updatedAt",
          "priority", "isAustralian", "description", "summary", "body", "version", "createdBy", "updatedBy",
          "storyId", "storyPinned", "separatedFrom")
        SELECT r."id", r."title", r."url", ${trashed.urlKey}, r."source", r."publishedAt", r."createdAt", r."updatedAt",
          r."priority", r."isAustralian", r."description", r."summary", r."body", r."version", r."createdBy", r."updatedBy",
          NULL, false, r."separatedFrom"
        FROM jsonb_populate_record(NULL::"Article", ${trashed.row}::jsonb) r`;
      const issues = new Issues();
      const authors = await refsOf(tx, 'Author', trashed.authors, issues, ['input', 'authors']);
      const topics = await refsOf(tx, 'Topic', trashed.topics, issues, ['input', 'topics']);
      issues.throwIfAny();
      await linkRestored(async () => {
        await replaceAuthors(tx, issues, id, authors, true);
        await replaceTopics(tx, issues, id, topics, ['input', 'topics'], true);
      });
      await recordRelinked(tx, id, trashed, recordedName(viewer));
      if (!(await rejoinPinnedStory(tx, id, trashed.row))) await detectStory(tx, id);
      await recordCreated(tx, [id]);
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      const [row] = await db.$queryRaw<{ urlKey: string }[]>`SELECT "urlKey" FROM "TrashedArticle" WHERE "id" = ${id}`;
      if (row) throw await duplicateOf(db, row.urlKey);
    }
    throw error;
  }
  return { id };
}

/**
 * Puts a restored article (inserted by this transaction into a story of its own, its authors and
 * topics linked) back into the story an editor had pinned it to, when its trashed `row` was pinned
 * and that story still exists; true when it did. The story is locked after the article's authors
 * and topics (step 7 of the lock order): inserting the article straight into it locked the story
 * (its triggers) before them, which deadlocked with a write holding those topics and waiting for
 * the story, and an existence check without a lock met a story a concurrent merge was deleting
 * (23503 on commit: a 500). The story of its own, left empty, is deleted by the triggers.
 */
async function rejoinPinnedStory(tx: Tx, id: number, row: Record<string, unknown>): Promise<boolean> {
  const storyId = row.storyPinned === true && typeof row.storyId === 'number' ? row.storyId : null;
  if (storyId === null) return false;
  // waits for a merge or deletion of the story to commit; then sees it gone
  const [story] = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "Story" WHERE "id" = ${storyId} FOR NO KEY UPDATE`;
  if (!story) return false;
  await tx.$executeRaw`UPDATE "Article" SET "storyId" = ${storyId}, "storyPinned" = true WHERE "id" = ${id}`;
  return true;
}

/**
 * Deletes a trashed article for good (ADMIN), with its revisions. NotFoundError when it is not in
 * the trash (a live article must be trashed first). Returns `{ id }`.
 */
export async function purgeArticle(db: Db, input: { id: { id: string | number } }, viewer: Viewer) {
  requireRole(viewer, 'ADMIN');
  const id = Number(input.id.id);
  await writeTransaction(db, async (tx) => {
    const deleted = await tx.$executeRaw`DELETE FROM "TrashedArticle" WHERE "id" = ${id}`;
    if (!deleted) throw new NotFoundError('Article', id);
    await tx.$executeRaw`DELETE FROM "ArticleRevision" WHERE "articleId" = ${id}`;
  });
  return { id };
}

/**
 * Purges the articles trashed before `before` (the schedule of TRASH_RETENTION_DAYS), at most
 * `limit` per call, oldest first, with their revisions; returns how many. Reads only when none
 * is due (an idle embedded owner writes nothing).
 */
export async function purgeExpiredTrash(db: Db, before: Date, limit = 1_000): Promise<number> {
  const due = await db.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "TrashedArticle" WHERE "deletedAt" < ${before} ORDER BY "deletedAt", "id" LIMIT ${limit}`;
  if (!due.length) return 0;
  const ids = due.map((row) => row.id);
  return writeTransaction(
    db,
    async (tx) => {
      const gone = await tx.$queryRaw<{ id: number }[]>`
        DELETE FROM "TrashedArticle" WHERE "id" = ANY(${ids}::int[]) AND "deletedAt" < ${before} RETURNING "id"`;
      const purged = gone.map((row) => row.id);
      if (purged.length) await tx.$executeRaw`DELETE FROM "ArticleRevision" WHERE "articleId" = ANY(${purged}::int[])`;
      return purged.length;
    },
    { bookkeeping: true },
  );
}

/**
 * Brings back article `id` as it was at `version` (EDITOR), as a new version (revision RESTORED),
 * if it is still at `expectedVersion`. Its fields, byline and topics become those of that version
 * (an author or topic merged since as the one it was merged into; one deleted since by its old
 * name). Nothing changes, and no version is made, when it already is in that state.
 * NotFoundError (no such article, or no revision made `version`: see stateAtVersion),
 * VersionConflictError, ValidationError (a value the current limits refuse), DuplicateUrlError or
 * ArticleInTrashError (its old link is another article's now).
 */
export async function restoreArticleVersion(
  db: Db,
  input: { id: { id: string | number }; version: number; expectedVersion: number },
  viewer: Viewer,
  now = new Date(),
) {
  requireRole(viewer, 'EDITOR');
  const id = Number(input.id.id);
  const issues = new Issues();
  checkExpectedVersion(issues, input.expectedVersion);
  if (!Number.isInteger(input.version) || input.version < 1 || input.version > INT4.max) {
    issues.add(['input', 'version'], 'OUT_OF_RANGE', `Must be an integer from 1 to ${INT4.max}`);
  }
  issues.throwIfAny();
  try {
    await writeTransaction(db, async (tx) => {
      if (!(await lockRows(tx, 'Article', [id], 'FOR UPDATE')).size) throw new NotFoundError('Article', id);
      const state = await stateAtVersion(tx, id, input.version);
      const found = new Issues();
      const { data } = checkFields(
        found,
        {
          title: state.title as string,
          url: state.url as string,
          source: state.source as string,
          publishedAt: new Date(state.publishedAt as string),
          priority: state.priority as number,
          isAustralian: state.isAustralian as boolean,
          description: state.description as string,
          summary: state.summary as string,
          body: state.body as string,
        },
        [],
        new Date(Math.max(now.getTime(), new Date(state.publishedAt as string).getTime())),
      );
      const authors = await refsOf(tx, 'Author', state.authors, found, ['input', 'authors']);
      const topicSet = await refsOf(tx, 'Topic', state.topics, found, ['input', 'topics']);
      found.throwIfAny();
      if (data.urlKey) {
        const other = await tx.article.findUnique({ where: { urlKey: data.urlKey }, select: { id: true } });
        if (other && other.id !== id) throw new DuplicateUrlError(other.id);
      }
      const by = recordedName(viewer);
      const { columns } = await linkRestored(() =>
        applyChanges(tx, id, data, { authors, topicSet }, by, now, input.expectedVersion, 'RESTORED'),
      );
      if (columns.includes('urlKey')) await checkNotTrashed(tx, data.urlKey!);
      await redetect(tx, id, columns);
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      const state = await stateAtVersion(db, id, input.version).catch(() => null);
      if (state) throw await duplicateOf(db, normalizeUrl(state.url as string));
    }
    throw error;
  }
  return { id };
}
