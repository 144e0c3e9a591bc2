import pg from 'pg';
import { config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { RequestTimedOut, type RequestDeadline } from '../../deadline.ts';
import { currentDeadline } from '../../requestScope.ts';
import { AppError, ArticleInTrashError, ValidationError, type FieldIssue } from '../../errors.ts';
import { intArray } from '../../db/arrays.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Viewer } from '../access/viewer.ts';
import { recordCreated } from '../alerts/events.ts';
import { applyStoryDecisions, detectNewStories, storeNewFingerprints } from '../stories/detect.ts';
import { restoreSeparations } from '../stories/writes.ts';
import { resolveAuthorRefs, resolveTopicRefs, type Ref } from '../writing/references.ts';
import {
  lockRows,
  recordedName,
  requireRole,
  RetryTransaction,
  writeTransaction,
  type Tx,
} from '../writing/transaction.ts';
import { recordCreatedRevisions, REVISION_FIELDS } from './revisions.ts';
import {
  checkImportedArticle,
  checkNewArticle,
  newText,
  upsertArticle,
  type CreateArticleInput,
  type SeparationUrls,
} from './writes.ts';

/**
 * Many upserts at once (the bulk import): each item means exactly what upsertArticle means for it
 * (the same checks, the same URL-keyed upsert, the same codes), but the new articles of a batch
 * are filed in one transaction with set-based statements (their rows, their bylines and topics,
 * the names they create, their events and revisions), and the ones already filed exactly so are
 * recognised by one read and left alone. Only what a batch cannot settle this way (an article
 * that changes, a link filed twice in one batch, a row another writer inserted meanwhile) goes
 * through upsertArticle one by one, after the batch commits, in input order.
 *
 * Locks follow writing/transaction.ts: the new articles (inserted in URL order), the separation
 * lock and the existing articles their separations name (ascending: restoreSeparations), the name
 * locks of new authors, the authors (ascending), the topic names, the topics, then each article's
 * story buckets and story, article by article, as the detector takes them.
 */

/**
 * One record of a batch: upsertArticle's input, and the import's story fields and separations
 * (see upsertArticle's options).
 */
export interface BulkItem extends SeparationUrls {
  input: CreateArticleInput;
  /** The id the article gets if this batch creates it: one reserveArticleIds drew, never a client's. */
  id?: number;
  storyOf?: string;
  storyPinned?: boolean;
  storyLead?: boolean;
}

/** What became of one item: filed (created, updated or already so, with its id), or refused. */
export type BulkResult =
  { status: 'created' | 'updated' | 'unchanged'; id: number } | { status: 'rejected'; error: AppError };

type Checked = ReturnType<typeof checkNewArticle> & {
  index: number;
  id?: number;
  storyKey?: string;
  storyPinned?: boolean;
  storyLead?: boolean;
  separations: { from: string[]; by: string[] };
};

/** How long a batch's statements may wait for a lock, or run, in seconds. */
const BATCH_WAIT_S = 120;

/** The article columns a record gives (REVISION_FIELDS but the links). */
const COLUMNS = REVISION_FIELDS.filter(
  (field): field is Exclude<(typeof REVISION_FIELDS)[number], 'authors' | 'topics'> =>
    field !== 'authors' && field !== 'topics',
);

interface ExistingRow {
  id: number;
  urlKey: string;
  title: string;
  url: string;
  source: string;
  publishedAt: Date;
  priority: number;
  isAustralian: boolean;
  description: string;
  summary: string;
  body: string;
  authors: number[];
  topics: number[];
}

/**
 * Name keys already computed by the database's `newsgraph_name_key` (an IMMUTABLE function, so a
 * name's key never changes): an import names the same few thousand people and topics again and
 * again, and the function costs about half a millisecond per call. Emptied past MAX_KEYS.
 */
const keys = new Map<string, string>();
const MAX_KEYS = 100_000;

/** The identity of each name (its key, as the unique index has it) and the id of the row that has it now, if any. */
async function nameIds(
  tx: Tx,
  table: 'Author' | 'Topic',
  names: readonly string[],
): Promise<Map<string, { key: string; id?: number }>> {
  const distinct = [...new Set(names)];
  if (!distinct.length) return new Map();
  const unknown = distinct.filter((name) => !keys.has(name));
  if (unknown.length) {
    if (keys.size + unknown.length > MAX_KEYS) keys.clear();
    const rows = await tx.$queryRaw<{ name: string; key: string }[]>`
      SELECT n AS "name", "newsgraph_name_key"(n) AS "key" FROM unnest(${unknown}::text[]) AS n`;
    for (const row of rows) keys.set(row.name, row.key);
  }
  const wanted = [...new Set(distinct.map((name) => keys.get(name)!))];
  const rows = await tx.$queryRaw<{ key: string; id: number }[]>`
    SELECT "nameKey" AS "key", "id" FROM ${Prisma.raw(`"${table}"`)} WHERE "nameKey" = ANY(${wanted}::text[])`;
  const ids = new Map(rows.map((row) => [row.key, row.id]));
  return new Map(distinct.map((name) => [name, { key: keys.get(name)!, id: ids.get(keys.get(name)!) }]));
}

/** The identity of a ref: its id, or its name's key (for one not yet created). */
function identity(ref: Ref, names: Map<string, { key: string; id?: number }>): string {
  if ('id' in ref) return `id:${ref.id}`;
  const found = names.get(ref.name)!;
  return found.id !== undefined ? `id:${found.id}` : `key:${found.key}`;
}

/** The refs' problems upsertArticle would find: an id that names nothing (NOT_FOUND), the same author or topic twice (DUPLICATE). */
function refIssues(
  refs: Ref[] | undefined,
  path: 'authors' | 'topics',
  names: Map<string, { key: string; id?: number }>,
  present: ReadonlySet<number>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const ref of refs ?? []) {
    if ('id' in ref && !present.has(ref.id)) {
      issues.push({ path: ['input', path, String(ref.index), 'id'], code: 'NOT_FOUND', message: 'No such id' });
      continue;
    }
    const key = identity(ref, names);
    if (seen.has(key)) {
      issues.push({ path: ['input', path, String(ref.index)], code: 'DUPLICATE', message: 'Listed twice' });
    }
    seen.add(key);
  }
  return issues;
}

