-- Partial text-search indexes of the facets' sample (src/resolvers/articles/facets.ts): the
-- stored vectors of the articles whose hashed id falls in the first 64, and the first 8, of
-- 1,024 buckets (1/16 and 1/128 of the articles). Beyond 2 x `sampleAbove` matches a search's
-- facets count the matches below a bucket limit; read through the GIN index of every article,
-- each match's row was read to test its bucket (45k pages for the 56k matches of a search at a
-- million articles). Through these, only the rows of the sample's buckets are read. Queries
-- spell the same predicate with a literal bound, which the planner proves implies the index's.
CREATE INDEX "Article_searchVector_sample64_idx" ON "Article" USING GIN ("searchVector")
  WHERE (hashint4("id") & 1023) < 64;
CREATE INDEX "Article_searchVector_sample8_idx" ON "Article" USING GIN ("searchVector")
  WHERE (hashint4("id") & 1023) < 8;
