import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context } from './context.ts';
import { prisma } from './db/client.ts';
import { AuthenticationError, authenticate } from './resolvers/access/apiKeys.ts';

/**
 * GraphQL over WebSocket (the graphql-ws protocol,
 * https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) at `path`, for subscriptions:
 * every operation goes through the Yoga server's plugins (authentication from the
 * `authorization` connection parameter or the upgrade request's header, validation with the
 * shape limits, the input boundary and the query cost when the subscription starts).
 * Queries and mutations are refused here: they go over HTTP, where the rate limits apply.
 * Messages are at most `maxPayload` bytes. Returns a function that closes every socket.
 */
export function attachWebSockets(
  server: Server,
  yoga: YogaServerInstance<Record<string, unknown>, Context>,
  options: { path: string; maxPayload: number },
): () => Promise<void> {
  const sockets = new WebSocketServer({ server, path: options.path, maxPayload: options.maxPayload });
  const disposable = useServer(
    {
      // The key is checked once the client says who it is (connection_init): an `authorization`
      // that is not a string, is not "Bearer <API key>", or names no live key is refused there
      // (graphql-ws closes with 4403 Forbidden), as HTTP refuses it (401), never taken as anonymous
      // (null is no key, as when none is sent).
      // Each subscription checks it again when it starts (a key may be revoked meanwhile).
      onConnect: async (ctx) => {
        const given = ctx.connectionParams?.authorization;
        const authorization = given == null ? ctx.extra.request.headers.authorization : given;
        if (authorization === undefined) return true;
        if (typeof authorization !== 'string') return false;
        try {
          await authenticate(prisma, authorization);
          return true;
        } catch (error) {
          if (error instanceof AuthenticationError) return false;
          throw error;
        }
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args as never) as never,
      subscribe: (args) =>
        (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args as never) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const upgrade = ctx.extra.request;
        // a string, or absent (onConnect refused any other)
        const fromParams = ctx.connectionParams?.authorization as string | null | undefined;
        const authorization = fromParams ?? upgrade.headers.authorization;
        const headers = new Headers();
        if (authorization) headers.set('authorization', authorization);
        const forwarded = upgrade.headers['x-forwarded-for'];
        if (typeof forwarded === 'string') headers.set('x-forwarded-for', forwarded);
        const request = new Request(`http://localhost${options.path}`, { headers });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          request,
          req: upgrade,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error')];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation !== 'subscription') {
          return [
            new GraphQLError('Only subscriptions run over WebSocket; send queries and mutations over HTTP', {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ];
        }
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
    },
    sockets,
  );
  return async () => {
    await disposable.dispose();
    await new Promise<void>((resolve) => sockets.close(() => resolve()));
  };
}
