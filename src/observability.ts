import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { onStatement, poolStats } from './db/client.ts';
import { incompleteRequests, refusedRequests } from './malformedRequests.ts';
import { plainRequestId } from './requestId.ts';
import { abandonedQueries, currentDeadline, currentScope } from './requestScope.ts';
import { commitsRecovered, replicaWaitTimeouts, writeRetries } from './resolvers/writing/transaction.ts';

/**
 * Structured logs (one JSON line per request and per unexpected error, each with the request
 * id, which is also returned as X-Request-Id) and Prometheus metrics at GET /metrics.
 * Authorization headers and API keys never reach a log line.
 */

/** pino's logger type, re-exported for the modules that take a logger. */
export type { Logger };

/**
 * A pino logger at `level` (fatal...trace, or silent) with ISO timestamps: JSON lines to
 * `destination` (default stdout), or, `pretty` without a destination, one readable line per entry
 * on stdout. Authorization and key fields are censored as [redacted].
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  format: 'json' | 'pretty' = 'json',
): Logger {
  // for people at a terminal: one coloured line per entry, written synchronously as JSON would be
  const output =
    format === 'pretty' && !destination ? pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l' }) : destination;
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      // belt and braces: nothing we log carries headers, but if a value ever does, it is censored
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'key',
          'apiKey',
        ],
        censor: '[redacted]',
      },
    },
    output as never,
  );
}

/**
 * What a log line holds of an Error under `err`: its type (class name), message and stack, causes
 * included (pino's own serializer), scrubbed of keys, and its `code` when it has a plain one (a
 * SQLSTATE, Prisma's P2024, Node's ECONNRESET); anything else under `err` as given.
 */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { type, message, stack } = pino.stdSerializers.err(value);
  const code = (value as { code?: unknown }).code;
  return {
    type,
    message: scrub(message),
    stack: scrub(stack ?? ''),
    ...((typeof code === 'string' || typeof code === 'number') && { code }),
  };
}

const requestIds = new WeakMap<Request, string>();

