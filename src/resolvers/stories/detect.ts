import { config } from '../../config.ts';
import { intArray } from '../../db/arrays.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { RetryTransaction, type Tx } from '../writing/transaction.ts';
import {
  fingerprint,
  storySimilarity,
  type ArticleText,
  type Fingerprint,
  type StoryThresholds,
} from './fingerprint.ts';

/**
 * The story detector: run inside every write that files an article or changes its title, body
 * or publication date, in the same transaction, after the article's
 * other locks (the lock order of writing/transaction.ts, step 6).
 *
 * 1. The article's fingerprint (fingerprint.ts) gives its buckets.
 * 2. Advisory locks on those buckets (namespace STORY_BUCKET_LOCK, ascending), after the detector
 *    lock (STORY_DETECTOR_LOCK, shared; a bulk import's batch takes it exclusively): two copies filed at
 *    once share a bucket, so the second waits for the first to commit and then sees it.
 * 3. Candidates: the articles in any of its buckets published within STORY_WINDOW_HOURS of it,
 *    at most CANDIDATES_PER_BUCKET per bucket, each bucket one range of ArticleBand's primary key
 *    (so the lookup costs the same at 10k articles as at 1M), with their fingerprints.
 * 4. The most similar candidate (storySimilarity) names the story: the article stays in its story
 *    when any member of it still matches, else it joins the best match's story, else it is a story
 *    of its own (a new one when it shared its story with others). A story (its own included)
 *    counts only while its span, this article included, stays within the window (so copies a
 *    day apart, or a change of date, do not grow a story past it), and never one holding an
 *    article an editor separated from this one, or this one from (`separatedFrom`, either way).
 *    An article an editor placed (`storyPinned`) never moves; its fingerprint is still kept, so
 *    copies can find it. The story joined is locked and read again first; gone meanwhile (merged
 *    away) or grown past the window by another joiner, the write runs again (RetryTransaction).
 * 5. Its fingerprint and buckets are stored (ArticleFingerprint, ArticleBand).
 */

/** Advisory lock namespace of story buckets (pg_advisory_xact_lock(namespace, bucket)). */
export const STORY_BUCKET_LOCK = 7404;
/**
 * The advisory lock (namespace, 0) every detector takes before its bucket locks: shared by one
 * article's detector (detectStory, placeInStoryOf), exclusive for a batch's (detectNewStories),
 * which then needs no bucket locks (thousands of them would fill PostgreSQL's lock table).
 */
export const STORY_DETECTOR_LOCK = 7405;

/** The transactions that hold STORY_DETECTOR_LOCK exclusively (holdDetector). */
const holdingDetector = new WeakSet<Tx>();

/**
 * Takes the detector lock exclusively for the rest of `tx` (step 6 of the lock order): no other
 * detector runs until `tx` ends, so the detectors it runs from then on (detectStory,
 * placeInStoryOf, detectNewStories) take no bucket locks. A transaction that places many articles
 * must: each article's buckets are about two dozen locks, and PostgreSQL keeps every lock of every
 * database of the server in one shared table (max_locks_per_transaction x max_connections
 * entries, 6,400 by default); the demo dataset's 505 articles took about 12,000, and any other
 * session of the server asking for a lock meanwhile failed with 53200 "out of shared memory".
 * The lock must not be undone by a rollback to a savepoint taken before this call.
 */
