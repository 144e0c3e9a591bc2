-- Articles keep the link as filed (url) and gain its normalized form (urlKey), unique.
-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('EDITOR', 'ADMIN');

-- DropIndex
DROP INDEX "Article_url_key";

-- AlterTable
ALTER TABLE "Article" ADD COLUMN     "createdBy" TEXT,
ADD COLUMN     "updatedBy" TEXT,
ADD COLUMN     "urlKey" TEXT;

-- Existing rows get the normalization of src/resolvers/urls.ts as far as SQL can express it
-- (lower-case scheme and host, no fragment, no trailing slash). Links that normalize alike
-- make the unique index below fail loudly rather than merge stories silently.
UPDATE "Article" AS a
SET "urlKey" = regexp_replace(
  lower(substring(s.u from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'))
    || coalesce(substring(s.u from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^#]*)$'), ''),
  '/+(\?|$)', '\1')
FROM (SELECT "id", regexp_replace("url", '#.*$', '') AS u FROM "Article") AS s
WHERE s."id" = a."id";

ALTER TABLE "Article" ALTER COLUMN "urlKey" SET NOT NULL;

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "prefix" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_name_key" ON "ApiKey"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_secretHash_key" ON "ApiKey"("secretHash");

-- CreateIndex
CREATE UNIQUE INDEX "Article_urlKey_key" ON "Article"("urlKey");
