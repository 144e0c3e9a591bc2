-- Count rollups: totals and facets of the most common filters (priority, Australian relevance,
-- source, month of publication, one topic) read a few hundred summed rows instead of counting
-- every matching article; at a million articles a count of one topic's priority >= 3 articles
-- read ~100k index entries per request. The same technique as PostgreSQL's "summary table
-- maintained by triggers" (https://www.postgresql.org/docs/current/plpgsql-trigger.html,
-- example 43.6); writes add signed delta rows instead of updating one counter row, so concurrent
-- writers of the same key never wait for each other, and a periodic compaction merges them.

-- The article's columns the per-topic counts need, copied onto its topic links: a link's row
-- alone then says what to add or subtract, even when the article is deleted with it (cascade).
ALTER TABLE "ArticleTopic" ADD COLUMN "isAustralian" BOOLEAN,
ADD COLUMN     "priority" SMALLINT,
ADD COLUMN     "publishedAt" TIMESTAMPTZ(3);

UPDATE "ArticleTopic" t SET "priority" = a."priority", "isAustralian" = a."isAustralian", "publishedAt" = a."publishedAt"
FROM "Article" a WHERE a."id" = t."articleId";

ALTER TABLE "ArticleTopic" ALTER COLUMN "isAustralian" SET NOT NULL,
ALTER COLUMN "priority" SET NOT NULL,
ALTER COLUMN "publishedAt" SET NOT NULL;

-- The same for an author's and a topic's newest articles: the page walks the link table's index.
ALTER TABLE "ArticleAuthor" ADD COLUMN "publishedAt" TIMESTAMPTZ(3);

UPDATE "ArticleAuthor" b SET "publishedAt" = a."publishedAt" FROM "Article" a WHERE a."id" = b."articleId";

ALTER TABLE "ArticleAuthor" ALTER COLUMN "publishedAt" SET NOT NULL;

-- CreateIndex
CREATE INDEX "ArticleAuthor_authorId_publishedAt_articleId_idx" ON "ArticleAuthor"("authorId", "publishedAt" DESC, "articleId" DESC);

-- CreateIndex
CREATE INDEX "ArticleTopic_topicId_publishedAt_articleId_idx" ON "ArticleTopic"("topicId", "publishedAt" DESC, "articleId" DESC);