export async function holdDetector(tx: Tx): Promise<void> {
  if (holdingDetector.has(tx)) return;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${STORY_DETECTOR_LOCK}::int, 0)`;
  holdingDetector.add(tx);
}

/**
 * Step 6 of the lock order for one article: the detector lock, shared, then its buckets, ascending
 * (one statement); nothing when `tx` holds the detector lock exclusively (holdDetector).
 */
async function lockBuckets(tx: Tx, buckets: readonly number[]): Promise<void> {
  if (holdingDetector.has(tx)) return;
  await tx.$executeRaw`
    SELECT 0 FROM pg_advisory_xact_lock_shared(${STORY_DETECTOR_LOCK}::int, 0)
    UNION ALL
    SELECT 1 FROM (SELECT pg_advisory_xact_lock(${STORY_BUCKET_LOCK}::int, b) FROM unnest(${[...buckets]}::int[]) AS b ORDER BY b) AS l`;
}
/**
 * Step 6 of the lock order for an article about to change what the detector reads (its title,
 * body or date): the buckets of its text as the change leaves it (`text`: the new title and body,
 * where they change), taken before the change's UPDATE. The Article triggers lock its story
 * (step 7) in that UPDATE when the date changes, and detectStory, after it, took the buckets: it
 * then waited for a copy being filed that held the buckets and waited for the story (PostgreSQL
 * broke the cycle as a deadlock, over and over under a burst of copies). detectStory takes them
 * again at no cost.
 */
export async function lockBucketsBeforeChange(tx: Tx, articleId: number, text: Partial<ArticleText>): Promise<void> {
  if (holdingDetector.has(tx)) return;
  let { title, body } = text;
  if (title === undefined || body === undefined) {
    const [row] = await tx.$queryRaw<{ title: string; body: string | null }[]>`
      SELECT "title", "body" FROM "Article" WHERE "id" = ${articleId}`;
    if (!row) return;
    title ??= row.title;
    body ??= row.body ?? '';
  }
  await lockBuckets(tx, fingerprint({ title, body: body ?? '' }).buckets);
}

/** Most candidates read from one bucket. */
export const CANDIDATES_PER_BUCKET = 50;

/** The detector's settings (config: STORY_SIMILARITY, STORY_TITLE_SIMILARITY, STORY_WINDOW_HOURS). */
export interface StorySettings extends StoryThresholds {
  /** Largest difference in publication time of two articles of one story, hours. */
  windowHours: number;
}

/** The settings of this process. */
export function storySettings(): StorySettings {
  return config().stories;
}

/** An article the detector compares a new or changed one with: its fingerprint, its story and that story's span. */
export interface Candidate extends Omit<Fingerprint, 'buckets'> {
  articleId: number;
  storyId: number;
  /** A member of the candidate's story was separated from this article by an editor. */
  separated: boolean;
  firstPublishedAt: Date;
  lastPublishedAt: Date;
}

/** Where the detector put an article. */
export interface Placement {
  storyId: number;
  /** True when it joined (or stayed with) a matching article's story. */
  matched: boolean;
  moved: boolean;
}

/**
 * Runs the detector for article `articleId` (locked or just inserted by this transaction). `text`
 * is its text when the caller has it; otherwise it is read. Returns where the article is now.
 */
export async function detectStory(
  tx: Tx,
  articleId: number,
  settings: StorySettings = storySettings(),
  text?: ArticleText & { publishedAt: Date },
): Promise<Placement> {
  const [row] = await tx.$queryRaw<
    (Partial<ArticleText> & {
      publishedAt: Date;
      storyId: number;
      storyPinned: boolean;
      separatedFrom: number[];
      others: boolean;
      /** The span of the story's other members (null without others). */
      first: Date | null;
      last: Date | null;
    })[]
  >`
    SELECT a."publishedAt", a."storyId", a."storyPinned", a."separatedFrom", o."others", o."first", o."last"
           ${text ? Prisma.empty : Prisma.sql`, a."title", a."body"`}
    FROM "Article" a
    CROSS JOIN LATERAL (
      SELECT count(*) > 0 AS "others", min(o."publishedAt") AS "first", max(o."publishedAt") AS "last"
      FROM "Article" o WHERE o."storyId" = a."storyId" AND o."id" <> a."id"
    ) o
    WHERE a."id" = ${articleId}`;
  // deleted since the caller looked: nothing to place
  if (!row) throw new RetryTransaction();
  const own = fingerprint(text ?? (row as ArticleText));
  const publishedAt = text?.publishedAt ?? row.publishedAt;
  await lockBuckets(tx, own.buckets);
  const windowMs = settings.windowHours * 3_600_000;
  const from = new Date(publishedAt.getTime() - windowMs);
  const to = new Date(publishedAt.getTime() + windowMs);
  const candidates = await tx.$queryRaw<Candidate[]>`
    SELECT f."articleId", f."signature", f."shingles", f."titleWords", a."storyId",
           s."firstPublishedAt", s."lastPublishedAt",
           EXISTS (SELECT 1 FROM "Article" d
                   WHERE d."storyId" = a."storyId"
                     AND (${articleId}::int = ANY(d."separatedFrom") OR d."id" = ANY(${intArray(row.separatedFrom)}::int[])))
             AS "separated"
    FROM (
      SELECT DISTINCT c."articleId" FROM unnest(${own.buckets}::int[]) AS b
      CROSS JOIN LATERAL (
        SELECT x."articleId" FROM "ArticleBand" x
        WHERE x."bucket" = b AND x."publishedAt" BETWEEN ${from} AND ${to} AND x."articleId" <> ${articleId}
        LIMIT ${CANDIDATES_PER_BUCKET}
      ) c
    ) m
    JOIN "ArticleFingerprint" f ON f."articleId" = m."articleId"
    JOIN "Article" a ON a."id" = m."articleId"
    JOIN "Story" s ON s."id" = a."storyId"`;
  const { best, staysWith } = bestMatch(own, publishedAt, row, candidates, settings);
  const at = publishedAt.getTime();
  const spanFits = (first: Date | null, last: Date | null) =>
    !first || !last || Math.max(last.getTime(), at) - Math.min(first.getTime(), at) <= windowMs;
  let storyId = row.storyId;
  let moved = false;
  if (!row.storyPinned && !staysWith) {
    if (best) {
      // The story is held before the move (NO KEY UPDATE: one article joins a story at a time)
      // and read again: merged away or emptied since the candidates were read, or grown past the
      // window by another article joining meanwhile, the write runs again.
      const [held] = await tx.$queryRaw<{ first: Date; last: Date }[]>`
        SELECT "firstPublishedAt" AS "first", "lastPublishedAt" AS "last" FROM "Story"
        WHERE "id" = ${best.storyId} FOR NO KEY UPDATE`;
      if (!held || !spanFits(held.first, held.last)) throw new RetryTransaction();
      storyId = best.storyId;
    } else if (row.others) {
      const [story] = await tx.$queryRaw<{ id: number }[]>`INSERT INTO "Story" DEFAULT VALUES RETURNING "id"`;
      storyId = story!.id;
    }
    if (storyId !== row.storyId) {
      await tx.$executeRaw`UPDATE "Article" SET "storyId" = ${storyId} WHERE "id" = ${articleId}`;
      moved = true;
    }
  }
  await saveFingerprint(tx, articleId, own, publishedAt);
  return { storyId, matched: staysWith || (best !== undefined && !row.storyPinned), moved };
}

/**
 * Step 4's choice, without the database: the most similar of `candidates` (ties: the lowest
 * article id) among those the article may join (not separated from it, their story's span with
 * it within the window; for its own story, `own`'s span of its other members), and whether a
 * member of its own story still matches it (`staysWith`).
 */
export function bestMatch(
  own: Omit<Fingerprint, 'buckets'>,
  publishedAt: Date,
  ownStory: { storyId: number; first: Date | null; last: Date | null },
  candidates: readonly Candidate[],
  settings: StorySettings,
): { best?: Candidate; staysWith: boolean } {
  const windowMs = settings.windowHours * 3_600_000;
  const at = publishedAt.getTime();
  const spanFits = (first: Date | null, last: Date | null) =>
    !first || !last || Math.max(last.getTime(), at) - Math.min(first.getTime(), at) <= windowMs;
  let best: Candidate | undefined;
  let bestScore = 0;
  let staysWith = false;
  for (const candidate of candidates) {
    // an editor separated this article from a member of the candidate's story: never join it
    if (candidate.separated) continue;
    // a story (its own included) only while its span, this article included, stays within the
    // window: neither a chain of copies a day apart nor a change of date grows a story past it
    const fits =
      candidate.storyId === ownStory.storyId
        ? spanFits(ownStory.first, ownStory.last)
        : spanFits(candidate.firstPublishedAt, candidate.lastPublishedAt);
    if (!fits) continue;
    const score = storySimilarity(own, candidate, settings);
    if (score <= 0) continue;
    if (candidate.storyId === ownStory.storyId) staysWith = true;
    if (score > bestScore || (score === bestScore && best && candidate.articleId < best.articleId)) {
      best = candidate;
      bestScore = score;
    }
  }
  return { best, staysWith };
}

/**
 * Stores an article's fingerprint and buckets, replacing what was there, in one statement: the
 * buckets it no longer has (or at another date) go, the new ones come.
 */
export async function saveFingerprint(tx: Tx, articleId: number, own: Fingerprint, publishedAt: Date): Promise<void> {
  await tx.$executeRaw`
    WITH "fingerprint" AS (
      INSERT INTO "ArticleFingerprint" ("articleId", "signature", "shingles", "titleWords")
      VALUES (${articleId}, ${own.signature}::int[], ${own.shingles}, ${own.titleWords}::text[])
      ON CONFLICT ("articleId") DO UPDATE SET "signature" = EXCLUDED."signature",
        "shingles" = EXCLUDED."shingles", "titleWords" = EXCLUDED."titleWords"
    ), "gone" AS (
      DELETE FROM "ArticleBand" WHERE "articleId" = ${articleId}
        AND ("bucket" <> ALL(${own.buckets}::int[]) OR "publishedAt" <> ${publishedAt})
    )
    INSERT INTO "ArticleBand" ("bucket", "publishedAt", "articleId")
    SELECT b, ${publishedAt}, ${articleId} FROM unnest(${own.buckets}::int[]) AS b
    ON CONFLICT DO NOTHING`;
}

/**
 * Puts article `articleId`, just inserted by this transaction (in a story of its own), into the
 * story of the article whose normalized URL is `urlKey`, as an import of exported records asks
 * (transfer/export.ts: `story`), and stores its fingerprint as the detector would; the same story
 * when `urlKey` is its own. Returns false, placing nothing, when no article has that URL (the
 * caller then runs the detector). The story is locked as the detector locks the one it joins
 * (lock order step 7, after the bucket locks of step 6); gone meanwhile, the write runs again.
 */
export async function placeInStoryOf(
  tx: Tx,
  articleId: number,
  urlKey: string,
  text: ArticleText & { publishedAt: Date },
): Promise<boolean> {
  const [anchor] = await tx.$queryRaw<{ id: number; storyId: number }[]>`
    SELECT "id", "storyId" FROM "Article" WHERE "urlKey" = ${urlKey}`;
  if (!anchor) return false;
  const own = fingerprint(text);
  await lockBuckets(tx, own.buckets);
  if (anchor.id !== articleId) {
    const [held] = await tx.$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "Story" WHERE "id" = ${anchor.storyId} FOR NO KEY UPDATE`;
    if (!held) throw new RetryTransaction();
    await tx.$executeRaw`UPDATE "Article" SET "storyId" = ${anchor.storyId} WHERE "id" = ${articleId}`;
  }
  await saveFingerprint(tx, articleId, own, text.publishedAt);
  return true;
}