/** The request's id: a caller's X-Request-Id when it is short and plain (it ends up in logs), else a new UUID. */
export function requestIdOf(request: Request): string {
  let id = requestIds.get(request);
  if (!id) {
    const given = request.headers.get('x-request-id');
    id = plainRequestId(given) ?? randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/** Redacts anything that looks like one of our API keys from free text (error messages). */
export function scrub(text: string): string {
  return text.replace(/ngk_[A-Za-z0-9_-]{10,}/g, 'ngk_[redacted]').replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
}

/**
 * The one "unexpected error" line (level error) for a fault of ours the client saw masked as
 * INTERNAL_SERVER_ERROR: the error (`err`: type, message, stack, scrubbed of keys), the request id
 * when known, and the path of the field that failed.
 */
export function logUnexpected(
  log: Logger,
  requestId: string | undefined,
  error: unknown,
  path?: readonly (string | number)[],
): void {
  const err = error instanceof Error ? error : { type: typeof error, message: scrub(String(error)) };
  log.error({ requestId, path: path?.join('.'), err }, 'unexpected error');
}

/**
 * The plugins, each `onRequest` guarded. A plugin's onRequest (the routes: /metrics, feeds, import
 * and export, health...) runs before Yoga's own error handling, so what one threw reached
 * @whatwg-node/server's fallback: HTTP 500, `text/plain`, the error's stack as the body, and no log
 * line. Guarded, it is logged (`unexpected error`, with the request id and the stack) and answered
 * as every unexpected error is: 500, `{"errors":[{"message":"Unexpected error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`.
 */
export function guardedRoutes(log: Logger, plugins: Plugin[]): Plugin[] {
  return plugins.map((plugin) => {
    const onRequest = plugin.onRequest;
    if (!onRequest) return plugin;
    return {
      ...plugin,
      onRequest(payload) {
        const fail = (error: unknown) => {
          logUnexpected(log, requestIdOf(payload.request), error);
          payload.endResponse(
            new payload.fetchAPI.Response(
              JSON.stringify({
                errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
              }),
              {
                status: 500,
                headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
              },
            ),
          );
        };
        try {
          const done = onRequest.call(plugin, payload);
          return done && typeof (done as PromiseLike<void>).then === 'function'
            ? Promise.resolve(done).catch(fail)
            : done;
        } catch (error) {
          fail(error);
        }
      },
    };
  });
}

/**
 * Expected failures of mutations (result-union members, not GraphQL errors), counted by code as
 * the errors plugin resolves them. One process-wide counter, registered in every registry.
 */
export const expectedErrors = new Counter({
  name: 'newsgraph_expected_errors_total',
  help: 'Expected failures returned in mutation results (ValidationError, VersionConflictError, ...) by code',
  labelNames: ['code'],
  registers: [],
});

/**
 * SQL statements sent by this process's database client: one process-wide counter and one
 * listener, registered in every registry (like expectedErrors), not one listener per server.
 */
const sqlStatements = new Counter({
  name: 'newsgraph_db_statements_total',
  help: 'SQL statements sent to the database',
  registers: [],
});
onStatement(() => sqlStatements.inc());

/**
 * One server's Prometheus registry (served at GET /metrics) and the metrics its request pipeline
 * records: requests by operation and status, latency in seconds, GraphQL errors by code, and
 * rate-limit refusals by kind.
 */
export interface Metrics {
  registry: Registry;
  requests: Counter<'operation' | 'status'>;
  duration: Histogram<'operation'>;
  errors: Counter<'code'>;
  rateLimited: Counter<'kind'>;
  /** Operation names labelled so far (at most MAX_OPERATION_LABELS; later ones are `other`). */
  operations: Set<string>;
}

/**
 * Distinct operation names one server labels its metrics with: names are chosen by clients, and
 * every label value is a time series Prometheus keeps, so past this many they count as `other`.
 */
export const MAX_OPERATION_LABELS = 200;

/**
 * A new registry with Node's default metrics, the process-wide counters (expected errors, SQL
 * statements, write retries, commits recovered), the request metrics and the `newsgraph_db_pool_connections` gauge.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.registerMetric(expectedErrors);
  registry.registerMetric(sqlStatements);
  registry.registerMetric(writeRetries);
  registry.registerMetric(replicaWaitTimeouts);
  registry.registerMetric(commitsRecovered);
  registry.registerMetric(refusedRequests);
  registry.registerMetric(incompleteRequests);
  registry.registerMetric(abandonedQueries);
  const metrics: Metrics = {
    registry,
    requests: new Counter({
      name: 'newsgraph_http_requests_total',
      help: 'HTTP requests by GraphQL operation name and status',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'newsgraph_http_request_duration_seconds',
      help: 'Request latency by GraphQL operation name',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'newsgraph_graphql_errors_total',
      help: 'GraphQL errors and error results by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'newsgraph_rate_limited_total',
      help: 'Requests refused by the rate limiter',
      labelNames: ['kind'],
      registers: [registry],
    }),
    operations: new Set(),
  };
  new Gauge({
    name: 'newsgraph_db_pool_connections',
    help: 'Database connections by state (the embedded database has one)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  return metrics;
}

/**
 * A bounded label: operation names are client-chosen, so only plain short ones are kept, and
 * only the first MAX_OPERATION_LABELS distinct ones (later names are `other`).
 */
function operationLabel(metrics: Metrics, name: string | null | undefined): string {
  if (!name || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'anonymous';
  if (metrics.operations.has(name)) return name;
  if (metrics.operations.size >= MAX_OPERATION_LABELS) return 'other';
  metrics.operations.add(name);
  return name;
}

interface RequestState {
  start: number;
  operation: string;
}

/**
 * Yoga plugin: answers GET /metrics (Prometheus text exposition format); counts GraphQL errors by
 * code and logs unexpected ones (secrets scrubbed); sets X-Request-Id on every response; counts,
 * times and logs one `request` line per request except /metrics, /healthz and /readyz.
 */
export function useObservability(log: Logger, metrics: Metrics): Plugin {
  const state = new WeakMap<Request, RequestState>();
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      state.set(request, { start: performance.now(), operation: 'none' });
      // for an error thrown outside execution, which only Yoga's maskError sees (yoga.ts)
      const scope = currentScope();
      if (scope) scope.requestId = requestIdOf(request);
      if (url.pathname === '/metrics' && (request.method === 'GET' || request.method === 'HEAD')) {
        return metrics.registry.metrics().then((text) => {
          endResponse(new fetchAPI.Response(text, { headers: { 'content-type': metrics.registry.contentType } }));
        });
      }
    },
    onParams({ request, params }) {
      const entry = state.get(request);
      if (entry) entry.operation = operationLabel(metrics, params.operationName);
    },
    // errors before execution (a document that does not parse or validate) are errors too
    onParse() {
      return ({ result }) => {
        if (result instanceof Error) metrics.errors.inc({ code: 'GRAPHQL_PARSE_FAILED' });
      };
    },
    onValidate() {
      return ({ result }) => {
        for (const error of result) {
          metrics.errors.inc({ code: String(error.extensions?.code ?? 'GRAPHQL_VALIDATION_FAILED') });
        }
      };
    },
    onExecute({ args }) {
      const { requestId, request } = args.contextValue as { requestId?: string; request?: Request };
      const entry = request ? state.get(request) : undefined;
      if (entry) {
        const operation = (args.document as DocumentNode).definitions.find(
          (definition): definition is OperationDefinitionNode =>
            definition.kind === Kind.OPERATION_DEFINITION &&
            (args.operationName == null || definition.name?.value === args.operationName),
        );
        entry.operation = operationLabel(metrics, operation?.name?.value);
      }
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result)) return;
          for (const error of result.errors ?? []) {
            const code = String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
            // nobody receives those: counted once per query (newsgraph_abandoned_queries_total)
            if (code === 'CLIENT_CLOSED_REQUEST') continue;
            metrics.errors.inc({ code });
            const original = error.originalError;
            if (original && !('extensions' in original)) logUnexpected(log, requestId, original, error.path);
          }
        },
      };
    },
    onResponse({ request, response }) {
      const requestId = requestIdOf(request);
      response.headers.set('x-request-id', requestId);
      const entry = state.get(request);
      const url = new URL(request.url);
      if (url.pathname === '/metrics' || url.pathname === '/healthz' || url.pathname === '/readyz') return;
      const seconds = entry ? (performance.now() - entry.start) / 1000 : 0;
      const operation = entry?.operation ?? 'none';
      // a request the timeout answered 503 (withRequestScope) finished later: report what the client got
      const status = currentDeadline()?.isExpired ? 503 : response.status;
      metrics.requests.inc({ operation, status: String(status) });
      metrics.duration.observe({ operation }, seconds);
      log.info(
        {
          requestId,
          method: request.method,
          path: url.pathname,
          status,
          operation,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    },
  };
}
