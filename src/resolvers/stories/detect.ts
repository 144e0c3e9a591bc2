import { config } from '../../config.ts';
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
 * 2. Advisory locks on those buckets (namespace STORY_BUCKET_LOCK, ascending): two copies filed at
 *    once share a bucket, so the second waits for the first to commit and then sees it.
 * 3. Candidates: the articles in any of its buckets published within STORY_WINDOW_HOURS of it,
 *    at most CANDIDATES_PER_BUCKET per bucket, each bucket one range of ArticleBand's primary key
 *    (so the lookup costs the same at 10k articles as at 1M), with their fingerprints.
 * 4. The most similar candidate (storySimilarity) names the story: the article stays in its story
 *    when any member of it still matches, else it joins the best match's story, else it is a story
 *    of its own (a new one when it shared its story with others). A story (its own included)
 *    counts only while its span, this article included, stays within the window (so copies a
 *    day apart, or a change of date, do not grow a story past it), and never one holding an
 *    article an editor separated from this one (`separatedFrom`). An article an editor placed
 *    (`storyPinned`) never moves; its fingerprint is still kept, so copies can find it. The story
 *    joined is locked and read again first; gone meanwhile (merged away) or grown past the
 *    window by another joiner, the write runs again (RetryTransaction).
 * 5. Its fingerprint and buckets are stored (ArticleFingerprint, ArticleBand).
 */

/** Advisory lock namespace of story buckets (pg_advisory_xact_lock(namespace, bucket)). */
export const STORY_BUCKET_LOCK = 7404;
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

interface Candidate extends Omit<Fingerprint, 'buckets'> {
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
      others: boolean;
      /** The span of the story's other members (null without others). */
      first: Date | null;
      last: Date | null;
    })[]
  >`
    SELECT a."publishedAt", a."storyId", a."storyPinned", o."others", o."first", o."last"
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
  await tx.$executeRaw`
    SELECT pg_advisory_xact_lock(${STORY_BUCKET_LOCK}::int, b) FROM unnest(${own.buckets}::int[]) AS b ORDER BY b`;
  const windowMs = settings.windowHours * 3_600_000;
  const from = new Date(publishedAt.getTime() - windowMs);
  const to = new Date(publishedAt.getTime() + windowMs);
  const candidates = await tx.$queryRaw<Candidate[]>`
    SELECT f."articleId", f."signature", f."shingles", f."titleWords", a."storyId",
           s."firstPublishedAt", s."lastPublishedAt",
           EXISTS (SELECT 1 FROM "Article" d
                   WHERE d."storyId" = a."storyId" AND ${articleId}::int = ANY(d."separatedFrom")) AS "separated"
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
  let best: Candidate | undefined;
  let bestScore = 0;
  let staysWith = false;
  const at = publishedAt.getTime();
  const spanFits = (first: Date | null, last: Date | null) =>
    !first || !last || Math.max(last.getTime(), at) - Math.min(first.getTime(), at) <= windowMs;
  for (const candidate of candidates) {
    // an editor separated this article from a member of the candidate's story: never join it
    if (candidate.separated) continue;
    // a story (its own included) only while its span, this article included, stays within the
    // window: neither a chain of copies a day apart nor a change of date grows a story past it
    const fits =
      candidate.storyId === row.storyId
        ? spanFits(row.first, row.last)
        : spanFits(candidate.firstPublishedAt, candidate.lastPublishedAt);
    if (!fits) continue;
    const score = storySimilarity(own, candidate, settings);
    if (score <= 0) continue;
    if (candidate.storyId === row.storyId) staysWith = true;
    if (score > bestScore || (score === bestScore && best && candidate.articleId < best.articleId)) {
      best = candidate;
      bestScore = score;
    }
  }
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
  await tx.$executeRaw`
    SELECT pg_advisory_xact_lock(${STORY_BUCKET_LOCK}::int, b) FROM unnest(${own.buckets}::int[]) AS b ORDER BY b`;
  if (anchor.id !== articleId) {
    const [held] = await tx.$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "Story" WHERE "id" = ${anchor.storyId} FOR NO KEY UPDATE`;
    if (!held) throw new RetryTransaction();
    await tx.$executeRaw`UPDATE "Article" SET "storyId" = ${anchor.storyId} WHERE "id" = ${articleId}`;
  }
  await saveFingerprint(tx, articleId, own, text.publishedAt);
  return true;
}