/** A new article of a batch for detectNewStories: just inserted, in a story of its own. */
export interface NewArticle {
  articleId: number;
  /** The story the insert gave it (its own). */
  storyId: number;
  text: ArticleText & { publishedAt: Date };
  /** The import's `story`: the normalized URL of the article whose story it joins (see placeInStoryOf). */
  storyKey?: string;
  /** The articles it is separated from, either way (restoreSeparations): it joins none of their stories. */
  apart?: readonly number[];
}

/**
 * Step 5 of the detector for many new articles at once (the bulk import), run first: their
 * fingerprints (fingerprint.ts) and buckets stored, in two statements. These rows belong to the
 * batch's own new articles (no other writer sees them before the commit), so storing them takes
 * no shared lock, and a batch does it before its contended locks (authors, the detector lock):
 * what it holds those for, until its commit, is then only what must be serialized. Returns the
 * fingerprints, by article id, for detectNewStories.
 */
export async function storeNewFingerprints(tx: Tx, articles: readonly NewArticle[]): Promise<Map<number, Fingerprint>> {
  const prints = new Map(articles.map((article) => [article.articleId, fingerprint(article.text)]));
  if (!articles.length) return prints;
  await tx.$executeRaw`
    INSERT INTO "ArticleFingerprint" ("articleId", "signature", "shingles", "titleWords")
    SELECT r."articleId", r."signature", r."shingles", r."titleWords"
    FROM json_to_recordset(${JSON.stringify(
      articles.map((article) => {
        const own = prints.get(article.articleId)!;
        return {
          articleId: article.articleId,
          signature: own.signature,
          shingles: own.shingles,
          titleWords: own.titleWords,
        };
      }),
    )}::json) AS r("articleId" int, "signature" int[], "shingles" int, "titleWords" text[])`;
  // one row per bucket; the instant as milliseconds since the epoch (integers print far cheaper
  // than ISO text, and 'epoch' + n * 1 ms is exact: n * 1,000 microseconds stays below 2^53)
  const bands = articles.flatMap((article) =>
    prints.get(article.articleId)!.buckets.map((bucket) => ({ bucket, article })),
  );
  await tx.$executeRaw`
    INSERT INTO "ArticleBand" ("bucket", "publishedAt", "articleId")
    SELECT b."bucket", 'epoch'::timestamptz + b."at" * interval '1 millisecond', b."articleId"
    FROM unnest(${intArray(bands.map((b) => b.bucket))}::int[],
                ${intArray(bands.map((b) => b.article.text.publishedAt.getTime()))}::bigint[],
                ${intArray(bands.map((b) => b.article.articleId))}::int[]) AS b("bucket", "at", "articleId")
    ON CONFLICT DO NOTHING`;
  return prints;
}

