import { prisma } from '../../src/db/client.ts';

/**
 * How far the count rollup (ArticleRollup) and the topic links' copies of their article's
 * columns are from the articles themselves: keys whose summed count differs from a count of
 * the rows, and topic and byline links whose copies differ from their article. Both are 0 after
 * any writes.
 */
export async function rollupDrift(): Promise<{ keys: number; copies: number }> {
  const [row] = await prisma.$queryRaw<{ keys: number; copies: number }[]>`
    WITH truth AS (
      SELECT 0 AS "topicId", "source", "priority", "isAustralian", "newsgraph_month"("publishedAt") AS "month",
             count(*)::int AS "n"
      FROM "Article" GROUP BY 1, 2, 3, 4, 5
      UNION ALL
      SELECT t."topicId", '', a."priority", a."isAustralian", "newsgraph_month"(a."publishedAt"), count(*)::int
      FROM "ArticleTopic" t JOIN "Article" a ON a."id" = t."articleId" GROUP BY 1, 2, 3, 4, 5
    ), kept AS (
      SELECT "topicId", "source", "priority", "isAustralian", "publishedMonth" AS "month", sum("n")::int AS "n"
      FROM "ArticleRollup" GROUP BY 1, 2, 3, 4, 5 HAVING sum("n") <> 0
    )
    SELECT
      (SELECT count(*)::int FROM ((SELECT * FROM truth EXCEPT SELECT * FROM kept)
                                  UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM truth)) d) AS "keys",
      (SELECT count(*)::int FROM "ArticleTopic" t JOIN "Article" a ON a."id" = t."articleId"
        WHERE (t."priority", t."isAustralian", t."publishedAt")
              IS DISTINCT FROM (a."priority", a."isAustralian", a."publishedAt"))
      + (SELECT count(*)::int FROM "ArticleAuthor" b JOIN "Article" a ON a."id" = b."articleId"
        WHERE b."publishedAt" <> a."publishedAt") AS "copies"`;
  return row!;
}