const same = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;

/** True when upsertArticle would change nothing of `row` for `item`: every given field equal, the given byline and topics the same. */
function unchanged(
  item: Checked,
  row: ExistingRow,
  authorNames: Map<string, { key: string; id?: number }>,
  topicNames: Map<string, { key: string; id?: number }>,
): boolean {
  for (const column of COLUMNS) {
    const value = item.data[column];
    if (value !== undefined && !same(value, row[column])) return false;
  }
  const ids = (refs: Ref[], names: Map<string, { key: string; id?: number }>) =>
    refs.map((ref) => ('id' in ref ? ref.id : names.get(ref.name)?.id));
  if (item.authors) {
    const authors = ids(item.authors, authorNames);
    if (authors.length !== row.authors.length || authors.some((id, i) => id !== row.authors[i])) return false;
  }
  if (item.topics) {
    const topics = ids(item.topics, topicNames);
    if (topics.some((id) => id === undefined)) return false;
    const sorted = [...new Set(topics as number[])].sort((a, b) => a - b);
    if (sorted.length !== topics.length || sorted.length !== row.topics.length) return false;
    if (sorted.some((id, i) => id !== row.topics[i])) return false;
  }
  return true;
}

/**
 * Draws ids from the Article sequence, in the given order, for the links (normalized URLs, as
 * `urlKey`) neither filed nor in the trash now: the ids a batch's new articles get (BulkItem.id),
 * so that batches filed at once number their articles in the order they were read, whichever
 * reaches its insert first. A link filed meanwhile by another writer leaves its id unused (a gap,
 * as a rolled-back insert leaves). One statement; on a second run of a file, no id is drawn.
 */
export async function reserveArticleIds(db: Db, urlKeys: readonly string[]): Promise<Map<string, number>> {
  if (!urlKeys.length) return new Map();
  const rows = await db.$queryRaw<{ urlKey: string; id: number }[]>`
    SELECT k."urlKey", nextval(pg_get_serial_sequence('"Article"', 'id'))::int AS "id"
    FROM unnest(${urlKeys}::text[]) WITH ORDINALITY AS k("urlKey", "n")
    WHERE NOT EXISTS (SELECT FROM "Article" a WHERE a."urlKey" = k."urlKey")
      AND NOT EXISTS (SELECT FROM "TrashedArticle" t WHERE t."urlKey" = k."urlKey")
    ORDER BY k."n"`;
  return new Map(rows.map((row) => [row.urlKey, row.id]));
}

