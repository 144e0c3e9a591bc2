import DataLoader from 'dataloader';
import type { Db } from '../../db/client.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { requestLoader } from '../lists/loaders.ts';

/**
 * Filtered article totals for nested connections (Author.articles.totalCount,
 * Topic.articles.totalCount, Story.articles.totalCount): one grouped COUNT per distinct filter per
 * request, whatever the number of parents on the page.
 */

type Parent = 'author' | 'topic' | 'story';

function countLoader(db: Db, parent: Parent, where: Prisma.ArticleWhereInput) {
  return new DataLoader<number, number>(async (ids) => {
    const counts = new Map<number, number>();
    if (parent === 'author') {
      const groups = await db.articleAuthor.groupBy({
        by: ['authorId'],
        where: { authorId: { in: [...ids] }, article: where },
        _count: { _all: true },
      });
      for (const group of groups) counts.set(group.authorId, group._count._all);
    } else if (parent === 'story') {
      const groups = await db.article.groupBy({
        by: ['storyId'],
        where: { AND: [{ storyId: { in: [...ids] } }, where] },
        _count: { _all: true },
      });
      for (const group of groups) counts.set(group.storyId, group._count._all);
    } else {
      const groups = await db.articleTopic.groupBy({
        by: ['topicId'],
        where: { topicId: { in: [...ids] }, article: where },
        _count: { _all: true },
      });
      for (const group of groups) counts.set(group.topicId, group._count._all);
    }
    return ids.map((id) => counts.get(id) ?? 0);
  });
}

/**
 * The number of `parentId`'s articles matching `where`, batched with the other parents of the
 * request: one grouped COUNT per (parent kind, filter). `context` is the GraphQL context.
 */
export function countArticlesOf(
  context: object,
  db: Db,
  parent: Parent,
  parentId: number,
  where: Prisma.ArticleWhereInput,
): Promise<number> {
  return requestLoader(context, `count:${parent}:${JSON.stringify(where)}`, () => countLoader(db, parent, where)).load(
    parentId,
  );
}