/**
 * The detector for many new articles at once (the bulk import), in a fixed number of statements,
 * once storeNewFingerprints has stored their fingerprints (`prints`, what it returned): what
 * detectStory and placeInStoryOf would do for each, in order, with two differences that only
 * matter within one batch: articles with a `storyKey` are placed first, and an article is compared
 * with the batch's placed and earlier articles through their fingerprints in memory (the
 * database's candidates exclude the batch's own). The detector lock is taken exclusively first
 * (no other detector runs until the batch commits), then the stories joined (ascending); a story
 * gone or grown past the window meanwhile makes the write run again (RetryTransaction).
 */
export async function detectNewStories(
  tx: Tx,
  articles: readonly NewArticle[],
  prints: ReadonlyMap<number, Fingerprint>,
  settings: StorySettings = storySettings(),
): Promise<void> {
  if (!articles.length) return;
  // every other detector waits, and is waited for (its buckets are then free): no bucket locks needed
  await holdDetector(tx);
  const moves = new Map<number, number>();

  // 1. placed by the import's `story`
  const keyed = articles.filter((article) => article.storyKey !== undefined);
  const anchors = new Map(
    keyed.length
      ? (
          await tx.$queryRaw<{ urlKey: string; id: number; storyId: number }[]>`
            SELECT "urlKey", "id", "storyId" FROM "Article"
            WHERE "urlKey" = ANY(${keyed.map((article) => article.storyKey!)}::text[])`
        ).map((row) => [row.urlKey, row])
      : [],
  );
  const detecting: NewArticle[] = [];
  for (const article of articles) {
    const anchor = article.storyKey === undefined ? undefined : anchors.get(article.storyKey);
    if (!anchor) detecting.push(article);
    else if (anchor.id !== article.articleId) {
      // an anchor of this batch may itself have been moved before: follow it
      moves.set(article.articleId, moves.get(anchor.id) ?? anchor.storyId);
    }
  }

  // 2. the detector, for the others: candidates from the database in one statement, and the batch's own
  const windowMs = settings.windowHours * 3_600_000;
  const pairs = detecting.flatMap((article) =>
    prints.get(article.articleId)!.buckets.map((bucket) => ({ article, bucket })),
  );
  // one row per candidate article (its fingerprint once), with the batch's articles it is a candidate of
  // the batch's own articles are in ArticleBand already (storeNewFingerprints) and are compared
  // in memory below: each bucket's range skips them (an uncorrelated NOT IN, hashed once per statement);
  // the window in whole milliseconds, as a Date holds an instant
  const windowWholeMs = Math.round(windowMs);
  const found = pairs.length
    ? await tx.$queryRaw<(Omit<Candidate, 'separated'> & { forArticles: number[] })[]>`
        SELECT f."articleId", array_agg(q."forArticle") AS "forArticles", f."signature", f."shingles", f."titleWords",
               a."storyId", s."firstPublishedAt", s."lastPublishedAt"
        FROM (
          SELECT DISTINCT u."forArticle", c."articleId"
          FROM unnest(${intArray(pairs.map((p) => p.article.articleId))}::int[], ${intArray(pairs.map((p) => p.bucket))}::int[],
                      ${intArray(pairs.map((p) => p.article.text.publishedAt.getTime()))}::bigint[])
               AS u("forArticle", "bucket", "at")
          CROSS JOIN LATERAL (
            SELECT x."articleId" FROM "ArticleBand" x
            WHERE x."bucket" = u."bucket"
              AND x."publishedAt" BETWEEN 'epoch'::timestamptz + (u."at" - ${windowWholeMs}::bigint) * interval '1 millisecond'
                                      AND 'epoch'::timestamptz + (u."at" + ${windowWholeMs}::bigint) * interval '1 millisecond'
              AND x."articleId" NOT IN (SELECT unnest(${intArray(articles.map((article) => article.articleId))}::int[]))
            LIMIT ${CANDIDATES_PER_BUCKET}
          ) c
        ) q
        JOIN "ArticleFingerprint" f ON f."articleId" = q."articleId"
        JOIN "Article" a ON a."id" = q."articleId"
        JOIN "Story" s ON s."id" = a."storyId"
        GROUP BY f."articleId", a."id", s."id"`
    : [];
  const fromDatabase = new Map<number, Candidate[]>();
  for (const { forArticles, ...row } of found) {
    // a new article's id is in an editor's separatedFrom only by this batch's restoreSeparations,
    // and those are the articles' `apart`, checked below
    const candidate: Candidate = { ...row, separated: false, storyId: moves.get(row.articleId) ?? row.storyId };
    for (const articleId of forArticles) {
      const list = fromDatabase.get(articleId) ?? [];
      list.push(candidate);
      fromDatabase.set(articleId, list);
    }
  }
  // the span of each story as this batch grows it
  const spans = new Map<number, { first: Date; last: Date }>();
  const spanOf = (candidate: Candidate) =>
    spans.get(candidate.storyId) ?? { first: candidate.firstPublishedAt, last: candidate.lastPublishedAt };
  const earlier = new Map<number, Candidate[]>();
  const remember = (article: NewArticle, storyId: number) => {
    const own = prints.get(article.articleId)!;
    const at = article.text.publishedAt;
    const self: Candidate = {
      articleId: article.articleId,
      signature: own.signature,
      shingles: own.shingles,
      titleWords: own.titleWords,
      storyId,
      separated: false,
      firstPublishedAt: at,
      lastPublishedAt: at,
    };
    for (const bucket of own.buckets) {
      const list = earlier.get(bucket);
      if (list) list.push(self);
      else earlier.set(bucket, [self]);
    }
  };
  // the stories of the articles each new one is separated from, either way, as the batch moves them
  const batchStories = new Map(articles.map((article) => [article.articleId, article.storyId]));
  const outside = [...new Set(articles.flatMap((article) => article.apart ?? []))].filter(
    (id) => !batchStories.has(id),
  );
  const outsideStories = new Map(
    outside.length
      ? (
          await tx.$queryRaw<{ id: number; storyId: number }[]>`
            SELECT "id", "storyId" FROM "Article" WHERE "id" = ANY(${intArray(outside)}::int[])`
        ).map((row) => [row.id, row.storyId])
      : [],
  );
  const storyNow = (id: number) => moves.get(id) ?? batchStories.get(id) ?? outsideStories.get(id);
  // the batch's placed articles are candidates of the others, as the database's are
  for (const article of keyed)
    if (!detecting.includes(article)) remember(article, moves.get(article.articleId) ?? article.storyId);
  for (const article of detecting) {
    const own = prints.get(article.articleId)!;
    const at = article.text.publishedAt;
    const forbidden = new Set((article.apart ?? []).map(storyNow));
    const inBatch = own.buckets.flatMap((bucket) =>
      (earlier.get(bucket) ?? [])
        .filter((other) => Math.abs(other.firstPublishedAt.getTime() - at.getTime()) <= windowMs)
        .slice(0, CANDIDATES_PER_BUCKET),
    );
    const candidates = [
      ...(fromDatabase.get(article.articleId) ?? []),
      ...new Map(inBatch.map((c) => [c.articleId, c])).values(),
    ].map((candidate) => {
      const span = spanOf(candidate);
      return {
        ...candidate,
        separated: forbidden.has(candidate.storyId),
        firstPublishedAt: span.first,
        lastPublishedAt: span.last,
      };
    });
    const { best } = bestMatch(own, at, { storyId: article.storyId, first: null, last: null }, candidates, settings);
    const storyId = best?.storyId ?? article.storyId;
    if (best) moves.set(article.articleId, storyId);
    const span = best ? spanOf(best) : { first: at, last: at };
    spans.set(storyId, {
      first: new Date(Math.min(span.first.getTime(), at.getTime())),
      last: new Date(Math.max(span.last.getTime(), at.getTime())),
    });
    remember(article, storyId);
  }

  // 3. the stories joined that the batch did not make: held, and checked still there and within the window
  const ownStories = new Set(articles.map((article) => article.storyId));
  const held = [...new Set([...moves.values()])].filter((id) => !ownStories.has(id)).sort((a, b) => a - b);
  if (held.length) {
    const rows = await tx.$queryRaw<{ id: number; first: Date | null; last: Date | null }[]>`
      SELECT "id", "firstPublishedAt" AS "first", "lastPublishedAt" AS "last" FROM "Story"
      WHERE "id" = ANY(${held}::int[]) ORDER BY "id" FOR NO KEY UPDATE`;
    const now = new Map(rows.map((row) => [row.id, row]));
    for (const id of held) {
      const story = now.get(id);
      const grown = spans.get(id);
      if (!story) throw new RetryTransaction();
      if (grown && story.first && story.last) {
        const first = Math.min(story.first.getTime(), grown.first.getTime());
        const last = Math.max(story.last.getTime(), grown.last.getTime());
        if (last - first > windowMs) throw new RetryTransaction();
      }
    }
  }
  if (moves.size) {
    const moved = [...moves].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    await tx.$executeRaw`
      UPDATE "Article" AS a SET "storyId" = m."storyId"
      FROM unnest(${moved.map(([id]) => id)}::int[], ${moved.map(([, storyId]) => storyId)}::int[]) AS m("id", "storyId")
      WHERE a."id" = m."id"`;
  }
}

