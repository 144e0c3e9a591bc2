-- Full-text search: a stored tsvector per article, weighted title (A) > description and
-- summary (B) > body (D), kept current by a trigger so that every writer (the API, imports,
-- hand-run SQL) leaves it right. A trigger rather than a generated column because Prisma's
-- schema diff cannot describe generated columns, and the drift check must stay empty.

-- AlterTable
ALTER TABLE "Article" ADD COLUMN     "searchVector" tsvector;

CREATE FUNCTION "newsgraph_article_search_vector"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."searchVector" :=
    setweight(to_tsvector('english'::regconfig, NEW."title"), 'A') ||
    setweight(to_tsvector('english'::regconfig, NEW."description" || ' ' || NEW."summary"), 'B') ||
    setweight(to_tsvector('english'::regconfig, NEW."body"), 'D');
  RETURN NEW;
END
$$;

CREATE TRIGGER "Article_searchVector_trigger"
  BEFORE INSERT OR UPDATE OF "title", "description", "summary", "body" ON "Article"
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_article_search_vector"();

-- Backfill the rows that exist (the trigger fires on this update).
UPDATE "Article" SET "title" = "title";

-- CreateIndex
CREATE INDEX "Article_searchVector_idx" ON "Article" USING GIN ("searchVector");
