import { prisma } from '../../src/db/client.ts';
import { demoArticles, seedDemoData, type DemoArticle } from '../../src/seed/demo.ts';

export interface SeededArticle extends DemoArticle {
  id: number;
}

/** Loads the demo dataset into this file's database; returns it with database ids, for oracles. */
export async function seedDemo(): Promise<SeededArticle[]> {
  await seedDemoData(prisma);
  const ids = new Map(
    (await prisma.article.findMany({ select: { id: true, url: true } })).map((row) => [row.url, row.id]),
  );
  return demoArticles().articles.map((article) => ({ ...article, id: ids.get(article.url)! }));
}

/** The API's default order: newest first, ties by id descending. */
export function newestFirst(a: { publishedAt: Date; id: number }, b: { publishedAt: Date; id: number }): number {
  return b.publishedAt.getTime() - a.publishedAt.getTime() || b.id - a.id;
}

export const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
