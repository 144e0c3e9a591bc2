import { expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { backfillStories } from '../src/resolvers/stories/backfill.ts';

/** Articles loaded with plain SQL (no fingerprint): each a story of its own until the backfill reads them. */
it('backfills stories oldest first, and goes on where an interrupted run stopped', async () => {
  const wire = (seed: string) =>
    Array.from({ length: 5 }, (_, p) => Array.from({ length: 25 }, (_, w) => `${seed}${p}q${w}`).join(' ')).join(
      '\n\n',
    );
  const rows = Array.from({ length: 30 }, (_, i) => ({
    title: `Backfilled ${i}`,
    url: `https://backfill.example/${i}`,
    urlKey: `https://backfill.example/${i}`,
    source: `Source ${i % 3}`,
    // 10 stories of 3 copies each, a day apart from the next story
    publishedAt: new Date(Date.UTC(2026, 0, 1 + Math.floor(i / 3) * 5, i % 3)),
    priority: 3,
    body: wire(`bf${Math.floor(i / 3)}x`),
  }));
  await prisma.article.createMany({ data: rows });
  expect(await prisma.story.count()).toBe(30);
  const progress: [number, number][] = [];
  // interrupted after its second batch
  await expect(
    backfillStories(prisma, {
      batchSize: 4,
      onProgress: (done, total) => {
        progress.push([done, total]);
        if (done >= 8) throw new Error('interrupted');
      },
    }),
  ).rejects.toThrow('interrupted');
  expect(progress).toEqual([
    [0, 30],
    [4, 30],
    [8, 30],
  ]);
  expect(await prisma.articleFingerprint.count()).toBe(8);
  const again: [number, number][] = [];
  const result = await backfillStories(prisma, {
    batchSize: 4,
    onProgress: (done, total) => again.push([done, total]),
  });
  expect(result.articles).toBe(22);
  expect(again[0]).toEqual([0, 22]);
  expect(again.at(-1)).toEqual([22, 22]);
  expect(await prisma.articleFingerprint.count()).toBe(30);
  // every copy in its story: 10 stories of 3, the earliest of each its lead
  const stories = await prisma.story.findMany({ select: { articleCount: true, lead: { select: { title: true } } } });
  expect(stories.map((story) => story.articleCount)).toEqual(Array(10).fill(3));
  expect(stories.map((story) => Number(story.lead!.title.split(' ')[1]) % 3)).toEqual(Array(10).fill(0));
  // a second full run has nothing to read
  expect((await backfillStories(prisma)).articles).toBe(0);
});
