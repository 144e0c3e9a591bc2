import { queryFromInfo } from '@pothos/plugin-prisma';
import { JSONObjectResolver } from 'graphql-scalars';
import type { GraphQLResolveInfo } from 'graphql';
import { prisma } from '../db/client.ts';
import {
  ErrorCode,
  ForbiddenError,
  NotFoundError,
  UserInputError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import type { Context } from '../context.ts';
import { LiveMatcher, type LiveMatch } from '../resolvers/alerts/live.ts';
import {
  createSavedSearch,
  deleteSavedSearch,
  questionRefusals,
  rotateFeedToken,
  runnableQuestion,
  updateSavedSearch,
  watchOf,
  type ArgumentCodec,
} from '../resolvers/alerts/savedSearches.ts';
import { alertSettings } from '../resolvers/alerts/settings.ts';
import {
  ATTEMPTS_SHOWN,
  createWebhook,
  deleteWebhook,
  enableWebhook,
  MAX_DELIVERIES_PAGE,
} from '../resolvers/alerts/webhooks.ts';
import type { ArticleListArgs } from '../resolvers/articles/list.ts';
import { plannedSearch } from '../resolvers/articles/search.ts';
import { checkPageSizes } from '../resolvers/lists/connection.ts';
import { articleCondition } from '../resolvers/lists/filter.ts';
import { Article, ArticleConnection, ArticleOrder, resolveArticleList } from './article.ts';
import { builder, decodeGlobalID, encodeGlobalID } from './builder.ts';
import { idKeysetQuery, selectingId } from './common.ts';
import { FieldError } from './errors.ts';
import { ArticleFilter } from './lists.ts';
import './errors.ts';

/**
 * Saved searches, their feeds and webhooks, and live updates (the `articleMatched`
 * subscription). Domain code: src/resolvers/alerts/.
 */

builder.addScalarType('JSONObject', JSONObjectResolver, {});

/** Converts a saved search's stored arguments with this schema's input types and global IDs. */
function codecOf(info: GraphQLResolveInfo): ArgumentCodec {
  return { schema: info.schema, encodeId: encodeGlobalID, decodeId: decodeGlobalID };
}

const QUESTION = { id: true, name: true, filter: true, search: true, orderBy: true } as const;

/** The feed URLs of a saved search: its token is their secret. */
const SavedSearchFeeds = builder.objectRef<string>('SavedSearchFeeds').implement({
  description:
    'Feed URLs of a saved search: its newest 50 matches, newest first (by publication). The token in them is a secret (feed readers cannot send headers); rotateSavedSearchFeedToken replaces it.',
  fields: (t) => {
    const url = (format: string) => (token: string) => `${alertSettings().publicUrl}/feeds/${token}.${format}`;
    return {
      rss: t.string({ description: 'RSS 2.0 (https://www.rssboard.org/rss-specification).', resolve: url('rss') }),
      atom: t.string({ description: 'Atom 1.0 (RFC 4287).', resolve: url('atom') }),
      json: t.string({ description: 'JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).', resolve: url('json') }),
    };
  },
});

/** A saved search: an `articles` question kept under a name (EDITOR: every field). */
export const SavedSearch = builder.prismaNode('SavedSearch', {
  id: { field: 'id' },
  nullable: true,
  select: { id: true },
  authScopes: { editor: true },
  description:
    'An `articles` question (filter, search, order) kept under a name, with feeds and webhooks for its new matches. Editors and admins only.',
  fields: (t) => ({
    name: t.exposeString('name'),
    filter: t.field({
      type: 'JSONObject',
      description:
        'The ArticleFilter as filed, in the form `articles(filter:)` takes it (global IDs, ISO-8601 instants).',
      select: { filter: true },
      resolve: (row) => row.filter as object,
    }),
    search: t.exposeString('search', { nullable: true, description: 'As `articles(search:)`.' }),
    orderBy: t.field({
      type: ['JSONObject'],
      description: 'The ArticleOrder list as filed (empty: the default order of `articles`).',
      select: { orderBy: true },
      resolve: (row) => (Array.isArray(row.orderBy) ? (row.orderBy as object[]) : []),
    }),
    refusals: t.field({
      type: [FieldError],
      description:
        "What today's rules refuse in the saved question, as `articles` would refuse the same arguments (rules made stricter after it was saved, such as a `text` filter of fewer than 3 letters); empty when it runs. While not empty, `articles`, `newSince`, its feeds and subscriptions answer SAVED_SEARCH_OUTDATED, and its webhooks are not sent while its filter or order is refused: fix it with updateSavedSearch.",
      select: QUESTION,
      resolve: (row, _args, _context, info) => questionRefusals(prisma, row, codecOf(info)),
    }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Name of the API key that saved it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    version: t.exposeInt('version', {
      description: 'Increases with every change; pass it to updateSavedSearch as expectedVersion.',
    }),
    articles: t.connection(
      {
        type: Article,
        nullable: true,
        description:
          'What `articles` answers for the saved filter, search and order (same pages, cursors and totals). Null, with SAVED_SEARCH_OUTDATED in `errors`, when `refusals` is not empty.',
        select: QUESTION,
        resolve: async (row, args, context, info) =>
          resolveArticleList(
            { ...args, ...(await runnableQuestion(prisma, row, codecOf(info))) } as ArticleListArgs,
            context,
            info,
          ),
      },
      ArticleConnection,
    ),
    newSince: t.int({
      nullable: true,
      description:
        'Matching articles filed (createdAt) at or after `time`: an unread count. Null, with SAVED_SEARCH_OUTDATED in `errors`, when `refusals` is not empty.',
      args: { time: t.arg({ type: 'DateTime', required: true }) },
      select: QUESTION,
      resolve: async (row, args, context, info) => {
        const question = await runnableQuestion(prisma, row, codecOf(info));
        const since = { createdAt: { gte: args.time } };
        const filter = question.filter ? { AND: [question.filter, since] } : since;
        const page = await resolveArticleList(
          { ...question, filter, orderBy: question.search ? null : question.orderBy, first: 0 } as ArticleListArgs,
          context,
          info,
        );
        return page.totalCount();
      },
    }),
    feeds: t.field({
      type: SavedSearchFeeds,
      description: 'Its feed URLs (they carry its secret token).',
      select: { feedToken: true },
      resolve: (row) => row.feedToken,
    }),
    webhooks: t.relation('webhooks', { query: { orderBy: { id: 'asc' } } }),
  }),
});

/** A webhook of a saved search (its secret is never shown). */
export const Webhook = builder.prismaNode('Webhook', {
  id: { field: 'id' },
  nullable: true,
  select: { id: true },
  authScopes: { editor: true },
  description: "A receiver of a saved search's new matches, POSTed as JSON and signed (see the README's Webhooks).",
  fields: (t) => ({
    url: t.exposeString('url'),
    savedSearch: t.relation('savedSearch'),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    enabled: t.boolean({ select: { disabledAt: true }, resolve: (row) => row.disabledAt === null }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description:
        'Why it was disabled: every attempt failed for WEBHOOK_DISABLE_AFTER_MS. enableWebhook enables it again.',
    }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'When the current run of failed attempts began; null after a success.',
    }),
    deliveries: t.relation('deliveries', {
      description: 'Its newest deliveries first, with their attempts.',
      args: { first: t.arg.int({ defaultValue: 20, description: '1-100.' }) },
      query: (args) => {
        const first = args.first ?? 20;
        if (!Number.isInteger(first) || first < 1 || first > MAX_DELIVERIES_PAGE) {
          throw new UserInputError(ErrorCode.INVALID_PAGE_SIZE, `"first" must be 1-${MAX_DELIVERIES_PAGE}`, {
            argumentName: 'first',
          });
        }
        return { orderBy: { id: 'desc' }, take: first };
      },
    }),
  }),
});

