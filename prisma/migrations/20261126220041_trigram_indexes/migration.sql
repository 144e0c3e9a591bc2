-- Trigram indexes serve the case-insensitive contains/equals filters (ILIKE).
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateIndex
CREATE INDEX "Article_title_trgm_idx" ON "Article" USING GIN ("title" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Article_source_trgm_idx" ON "Article" USING GIN ("source" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Author_name_trgm_idx" ON "Author" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Topic_name_trgm_idx" ON "Topic" USING GIN ("name" gin_trgm_ops);
