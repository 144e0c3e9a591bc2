-- Titles and author and topic names sort the way people expect ("apple", "Ångström", "Banana",
-- "Éclair", "zebra", "Zulu"), not in byte order ("Banana", "Zulu", "apple", ...): their columns
-- take the ICU root collation ("und-x-icu", the Unicode Collation Algorithm's default order).
-- Both PGlite and PostgreSQL servers built with ICU provide it, so the order is the same on
-- every database whatever its default collation; indexes, ORDER BY and cursor comparisons all
-- follow the column. It is deterministic: equality (and so uniqueness) stays exact.

-- One transaction: the triggers that name these columns are put back as they were.
BEGIN;

DROP TRIGGER "Article_searchVector_trigger" ON "Article";
DROP TRIGGER "Author_nameKey_trigger" ON "Author";
DROP TRIGGER "Topic_nameKey_trigger" ON "Topic";

ALTER TABLE "Article" ALTER COLUMN "title" TYPE TEXT COLLATE "und-x-icu";
ALTER TABLE "Author" ALTER COLUMN "name" TYPE TEXT COLLATE "und-x-icu";
ALTER TABLE "Topic" ALTER COLUMN "name" TYPE TEXT COLLATE "und-x-icu";

CREATE TRIGGER "Article_searchVector_trigger"
  BEFORE INSERT OR UPDATE OF "title", "description", "summary", "body" ON "Article"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_article_search_vector"();

CREATE TRIGGER "Author_nameKey_trigger" BEFORE INSERT OR UPDATE OF "name", "nameKey" ON "Author"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_set_name_key"();

CREATE TRIGGER "Topic_nameKey_trigger" BEFORE INSERT OR UPDATE OF "name", "nameKey" ON "Topic"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_set_name_key"();

COMMIT;