/**
 * Upserts `items` as upsertArticle would one by one (EDITOR), and returns each one's result in
 * order; an item's refusal (ValidationError, ArticleInTrashError) is its result, never the
 * batch's. Throws only what no item caused: ForbiddenError, a database failure.
 */
export async function upsertArticles(
  db: Db,
  items: readonly BulkItem[],
  viewer: Viewer,
  now = new Date(),
): Promise<BulkResult[]> {
  requireRole(viewer, 'EDITOR');
  const results: (BulkResult | undefined)[] = new Array(items.length);
  const checked: Checked[] = [];
  const claimed = new Set<string>();
  const oneByOne: number[] = [];
  items.forEach((item, index) => {
    try {
      const { storyKey, separations, ...fields } = checkImportedArticle(item.input, item, now);
      // a link twice in one batch: the later one goes after, as its own upsert
      if (claimed.has(fields.data.urlKey!)) oneByOne.push(index);
      else {
        claimed.add(fields.data.urlKey!);
        checked.push({
          ...fields,
          index,
          id: item.id,
          storyKey,
          storyPinned: item.storyPinned,
          storyLead: item.storyLead,
          separations,
        });
      }
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results[index] = { status: 'rejected', error };
    }
  });
  const by = recordedName(viewer);
  if (checked.length) {
    const deadline = currentDeadline();
    let settled: Map<number, BulkResult | 'later'>;
    try {
      settled = await writeTransaction(
        db,
        async (tx) => {
          const stop = deadline ? await cancelOnExpiry(tx, deadline) : undefined;
          try {
            return await fileBatch(tx, checked, by, now);
          } finally {
            stop?.();
          }
        },
        // its lock waits are BATCH_WAIT_S long already (fileBatch)
        { lockWaits: 'fail' },
      );
    } catch (error) {
      // cancelled (cancelOnExpiry), or failed after the request was answered 503: rolled back
      if (deadline?.isExpired) throw new RequestTimedOut();
      throw error;
    }
    for (const [index, result] of settled) {
      if (result === 'later') oneByOne.push(index);
      else results[index] = result;
    }
  }
  for (const index of oneByOne.sort((a, b) => a - b)) {
    const item = items[index]!;
    try {
      const result = await upsertArticle(db, item.input, viewer, now, {
        storyOf: item.storyOf,
        storyPinned: item.storyPinned,
        storyLead: item.storyLead,
        separatedFrom: item.separatedFrom,
        separatedBy: item.separatedBy,
      });
      results[index] = {
        status: result.created ? 'created' : result.changed ? 'updated' : 'unchanged',
        id: result.id,
      };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results[index] = { status: 'rejected', error };
    }
  }
  return results as BulkResult[];
}

/** How many times a batch looks its names up again when a row vanished before it was locked, before it starts over. */
const NAME_ATTEMPTS = 10;

/**
 * The author and topic ids of `created`'s refs (each list flattened in item order), every one
 * locked for the rest of the transaction, in the lock order (writing/transaction.ts): author
 * names being created, authors ascending, topic names, topics ascending. Names are looked up
 * again here, as the batch's first read may be seconds old. A name's row merged or deleted
 * between the lookup and its lock (a writer held it and committed meanwhile) rolls this part back
 * to a savepoint, which releases its name locks, rows and row locks, and looks the names up again;
 * the batch's articles stay inserted. Throws RetryTransaction (the whole batch again, whose checks
 * then refuse what is wrong) when a row named by id is gone, when one article's byline or topics
 * now name one row twice (a rename made a name ref the row an id ref names), or after NAME_ATTEMPTS.
 */
