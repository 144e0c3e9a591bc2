import { prisma } from '../../src/db/client.ts';

/**
 * How far the counts the triggers keep are from the rows themselves: rollup (ArticleRollup) keys
 * (by month, and all-months) whose summed count differs from a count of the rows, topic and byline links whose copies differ
 * from their article, and authors and topics whose `articleCount` differs from their links. All
 * are 0 after any writes.
 */
export async function rollupDrift(): Promise<{ keys: number; copies: number; articleCounts: number }> {
  const [row] = await prisma.$queryRaw<{ keys: number; copies: number; articleCounts: number }[]>`
    WITH by_month AS (
      SELECT 0 AS "topicId", "source", "priority", "isAustralian", "newsgraph_month"("publishedAt") AS "month",
             count(*)::int AS "n"
      FROM "Article" GROUP BY 1, 2, 3, 4, 5
      UNION ALL
      SELECT t."topicId", '', a."priority", a."isAustralian", "newsgraph_month"(a."publishedAt"), count(*)::int
      FROM "ArticleTopic" t JOIN "Article" a ON a."id" = t."articleId" GROUP BY 1, 2, 3, 4, 5
    ), truth AS (
      -- the rows by month, and each key's all-months row
      SELECT * FROM by_month
      UNION ALL
      SELECT "topicId", "source", "priority", "isAustralian", '-infinity'::timestamptz, sum("n")::int
      FROM by_month GROUP BY 1, 2, 3, 4
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
        WHERE b."publishedAt" <> a."publishedAt") AS "copies",
      (SELECT count(*)::int FROM "Author" au
        WHERE au."articleCount" <> (SELECT count(*) FROM "ArticleAuthor" b WHERE b."authorId" = au."id"))
      + (SELECT count(*)::int FROM "Topic" tp
        WHERE tp."articleCount" <> (SELECT count(*) FROM "ArticleTopic" t WHERE t."topicId" = tp."id")) AS "articleCounts"`;
  return row!;
}