const DeliveryStatus = builder.enumType('DeliveryStatus', {
  values: {
    PENDING: { description: 'Not yet accepted: the next attempt is at nextAttemptAt.' },
    DELIVERED: { description: 'Accepted (HTTP 2xx).' },
    ABANDONED: { description: 'Never to be sent.' },
  } as const,
});

/** Why an article is a new match: filed matching, or changed into the question. */
export const MatchReason = builder.enumType('MatchReason', {
  values: {
    CREATED: { description: 'The article was filed matching.' },
    UPDATED: { description: 'A change brought the article into the question (it did not match before).' },
  } as const,
});

const WebhookAttempt = builder.prismaObject('WebhookAttempt', {
  description: 'One POST of a delivery.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The HTTP status; null when none came.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed: the status, or the network error.' }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

builder.prismaObject('WebhookDelivery', {
  description: 'One new match to POST to a webhook, and its attempts.',
  fields: (t) => ({
    eventId: t.string({
      description: 'The `eventId` of its body: the same for every attempt (receivers de-duplicate on it).',
      select: { eventId: true },
      resolve: (row) => `evt_${row.eventId}`,
    }),
    article: t.field({
      type: 'ID',
      description: 'The global ID of the matching article.',
      select: { articleId: true },
      resolve: (row) => encodeGlobalID('Article', row.articleId),
    }),
    reason: t.field({ type: MatchReason, select: { reason: true }, resolve: (row) => row.reason }),
    status: t.field({ type: DeliveryStatus, select: { status: true }, resolve: (row) => row.status }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    log: t.field({
      type: [WebhookAttempt],
      description: `Its latest ${ATTEMPTS_SHOWN} attempts, oldest first (\`attempts\` counts them all).`,
      select: { log: { orderBy: { id: 'desc' }, take: ATTEMPTS_SHOWN } },
      resolve: (row) => [...row.log].reverse(),
    }),
  }),
});

builder.queryFields((t) => ({
  savedSearches: t.prismaConnection({
    type: 'SavedSearch',
    cursor: 'id',
    description: 'Saved searches, newest first (EDITOR).',
    authScopes: { editor: true },
    resolve: (query, _root, args) => {
      // page sizes as every other list takes them (0-100, else INVALID_PAGE_SIZE)
      checkPageSizes(args);
      return prisma.savedSearch.findMany({ ...idKeysetQuery(query), orderBy: { id: 'desc' } });
    },
  }),
  savedSearch: t.prismaField({
    type: 'SavedSearch',
    nullable: true,
    description: 'One saved search (EDITOR).',
    authScopes: { editor: true },
    args: { id: t.arg.globalID({ for: SavedSearch, required: true }) },
    resolve: (query, _root, args) => prisma.savedSearch.findUnique({ ...query, where: { id: Number(args.id.id) } }),
  }),
}));

const questionFields = (t: PothosInputFieldBuilder) => ({
  filter: t.field({ type: ArticleFilter, description: 'As `articles(filter:)`.' }),
  search: t.string({ description: 'As `articles(search:)`.' }),
  orderBy: t.field({ type: [ArticleOrder], description: 'As `articles(orderBy:)`.' }),
});
type PothosInputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

const CreateSavedSearchInput = builder.inputType('CreateSavedSearchInput', {
  fields: (t) => ({ name: t.string({ required: true, description: '1-200 characters.' }), ...questionFields(t) }),
});

const UpdateSavedSearchInput = builder.inputType('UpdateSavedSearchInput', {
  description: 'The parts to change; null clears filter, search or orderBy.',
  fields: (t) => ({
    id: t.globalID({ for: SavedSearch, required: true }),
    expectedVersion: t.int({ required: true, description: 'The `version` you read.' }),
    name: t.string(),
    ...questionFields(t),
  }),
});

const SavedSearchRefInput = builder.inputType('SavedSearchRefInput', {
  fields: (t) => ({ id: t.globalID({ for: SavedSearch, required: true }) }),
});

const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    savedSearchId: t.globalID({ for: SavedSearch, required: true }),
    url: t.string({
      required: true,
      description:
        'http(s) URL of the receiver; private, loopback and reserved addresses are refused (WEBHOOK_ALLOW_PRIVATE).',
    }),
    secret: t.string({
      required: true,
      description: 'HMAC-SHA256 key of the Newsgraph-Signature header, 16-200 characters.',
    }),
  }),
});