async function lockLinks(tx: Tx, created: Checked[]): Promise<{ authorIds: number[]; topicIds: number[] }> {
  const authorRefs = created.flatMap((item) => item.authors ?? []);
  const topicRefs = created.flatMap((item) => item.topics ?? []);
  const names = (refs: Ref[]) => refs.flatMap((ref) => ('name' in ref ? [ref.name] : []));
  const idsOf = async (
    refs: Ref[],
    known: Map<string, { key: string; id?: number }>,
    create: (refs: Ref[]) => Promise<(number | undefined)[]>,
  ) => {
    const fresh = refs.filter((ref) => 'name' in ref && known.get(ref.name)!.id === undefined);
    const made = fresh.length ? await create(fresh) : [];
    const byName = new Map(fresh.map((ref, i) => ['name' in ref ? ref.name : '', made[i]!]));
    return refs.map((ref) => ('id' in ref ? ref.id : (known.get(ref.name)!.id ?? byName.get(ref.name)!)));
  };
  await tx.$executeRaw`SAVEPOINT "newsgraph_batch_names"`;
  for (let attempt = 1; ; attempt++) {
    let ids: { authorIds: number[]; topicIds: number[] } | undefined;
    let restart = false;
    try {
      const authorIds = await idsOf(authorRefs, await nameIds(tx, 'Author', names(authorRefs)), (refs) =>
        resolveAuthorRefs(tx, refs),
      );
      const lockedAuthors = await lockRows(tx, 'Author', authorIds);
      const topicIds = await idsOf(topicRefs, await nameIds(tx, 'Topic', names(topicRefs)), (refs) =>
        resolveTopicRefs(tx, refs),
      );
      const lockedTopics = await lockRows(tx, 'Topic', topicIds);
      const gone = [
        ...authorRefs.filter((_, i) => !lockedAuthors.has(authorIds[i]!)),
        ...topicRefs.filter((_, i) => !lockedTopics.has(topicIds[i]!)),
      ];
      if (!gone.length) ids = { authorIds, topicIds };
      restart = gone.some((ref) => 'id' in ref);
    } catch (error) {
      // a name that vanished between its insert and its read (resolveAuthorRefs): this part again
      if (!(error instanceof RetryTransaction)) throw error;
    }
    if (ids) {
      await tx.$executeRaw`RELEASE SAVEPOINT "newsgraph_batch_names"`;
      let a = 0;
      let t = 0;
      for (const item of created) {
        const byline = ids.authorIds.slice(a, (a += item.authors?.length ?? 0));
        const tags = ids.topicIds.slice(t, (t += item.topics?.length ?? 0));
        if (new Set(byline).size !== byline.length || new Set(tags).size !== tags.length) throw new RetryTransaction();
      }
      return ids;
    }
    if (restart || attempt >= NAME_ATTEMPTS) throw new RetryTransaction();
    // the savepoint stays: each look again starts from it
    await tx.$executeRaw`ROLLBACK TO SAVEPOINT "newsgraph_batch_names"`;
  }
}

/**
 * On a PostgreSQL server, cancels the statement `tx` is running when the request is answered 503
 * REQUEST_TIMEOUT (deadline.ts): a batch may wait up to BATCH_WAIT_S for locks, holding its
 * connection and the locks it has, for a commit the deadline will refuse. The cancel goes
 * through a connection of its own (the pool may be what is exhausted) and names the backend and
 * its transaction id, so it never reaches another transaction on that backend. Returns its
 * removal, for when the transaction ends. On the embedded database, nothing: its one connection
 * runs one statement at a time, so a batch never waits for another's locks.
 */
async function cancelOnExpiry(tx: Tx, deadline: RequestDeadline): Promise<(() => void) | undefined> {
  const target = config().database;
  if (target.kind !== 'postgres') return undefined;
  const [self] = await tx.$queryRaw<{ pid: number; xid: string }[]>`
    SELECT pg_backend_pid() AS "pid", (pg_current_xact_id()::text::bigint & 4294967295)::text AS "xid"`;
  return deadline.onExpire(() => {
    const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 5_000 });
    void client
      .connect()
      .then(() =>
        client.query(
          `SELECT pg_cancel_backend("pid") FROM pg_stat_activity WHERE "pid" = $1 AND "backend_xid"::text = $2`,
          [self!.pid, self!.xid],
        ),
      )
      .catch(() => undefined)
      .finally(() => void client.end().catch(() => undefined));
  });
}

