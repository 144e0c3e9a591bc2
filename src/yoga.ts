import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import {
  createYoga,
  isAsyncIterable,
  maskError as defaultMaskError,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import { createContext, type Context } from './context.ts';
import { ErrorCode } from './errors.ts';
import { useGraphiQLPage } from './graphiql.ts';
import { schema } from './schema/index.ts';

export const GRAPHQL_ENDPOINT = '/graphql';

/**
 * Pothos reports bad global IDs given to `t.arg.globalID({ for })` (an ID of another type) as a
 * PothosValidationError; give those a code instead of masking them as unexpected.
 */
function maskError(error: unknown, message: string, isDev?: boolean): Error {
  if (error instanceof GraphQLError && error.originalError instanceof PothosValidationError) {
    const code = /\bid\b/i.test(error.originalError.message) ? ErrorCode.INVALID_ID : ErrorCode.BAD_USER_INPUT;
    return new GraphQLError(error.originalError.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code },
    });
  }
  return defaultMaskError(error, message, isDev);
}

/**
 * graphql-js reports variables that do not coerce (`$first: 2.5` for an Int) without a code;
 * those are the client's input errors like any other.
 */
function useVariableErrorCodes(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (isAsyncIterable(result) || result.data || !result.errors?.length) return;
        if (!result.errors.every((error) => !error.path && error.extensions?.code == null)) return;
        setResult({
          ...result,
          errors: result.errors.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                source: error.source,
                positions: error.positions,
                extensions: { ...error.extensions, code: ErrorCode.BAD_USER_INPUT },
              }),
          ),
        });
      },
    }),
  };
}

/** The server as a fetch handler: importable by tests and the benchmark; opens no port. */
export function createServer(): YogaServerInstance<Record<string, unknown>, Context> {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    context: ({ request }) => createContext({ request }),
    maskedErrors: { maskError },
    graphiql: false,
    landingPage: false,
    plugins: [useGraphiQLPage(GRAPHQL_ENDPOINT), useVariableErrorCodes()],
  });
}
