import { progressBar } from '../src/cli/progress.ts';
import { normalizeUrl } from '../src/resolvers/articles/urls.ts';
import { fingerprint } from '../src/resolvers/stories/fingerprint.ts';
import type { Dataset } from './generate.ts';

/**
 * Loads a generated dataset with batched multi-row inserts (one INSERT ... SELECT FROM unnest(...)
 * per column set and batch), through any client with `query(text, params)`: node-postgres for a
 * server, PGlite for the embedded database. The article-count triggers of the join tables are
 * disabled during the load and the counts computed once at the end; the search-vector trigger
 * stays on, so the stored vectors are exactly what the API's writes produce. Each article gets a
 * story of its own (the stories trigger) and the story detector's fingerprint and buckets.
 */

export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The triggers that keep Author.articleCount and Topic.articleCount (the statement_level_article_counts migration). */
const COUNT_TRIGGERS = ['ArticleAuthor', 'ArticleTopic'].flatMap((table) =>
  ['insert', 'update', 'delete'].map((event) => [table, `${table}_articleCount_${event}`] as const),
);

/**
 * `clients` load batches concurrently (one per core helps: building search vectors is CPU work in
 * the database); the first also runs the set-up and finishing statements. GIN indexes are dropped
 * for the load and rebuilt after it, which is several times faster than maintaining them row by row.
 */