/** One attempt at a batch, inside its transaction: the results it settles, by item index ('later': one by one). */
async function fileBatch(
  tx: Tx,
  batch: Checked[],
  by: string | null,
  now: Date,
): Promise<Map<number, BulkResult | 'later'>> {
  // a batch may wait its turn behind another batch's rows and the story detector's lock for longer
  // than an API request should (LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS): this transaction's own limits
  await tx.$executeRaw`SELECT set_config('lock_timeout', ${`${BATCH_WAIT_S}s`}, true),
                              set_config('statement_timeout', ${`${BATCH_WAIT_S}s`}, true)`;
  const settled = new Map<number, BulkResult | 'later'>();
  const keys = batch.map((item) => item.data.urlKey!);
  const trashed = new Map(
    (
      await tx.$queryRaw<{ id: number; urlKey: string }[]>`
        SELECT "id", "urlKey" FROM "TrashedArticle" WHERE "urlKey" = ANY(${keys}::text[])`
    ).map((row) => [row.urlKey, row.id]),
  );
  const existing = new Map(
    (
      await tx.$queryRaw<ExistingRow[]>`
        SELECT a."id", a."urlKey", a."title", a."url", a."source", a."publishedAt", a."priority", a."isAustralian",
               a."description", a."summary", a."body",
               ARRAY(SELECT j."authorId" FROM "ArticleAuthor" j WHERE j."articleId" = a."id" ORDER BY j."position") AS "authors",
               ARRAY(SELECT j."topicId" FROM "ArticleTopic" j WHERE j."articleId" = a."id" ORDER BY j."topicId") AS "topics"
        FROM "Article" a WHERE a."urlKey" = ANY(${keys}::text[])`
    ).map((row) => [row.urlKey, row]),
  );
  const names = (kind: 'authors' | 'topics') =>
    batch.flatMap((item) => (item[kind] ?? []).flatMap((ref) => ('name' in ref ? [ref.name] : [])));
  const authorNames = await nameIds(tx, 'Author', names('authors'));
  const topicNames = await nameIds(tx, 'Topic', names('topics'));
  const idRefs = (kind: 'authors' | 'topics') =>
    batch.flatMap((item) => (item[kind] ?? []).flatMap((ref) => ('id' in ref ? [ref.id] : [])));

  const fresh: Checked[] = [];
  for (const item of batch) {
    const key = item.data.urlKey!;
    const trashedId = trashed.get(key);
    const row = existing.get(key);
    if (trashedId !== undefined)
      settled.set(item.index, { status: 'rejected', error: new ArticleInTrashError(trashedId) });
    else if (row) {
      settled.set(
        item.index,
        unchanged(item, row, authorNames, topicNames) ? { status: 'unchanged', id: row.id } : 'later',
      );
    } else fresh.push(item);
  }
  if (!fresh.length) return settled;

  // the ids the new articles' refs name must exist; read, not locked: lockLinks locks them with the
  // rows the names resolve to, after the name locks (the lock order), and starts over if one went
  const present = async (table: 'Author' | 'Topic', ids: number[]) =>
    new Set(
      ids.length
        ? (
            await tx.$queryRaw<{ id: number }[]>`
              SELECT "id" FROM ${Prisma.raw(`"${table}"`)} WHERE "id" = ANY(${intArray(ids)}::int[])`
          ).map((row) => row.id)
        : [],
    );
  const presentAuthors = await present('Author', idRefs('authors'));
  const presentTopics = await present('Topic', idRefs('topics'));
  const filing: Checked[] = [];
  for (const item of fresh) {
    const issues = [
      ...refIssues(item.authors, 'authors', authorNames, presentAuthors),
      ...refIssues(item.topics, 'topics', topicNames, presentTopics),
    ];
    if (issues.length) settled.set(item.index, { status: 'rejected', error: new ValidationError(issues) });
    else filing.push(item);
  }
  if (!filing.length) return settled;

  // the rows, in URL order (two batches never wait for each other's links in a cycle), their ids
  // numbered in the records' order first (reserved by the import across its batches, else drawn
  // here): articles published at one instant keep the order they had (an export lists them so) and
  // so their story's default lead, the earliest then the first filed (the sort postpones nextval
  // past ORDER BY, as it does every volatile output column)
  // one JSON parameter for the rows (see db/arrays.ts: Prisma encodes array parameters element by element)
  const rows = JSON.stringify(
    filing.map(({ data, id }) => ({
      id: id ?? null,
      title: data.title,
      url: data.url,
      urlKey: data.urlKey,
      source: data.source,
      publishedAt: data.publishedAt,
      priority: data.priority,
      isAustralian: data.isAustralian ?? false,
      description: data.description ?? '',
      summary: data.summary ?? '',
      body: data.body ?? '',
    })),
  );
  const inserted = await tx.$queryRaw<{ id: number; urlKey: string; storyId: number }[]>`
    WITH r AS MATERIALIZED (
      SELECT coalesce(r."reserved", nextval(pg_get_serial_sequence('"Article"', 'id'))::int) AS "id", r.*
      FROM ROWS FROM (json_to_recordset(${rows}::json)
             AS ("id" int, "title" text, "url" text, "urlKey" text, "source" text, "publishedAt" timestamptz,
                 "priority" smallint, "isAustralian" boolean, "description" text, "summary" text, "body" text))
           WITH ORDINALITY
           AS r("reserved", "title", "url", "urlKey", "source", "publishedAt", "priority", "isAustralian", "description",
                "summary", "body", "n")
      ORDER BY r."n")
    INSERT INTO "Article" ("id", "title", "url", "urlKey", "source", "publishedAt", "priority", "isAustralian",
                           "description", "summary", "body", "createdBy", "updatedBy", "updatedAt")
    SELECT r."id", r."title", r."url", r."urlKey", r."source", r."publishedAt", r."priority", r."isAustralian",
           r."description", r."summary", r."body", ${by}::text, ${by}::text, ${now}::timestamptz
    FROM r
    ORDER BY r."urlKey" COLLATE "C"
    ON CONFLICT ("urlKey") DO NOTHING
    RETURNING "id", "urlKey", "storyId"`;
  const ids = new Map(inserted.map((row) => [row.urlKey, row.id]));
  const stories = new Map(inserted.map((row) => [row.id, row.storyId]));
  const created = filing.filter((item) => ids.has(item.data.urlKey!));
  // filed by another writer since the read above: an update, one by one
  for (const item of filing) if (!ids.has(item.data.urlKey!)) settled.set(item.index, 'later');
  if (!created.length) return settled;
  // trashed by a writer that committed while these waited on its row's link: read again from the start
  const [raced] = await tx.$queryRaw<{ id: number }[]>`
    SELECT "id" FROM "TrashedArticle" WHERE "urlKey" = ANY(${created.map((item) => item.data.urlKey!)}::text[]) LIMIT 1`;
  if (raced) throw new RetryTransaction();
  // the articles the records' separations name (step 1 of the lock order, as the rows above)
  const apart = await restoreSeparations(
    tx,
    created.map((item) => ({ articleId: ids.get(item.data.urlKey!)!, ...item.separations })),
  );

  // what concerns only the new articles' own rows, before the locks other writers wait for
  // (authors, topics, the detector lock), so that a batch holds those for as little as it can
  created.sort((x, y) => x.index - y.index);
  const createdIds = created.map((item) => ids.get(item.data.urlKey!)!);
  await recordCreated(tx, createdIds);
  await recordCreatedRevisions(tx, createdIds, by);
  const newArticles = created.map((item) => {
    const articleId = ids.get(item.data.urlKey!)!;
    return {
      articleId,
      storyId: stories.get(articleId)!,
      text: newText(item.data),
      storyKey: item.storyKey,
      apart: apart.get(articleId),
    };
  });
  const prints = await storeNewFingerprints(tx, newArticles);

  const { authorIds, topicIds } = await lockLinks(tx, created);
  const bylines: { articleId: number; authorId: number; position: number }[] = [];
  const tags: { articleId: number; topicId: number }[] = [];
  let a = 0;
  let t = 0;
  for (const item of created) {
    const articleId = ids.get(item.data.urlKey!)!;
    for (const [position] of (item.authors ?? []).entries())
      bylines.push({ articleId, authorId: authorIds[a++]!, position });
    for (const _ of item.topics ?? []) tags.push({ articleId, topicId: topicIds[t++]! });
  }
  bylines.sort((x, y) => x.authorId - y.authorId || x.articleId - y.articleId);
  tags.sort((x, y) => x.topicId - y.topicId || x.articleId - y.articleId);
  if (bylines.length) {
    await tx.$executeRaw`
      INSERT INTO "ArticleAuthor" ("articleId", "authorId", "position")
      SELECT * FROM unnest(${intArray(bylines.map((b) => b.articleId))}::int[], ${intArray(bylines.map((b) => b.authorId))}::int[],
                           ${intArray(bylines.map((b) => b.position))}::smallint[])`;
  }
  if (tags.length) {
    await tx.$executeRaw`
      INSERT INTO "ArticleTopic" ("articleId", "topicId")
      SELECT * FROM unnest(${intArray(tags.map((x) => x.articleId))}::int[], ${intArray(tags.map((x) => x.topicId))}::int[])`;
  }
  // stories last: from here to the commit no other detector runs, so the rest is done before
  await detectNewStories(tx, newArticles, prints);
  await applyStoryDecisions(
    tx,
    created.map((item) => ({ articleId: ids.get(item.data.urlKey!)!, pinned: item.storyPinned, lead: item.storyLead })),
  );
  for (const item of created) settled.set(item.index, { status: 'created', id: ids.get(item.data.urlKey!)! });
  return settled;
}