-- CreateTable
CREATE TABLE "ArticleRollup" (
    "id" BIGSERIAL NOT NULL,
    "topicId" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "priority" SMALLINT NOT NULL,
    "isAustralian" BOOLEAN NOT NULL,
    "publishedMonth" TIMESTAMPTZ(3) NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "ArticleRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ArticleRollup_topicId_idx" ON "ArticleRollup"("topicId");

-- The month key of an instant: its month's first instant in UTC.
CREATE FUNCTION "newsgraph_month"(instant timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('month', instant, 'UTC') $$;

-- A link takes its article's columns when it is made or moved to another article. FOR SHARE: an
-- update of the article in progress is waited for (and read once committed), and an update that
-- starts later waits for this link to commit, so its trigger (below) sees the link and copies
-- the new values onto it.
CREATE FUNCTION "newsgraph_copy_article_columns"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT a."priority", a."isAustralian", a."publishedAt" INTO NEW."priority", NEW."isAustralian", NEW."publishedAt"
  FROM "Article" a WHERE a."id" = NEW."articleId" FOR SHARE;
  IF NOT FOUND THEN
    -- what the foreign key would say (its check comes after the NOT NULL one these columns fail)
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%_articleId_fkey"',
      TG_TABLE_NAME, TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "ArticleTopic_copy_article_columns" BEFORE INSERT OR UPDATE OF "articleId" ON "ArticleTopic"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_copy_article_columns"();

CREATE FUNCTION "newsgraph_copy_article_published_at"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT a."publishedAt" INTO NEW."publishedAt" FROM "Article" a WHERE a."id" = NEW."articleId" FOR SHARE;
  IF NOT FOUND THEN
    -- what the foreign key would say (its check comes after the NOT NULL one these columns fail)
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%_articleId_fkey"',
      TG_TABLE_NAME, TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "ArticleAuthor_copy_article_columns" BEFORE INSERT OR UPDATE OF "articleId" ON "ArticleAuthor"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_copy_article_published_at"();

-- Every statement on Article adds one delta row per key it changed (topicId 0), and passes changed
-- columns on to the article's topic and byline links.
CREATE FUNCTION "newsgraph_rollup_articles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", "newsgraph_month"("publishedAt"), count(*)
    FROM new_rows GROUP BY 2, 3, 4, 5;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", "newsgraph_month"("publishedAt"), -count(*)
    FROM old_rows GROUP BY 2, 3, 4, 5;
  ELSE
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT 0, "source", "priority", "isAustralian", "month", sum(d) FROM (
      SELECT "source", "priority", "isAustralian", "newsgraph_month"("publishedAt") AS "month", 1 AS d FROM new_rows
      UNION ALL
      SELECT "source", "priority", "isAustralian", "newsgraph_month"("publishedAt"), -1 FROM old_rows
    ) changes GROUP BY 2, 3, 4, 5 HAVING sum(d) <> 0;
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

CREATE TRIGGER "Article_rollup_insert" AFTER INSERT ON "Article"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_articles"();
CREATE TRIGGER "Article_rollup_update" AFTER UPDATE ON "Article"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_articles"();
CREATE TRIGGER "Article_rollup_delete" AFTER DELETE ON "Article"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_articles"();

-- Every statement on ArticleTopic (links made, moved, re-copied or deleted, cascades included)
-- adds one delta row per topic key it changed.
CREATE FUNCTION "newsgraph_rollup_topics"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", "newsgraph_month"("publishedAt"), count(*)
    FROM new_rows GROUP BY 1, 3, 4, 5;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", "newsgraph_month"("publishedAt"), -count(*)
    FROM old_rows GROUP BY 1, 3, 4, 5;
  ELSE
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", '', "priority", "isAustralian", "month", sum(d) FROM (
      SELECT "topicId", "priority", "isAustralian", "newsgraph_month"("publishedAt") AS "month", 1 AS d FROM new_rows
      UNION ALL
      SELECT "topicId", "priority", "isAustralian", "newsgraph_month"("publishedAt"), -1 FROM old_rows
    ) changes GROUP BY 1, 3, 4, 5 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ArticleTopic_rollup_insert" AFTER INSERT ON "ArticleTopic"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_topics"();
CREATE TRIGGER "ArticleTopic_rollup_update" AFTER UPDATE ON "ArticleTopic"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_topics"();
CREATE TRIGGER "ArticleTopic_rollup_delete" AFTER DELETE ON "ArticleTopic"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_topics"();

-- TRUNCATE fires no row or statement trigger above: emptying the articles (with CASCADE) or the
-- topic links empties the counts they made.
CREATE FUNCTION "newsgraph_rollup_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'Article' THEN
    DELETE FROM "ArticleRollup";
  ELSE
    DELETE FROM "ArticleRollup" WHERE "topicId" <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Article_rollup_truncate" AFTER TRUNCATE ON "Article"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_truncate"();
CREATE TRIGGER "ArticleTopic_rollup_truncate" AFTER TRUNCATE ON "ArticleTopic"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_rollup_truncate"();

-- Merges the delta rows of every key that has more than one (dropping keys that sum to zero);
-- returns how many rows it removed. Concurrent writers' uncommitted deltas are left alone, and a
-- reader sees the sums before or after, never a mix. One caller at a time (others return 0).
CREATE FUNCTION "newsgraph_compact_rollup"() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  removed integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('newsgraph_compact_rollup')) THEN
    RETURN 0;
  END IF;
  WITH keys AS (
    SELECT "topicId", "source", "priority", "isAustralian", "publishedMonth" FROM "ArticleRollup"
    GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1 OR sum("n") = 0
  ), gone AS (
    DELETE FROM "ArticleRollup" r USING keys k
    WHERE (r."topicId", r."source", r."priority", r."isAustralian", r."publishedMonth")
        = (k."topicId", k."source", k."priority", k."isAustralian", k."publishedMonth")
    RETURNING r.*
  ), merged AS (
    INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
    SELECT "topicId", "source", "priority", "isAustralian", "publishedMonth", sum("n") FROM gone
    GROUP BY 1, 2, 3, 4, 5 HAVING sum("n") <> 0
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM merged) INTO removed;
  RETURN removed;
END $$;

-- The counts of the articles already filed.
INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
SELECT 0, "source", "priority", "isAustralian", "newsgraph_month"("publishedAt"), count(*)
FROM "Article" GROUP BY 2, 3, 4, 5;
INSERT INTO "ArticleRollup" ("topicId", "source", "priority", "isAustralian", "publishedMonth", "n")
SELECT "topicId", '', "priority", "isAustralian", "newsgraph_month"("publishedAt"), count(*)
FROM "ArticleTopic" GROUP BY 1, 3, 4, 5;
