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

-- One function for both link tables: TG_ARGV[0] is the counted table ("Author" or "Topic"),
-- TG_ARGV[1] the link's column naming its row ("authorId" or "topicId").
CREATE FUNCTION "newsgraph_count_linked_articles"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added int[] := '{}';
  removed int[] := '{}';
  change record;
BEGIN
  -- a transition table exists only for the events that have it
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('SELECT ARRAY(SELECT n.%I FROM new_rows n)', TG_ARGV[1]) INTO added;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    EXECUTE format('SELECT ARRAY(SELECT o.%I FROM old_rows o)', TG_ARGV[1]) INTO removed;
  END IF;
  FOR change IN
    SELECT d."id", sum(d."delta")::int AS "delta" FROM (
      SELECT unnest(added) AS "id", 1 AS "delta" UNION ALL SELECT unnest(removed), -1
    ) d GROUP BY d."id" HAVING sum(d."delta") <> 0 ORDER BY d."id"
  LOOP
    EXECUTE format('UPDATE %I SET "articleCount" = "articleCount" + $1 WHERE "id" = $2', TG_ARGV[0])
      USING change."delta", change."id";
  END LOOP;
  RETURN NULL;
END $$;

-- TRUNCATE fires no row or statement trigger of the other kinds: it empties the counts itself
-- (also when it reaches the links through TRUNCATE "Article" CASCADE).
CREATE FUNCTION "newsgraph_zero_article_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I SET "articleCount" = 0 WHERE "articleCount" <> 0', TG_ARGV[0]);
  RETURN NULL;
END $$;

CREATE TRIGGER "ArticleAuthor_articleCount_insert" AFTER INSERT ON "ArticleAuthor" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Author', 'authorId');
CREATE TRIGGER "ArticleAuthor_articleCount_update" AFTER UPDATE ON "ArticleAuthor" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Author', 'authorId');
CREATE TRIGGER "ArticleAuthor_articleCount_delete" AFTER DELETE ON "ArticleAuthor" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Author', 'authorId');
CREATE TRIGGER "ArticleAuthor_articleCount_truncate" AFTER TRUNCATE ON "ArticleAuthor"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_zero_article_counts"('Author');

CREATE TRIGGER "ArticleTopic_articleCount_insert" AFTER INSERT ON "ArticleTopic" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Topic', 'topicId');
CREATE TRIGGER "ArticleTopic_articleCount_update" AFTER UPDATE ON "ArticleTopic" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Topic', 'topicId');
CREATE TRIGGER "ArticleTopic_articleCount_delete" AFTER DELETE ON "ArticleTopic" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_count_linked_articles"('Topic', 'topicId');
CREATE TRIGGER "ArticleTopic_articleCount_truncate" AFTER TRUNCATE ON "ArticleTopic"
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_zero_article_counts"('Topic');
