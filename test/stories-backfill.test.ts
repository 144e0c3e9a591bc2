import { expect, it } from 'vitest';
import { prisma } from '../src/db/client.ts';
import { backfillStories } from '../src/resolvers/stories/backfill.ts';
import { graphql } from './gql/index.ts';
import { execute } from './support/api.ts';
import { callers } from './support/keys.ts';

const Edit = graphql(`
  mutation BackfillEdit($input: UpdateArticleInput!) {
    updateArticle(input: $input) {
      __typename
    }
  }
`);

const Remove = graphql(`
  mutation BackfillRemove($input: DeleteArticleInput!) {
    deleteArticle(input: $input) {
      __typename
    }
  }
`);

const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');

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
  const stories = await prisma.$queryRaw<{ articleCount: number; title: string }[]>`
    SELECT s."articleCount", a."title" FROM "Story" s JOIN "Article" a ON a."id" = s."leadId"`;
  expect(stories.map((story) => story.articleCount)).toEqual(Array(10).fill(3));
  expect(stories.map((story) => Number(story.title.split(' ')[1]) % 3)).toEqual(Array(10).fill(0));
  // a second full run has nothing to read
  expect((await backfillStories(prisma)).articles).toBe(0);
});

it('runs beside editors editing and deleting the articles it has yet to read', async () => {
  const { editor, admin } = await callers();
  const body = (i: number) => Array.from({ length: 60 }, (_, w) => `side${i % 40}w${w}`).join(' ');
  await prisma.article.createMany({
    data: Array.from({ length: 240 }, (_, i) => ({
      title: `Beside ${i}`,
      url: `https://beside.example/${i}`,
      urlKey: `https://beside.example/${i}`,
      source: `Paper ${i % 6}`,
      publishedAt: new Date(Date.UTC(2026, 5, 1, i % 24)),
      priority: 3,
      body: body(i),
    })),
  });
  // the articles the backfill reads first (oldest), so the edits meet its transactions
  const ids = (
    await prisma.article.findMany({
      where: { url: { startsWith: 'https://beside.example/' } },
      orderBy: [{ publishedAt: 'asc' }, { id: 'asc' }],
      select: { id: true },
    })
  ).map((row) => row.id);
  const running = backfillStories(prisma, { batchSize: 40 });
  const edits = Promise.all(
    ids.slice(0, 60).map(async (id, n) => {
      const answer =
        n % 3 === 0
          ? await execute(Remove, { input: { id: globalId('Article', id) } }, admin)
          : await execute(
              Edit,
              { input: { id: globalId('Article', id), expectedVersion: 1, body: `${body(n)} edited` } },
              editor,
            );
      expect(answer.status, JSON.stringify(answer)).toBe(200);
      return answer.data;
    }),
  );
  const [result, answers] = await Promise.all([running, edits]);
  expect(answers.every((answer) => answer && !JSON.stringify(answer).includes('Error'))).toBe(true);
  expect(result.articles).toBeGreaterThan(0);
  // every article left has been read, by the backfill or by its editor's write
  const left = await prisma.article.count({ where: { url: { startsWith: 'https://beside.example/' } } });
  expect(left).toBe(240 - 20);
  expect(
    await prisma.articleFingerprint.count({ where: { article: { url: { startsWith: 'https://beside.example/' } } } }),
  ).toBe(left);
  expect(await prisma.story.count({ where: { articles: { none: {} } } })).toBe(0);
}, 120_000);
