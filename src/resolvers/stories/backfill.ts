import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../db/client.ts';
import { isRetryable } from '../../db/errors.ts';
import { RetryTransaction, TRANSACTION_BOUNDS_MS, WRITE_ATTEMPTS } from '../writing/transaction.ts';
import { detectStory, storySettings, type StorySettings } from './detect.ts';

/**
 * Backfills the story detector over articles it has not read (no ArticleFingerprint): those
 * filed before stories existed, or loaded with plain SQL. Oldest first (publishedAt, then id), so
 * each article meets the copies published before it, as if filed in that order.
 *
 * Safe beside a running server: each article is one short transaction in the writes' lock order
 * (the article first, FOR UPDATE, then its buckets and stories), retried on deadlock or
 * serialization failure like a write; an article deleted or read by someone else meanwhile is
 * skipped. `onProgress(done, total)` is called after each batch of `batchSize` articles, so an
 * interrupted run loses nothing: the next one reads the articles still without a fingerprint.
 */
export async function backfillStories(
  db: Db,
  options: { batchSize?: number; settings?: StorySettings; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ articles: number; joined: number }> {
  const batchSize = options.batchSize ?? 200;
  const settings = options.settings ?? storySettings();
  const unread = (limit: number | null) => db.$queryRaw<{ id: number }[]>`
    SELECT a."id" FROM "Article" a
    WHERE NOT EXISTS (SELECT 1 FROM "ArticleFingerprint" f WHERE f."articleId" = a."id")
    ORDER BY a."publishedAt", a."id" LIMIT ${limit}`;
  const [{ total }] = (await db.$queryRaw<{ total: number }[]>`
    SELECT count(*)::int AS "total" FROM "Article" a
    WHERE NOT EXISTS (SELECT 1 FROM "ArticleFingerprint" f WHERE f."articleId" = a."id")`) as [{ total: number }];
  let done = 0;
  let joined = 0;
  options.onProgress?.(0, total);
  for (;;) {
    const batch = await unread(batchSize);
    if (batch.length === 0) break;
    for (const { id } of batch) if (await readOne(db, id, settings)) joined++;
    done += batch.length;
    options.onProgress?.(Math.min(done, total), total);
  }
  // editors' writes read some of them meanwhile: the run is complete all the same
  if (done < total) options.onProgress?.(total, total);
  return { articles: done, joined };
}

/** Places one article; true when it joined another article's story. */
async function readOne(db: Db, id: number, settings: StorySettings): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ id: number }[]>`
          SELECT a."id" FROM "Article" a WHERE a."id" = ${id}
            AND NOT EXISTS (SELECT 1 FROM "ArticleFingerprint" f WHERE f."articleId" = a."id")
          FOR UPDATE`;
        if (!row) return false;
        return (await detectStory(tx, id, settings)).moved;
      }, TRANSACTION_BOUNDS_MS);
    } catch (error) {
      if (attempt >= WRITE_ATTEMPTS || !(error instanceof RetryTransaction || isRetryable(error))) throw error;
      await sleep(Math.random() * 20 * attempt);
    }
  }
}
