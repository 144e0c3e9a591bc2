import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { config, type Config } from './config.ts';
import { createContext, type Context } from './context.ts';
import { ErrorCode } from './errors.ts';
import { Prisma } from './generated/prisma/client.ts';
import { useGraphiQLPage } from './graphiql.ts';
import { Lifecycle, useHealthEndpoints, useRequestLimits, useSchemaExposure } from './http.ts';
import { useQueryLimits } from './limits.ts';
import { createCounterStore, useRateLimits, type CounterStore } from './rateLimit.ts';
import { createLogger, createMetrics, useObservability, type Logger, type Metrics } from './observability.ts';
import { schema } from './schema/index.ts';

export const GRAPHQL_ENDPOINT = '/graphql';

/**
 * Gives client errors that arrive without a code their code, before error masking sees them
 * (so they are neither masked nor logged as server faults), and a database statement timeout
 * a clear DATABASE_TIMEOUT instead of a masked error:
 * - Pothos reports a global ID of the wrong type for `t.arg.globalID({ for })`, or a node ID of a
 *   type that is not a node, as a PothosValidationError;
 * - graphql-js reports variables that do not coerce (`$first: 2.5` for an Int) without a code.
 */
/** PostgreSQL cancelled the statement at statement_timeout (SQLSTATE 57014). */
function isStatementTimeout(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const cause = (error.meta as { driverAdapterError?: { cause?: { code?: string } } } | undefined)?.driverAdapterError
    ?.cause;
  return cause?.code === '57014';
}

export function codeClientError(error: GraphQLError): GraphQLError {
  if (error.extensions?.code != null) return error;
  const original = error.originalError;
  let code: ErrorCode | undefined;
  if (isStatementTimeout(original)) {
    return new GraphQLError('The database took too long to answer; try a narrower query', {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: 'DATABASE_TIMEOUT' },
    });
  }
  if (original instanceof PothosValidationError)
    code = /\bid\b/i.test(original.message) ? ErrorCode.INVALID_ID : ErrorCode.BAD_USER_INPUT;
  else if (!error.path && (!original || original instanceof GraphQLError)) code = ErrorCode.BAD_USER_INPUT;
  if (!code) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });
}

function useClientErrorCodes(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (isAsyncIterable(result) || !result.errors?.length) return;
        setResult({ ...result, errors: result.errors.map(codeClientError) });
      },
    }),
  };
}

export type ServerSettings = Pick<
  Config,
  'limits' | 'maxBodyBytes' | 'batchLimit' | 'corsOrigins' | 'graphiql' | 'introspection' | 'production' | 'rateLimits'
>;

/** The server as a fetch handler: importable by tests and the benchmark; opens no port. */
export interface ServerParts {
  lifecycle?: Lifecycle;
  logger?: Logger;
  metrics?: Metrics;
  /** Rate-limit counters; by default in memory, or in Redis when configured. */
  counters?: CounterStore;
}

export function createServer(
  settings: ServerSettings = config(),
  parts: ServerParts = {},
): YogaServerInstance<Record<string, unknown>, Context> {
  const lifecycle = parts.lifecycle ?? new Lifecycle();
  const logger = parts.logger ?? createLogger(config().logLevel);
  const metrics = parts.metrics ?? createMetrics();
  const counters = parts.counters ?? createCounterStore(settings.rateLimits);
  const allowed = new Set(settings.corsOrigins);
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    context: ({ request }) => createContext({ request }),
    graphiql: false,
    landingPage: false,
    // our own plugin logs (JSON, with request ids); Yoga's would print unstructured lines
    logging: false,
    // masked in every mode: Yoga's development mode would add the original message and stack
    // (SQL, hosts) to the response; the log line with the request id has them instead
    maskedErrors: { isDev: false },
    batching: settings.batchLimit > 0 ? { limit: settings.batchLimit } : false,
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
    plugins: [
      useObservability(logger, metrics),
      useHealthEndpoints(lifecycle),
      useRateLimits(settings.rateLimits, counters, logger, metrics),
      ...(settings.graphiql ? [useGraphiQLPage(GRAPHQL_ENDPOINT)] : []),
      useRequestLimits({ maxBodyBytes: settings.maxBodyBytes, batchLimit: settings.batchLimit }),
      useSchemaExposure({ introspection: settings.introspection, suggestions: !settings.production }),
      useQueryLimits(settings.limits),
      useClientErrorCodes(),
    ],
  });
}
