-- CreateIndex
CREATE INDEX "Article_separatedFrom_idx" ON "Article" USING GIN ("separatedFrom");
