-- CreateIndex
CREATE INDEX "Article_description_trgm_idx" ON "Article" USING GIN ("description" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Article_summary_trgm_idx" ON "Article" USING GIN ("summary" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Article_body_trgm_idx" ON "Article" USING GIN ("body" gin_trgm_ops);