const WebhookRefInput = builder.inputType('WebhookRefInput', {
  fields: (t) => ({ id: t.globalID({ for: Webhook, required: true }) }),
});

async function savedSearchAfter(id: number, query: object) {
  const row = await prisma.savedSearch.findUnique({ ...selectingId(query), where: { id } });
  if (!row) throw new NotFoundError('SavedSearch', id);
  return row;
}

async function webhookAfter(id: number, query: object) {
  const row = await prisma.webhook.findUnique({ ...selectingId(query), where: { id } });
  if (!row) throw new NotFoundError('Webhook', id);
  return row;
}

builder.mutationFields((t) => ({
  createSavedSearch: t.prismaField({
    type: 'SavedSearch',
    description: 'Saves an `articles` question under a name (EDITOR); checked as `articles` checks its arguments.',
    args: { input: t.arg({ type: CreateSavedSearchInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], dataField: { name: 'savedSearch' } },
    resolve: async (query, _root, { input }, context, info) =>
      savedSearchAfter((await createSavedSearch(prisma, input, context.viewer, codecOf(info))).id, query),
  }),
  updateSavedSearch: t.prismaField({
    type: 'SavedSearch',
    description: 'Changes a saved search (EDITOR), if it is still at `expectedVersion`.',
    args: { input: t.arg({ type: UpdateSavedSearchInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionConflictError, ForbiddenError],
      dataField: { name: 'savedSearch' },
    },
    resolve: async (query, _root, { input }, context, info) =>
      savedSearchAfter((await updateSavedSearch(prisma, input, context.viewer, codecOf(info))).id, query),
  }),
  deleteSavedSearch: t.field({
    type: 'ID',
    description: 'Deletes a saved search with its webhooks (EDITOR).',
    args: { input: t.arg({ type: SavedSearchRefInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'deletedId' } },
    resolve: async (_root, { input }, context) =>
      encodeGlobalID('SavedSearch', (await deleteSavedSearch(prisma, input, context.viewer)).id),
  }),
  rotateSavedSearchFeedToken: t.prismaField({
    type: 'SavedSearch',
    description: 'Gives a saved search new feed URLs (EDITOR); the old ones answer 404 from then on.',
    args: { input: t.arg({ type: SavedSearchRefInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'savedSearch' } },
    resolve: async (query, _root, { input }, context) =>
      savedSearchAfter((await rotateFeedToken(prisma, input, context.viewer)).id, query),
  }),
  createWebhook: t.prismaField({
    type: 'Webhook',
    description: 'POSTs each new match of a saved search to `url`, signed with `secret` (EDITOR).',
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], dataField: { name: 'webhook' } },
    resolve: async (query, _root, { input }, context) =>
      webhookAfter((await createWebhook(prisma, input, context.viewer, alertSettings().webhooks)).id, query),
  }),
  enableWebhook: t.prismaField({
    type: 'Webhook',
    description: 'Enables a disabled webhook again (EDITOR); its waiting deliveries are sent at once.',
    args: { input: t.arg({ type: WebhookRefInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'webhook' } },
    resolve: async (query, _root, { input }, context) =>
      webhookAfter((await enableWebhook(prisma, input, context.viewer)).id, query),
  }),
  deleteWebhook: t.field({
    type: 'ID',
    description: 'Deletes a webhook and its deliveries (EDITOR).',
    args: { input: t.arg({ type: WebhookRefInput, required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], dataField: { name: 'deletedId' } },
    resolve: async (_root, { input }, context) =>
      encodeGlobalID('Webhook', (await deleteWebhook(prisma, input, context.viewer)).id),
  }),
}));

/** The subscriptions of this process: one matcher, one event listener. */
export const liveMatcher = new LiveMatcher(prisma);

/** Open subscriptions per API key or anonymous address, in this process. */
const openSubscriptions = new Map<string, number>();

/**
 * Takes one of the viewer's subscription slots (SUBSCRIPTIONS_PER_KEY, SUBSCRIPTIONS_PER_ADDRESS),
 * or throws RATE_LIMITED; returns its release.
 */
function takeSubscriptionSlot(context: Context): () => void {
  const { perKey, perAddress } = alertSettings().subscriptions;
  const bucket = context.viewer.kind === 'apiKey' ? `key:${context.viewer.keyId}` : `ip:${context.clientAddress}`;
  const limit = context.viewer.kind === 'apiKey' ? perKey : perAddress;
  const open = openSubscriptions.get(bucket) ?? 0;
  if (open >= limit) {
    throw new UserInputError(
      ErrorCode.RATE_LIMITED,
      `At most ${limit} open subscriptions per ${context.viewer.kind === 'apiKey' ? 'API key' : 'client address'}; close one first`,
      { limit },
    );
  }
  openSubscriptions.set(bucket, open + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (openSubscriptions.get(bucket) ?? 1) - 1;
    if (left > 0) openSubscriptions.set(bucket, left);
    else openSubscriptions.delete(bucket);
  };
}

const ArticleMatch = builder.objectRef<LiveMatch>('ArticleMatch').implement({
  description: 'An article that newly matches a subscribed question.',
  fields: (t) => ({
    reason: t.field({ type: MatchReason, resolve: (match) => match.reason }),
    articleId: t.id({
      description:
        "The article's global ID (as `article { id }`), there also when `article` could not be read: fetch it again with `article(id:)`.",
      resolve: (match) => encodeGlobalID('Article', String(match.articleId)),
    }),
    article: t.field({
      type: Article,
      nullable: true,
      description: 'The article as it is when the event is sent (null if deleted since).',
      resolve: (match, _args, context, info) => {
        const query = queryFromInfo({ context, info, select: { id: true } });
        // one statement per event and selection, whatever the number of subscribers (LiveMatch.loads)
        const key = JSON.stringify(query);
        let row = match.loads.get(key);
        if (!row) {
          row = prisma.article.findUnique({ ...(query as object), where: { id: match.articleId } });
          match.loads.set(key, row);
        }
        return row as never;
      },
    }),
  }),
});

builder.subscriptionField('articleMatched', (t) =>
  t.field({
    type: ArticleMatch,
    description:
      'Each article created matching the question, or updated into it (it did not match before), after its write commits (never for a rolled-back one). The question: a saved search (`savedSearchId`, EDITOR), or `filter` and `search` as `articles` takes them (none: every new article). Over GraphQL over SSE (POST or GET /graphql with Accept: text/event-stream) or GraphQL over WebSocket (graphql-ws at /graphql). At most SUBSCRIPTIONS_PER_KEY open per API key and SUBSCRIPTIONS_PER_ADDRESS per anonymous address, per process (RATE_LIMITED). Ends with UNAUTHENTICATED, instead of the next match, once the API key it was opened with is revoked.',
    args: {
      savedSearchId: t.arg.globalID({ for: SavedSearch }),
      filter: t.arg({ type: ArticleFilter }),
      search: t.arg.string(),
    },
    subscribe: async (_root, args, context, info) => {
      let watch;
      if (args.savedSearchId) {
        if (args.filter != null || args.search != null) {
          throw new UserInputError(
            ErrorCode.BAD_USER_INPUT,
            'Give "savedSearchId", or "filter" and "search", not both',
            {
              argumentName: 'savedSearchId',
            },
          );
        }
        if (context.viewer.kind !== 'apiKey') {
          throw new UserInputError(ErrorCode.FORBIDDEN, 'A saved search needs an API key (EDITOR)');
        }
        const id = Number(args.savedSearchId.id);
        const row = await prisma.savedSearch.findUnique({ where: { id }, select: QUESTION });
        if (!row)
          throw new UserInputError(ErrorCode.NOT_FOUND, 'No SavedSearch with that id', {
            argumentName: 'savedSearchId',
          });
        // refused as its list is (SAVED_SEARCH_OUTDATED, the search included), then watched
        await runnableQuestion(prisma, row, codecOf(info));
        watch = watchOf(row, codecOf(info));
      } else {
        const search = args.search != null ? (await plannedSearch(prisma, args.search, 'search'), args.search) : null;
        watch = { condition: articleCondition(args.filter), search };
      }
      const release = takeSubscriptionSlot(context);
      return liveMatcher.matches(watch, release, context.viewer.kind === 'apiKey' ? context.viewer.keyId : undefined);
    },
    resolve: (match) => match,
  }),
);
