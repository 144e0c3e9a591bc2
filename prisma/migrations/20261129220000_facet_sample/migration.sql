-- A uniform, deterministic sample of articles for facets of large result sets: the articles
-- whose hashed id falls in the first k of 1024 buckets. The index lets a bitmap scan read only
-- the sampled matches of a search (a BitmapAnd with the search's GIN index) instead of all.
CREATE INDEX "Article_sample_idx" ON "Article" ((hashint4("id") & 1023));
