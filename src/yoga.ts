import { createHash } from 'node:crypto';
import { getOperationAST, GraphQLError, printSchema } from 'graphql';
import {
  createYoga,
  handleStreamOrSingleExecutionResult,
  maskError,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import { config, type Config } from './config.ts';
import { createContext, type Context } from './context.ts';
import { codeClientError, databaseError } from './clientErrors.ts';
import { databaseFailure, refusedValue } from './db/errors.ts';
import { currentScope, RequestScope, withScope } from './requestScope.ts';
import { useFeeds } from './feeds.ts';
import { useTransfer } from './transfer/http.ts';
import { useGraphiQLPage } from './graphiql.ts';
import { useInputBoundary, useRequestParameters } from './input/boundary.ts';
import {
  Lifecycle,
  useHealthEndpoints,
  useLandingPage,
  useRequestLimits,
  useSchemaExposure,
  useUnknownPaths,
  useUtf8Query,
  useIdentityBodies,
  useReadOnlyEndpoints,
  useVaryOrigin,
} from './http.ts';
import { useAnonymousResponseCache } from './responseCache.ts';
import { DOCUMENT_ID_PARAM, useTrustedDocuments } from './trustedDocuments.ts';
import { useQueryLimits } from './limits.ts';
import { clientAddress, clientKey, createCounterStore, useRateLimits, type CounterStore } from './rateLimit.ts';
import {
  createLogger,
  createMetrics,
  guardedRoutes,
  logUnexpected,
  requestIdOf,
  scrub,
  useObservability,
  type Logger,
  type Metrics,
} from './observability.ts';
import { schema } from './schema/index.ts';

/**
 * Path of the GraphQL endpoint (GraphQL-over-HTTP, https://graphql.github.io/graphql-over-http/draft/);
 * GraphiQL is served at it too, to browsers, when enabled.
 */
export const GRAPHQL_ENDPOINT = '/graphql';

/**
 * Codes client errors (above). A database failure is logged once per request, with its cause
 * and the request id: the client sees only the code.
 */
function useClientErrorCodes(log: Logger): Plugin {
  // a subscription event's failed read is shared by every subscriber it goes to: logged once
  const logged = new WeakSet<object>();
  const coded =
    (contextValue: unknown): Parameters<typeof handleStreamOrSingleExecutionResult>[1] =>
    ({ result, setResult }) => {
      if (!result.errors?.length) return;
      const failed = result.errors.find((error) => databaseFailure(error.originalError));
      if (failed && !logged.has(failed.originalError!)) {
        logged.add(failed.originalError!);
        logDatabaseFailure(log, (contextValue as Partial<Context>).requestId, failed.originalError);
      }
      // answered STORE_REFUSED, but a value our checks let through is a fault of ours: logged
      for (const error of result.errors) {
        const state = refusedValue(error.originalError);
        if (!state || logged.has(error.originalError!)) continue;
        logged.add(error.originalError!);
        log.error(
          {
            requestId: (contextValue as Partial<Context>).requestId,
            sqlState: state,
            path: error.path?.join('.'),
            cause: scrub(error.originalError!.message),
          },
          'database refused a value',
        );
      }
      setResult({ ...result, errors: result.errors.map(codeClientError) });
    };
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, coded(args.contextValue)),
    }),
    // a subscription's events too: a field of one that fails on the database is DATABASE_UNAVAILABLE, not masked
    onSubscribe: ({ args }) => ({
      onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, coded(args.contextValue)),
    }),
  };
}

/** One log line for a request the database failed: the code, the reason and the cause. */
export function logDatabaseFailure(log: Logger, requestId: string | undefined, cause: unknown): void {
  const failure = databaseFailure(cause);
  if (!failure) return;
  const message = cause instanceof Error ? scrub(cause.message) : String(cause);
  log.error({ requestId, code: failure.code, reason: failure.reason, cause: message }, 'database failure');
}

/** The part of Config that createServer uses; the rest (database, port, logging...) is the process's. */
export type ServerSettings = Pick<
  Config,
  | 'limits'
  | 'maxBodyBytes'
  | 'batchLimit'
  | 'corsOrigins'
  | 'graphiql'
  | 'introspection'
  | 'production'
  | 'rateLimits'
  | 'dbStatementsPerRequest'
  | 'responseCache'
  | 'trustedDocuments'
>;

/**
 * Runs execution in a RequestScope (requestScope.ts) when the request has none yet (the HTTP
 * server gives every request one; in-process calls such as tests get theirs here), so each
 * request's statements take their fair share of the database.
 */
function useRequestScope(statementsAtOnce: number, trustProxy: boolean): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const kind = getOperationAST(args.document, args.operationName)?.operation ?? 'mutation';
      const scope = currentScope();
      if (scope) {
        scope.operation(kind);
        return;
      }
      setExecuteFn((executeArgs) => {
        // who asked, for fair turns at the database: a subscription's socket gives its key and upgrade request
        const { request, req } = (executeArgs.contextValue ?? {}) as { request?: Request; req?: unknown };
        const client = clientKey(request?.headers.get('authorization'), () =>
          request ? clientAddress(request, { req }, trustProxy) : 'unknown',
        );
        const own = new RequestScope({ statementsAtOnce, client });
        own.operation(kind);
        return withScope(own, () => executeFn(executeArgs));
      });
    },
  };
}

/** What createServer makes itself unless given (tests and the benchmark pass their own). */
export interface ServerParts {
  lifecycle?: Lifecycle;
  logger?: Logger;
  metrics?: Metrics;
  /** Rate-limit counters; by default in memory, or in Redis when configured. */
  counters?: CounterStore;
}

