import type { Db } from '../../db/client.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Tx } from '../writing/transaction.ts';

/**
 * Article revision history. Every write that changes an article's fields, byline or topics
 * (create, update, upsert, author and topic merges, restoreArticleVersion) inserts one
 * ArticleRevision row in its own transaction: the version the change made, when, which API key,
 * and each changed field with its value before the change. Updates are recorded from the outbox
 * row the write already holds (ArticleEvent.before, alerts/events.ts), so a revision costs one
 * statement. Walking the revisions back from the current state gives the article at any version
 * the history covers (stateAtVersion).
 */

/** The fields a revision records, as CreateArticleInput names them. */
export const REVISION_FIELDS = [
  'title',
  'url',
  'source',
  'publishedAt',
  'priority',
  'isAustralian',
  'description',
  'summary',
  'body',
  'authors',
  'topics',
] as const;

/** One of REVISION_FIELDS. */
export type RevisionField = (typeof REVISION_FIELDS)[number];

/** What a revision did (the RevisionAction enum). */
export type RevisionAction = 'CREATED' | 'UPDATED' | 'MERGED' | 'RESTORED';

/** An author or topic as a revision keeps it: its id and its name then. */
export interface LinkedName {
  id: number;
  name: string | null;
}

/** An article's recorded fields: texts, `publishedAt` as ISO-8601, links in order (topics by id). */
export type ArticleState = Record<Exclude<RevisionField, 'authors' | 'topics'>, unknown> & {
  authors: LinkedName[];
  topics: LinkedName[];
};

const COLUMNS = REVISION_FIELDS.filter((field) => field !== 'authors' && field !== 'topics');

/**
 * Records a CREATED revision (every field, previous value null) for each of the articles `ids`,
 * just inserted (one statement). `by`: the API key's name.
 */
export async function recordCreatedRevisions(tx: Tx, ids: readonly number[], by: string | null): Promise<void> {
  if (!ids.length) return;
  await tx.$executeRaw`
    INSERT INTO "ArticleRevision" ("articleId", "version", "action", "by", "changes")
    SELECT a."id", a."version", 'CREATED', ${by},
           (SELECT jsonb_object_agg(f, NULL) FROM unnest(${[...REVISION_FIELDS]}::text[]) AS f)
    FROM "Article" a WHERE a."id" = ANY(${[...ids]}::int[])`;
}

/**
 * Records a revision for each article of the outbox events `eventIds` (recordBefore's kept
 * events, so every one of them changed): the fields whose value differs from the event's
 * `before`, with that value; authors and topics, when changed, as the names they had (one
 * statement). Run it after the change, before anything else changes those articles.
 */
export async function recordRevisions(
  tx: Tx,
  eventIds: readonly bigint[],
  action: Exclude<RevisionAction, 'CREATED'>,
  by: string | null,
): Promise<void> {
  if (!eventIds.length) return;
  await tx.$executeRaw`
    INSERT INTO "ArticleRevision" ("articleId", "version", "action", "by", "changes")
    SELECT a."id", a."version", ${action}::"RevisionAction", ${by},
      COALESCE((SELECT jsonb_object_agg(f, e."before"->'row'->f) FROM unnest(${COLUMNS}::text[]) AS f
                WHERE e."before"->'row'->f IS DISTINCT FROM to_jsonb(a)->f), '{}'::jsonb)
      || ${linkChange('authors')} || ${linkChange('topics')}
    FROM "ArticleEvent" e JOIN "Article" a ON a."id" = e."articleId"
    WHERE e."id" = ANY(${[...eventIds]}::bigint[])`;
}

/**
 * For recordRevisions: `{ authors: [...] }` (or topics) with the names the event's `before` had,
 * when the links differ from the article's now (byline in order, topics by id); else `{}`.
 */
function linkChange(field: 'authors' | 'topics'): Prisma.Sql {
  const [links, column, order, named] =
    field === 'authors'
      ? ['ArticleAuthor', 'authorId', 'position', 'Author']
      : ['ArticleTopic', 'topicId', 'topicId', 'Topic'];
  return Prisma.sql`CASE WHEN e."before"->${field}::text IS DISTINCT FROM to_jsonb(ARRAY(
      SELECT j.${Prisma.raw(`"${column}"`)} FROM ${Prisma.raw(`"${links}"`)} j WHERE j."articleId" = a."id" ORDER BY j.${Prisma.raw(`"${order}"`)}))
    THEN jsonb_build_object(${field}::text, (
      SELECT COALESCE(jsonb_agg(jsonb_build_object('id', x.id::int, 'name', o."name") ORDER BY x.n), '[]'::jsonb)
      FROM jsonb_array_elements_text(e."before"->${field}::text) WITH ORDINALITY AS x(id, n)
      LEFT JOIN ${Prisma.raw(`"${named}"`)} o ON o."id" = x.id::int))
    ELSE '{}'::jsonb END`;
}

/** The article's recorded fields now, and its version; null when there is no such article. */
async function currentState(db: Db | Tx, id: number): Promise<{ version: number; state: ArticleState } | null> {
  const [row] = await db.$queryRaw<{ version: number; state: ArticleState }[]>`
    SELECT a."version", jsonb_build_object(
      'title', a."title", 'url', a."url", 'source', a."source", 'publishedAt', to_jsonb(a)->'publishedAt',
      'priority', a."priority", 'isAustralian', a."isAustralian", 'description', a."description",
      'summary', a."summary", 'body', a."body",
      'authors', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', o."id", 'name', o."name") ORDER BY j."position"), '[]'::jsonb)
                  FROM "ArticleAuthor" j JOIN "Author" o ON o."id" = j."authorId" WHERE j."articleId" = a."id"),
      'topics', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', o."id", 'name', o."name") ORDER BY j."topicId"), '[]'::jsonb)
                 FROM "ArticleTopic" j JOIN "Topic" o ON o."id" = j."topicId" WHERE j."articleId" = a."id")) AS "state"
    FROM "Article" a WHERE a."id" = ${id}`;
  return row ?? null;
}

/**
 * The article `id` as it was at `version` (1 or more): its current state with the previous values
 * of every later revision put back, newest first. NotFoundError when there is no such article;
 * ValidationError NOT_FOUND at `input.version` when the history does not reach that version (no
 * revision made it: the article was filed before revisions were kept, or it never had it).
 */
export async function stateAtVersion(db: Db | Tx, id: number, version: number): Promise<ArticleState> {
  const current = await currentState(db, id);
  if (!current) throw new NotFoundError('Article', id);
  if (version === current.version) return current.state;
  const unknown = () =>
    new ValidationError([
      { path: ['input', 'version'], code: 'NOT_FOUND', message: 'No revision of this article made that version' },
    ]);
  if (version > current.version) throw unknown();
  const revisions = await db.articleRevision.findMany({
    where: { articleId: id, version: { gte: version } },
    orderBy: { version: 'desc' },
    select: { version: true, changes: true },
  });
  if (revisions.at(-1)?.version !== version) throw unknown();
  const state: Record<string, unknown> = { ...current.state };
  for (const revision of revisions) {
    if (revision.version === version) break;
    Object.assign(state, revision.changes as Record<string, unknown>);
  }
  return state as ArticleState;
}