export async function loadDataset(clients: SqlClient[], data: Dataset, options: { batchSize?: number } = {}) {
  const batchSize = options.batchSize ?? 1000;
  const started = Date.now();
  const db = clients[0]!;
  const gin = (await db.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'Article' AND indexdef LIKE '%USING gin%'`,
  )) as { rows: { indexname: string; indexdef: string }[] };
  for (const index of gin.rows) await db.query(`DROP INDEX "${index.indexname}"`);
  // the story buckets' indexes too: built once after the load, as the GIN ones
  const bandIndexes = (await db.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ArticleBand' ORDER BY indexname`,
  )) as { rows: { indexname: string; indexdef: string }[] };
  await db.query('ALTER TABLE "ArticleBand" DROP CONSTRAINT "ArticleBand_pkey"');
  await db.query('DROP INDEX "ArticleBand_articleId_idx"');
  // articleCount is set once after the load (below) rather than by its triggers per batch
  for (const [table, trigger] of COUNT_TRIGGERS) await db.query(`ALTER TABLE "${table}" DISABLE TRIGGER "${trigger}"`);

  const authorRows = (await db.query(
    'INSERT INTO "Author" ("name") SELECT * FROM unnest($1::text[]) RETURNING "id", "name"',
    [data.authors],
  )) as { rows: { id: number; name: string }[] };
  const authorIds = new Map(authorRows.rows.map((row) => [row.name, row.id]));
  const topicRows = (await db.query(
    'INSERT INTO "Topic" ("name", "slug") SELECT * FROM unnest($1::text[], $2::text[]) RETURNING "id", "name"',
    [data.topics.map((t) => t.name), data.topics.map((t) => t.slug)],
  )) as { rows: { id: number; name: string }[] };
  const topicIds = new Map(topicRows.rows.map((row) => [row.name, row.id]));

  const progress = progressBar('loading', data.size);
  let done = 0;
  const insertBatch = async (
    db: SqlClient,
    batch: ReturnType<Dataset['articles']> extends Generator<infer B> ? B : never,
  ) => {
    const keys = batch.map((a) => normalizeUrl(a.url));
    const inserted = (await db.query(
      `INSERT INTO "Article" ("title", "url", "urlKey", "source", "publishedAt", "createdAt", "updatedAt",
         "priority", "isAustralian", "description", "summary", "body")
       SELECT t, u, k, s, p, p, p, pr, au, d, su, b
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::smallint[],
                   $7::boolean[], $8::text[], $9::text[], $10::text[]) AS x(t, u, k, s, p, pr, au, d, su, b)
       RETURNING "id", "urlKey"`,
      [
        batch.map((a) => a.title),
        batch.map((a) => a.url),
        keys,
        batch.map((a) => a.source),
        batch.map((a) => a.publishedAt.toISOString()),
        batch.map((a) => a.priority),
        batch.map((a) => a.isAustralian),
        batch.map((a) => a.description),
        batch.map((a) => a.summary),
        batch.map((a) => a.body),
      ],
    )) as { rows: { id: number; urlKey: string }[] };
    const ids = new Map(inserted.rows.map((row) => [row.urlKey, row.id]));
    const bylines: [number[], number[], number[]] = [[], [], []];
    const tags: [number[], number[]] = [[], []];
    batch.forEach((article, index) => {
      const id = ids.get(keys[index]!)!;
      article.authors.forEach((author, position) => {
        bylines[0].push(id);
        bylines[1].push(authorIds.get(data.authors[author]!)!);
        bylines[2].push(position);
      });
      for (const topic of article.topics) {
        tags[0].push(id);
        tags[1].push(topicIds.get(data.topics[topic]!.name)!);
      }
    });
    await db.query(
      'INSERT INTO "ArticleAuthor" ("articleId", "authorId", "position") SELECT * FROM unnest($1::int[], $2::int[], $3::smallint[])',
      bylines,
    );
    await db.query(
      'INSERT INTO "ArticleTopic" ("articleId", "topicId") SELECT * FROM unnest($1::int[], $2::int[])',
      tags,
    );
    // what the story detector stores of each (the generated texts have no copies: each is a
    // story of its own, as the detector would leave it)
    const prints = batch.map((article) => fingerprint(article));
    const articleIds = keys.map((key) => ids.get(key)!);
    await db.query(
      `INSERT INTO "ArticleFingerprint" ("articleId", "signature", "shingles", "titleWords")
       SELECT i, s::int[], n, w::text[] FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) AS x(i, s, n, w)`,
      [
        articleIds,
        prints.map((print) => `{${print.signature.join(',')}}`),
        prints.map((print) => print.shingles),
        // letters and digits only (words()), quoted so that a word such as "null" stays a word
        prints.map((print) => `{${print.titleWords.map((word) => `"${word}"`).join(',')}}`),
      ],
    );
    const bands: [number[], string[], number[]] = [[], [], []];
    prints.forEach((print, index) => {
      for (const bucket of print.buckets) {
        bands[0].push(bucket);
        bands[1].push(batch[index]!.publishedAt.toISOString());
        bands[2].push(articleIds[index]!);
      }
    });
    await db.query(
      'INSERT INTO "ArticleBand" ("bucket", "publishedAt", "articleId") SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::int[])',
      bands,
    );
    done += batch.length;
    progress(done);
  };
  const batches = data.articles(batchSize);
  await Promise.all(
    clients.map(async (client) => {
      for (let next = batches.next(); !next.done; next = batches.next()) await insertBatch(client, next.value);
    }),
  );
  for (const index of gin.rows) await db.query(index.indexdef);
  await db.query(
    'ALTER TABLE "ArticleBand" ADD CONSTRAINT "ArticleBand_pkey" PRIMARY KEY ("bucket", "publishedAt", "articleId")',
  );
  for (const index of bandIndexes.rows) if (index.indexname !== 'ArticleBand_pkey') await db.query(index.indexdef);

  await db.query(`UPDATE "Author" a SET "articleCount" = c.n
    FROM (SELECT "authorId", count(*)::int AS n FROM "ArticleAuthor" GROUP BY 1) c WHERE a."id" = c."authorId"`);
  await db.query(`UPDATE "Topic" t SET "articleCount" = c.n
    FROM (SELECT "topicId", count(*)::int AS n FROM "ArticleTopic" GROUP BY 1) c WHERE t."id" = c."topicId"`);
  for (const [table, trigger] of COUNT_TRIGGERS) await db.query(`ALTER TABLE "${table}" ENABLE TRIGGER "${trigger}"`);
  // The count rollup's triggers wrote one delta row per key and batch: merged, as a running
  // server's compaction would, and the table rewritten, as the merge leaves it mostly dead rows
  // (a steady state reuses them; a bulk load leaves a table several times its size).
  await db.query('SELECT "newsgraph_compact_rollup"()');
  await db.query('VACUUM (FULL) "ArticleRollup"');
  // A steady-state database has been vacuumed (autovacuum would do it after a bulk load): the
  // visibility map lets counts use index-only scans, and the statistics are current.
  await db.query('VACUUM (ANALYZE)');
  return { seconds: (Date.now() - started) / 1000 };
}
