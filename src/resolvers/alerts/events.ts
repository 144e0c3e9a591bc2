import { createPubSub, SlidingBuffer, type PubSub } from 'graphql-yoga';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import { afterCommitOf, type Tx } from '../writing/transaction.ts';

/**
 * Article events: what live updates (subscriptions) and webhooks learn of article writes.
 *
 * Every write of an article inserts one ArticleEvent row in its own transaction (the
 * transactional outbox, https://microservices.io/patterns/data/transactional-outbox.html): an
 * update's row holds the article as it was before (`before`: its row, author ids and topic ids),
 * so that a match can be told from a new one. After the commit, and never for a rolled-back
 * write, the event is published to the process's subscribers, and to every other process's
 * through Redis pub/sub when REDIS_URL is set. The webhook worker (webhooks.ts) reads the outbox
 * itself, so an event published while nobody listened is still delivered.
 */

/** A committed article write, as published: `id` is the ArticleEvent's id (a decimal string). */
export interface ArticleEventMessage {
  id: string;
  articleId: number;
  kind: 'CREATED' | 'UPDATED';
}

type Channels = Record<string, [ArticleEventMessage]>;

/**
 * Events a process's listener may have waiting while it matches (a burst of writes on a slow
 * database): past this many, the oldest are dropped for live subscribers (webhooks read the
 * outbox and miss nothing).
 */
const EVENT_BUFFER = 10_000;

let pubSub: PubSub<Channels> | undefined;
let redisClients: Redis[] = [];
const localListeners = new Set<(event: ArticleEventMessage) => void>();

/** The channel events travel on (EVENTS_CHANNEL; in Redis, a pub/sub channel of that name). */
let channel = 'newsgraph:articleEvents';

/**
 * Sets where events travel: Redis pub/sub at `redisUrl` (every API process sharing it sees every
 * event), or this process only. Called once at boot (main.ts) and by tests; replaces the previous
 * broker, closing its connections.
 */
export async function configureEvents(settings: { redisUrl?: string; channel?: string }): Promise<void> {
  await closeEvents();
  if (settings.redisUrl) {
    const options = { lazyConnect: false, maxRetriesPerRequest: null, keyPrefix: undefined } as const;
    const publishClient = new Redis(settings.redisUrl, options);
    const subscribeClient = new Redis(settings.redisUrl, options);
    redisClients = [publishClient, subscribeClient];
    pubSub = createPubSub<Channels>({
      eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
      repeaterBuffer: new SlidingBuffer(EVENT_BUFFER),
    });
  }
  // without Redis, events() makes the in-process broker when first used
  channel = settings.channel ?? 'newsgraph:articleEvents';
}

/** Closes the broker's connections (shutdown, tests). */
export async function closeEvents(): Promise<void> {
  const clients = redisClients;
  redisClients = [];
  pubSub = undefined;
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
}

/** The broker, in-process unless configureEvents chose Redis. */
export function events(): PubSub<Channels> {
  pubSub ??= createPubSub<Channels>({ repeaterBuffer: new SlidingBuffer(EVENT_BUFFER) });
  return pubSub;
}

/** Calls `listener` for every event committed by this process (the webhook worker's wake-up). */
export function onLocalEvent(listener: (event: ArticleEventMessage) => void): () => void {
  localListeners.add(listener);
  return () => localListeners.delete(listener);
}

/** Sends committed events to every subscriber (through Redis when configured) and this process's worker. */
export function publish(messages: readonly ArticleEventMessage[]): void {
  for (const message of messages) {
    events().publish(channel, message);
    for (const listener of localListeners) listener(message);
  }
}

function publishAfterCommit(tx: Tx, messages: ArticleEventMessage[]): void {
  afterCommitOf(tx, () => publish(messages));
}

/** Records that articles `ids` were just created (one statement), published after the commit. */
export async function recordCreated(tx: Tx, ids: readonly number[]): Promise<void> {
  if (!ids.length) return;
  const rows = await tx.$queryRaw<{ id: bigint; articleId: number }[]>`
    INSERT INTO "ArticleEvent" ("articleId", "kind")
    SELECT unnest(${[...ids]}::int[]), 'CREATED'
    RETURNING "id", "articleId"`;
  publishAfterCommit(
    tx,
    rows.map((row) => ({ id: String(row.id), articleId: row.articleId, kind: 'CREATED' })),
  );
}

/**
 * Records articles `ids` as they are now, before an update changes them (one statement; call it
 * once they are locked, before changing them or their links): the byline in order, the topics by
 * id. Returns a function that says which of them did change: the others' events are dropped (one
 * statement more), the rest published after the commit; it returns the kept events' ids (the
 * article revisions are written from their `before`, articles/revisions.ts).
 */
export async function recordBefore(
  tx: Tx,
  ids: readonly number[],
): Promise<(changed: readonly number[]) => Promise<bigint[]>> {
  if (!ids.length) return async () => [];
  const rows = await tx.$queryRaw<{ id: bigint; articleId: number }[]>`
    INSERT INTO "ArticleEvent" ("articleId", "kind", "before")
    SELECT a."id", 'UPDATED', jsonb_build_object(
      'row', to_jsonb(a),
      'authors', ARRAY(SELECT j."authorId" FROM "ArticleAuthor" j WHERE j."articleId" = a."id" ORDER BY j."position"),
      'topics', ARRAY(SELECT j."topicId" FROM "ArticleTopic" j WHERE j."articleId" = a."id" ORDER BY j."topicId"))
    FROM "Article" a WHERE a."id" = ANY(${[...ids]}::int[])
    RETURNING "id", "articleId"`;
  return async (changed) => {
    const kept = new Set(changed);
    const dropped = rows.filter((row) => !kept.has(row.articleId)).map((row) => row.id);
    if (dropped.length) {
      await tx.$executeRaw`DELETE FROM "ArticleEvent" WHERE "id" = ANY(${dropped}::bigint[])`;
    }
    publishAfterCommit(
      tx,
      rows
        .filter((row) => kept.has(row.articleId))
        .map((row) => ({ id: String(row.id), articleId: row.articleId, kind: 'UPDATED' })),
    );
    return rows.filter((row) => kept.has(row.articleId)).map((row) => row.id);
  };
}

/** Listens to every committed article event of the deployment (this process's, and others' through Redis). */
export function subscribeEvents(): AsyncIterable<ArticleEventMessage> {
  return events().subscribe(channel);
}
