import type { Db } from '../../db/client.ts';
import { detectStory, storySettings, type StorySettings } from './detect.ts';

/**
 * Backfills the story detector over articles it has not read (no ArticleFingerprint): those
 * filed before stories existed, or loaded with plain SQL. Oldest first (publishedAt, then id), so
 * each article meets the copies published before it, as if filed in that order; in batches of
 * `batchSize`, each one transaction, so an interrupted run loses at most one batch and the next
 * run goes on where it stopped (the articles still without a fingerprint).
 */
export async function backfillStories(
  db: Db,
  options: { batchSize?: number; settings?: StorySettings; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ articles: number; joined: number }> {
  const batchSize = options.batchSize ?? 200;
  const settings = options.settings ?? storySettings();
  const [{ total }] = (await db.$queryRaw<{ total: number }[]>`
    SELECT count(*)::int AS "total" FROM "Article" a
    WHERE NOT EXISTS (SELECT 1 FROM "ArticleFingerprint" f WHERE f."articleId" = a."id")`) as [{ total: number }];
  let done = 0;
  let joined = 0;
  options.onProgress?.(0, total);
  for (;;) {
    const batch = await db.$transaction(
      async (tx) => {
        const ids = await tx.$queryRaw<{ id: number }[]>`
          SELECT a."id" FROM "Article" a
          WHERE NOT EXISTS (SELECT 1 FROM "ArticleFingerprint" f WHERE f."articleId" = a."id")
          ORDER BY a."publishedAt", a."id" LIMIT ${batchSize}`;
        let matched = 0;
        for (const { id } of ids) if ((await detectStory(tx, id, settings)).moved) matched++;
        return { count: ids.length, matched };
      },
      { timeout: 600_000, maxWait: 30_000 },
    );
    if (batch.count === 0) break;
    done += batch.count;
    joined += batch.matched;
    options.onProgress?.(Math.min(done, total), total);
  }
  return { articles: done, joined };
}
