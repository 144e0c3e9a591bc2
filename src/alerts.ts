import { initContextCache } from '@pothos/core';
import { execute, parse } from 'graphql';
import type { AlertSettings } from './config.ts';
import type { Context } from './context.ts';
import { prisma } from './db/client.ts';
import { databaseFailure } from './db/errors.ts';
import type { Logger } from './observability.ts';
import { ANONYMOUS } from './resolvers/access/viewer.ts';
import { closeEvents, configureEvents } from './resolvers/alerts/events.ts';
import { WebhookWorker, type BodyBuilder } from './resolvers/alerts/webhooks.ts';
import { decodeGlobalID, encodeGlobalID } from './schema/builder.ts';
import { schema } from './schema/index.ts';
import { liveMatcher } from './schema/savedSearch.ts';

/**
 * The article a webhook body carries: every field of Article as `articles` returns it to an
 * anonymous reader (editors' createdBy/updatedBy are left out), with authors, topics and story.
 */
const WEBHOOK_ARTICLE = parse(`
  query WebhookArticle($id: ID!) {
    node(id: $id) {
      ... on Article {
        id title url source publishedAt createdAt updatedAt priority isAustralian
        description summary body version
        authors { id name } topics { id name slug } story { id }
      }
    }
  }`);

/**
 * The JSON body of a webhook delivery:
 * `{ eventId, type: "article.matched", reason, savedSearchId, webhookId, occurredAt, article }`;
 * `eventId` is the same on every attempt. null when the article was deleted since.
 */
export const webhookBody: BodyBuilder = async ({ event, webhookId, savedSearchId }) => {
  const contextValue = {
    ...initContextCache(),
    requestId: `webhook-${event.id}`,
    viewer: ANONYMOUS,
    clientAddress: 'worker',
  } satisfies Context;
  const result = await execute({
    schema,
    document: WEBHOOK_ARTICLE,
    variableValues: { id: encodeGlobalID('Article', event.articleId) },
    contextValue,
  });
  if (result.errors?.length) throw result.errors[0];
  const article = (result.data as { node: unknown } | null)?.node;
  if (!article) return null;
  return JSON.stringify({
    eventId: `evt_${event.id}`,
    type: 'article.matched',
    reason: event.kind,
    savedSearchId: encodeGlobalID('SavedSearch', savedSearchId),
    webhookId: encodeGlobalID('Webhook', webhookId),
    occurredAt: new Date().toISOString(),
    article,
  });
};

/**
 * Logs a failure of the subscriptions' matching loop (LiveMatcher.onError): the error's message
 * and, for a database error, its SQLSTATE; never the statement's parameters.
 */
export function logLiveMatcherFailure(log: Logger, error: unknown): void {
  const failure = databaseFailure(error);
  log.error(
    { err: { message: error instanceof Error ? error.message : String(error) }, ...(failure && { failure }) },
    'live subscription matching failed',
  );
}

/** The running alert machinery of a process: the event broker and, if enabled, the webhook worker. */
export interface Alerts {
  worker?: WebhookWorker;
  stop(): Promise<void>;
}

/**
 * Starts alerts: events through Redis when `redisUrl` is set (else in this process), and the
 * webhook worker when `webhookWorker`. stop() ends the subscriptions, the worker and the broker.
 */
export async function startAlerts(settings: AlertSettings, log: Logger): Promise<Alerts> {
  await configureEvents({ redisUrl: settings.redisUrl, channel: settings.eventsChannel });
  liveMatcher.onError = (error) => logLiveMatcherFailure(log, error);
  const worker = settings.webhookWorker
    ? new WebhookWorker(
        prisma,
        settings.webhooks,
        () => ({ schema, encodeId: encodeGlobalID, decodeId: decodeGlobalID }),
        webhookBody,
        (error) => log.error({ err: { message: (error as Error).message } }, 'webhook worker round failed'),
        (savedSearchId, error) =>
          log.warn(
            { savedSearchId, refusals: error.extensions.refusals },
            "a saved search holds a question today's rules refuse: its webhooks are skipped until it is updated",
          ),
      )
    : undefined;
  worker?.start();
  return {
    worker,
    async stop() {
      liveMatcher.closeAll();
      await worker?.stop();
      await closeEvents();
    },
  };
}
