-- CreateEnum
CREATE TYPE "RevisionAction" AS ENUM ('CREATED', 'UPDATED', 'MERGED', 'RESTORED');

-- CreateTable
CREATE TABLE "TrashedArticle" (
    "id" INTEGER NOT NULL,
    "urlKey" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "publishedAt" TIMESTAMPTZ(3) NOT NULL,
    "row" JSONB NOT NULL,
    "authors" JSONB NOT NULL DEFAULT '[]',
    "topics" JSONB NOT NULL DEFAULT '[]',
    "deletedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedBy" TEXT,

    CONSTRAINT "TrashedArticle_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ArticleRevision" (
    "id" BIGSERIAL NOT NULL,
    "articleId" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "action" "RevisionAction" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "by" TEXT,
    "changes" JSONB NOT NULL,

    CONSTRAINT "ArticleRevision_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "TrashedArticle_urlKey_key" ON "TrashedArticle"("urlKey");

-- CreateIndex
CREATE INDEX "TrashedArticle_deletedAt_id_idx" ON "TrashedArticle"("deletedAt" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "ArticleRevision_articleId_version_key" ON "ArticleRevision"("articleId", "version");
