import type { IncomingMessage } from 'node:http';
import { plainRequestId } from './requestId.ts';

/**
 * The CORS headers of an answer written outside Yoga (a 503 while starting or past the request
 * timeout), as Yoga's own answers carry them: `Access-Control-Allow-Origin` for an allowed
 * origin, `Vary: Origin` whenever origins are configured (so no shared cache hands one origin's
 * answer to another), and the request's id when the client sent a plain one.
 */
export function outsideHeaders(req: IncomingMessage, corsOrigins: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const origin = req.headers.origin;
  if (corsOrigins.length) headers.vary = 'Origin';
  if (origin && corsOrigins.includes(origin)) headers['access-control-allow-origin'] = origin;
  const given = req.headers['x-request-id'];
  const id = plainRequestId(typeof given === 'string' ? given : null);
  if (id) headers['x-request-id'] = id;
  return headers;
}