/**
 * The Yoga server for `settings`, as a fetch handler (it opens no port): GraphQL at GRAPHQL_ENDPOINT
 * with masked, coded errors, CORS for `corsOrigins` only, batches up to `batchLimit`, the rate, body,
 * input and query limits, the landing page, health endpoints, /metrics and, when enabled, GraphiQL.
 * `parts` replace the defaults: a new Lifecycle, logger, metrics registry and counter store.
 */
export function createServer(
  settings: ServerSettings = config(),
  parts: ServerParts = {},
): YogaServerInstance<Record<string, unknown>, Context> {
  const lifecycle = parts.lifecycle ?? new Lifecycle();
  const logger = parts.logger ?? createLogger(config().logLevel);
  const metrics = parts.metrics ?? createMetrics();
  const counters = parts.counters ?? createCounterStore(settings.rateLimits);
  const allowed = new Set(settings.corsOrigins);
  // what a cached answer depends on besides the request: the schema and the settings that shape answers
  const identity = createHash('sha256')
    .update(printSchema(schema))
    .update(JSON.stringify([settings.production, settings.introspection, settings.limits, settings.maxBodyBytes]))
    .digest('hex');
  const responseCache = useAnonymousResponseCache({ ...settings.responseCache, identity }, logger);
  const trustedDocuments = useTrustedDocuments(settings.trustedDocuments);
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    context: async ({ request, ...serverContext }) => {
      try {
        return await createContext({ request, serverContext, trustProxy: settings.rateLimits.trustProxy });
      } catch (error) {
        // the key could not be checked: the database's fault, not the client's (never a bare 500)
        const failure = databaseFailure(error);
        if (!failure) throw error;
        logDatabaseFailure(logger, requestIdOf(request), error);
        throw databaseError(failure);
      }
    },
    graphiql: false,
    landingPage: false,
    // our own plugin logs (JSON, with request ids); Yoga's would print unstructured lines
    logging: false,
    // masked in every mode: Yoga's development mode would add the original message and stack
    // (SQL, hosts) to the response; the log line with the request id has them instead
    maskedErrors: {
      isDev: false,
      // an execution's errors arrive here as GraphQLErrors, logged by useObservability; an error
      // thrown outside execution (a hook of the request's pipeline) arrives bare, and only here
      maskError: (error, message) => {
        if (!(error instanceof GraphQLError)) logUnexpected(logger, currentScope()?.requestId, error);
        return maskError(error, message, false);
      },
    },
    // useRequestLimits reads the body under maxBodyBytes itself; Yoga's own limit (25 MB) would pipe
    // every body through a second, redundant TransformStream (about 4% of an article read's CPU)
    maxRequestBodySize: false,
    batching: settings.batchLimit > 0 ? { limit: settings.batchLimit } : false,
    // trusted documents: `{ documentId, variables }` (trustedDocuments.ts)
    extraParamNames: trustedDocuments ? [DOCUMENT_ID_PARAM] : [],
    // Only allow-listed origins get CORS headers (credentials included); others get none.
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !allowed.has(origin)) return false;
      return {
        origin,
        credentials: true,
        methods: ['GET', 'POST'],
        allowedHeaders: ['content-type', 'authorization', 'x-request-id'],
        maxAge: 600,
      };
    },
    // (a route's failure is a logged, masked 500 JSON, never the adapter's stack trace)
    plugins: guardedRoutes(logger, [
      // first of all: every later plugin may read the parameters as the types they should be
      useRequestParameters(),
      // first, so that every later onExecuteDone (metrics, logs) sees the coded errors
      useClientErrorCodes(logger),
      // before every route reads its parameters (/metrics, served by useObservability, included)
      useUtf8Query(),
      useIdentityBodies(),
      useReadOnlyEndpoints(),
      useObservability(logger, metrics),
      useRequestScope(settings.dbStatementsPerRequest, settings.rateLimits.trustProxy),
      useHealthEndpoints(lifecycle),
      useLandingPage({ graphqlEndpoint: GRAPHQL_ENDPOINT, graphiql: settings.graphiql }),
      ...(allowed.size ? [useVaryOrigin()] : []),
      useRateLimits(settings.rateLimits, counters, logger, metrics),
      useFeeds((requestId, error) => logDatabaseFailure(logger, requestId, error)),
      useTransfer(
        (requestId, error) =>
          databaseFailure(error)
            ? logDatabaseFailure(logger, requestId, error)
            : logger.error({ requestId, err: error }, 'bulk import or export failed'),
        { suggestions: !settings.production },
      ),
      // a document id becomes its text before the token, input and query limits read it
      ...(trustedDocuments ? [trustedDocuments] : []),
      ...(settings.graphiql ? [useGraphiQLPage(GRAPHQL_ENDPOINT)] : []),
      useRequestLimits({ maxBodyBytes: settings.maxBodyBytes, batchLimit: settings.batchLimit }),
      useSchemaExposure({ introspection: settings.introspection, suggestions: !settings.production }),
      // before the query limits: its depth check guards their walk over the arguments too
      useInputBoundary(),
      useQueryLimits(settings.limits),
      // last, so that what the limits refuse passes the cache by; the lookup itself is at onParams,
      // before validation and the limits, keyed by the request as sent: it finds only answers that
      // passed them on a process of the same schema and settings (the identity in the key)
      ...(responseCache ? [responseCache] : []),
      // last of all: a path none of the above answers
      useUnknownPaths(GRAPHQL_ENDPOINT),
    ]),
  });
}
