import { initContextCache } from '@pothos/core';

/** Per-request state: the Pothos cache that holds this request's DataLoaders. */
export interface Context {
  requestId: string;
}

export function createContext({ request }: { request: Request }): Context {
  return {
    ...initContextCache(),
    requestId: requestIdFrom(request),
  } satisfies Context;
}

/** A caller-supplied X-Request-Id is kept only when it is short and plain (it ends up in logs). */
function requestIdFrom(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && /^[\w.:-]{1,64}$/.test(given) ? given : crypto.randomUUID();
}
