-- Stories: every article belongs to exactly one story (a story of one when it has no copies).
-- The story detector (src/resolvers/stories/) groups syndicated copies and near-duplicates; it
-- keeps what it knows of each article's text in "ArticleFingerprint" and its locality-sensitive
-- hashing buckets in "ArticleBand". Triggers keep every story's lead, member count, sources and
-- publication span, and delete a story whose last member left, whoever writes.

CREATE TABLE "Story" (
    "id" SERIAL NOT NULL,
    "leadId" INTEGER,
    "leadChosen" BOOLEAN NOT NULL DEFAULT false,
    "articleCount" INTEGER NOT NULL DEFAULT 0,
    "sources" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "firstPublishedAt" TIMESTAMPTZ(3),
    "lastPublishedAt" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Story_pkey" PRIMARY KEY ("id")
);

-- Existing articles: a story of one each, numbered as the article.
ALTER TABLE "Article" ADD COLUMN "storyId" INTEGER,
ADD COLUMN "storyPinned" BOOLEAN NOT NULL DEFAULT false;
INSERT INTO "Story" ("id", "leadId", "articleCount", "sources", "firstPublishedAt", "lastPublishedAt")
  SELECT "id", "id", 1, ARRAY["source"], "publishedAt", "publishedAt" FROM "Article";
UPDATE "Article" SET "storyId" = "id";
SELECT setval(pg_get_serial_sequence('"Story"', 'id'), GREATEST((SELECT max("id") FROM "Story"), 1),
              (SELECT max("id") FROM "Story") IS NOT NULL);
ALTER TABLE "Article" ALTER COLUMN "storyId" SET NOT NULL;

CREATE TABLE "ArticleFingerprint" (
    "articleId" INTEGER NOT NULL,
    "signature" INTEGER[],
    "shingles" INTEGER NOT NULL,
    "titleWords" TEXT[],

    CONSTRAINT "ArticleFingerprint_pkey" PRIMARY KEY ("articleId")
);

CREATE TABLE "ArticleBand" (
    "bucket" INTEGER NOT NULL,
    "publishedAt" TIMESTAMPTZ(3) NOT NULL,
    "articleId" INTEGER NOT NULL,

    CONSTRAINT "ArticleBand_pkey" PRIMARY KEY ("bucket","publishedAt","articleId")
);

CREATE INDEX "Story_leadId_idx" ON "Story"("leadId");
CREATE INDEX "Story_lastPublishedAt_id_idx" ON "Story"("lastPublishedAt" DESC, "id" DESC);
CREATE INDEX "ArticleBand_articleId_idx" ON "ArticleBand"("articleId");
CREATE INDEX "Article_storyId_publishedAt_id_idx" ON "Article"("storyId", "publishedAt", "id");

ALTER TABLE "Article" ADD CONSTRAINT "Article_storyId_fkey" FOREIGN KEY ("storyId") REFERENCES "Story"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Story" ADD CONSTRAINT "Story_leadId_fkey" FOREIGN KEY ("leadId") REFERENCES "Article"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "ArticleFingerprint" ADD CONSTRAINT "ArticleFingerprint_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ArticleBand" ADD CONSTRAINT "ArticleBand_articleId_fkey" FOREIGN KEY ("articleId") REFERENCES "Article"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- An article inserted without a story (a bulk load, an import, plain SQL) gets one of its own.
CREATE FUNCTION "newsgraph_new_story"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."storyId" IS NULL THEN
    INSERT INTO "Story" DEFAULT VALUES RETURNING "id" INTO NEW."storyId";
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "Article_new_story" BEFORE INSERT ON "Article" FOR EACH ROW EXECUTE FUNCTION "newsgraph_new_story"();

-- Recomputes the stories `ids` from their members, once each, in id order (their rows locked in
-- that order, so concurrent writers meet them in the same order): a story with no member left is
-- deleted; otherwise its lead (the editor's choice while it is still a member, else the earliest
-- published, ties to the lowest id), count, sources and span are set, and its version moves only
-- when one of them changed.
CREATE FUNCTION "newsgraph_refresh_stories"("ids" int[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF "ids" IS NULL OR cardinality("ids") = 0 THEN RETURN; END IF;
  -- NO KEY UPDATE: the foreign key checks of the articles joining a story hold KEY SHARE on it
  PERFORM 1 FROM "Story" WHERE "id" = ANY("ids") ORDER BY "id" FOR NO KEY UPDATE;
  DELETE FROM "Story" s WHERE s."id" = ANY("ids")
    AND NOT EXISTS (SELECT 1 FROM "Article" a WHERE a."storyId" = s."id");
  UPDATE "Story" s SET
      "leadId" = c."leadId", "leadChosen" = c."leadChosen", "articleCount" = c."n", "sources" = c."sources",
      "firstPublishedAt" = c."first", "lastPublishedAt" = c."last",
      "version" = s."version" + 1, "updatedAt" = now()
    FROM (
      SELECT m."id",
             CASE WHEN k."kept" THEN t."leadId" ELSE m."earliest" END AS "leadId",
             k."kept" AS "leadChosen", m."n", m."sources", m."first", m."last"
      FROM (
        SELECT a."storyId" AS "id", count(*)::int AS "n", min(a."publishedAt") AS "first",
               max(a."publishedAt") AS "last",
               array_agg(DISTINCT a."source"::text ORDER BY a."source"::text) AS "sources",
               (array_agg(a."id" ORDER BY a."publishedAt", a."id"))[1] AS "earliest"
        FROM "Article" a WHERE a."storyId" = ANY("ids") GROUP BY a."storyId"
      ) m
      JOIN "Story" t ON t."id" = m."id"
      CROSS JOIN LATERAL (SELECT t."leadChosen" AND EXISTS (
        SELECT 1 FROM "Article" x WHERE x."id" = t."leadId" AND x."storyId" = t."id") AS "kept") k
    ) c
    WHERE s."id" = c."id"
      AND (s."leadId", s."leadChosen", s."articleCount", s."sources", s."firstPublishedAt", s."lastPublishedAt")
          IS DISTINCT FROM (c."leadId", c."leadChosen", c."n", c."sources", c."first", c."last");
END $$;

-- Once per statement, from its transition tables: the stories of inserted and deleted articles,
-- and of updated ones whose story, publication date or source changed.
CREATE FUNCTION "newsgraph_article_stories"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  "ids" int[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT n."storyId") INTO "ids" FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT o."storyId") INTO "ids" FROM old_rows o;
  ELSE
    SELECT array_agg(DISTINCT x."storyId") INTO "ids" FROM (
      SELECT n."storyId" FROM new_rows n JOIN old_rows o ON o."id" = n."id"
        WHERE (n."storyId", n."publishedAt", n."source") IS DISTINCT FROM (o."storyId", o."publishedAt", o."source")
      UNION ALL
      SELECT o."storyId" FROM new_rows n JOIN old_rows o ON o."id" = n."id"
        WHERE (n."storyId", n."publishedAt", n."source") IS DISTINCT FROM (o."storyId", o."publishedAt", o."source")
    ) x;
  END IF;
  PERFORM "newsgraph_refresh_stories"("ids");
  RETURN NULL;
END $$;
CREATE TRIGGER "Article_stories_insert" AFTER INSERT ON "Article" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_article_stories"();
CREATE TRIGGER "Article_stories_update" AFTER UPDATE ON "Article" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_article_stories"();
CREATE TRIGGER "Article_stories_delete" AFTER DELETE ON "Article" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "newsgraph_article_stories"();
