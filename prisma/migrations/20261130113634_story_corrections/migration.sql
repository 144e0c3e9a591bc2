-- Corrections to stories found by review.
--
-- 1. A story is never committed without a member. The trigger that gives an inserted article a
--    story of its own runs before the insert, so an INSERT ... ON CONFLICT DO NOTHING that met an
--    existing URL (every upsert of a filed story) left an empty story behind, whose `lead` a
--    reader then could not resolve. A deferred constraint trigger deletes, at commit, every story
--    inserted by the transaction that has no member by then.
-- 2. An editor's separation sticks: an article taken out of a story remembers the articles it
--    was taken from, and the detector never puts any of them into its story (an edit of an
--    article left behind matched the detached one, or a later copy of it, and followed it).

ALTER TABLE "Article" ADD COLUMN "separatedFrom" INTEGER[] DEFAULT ARRAY[]::INTEGER[];

DELETE FROM "Story" s WHERE NOT EXISTS (SELECT 1 FROM "Article" a WHERE a."storyId" = s."id");

CREATE FUNCTION "newsgraph_story_not_empty"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Story" s WHERE s."id" = NEW."id"
    AND NOT EXISTS (SELECT 1 FROM "Article" a WHERE a."storyId" = s."id");
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER "Story_not_empty" AFTER INSERT ON "Story" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "newsgraph_story_not_empty"();
