-- Author.articleCount and Topic.articleCount, kept once per statement instead of once per row.
-- A row-level trigger updated a topic's row once per link: a statement adding 3,000 links to one
-- topic updated that row 3,000 times in one transaction, and each update walked the row's chain
-- of versions the transaction had made (none can be pruned yet): quadratic, 2.7 s for 4,500
-- links to 3 topics on PostgreSQL 15, and a bulk load's time grew with it. Now each statement
-- applies one net change per author or topic, from its transition tables, in id order (so two
-- statements take the locks on the rows they share in the same order).
-- Transition tables cannot go with a column list (UPDATE OF), so the update triggers fire on
-- every update of a link and change nothing when no authorId or topicId moved.

DROP TRIGGER "ArticleAuthor_articleCount" ON "ArticleAuthor";
DROP TRIGGER "ArticleTopic_articleCount" ON "ArticleTopic";
DROP FUNCTION "newsgraph_count_author_articles"();
DROP FUNCTION "newsgraph_count_topic_articles"();

CREATE FUNCTION "newsgraph_count_author_articles"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added int[] := '{}';
  removed int[] := '{}';
  change record;
BEGIN
  -- a transition table exists only for the events that have it
  IF TG_OP IN ('INSERT', 'UPDATE') THEN added := ARRAY(SELECT n."authorId" FROM new_rows n); END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN removed := ARRAY(SELECT o."authorId" FROM old_rows o); END IF;
  FOR change IN
    SELECT d."id", sum(d."delta")::int AS "delta" FROM (
      SELECT unnest(added) AS "id", 1 AS "delta" UNION ALL SELECT unnest(removed), -1
    ) d GROUP BY d."id" HAVING sum(d."delta") <> 0 ORDER BY d."id"
  LOOP
    UPDATE "Author" SET "articleCount" = "articleCount" + change."delta" WHERE "id" = change."id";
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER "ArticleAuthor_articleCount_insert" AFTER INSERT ON "ArticleAuthor"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_author_articles"();
CREATE TRIGGER "ArticleAuthor_articleCount_update" AFTER UPDATE ON "ArticleAuthor"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_author_articles"();
CREATE TRIGGER "ArticleAuthor_articleCount_delete" AFTER DELETE ON "ArticleAuthor"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_author_articles"();

CREATE FUNCTION "newsgraph_count_topic_articles"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added int[] := '{}';
  removed int[] := '{}';
  change record;
BEGIN
  -- a transition table exists only for the events that have it
  IF TG_OP IN ('INSERT', 'UPDATE') THEN added := ARRAY(SELECT n."topicId" FROM new_rows n); END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN removed := ARRAY(SELECT o."topicId" FROM old_rows o); END IF;
  FOR change IN
    SELECT d."id", sum(d."delta")::int AS "delta" FROM (
      SELECT unnest(added) AS "id", 1 AS "delta" UNION ALL SELECT unnest(removed), -1
    ) d GROUP BY d."id" HAVING sum(d."delta") <> 0 ORDER BY d."id"
  LOOP
    UPDATE "Topic" SET "articleCount" = "articleCount" + change."delta" WHERE "id" = change."id";
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER "ArticleTopic_articleCount_insert" AFTER INSERT ON "ArticleTopic"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_topic_articles"();
CREATE TRIGGER "ArticleTopic_articleCount_update" AFTER UPDATE ON "ArticleTopic"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_topic_articles"();
CREATE TRIGGER "ArticleTopic_articleCount_delete" AFTER DELETE ON "ArticleTopic"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_topic_articles"();

-- TRUNCATE fires no row or statement trigger of the other kinds: it empties the counts itself
-- (also when it reaches the links through TRUNCATE "Article" CASCADE).
CREATE FUNCTION "newsgraph_zero_article_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'ArticleAuthor' THEN
    UPDATE "Author" SET "articleCount" = 0 WHERE "articleCount" <> 0;
  ELSE
    UPDATE "Topic" SET "articleCount" = 0 WHERE "articleCount" <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ArticleAuthor_articleCount_truncate" AFTER TRUNCATE ON "ArticleAuthor"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_zero_article_counts"();
CREATE TRIGGER "ArticleTopic_articleCount_truncate" AFTER TRUNCATE ON "ArticleTopic"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_zero_article_counts"();
