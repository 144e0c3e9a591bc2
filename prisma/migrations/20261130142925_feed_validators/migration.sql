-- AlterTable
ALTER TABLE "SavedSearch" ADD COLUMN     "feedChangedAt" TIMESTAMPTZ(3),
ADD COLUMN     "feedHash" TEXT;