/** An import's story decisions for an article it just created (transfer/export.ts: `storyPinned`, `storyLead`). */
export interface StoryDecision {
  articleId: number;
  /** An editor placed it in its story: the detector leaves it there. */
  pinned?: boolean;
  /** An editor chose it as its story's lead. */
  lead?: boolean;
}

/**
 * Applies an import's story decisions to articles it just created and placed (after placeInStoryOf,
 * detectStory or detectNewStories, so every story they joined is held already; their own are
 * new): pins them, and makes each its story's chosen lead unless the story has one (an editor's
 * choice, or an earlier record's, is kept; of two in `decisions` for one story, the first), at
 * most two statements.
 */
export async function applyStoryDecisions(tx: Tx, decisions: readonly StoryDecision[]): Promise<void> {
  const pinned = decisions.filter((decision) => decision.pinned).map((decision) => decision.articleId);
  if (pinned.length) {
    await tx.$executeRaw`UPDATE "Article" SET "storyPinned" = true WHERE "id" = ANY(${intArray(pinned)}::int[])`;
  }
  const leads = decisions.filter((decision) => decision.lead).map((decision) => decision.articleId);
  if (leads.length) {
    await tx.$executeRaw`
      UPDATE "Story" s SET "leadId" = l."id", "leadChosen" = true, "version" = s."version" + 1, "updatedAt" = now()
      FROM (
        SELECT DISTINCT ON (a."storyId") a."id", a."storyId"
        FROM unnest(${intArray(leads)}::int[]) WITH ORDINALITY AS u("id", "n") JOIN "Article" a ON a."id" = u."id"
        ORDER BY a."storyId", u."n"
      ) l
      WHERE s."id" = l."storyId" AND NOT s."leadChosen"`;
  }
}
