-- Text-search indexes of an article's title alone and of its head (title, description, summary).
-- Ranked search reads its matches in tiers (src/resolvers/articles/search.ts): those whose title
-- matches the search by itself, then those whose head does, then the rest; so a first page of a
-- search with tens of thousands of body matches ranks a few hundred title matches instead of
-- reading every match's stored vector. Expression indexes, so no column to backfill or keep;
-- queries spell the same expressions (titleVector and headVector in search.ts).
CREATE INDEX "Article_titleVector_idx" ON "Article" USING GIN (to_tsvector('english'::regconfig, "title"));
-- The head is built as "searchVector" builds it (title, then description and summary), so word
-- positions, and so phrase matches, agree.
CREATE INDEX "Article_headVector_idx" ON "Article"
  USING GIN ((to_tsvector('english'::regconfig, "title") || to_tsvector('english'::regconfig, "description" || ' ' || "summary")));
