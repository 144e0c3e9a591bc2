-- All-months rows in the count rollup: besides its rows by month of publication, every key
-- (topic, source, priority, Australian relevance) gets rows whose "publishedMonth" is
-- '-infinity', counting its articles of every month. A count or facet whose filter has no
-- publication bound sums those: at a million articles the topic facet of `priority >= 3` read
-- 320k month rows (500 topics x 3 priorities x 2 x 107 months) and now reads 3k, and one
-- topic's count 420 rows and now 6. Readers choose one kind of row or the other, never both
-- (src/resolvers/articles/rollup.ts). The triggers write both kinds in the same statement; an
-- update that only moves an article to another month nets to zero in its all-months row and
-- writes none there.

CREATE OR REPLACE FUNCTION "newsgraph_rollup_articles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", k."month", count(*)
    FROM new_rows, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 2, 3, 4, 5;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", k."month", -count(*)
    FROM old_rows, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 2, 3, 4, 5;
  ELSE
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", k."month", sum(d) FROM (
      SELECT "source", "priority", "isAustralian", "publishedAt", 1 AS d FROM new_rows
      UNION ALL
      SELECT "source", "priority", "isAustralian", "publishedAt", -1 FROM old_rows
    ) changes, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 2, 3, 4, 5 HAVING sum(d) <> 0;
    UPDATE "ArticleTopic" t SET "priority" = n."priority", "isAustralian" = n."isAustralian", "publishedAt" = n."publishedAt"
    FROM new_rows n JOIN old_rows o ON o."id" = n."id"
    WHERE t."articleId" = n."id"
      AND (o."priority", o."isAustralian", o."publishedAt") IS DISTINCT FROM (n."priority", n."isAustralian", n."publishedAt");
    UPDATE "ArticleAuthor" b SET "publishedAt" = n."publishedAt"
    FROM new_rows n JOIN old_rows o ON o."id" = n."id"
    WHERE b."articleId" = n."id" AND o."publishedAt" IS DISTINCT FROM n."publishedAt";
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION "newsgraph_rollup_topics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", k."month", count(*)
    FROM new_rows, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 1, 3, 4, 5;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", k."month", -count(*)
    FROM old_rows, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 1, 3, 4, 5;
  ELSE
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", k."month", sum(d) FROM (
      SELECT "topicId", "priority", "isAustralian", "publishedAt", 1 AS d FROM new_rows
      UNION ALL
      SELECT "topicId", "priority", "isAustralian", "publishedAt", -1 FROM old_rows
    ) changes, LATERAL (VALUES ("newsgraph_month"("publishedAt")), ('-infinity'::timestamptz)) k("month")
    GROUP BY 1, 3, 4, 5 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

-- The all-months rows of the articles already filed, from their month rows.
INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
SELECT "topicId", "source", "priority", "isAustralian", '-infinity', sum("n")
FROM "ArticleRollup" GROUP BY 1, 2, 3, 4 HAVING sum("n") <> 0;

-- The topic facet reads every topic's all-months rows: a few thousand, from this index alone.
CREATE INDEX "ArticleRollup_all_months_idx" ON "ArticleRollup" ("topicId", "priority", "isAustralian") INCLUDE ("n")
  WHERE "publishedMonth" = '-infinity';
