import { initContextCache } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { prisma } from './db/client.ts';
import { requestIdOf } from './observability.ts';
import { clientAddress } from './rateLimit.ts';
import { authenticate, AuthenticationError } from './resolvers/access/apiKeys.ts';
import type { Viewer } from './resolvers/access/viewer.ts';

/** Per-request state: who is asking, a request id, and the Pothos cache holding this request's DataLoaders. */
export interface Context {
  requestId: string;
  viewer: Viewer;
  /** The client's address (X-Forwarded-For's first entry behind a trusted proxy): the per-address limits' key. */
  clientAddress: string;
}

/**
 * Builds the context. A request without Authorization is anonymous (read-only); a malformed,
 * unknown or revoked key ends the request with HTTP 401 and code UNAUTHENTICATED, never a
 * silent fall-back to anonymous.
 */
export async function createContext({
  request,
  serverContext,
  trustProxy = false,
}: {
  request: Request;
  /** The Node request (`req`) the HTTP adapter passes, for the client's address. */
  serverContext?: unknown;
  trustProxy?: boolean;
}): Promise<Context> {
  let viewer: Viewer;
  try {
    viewer = await authenticate(prisma, request.headers.get('authorization'));
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    throw new GraphQLError(error.message, {
      extensions: {
        code: 'UNAUTHENTICATED',
        http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="newsgraph"' } },
      },
    });
  }
  return {
    ...initContextCache(),
    requestId: requestIdOf(request),
    viewer,
    clientAddress: clientAddress(request, serverContext, trustProxy),
  } satisfies Context;
}
