-- CreateTable
CREATE TABLE "AuthorMerge" (
    "fromId" INTEGER NOT NULL,
    "intoId" INTEGER NOT NULL,
    "mergedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuthorMerge_pkey" PRIMARY KEY ("fromId")
);

-- CreateTable
CREATE TABLE "TopicMerge" (
    "fromId" INTEGER NOT NULL,
    "intoId" INTEGER NOT NULL,
    "mergedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TopicMerge_pkey" PRIMARY KEY ("fromId")
);

-- CreateIndex
CREATE INDEX "AuthorMerge_intoId_idx" ON "AuthorMerge"("intoId");

-- CreateIndex
CREATE INDEX "TopicMerge_intoId_idx" ON "TopicMerge"("intoId");
