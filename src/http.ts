import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { prisma } from './db/client.ts';
import { closeAfter, NOT_UTF8_QUERY, queryIsUtf8 } from './malformedRequests.ts';
import { addressOf, clientKey } from './rateLimit.ts';
import { UserInputError } from './errors.ts';
import { RequestDeadline } from './deadline.ts';
import { outsideHeaders } from './outsideHeaders.ts';
import { currentScope, RequestScope, withScope } from './requestScope.ts';

/** HTTP-level protections and operations endpoints, as Yoga plugins. */

function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    statusText: STATUS_CODES[status],
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** Reads at most `limit` bytes of a body, as text; null when it is longer (reading stops there). */
async function readLimited(request: Request, limit: number): Promise<string | null> {
  const bytes = await readBodyBytes(request, limit);
  return bytes === null ? null : UTF8.decode(bytes);
}

/**
 * A request body that stopped before its end: the client closed or reset the connection, or sent
 * bytes HTTP cannot frame (a bad chunk size) part-way through. The client's fault, answered 400
 * `BAD_REQUEST` (if it still listens), never a 500.
 */
export class BodyNotReceived extends Error {
  constructor() {
    super('The request body was not received whole: the connection closed or its framing broke first');
  }
}

/**
 * Reads at most `limit` bytes of a request's body; null when it is longer: unread when its
 * Content-Length says so, else reading stops past `limit` (the rest is not read, and the answer
 * closes the connection: withRequestScope). Throws BodyNotReceived when the body ends early.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Buffer | null> {
  if (!request.body) return Buffer.alloc(0);
  // refused by its length, unread: Node drops it after the answer, and the connection stays open
  if (Number(request.headers.get('content-length') ?? 0) > limit) return null;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw new BodyNotReceived();
    });
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      const scope = currentScope();
      if (scope) scope.bodyAbandoned = true;
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Throws on bytes that are not UTF-8 (a lone surrogate's bytes, overlong forms), rather than making them U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const JSON_TYPES = new Set(['application/json', 'application/graphql-response+json']);

/**
 * POST bodies: JSON only (a cross-site HTML form can send only urlencoded, multipart or plain
 * text, so forms execute nothing), at most `maxBodyBytes` (HTTP 413), and a JSON array of
 * operations only when batching is enabled, up to `batchLimit`. GET parameters `variables` and
 * `extensions` that are not JSON, a parameter given twice, and a request without a `query` (once
 * a trusted document's id has been resolved): 400 BAD_REQUEST.
 */
export function useRequestLimits(options: { maxBodyBytes: number; batchLimit: number }): Plugin {
  const tooLarge = () =>
    errorResponse(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${options.maxBodyBytes} bytes`);
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method === 'GET') {
        // Yoga's own GET parser, but JSON it cannot parse is the client's error (it threw: a 500)
        setRequestParser((incoming): GraphQLParams | Response => {
          const params = new URL(incoming.url).searchParams;
          // one value each: which of two a server would take is a guess (URLSearchParams takes the first)
          for (const name of GET_PARAMS) {
            if (params.getAll(name).length > 1) {
              return errorResponse(400, 'BAD_REQUEST', `The "${name}" parameter is given more than once`);
            }
          }
          const parsed: Record<string, unknown> = {};
          for (const name of ['variables', 'extensions']) {
            const text = params.get(name);
            if (!text) continue;
            try {
              parsed[name] = JSON.parse(text);
            } catch {
              return errorResponse(400, 'BAD_REQUEST', `The "${name}" parameter is not valid JSON`);
            }
          }
          return {
            operationName: params.get('operationName') || undefined,
            query: params.get('query') || undefined,
            variables: parsed.variables as GraphQLParams['variables'],
            extensions: parsed.extensions as GraphQLParams['extensions'],
          };
        });
        return;
      }
      if (request.method !== 'POST') return;
      setRequestParser(async (incoming): Promise<GraphQLParams | GraphQLParams[] | Response> => {
        if (Number(incoming.headers.get('content-length') ?? 0) > options.maxBodyBytes) return tooLarge();
        const type = (incoming.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
        if (!JSON_TYPES.has(type)) {
          return errorResponse(415, 'UNSUPPORTED_MEDIA_TYPE', 'POST a JSON body with Content-Type: application/json');
        }
        let text: string | null;
        try {
          text = await readLimited(incoming, options.maxBodyBytes);
        } catch (error) {
          if (error instanceof BodyNotReceived) return errorResponse(400, 'BAD_REQUEST', error.message);
          if (!(error instanceof TypeError)) throw error;
          return errorResponse(400, 'BAD_REQUEST', 'The request body is not valid UTF-8');
        }
        if (text === null) return tooLarge();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return errorResponse(400, 'BAD_REQUEST', 'The request body is not valid JSON');
        }
        if (Array.isArray(body)) {
          if (options.batchLimit === 0)
            return errorResponse(400, 'BATCHING_DISABLED', 'Send one operation per request');
          if (body.length > options.batchLimit) {
            return errorResponse(400, 'BATCH_TOO_LARGE', `At most ${options.batchLimit} operations per batch`);
          }
          if (!body.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
            return errorResponse(400, 'BAD_REQUEST', 'Each batched operation is a JSON object');
          }
          return body as GraphQLParams[];
        }
        if (typeof body !== 'object' || body === null)
          return errorResponse(400, 'BAD_REQUEST', 'The request body is a JSON object');
        return body as GraphQLParams;
      });
    },
    // after the trusted documents plugin, which turns a documentId into its query: GraphQL over HTTP
    // (section "Request parameters") makes a request without one not well-formed, which is 400 under
    // either media type (Yoga's own check answers 200 to application/json)
    onParams({ params, request }) {
      if (params.query != null) return;
      const id =
        (params as { documentId?: unknown }).documentId != null ||
        (request.method === 'GET' && new URL(request.url).searchParams.has('documentId'));
      throw new GraphQLError(
        id
          ? 'This server has no trusted documents manifest (TRUSTED_DOCUMENTS): send the operation as "query"'
          : 'Send the operation as "query" (a GraphQL document)',
        { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
      );
    },
  };
}

/** The GraphQL over HTTP parameters of a GET request (and a trusted document's id). */
const GET_PARAMS = ['query', 'operationName', 'variables', 'extensions', 'documentId'];

/**
 * A query string whose percent-encoded bytes are not UTF-8 (`?search=%FF`): 400 `BAD_REQUEST`,
 * on every path, as for a POST body that is not UTF-8. URLSearchParams would read each bad
 * sequence as U+FFFD and run the request on text nobody wrote (an export of nothing, a search for
 * a replacement character).
 */
export function useUtf8Query(): Plugin {
  return {
    onRequest({ url, endResponse }) {
      if (!queryIsUtf8(url.search)) {
        endResponse(
          errorResponse(400, 'BAD_REQUEST', NOT_UTF8_QUERY, {
            'cache-control': 'no-store',
          }),
        );
      }
    },
  };
}

/**
 * The methods of the operations endpoints (`/`, `/healthz`, `/readyz`, `/metrics`): GET and HEAD
 * (RFC 9110 section 9.3.2: HEAD wherever GET), and OPTIONS, which Yoga's CORS handling answers on
 * every path. Another method: 405 `METHOD_NOT_ALLOWED` with `Allow`. (GraphQL, feeds, import and
 * export check their own.)
 */
export function useReadOnlyEndpoints(): Plugin {
  const paths = new Set(['/', '/healthz', '/readyz', '/metrics']);
  return {
    onRequest({ request, url, endResponse }) {
      if (!paths.has(url.pathname) || ['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
      endResponse(
        errorResponse(405, 'METHOD_NOT_ALLOWED', `${url.pathname} answers GET and HEAD`, {
          allow: 'GET, HEAD, OPTIONS',
          'cache-control': 'no-store',
        }),
      );
    },
  };
}

/**
 * A request body in a content coding (RFC 9110 section 8.4: `Content-Encoding: gzip`, `br`...): 415
 * `UNSUPPORTED_MEDIA_TYPE` with `Accept-Encoding: identity` (section 15.5.16), on every path, before
 * anything reads the body. The server reads bodies as sent; a gzipped body read as JSON or NDJSON
 * would be refused as not UTF-8, and a plain body labelled gzip would run as if the label were not there.
 * A transfer coding other than chunked (`Transfer-Encoding: gzip, chunked`) is 501 `NOT_IMPLEMENTED`.
 */
export function useIdentityBodies(): Plugin {
  return {
    onRequest({ request, endResponse }) {
      // RFC 9112 section 6.1: a transfer coding the server does not know (anything but chunked,
      // which Node's parser decodes) is 501
      const transfer = codings(request.headers.get('transfer-encoding')).filter((token) => token !== 'chunked');
      if (transfer.length) {
        return endResponse(
          errorResponse(
            501,
            'NOT_IMPLEMENTED',
            `Transfer-Encoding ${JSON.stringify(transfer.join(', '))} is not supported: send the body chunked or with a Content-Length`,
            { 'cache-control': 'no-store', connection: 'close' },
          ),
        );
      }
      const coding = request.headers.get('content-encoding');
      // GET and HEAD carry no body here (Node's parser reads none it was not told of)
      if (coding === null || request.method === 'GET' || request.method === 'HEAD') return;
      if (codings(coding).every((token) => token === 'identity')) return;
      endResponse(
        errorResponse(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `Request bodies are read as sent: Content-Encoding ${JSON.stringify(coding)} is not accepted (send the body uncompressed)`,
          { 'accept-encoding': 'identity', 'cache-control': 'no-store' },
        ),
      );
    },
  };
}

/** The codings a Content-Encoding or Transfer-Encoding value lists, lower-cased (RFC 9110 5.6.1 lists). */
function codings(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Any path no other route answers (the last plugin's onRequest, before Yoga's own, which answers an
 * empty 404): 404 `NOT_FOUND`, JSON, pointing at the GraphQL endpoint and at `GET /`, which lists
 * the others. Yoga's test of what is its endpoint is kept: the path, or a URL ending in it.
 */
export function useUnknownPaths(graphqlEndpoint: string): Plugin {
  const endpoints = [graphqlEndpoint, `${graphqlEndpoint}/`];
  return {
    onRequest({ request, url, endResponse }) {
      if (endpoints.includes(url.pathname) || endpoints.some((path) => request.url.endsWith(path))) return;
      endResponse(
        errorResponse(
          404,
          'NOT_FOUND',
          `Nothing is served at this path; GraphQL is at ${graphqlEndpoint}, and GET / lists every endpoint`,
          { 'cache-control': 'no-store' },
        ),
      );
    },
  };
}

/** Readiness turns false at once when the process starts shutting down. */
export class Lifecycle {
  draining = false;
}

/** GET /healthz: the process is alive. GET /readyz: it can serve (database reachable, not draining). */
export function useHealthEndpoints(lifecycle: Lifecycle): Plugin {
  const json = (status: number, body: object) =>
    new Response(JSON.stringify(body), {
      status,
      statusText: STATUS_CODES[status],
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === '/healthz') return endResponse(json(200, { status: 'ok' }));
      if (url.pathname !== '/readyz') return;
      if (lifecycle.draining) return endResponse(json(503, { status: 'shutting down' }));
      const reachable = await Promise.race([
        prisma.$queryRaw`SELECT 1`.then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref()),
      ]);
      endResponse(reachable ? json(200, { status: 'ready' }) : json(503, { status: 'database unavailable' }));
    },
  };
}

/**
 * `Vary: Origin` on every response when CORS answers depend on the request's Origin (an
 * allow-list is configured): a shared cache must not hand one origin's
 * Access-Control-Allow-Origin, or its absence, to another (Fetch standard, CORS protocol and
 * HTTP caches).
 */
export function useVaryOrigin(): Plugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary') ?? '';
      if (!vary.split(',').some((name) => ['origin', '*'].includes(name.trim().toLowerCase()))) {
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
      }
    },
  };
}

/**
 * GET /: where things are. A browser gets a short HTML page with links; anything else JSON:
 * `{ graphql, graphiql, health, readiness, metrics }` (paths; graphiql null when disabled).
 */
export function useLandingPage(options: { graphqlEndpoint: string; graphiql: boolean }): Plugin {
  const paths = {
    graphql: options.graphqlEndpoint,
    graphiql: options.graphiql ? options.graphqlEndpoint : null,
    health: '/healthz',
    readiness: '/readyz',
    metrics: '/metrics',
  };
  const graphiql = paths.graphiql
    ? ` (explore it in <a href="${paths.graphiql}">GraphiQL</a>)`
    : ' (GraphiQL is off on this server)';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Newsgraph API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Newsgraph API</h1>
<ul>
<li>GraphQL: <code>POST ${paths.graphql}</code>${graphiql}</li>
<li>Liveness <a href="${paths.health}">${paths.health}</a>, readiness <a href="${paths.readiness}">${paths.readiness}</a></li>
<li>Prometheus metrics: <a href="${paths.metrics}">${paths.metrics}</a></li>
</ul>
</body></html>
`;
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/' || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      const browser = (request.headers.get('accept') ?? '').includes('text/html');
      endResponse(
        new fetchAPI.Response(browser ? html : JSON.stringify(paths), {
          headers: {
            'content-type': browser ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
            'cache-control': 'no-cache',
            vary: 'Accept',
          },
        }),
      );
    },
  };
}

/** Names every GraphQL schema has, which say nothing about this one. */
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** graphql-js's suggestions (`didYouMean`): ` Did you mean "a", "b", or the enum value "C"?`. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * A message without graphql-js's suggestions; a generic one when it quotes a schema name (a type,
 * a field, an argument) that `text` (what the request wrote: its document and variables) does not
 * hold, e.g. `Field "CreateArticleInput.priority" of required type "Int!" was not provided`: with
 * introspection off, such messages would map the schema one mistake at a time. `text` undefined:
 * only the suggestions go.
 */
function cleanMessage(message: string, text: string | undefined): string {
  const stripped = message.replace(SUGGESTION, '');
  if (text === undefined) return stripped;
  for (const [, quoted] of stripped.matchAll(/"([^"]{1,200})"/g)) {
    const names = quoted!.split(/[^A-Za-z0-9_]+/).filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
    if (names.some((name) => !text.includes(name) && !ROOT_TYPES.has(name))) {
      return 'The request does not match the schema (in production, messages name only what the request wrote; see the schema you were given)';
    }
  }
  return stripped;
}

/** `message` without graphql-js's suggestions (production: see useSchemaExposure). */
export function withoutSuggestions(message: string): string {
  return cleanMessage(message, undefined);
}

/**
 * `errors` with production messages (cleanMessage against `text`, what the request wrote):
 * GraphQLErrors keep their path, locations and extensions; plain error objects keep their other
 * properties. Only graphql-js's and Yoga's own messages (validation, variable coercion) name
 * schema members by themselves; ours (UserInputError) name what the request wrote, so they lose
 * only suggestions.
 */
export function withoutSchemaHints<E>(errors: readonly E[], text: string | undefined): E[] {
  return errors.map((error) => {
    if (error instanceof GraphQLError) {
      const ours = error instanceof UserInputError || error.originalError instanceof UserInputError;
      const message = cleanMessage(error.message, ours ? undefined : text);
      if (message === error.message) return error;
      return new GraphQLError(message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        originalError: error.originalError,
        extensions: error.extensions,
      }) as E;
    }
    const message = (error as { message?: unknown } | null)?.message;
    return (
      typeof message === 'string' ? { ...(error as object), message: cleanMessage(message, undefined) } : error
    ) as E;
  });
}

/**
 * Production hardening of error messages and schema exposure: introspection off, and no
 * "Did you mean" in any error (unknown fields, arguments, input fields and enum values, in the
 * query text or in variables), so that field names cannot be guessed with introspection off
 * (withoutSchemaHints). GraphQL over WebSocket applies the same to its messages (websocket.ts).
 */
export function useSchemaExposure(options: { introspection: boolean; suggestions: boolean }): Plugin {
  // what each request wrote (query text and variables), to tell which names it knew
  const written = new WeakMap<Request, string>();
  const clean = (result: unknown, text: string | undefined) => {
    const errors = (result as { errors?: readonly unknown[] } | null)?.errors;
    if (!errors?.length) return result;
    return { ...(result as object), errors: withoutSchemaHints(errors, text) };
  };
  return {
    onParams({ request, params }) {
      if (options.suggestions) return;
      const known = written.get(request) ?? '';
      // (the parameters' types and the variables' depth were checked first: useRequestParameters)
      written.set(request, `${known}\n${params.query ?? ''}\n${JSON.stringify(params.variables ?? null)}`);
    },
    onValidate({ addValidationRule }) {
      if (!options.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
    // every result, whichever phase refused it (validation, variable coercion, execution)
    onResultProcess({ request, result, setResult }) {
      if (options.suggestions) return;
      const text = written.get(request);
      if (Array.isArray(result)) setResult(result.map((one) => clean(one, text)) as typeof result);
      else if (result && typeof result === 'object' && !(Symbol.asyncIterator in result))
        setResult(clean(result, text) as typeof result);
    },
  };
}

type NodeHandler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

/**
 * HEAD on the GraphQL endpoint, answered as GET would be without the body (RFC 9110 section
 * 9.3.2: HEAD wherever GET; Yoga serves only GET and POST): the request goes on as GET, and Node
 * sends no body for a request that came as HEAD. So `HEAD /graphql?query=...` gets GET's status
 * and headers (a query over GET runs, within the same limits), and HEAD with `Accept: text/html`
 * GraphiQL's.
 */
export function headAsGet(handler: NodeHandler, endpoint: string): NodeHandler {
  return (req, res) => {
    if (req.method === 'HEAD' && pathOf(req.url ?? '') === endpoint) req.method = 'GET';
    handler(req, res);
  };
}

/** The path of a request target (origin- or absolute-form), without its query. */
function pathOf(target: string): string {
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** Who sent a request, as the rate limits tell clients apart (rateLimit.ts clientKey). */
function requestClient(req: import('node:http').IncomingMessage, trustProxy: boolean): string {
  const forwardedFor = req.headers['x-forwarded-for'];
  return clientKey(req.headers.authorization, () =>
    addressOf(typeof forwardedFor === 'string' ? forwardedFor : undefined, req.socket.remoteAddress, trustProxy),
  );
}

/**
 * An answer to a request whose body the server stopped reading part-way (`scope.bodyAbandoned`:
 * a 413 for a body past its limit) says `Connection: close`, and the connection closes once it is
 * sent (RFC 9112 section 9.6; RFC 9110 section 15.5.14: the server may close the connection so
 * the client stops sending). Kept alive, the connection waited for the rest of a body no one
 * would read, and the client's next request on it stalled until the socket reset. The close
 * lingers (closeAfter: what the client still sends is read and dropped for a while), so the
 * answer is not lost to a reset while the client is still sending. A body never read at all (a
 * 413 by its Content-Length) is read and dropped by Node after the answer, and the connection
 * stays open.
 */
function closeWhenBodyAbandoned(req: IncomingMessage, res: ServerResponse, scope: RequestScope): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    if (scope.bodyAbandoned && !req.complete) {
      this.setHeader('connection', 'close');
      // what Node calls once the answer is sent on a connection that closes
      const socket = this.socket as (Duplex & { destroySoon?: () => void }) | null;
      if (socket) socket.destroySoon = () => closeAfter(socket);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/**
 * Runs each request in its RequestScope (requestScope.ts): at most `statementsAtOnce` database
 * statements at a time, and, when `timeoutMs` > 0, a deadline. Past the deadline the request is
 * answered 503 REQUEST_TIMEOUT instead of leaving the client on a hung socket (408 when its body is
 * still arriving: the client's delay, not the server's), and only when that is true of its writes:
 * a 503 or 408 is sent only if none of its transactions has begun to commit, and
 * every transaction of a timed-out request rolls back instead of committing (deadline.ts). A
 * request whose write is committing or committed is answered when it finishes, late but true.
 * (Reads may run on after a 503; the statement timeout bounds them.) A client that closes its
 * connection before the answer abandons a request that only reads: it takes no more turns at the
 * database (RequestScope.clientGone); a write runs on.
 */
export function withRequestScope(
  handler: NodeHandler,
  options: { timeoutMs: number; statementsAtOnce: number; corsOrigins?: readonly string[]; trustProxy?: boolean },
): NodeHandler {
  const { timeoutMs: ms, statementsAtOnce, corsOrigins = [], trustProxy = false } = options;
  return (req, res) => {
    const client = requestClient(req, trustProxy);
    // a client that closes its connection before the answer abandons a read it asked for
    const whenGone = (scope: RequestScope) => {
      closeWhenBodyAbandoned(req, res, scope);
      res.once('close', () => {
        if (!res.writableFinished) scope.clientGone();
      });
      return scope;
    };
    if (ms <= 0) {
      withScope(whenGone(new RequestScope({ statementsAtOnce, client })), () => handler(req, res));
      return;
    }
    const deadline = new RequestDeadline();
    const timer = setTimeout(() => {
      if (!deadline.expire() || res.headersSent || res.writableEnded) return;
      // a body still arriving is the client's delay: 408, as Node answers headers that do
      const slowClient = !req.complete;
      res.writeHead(slowClient ? 408 : 503, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        ...(slowClient ? {} : { 'retry-after': '5' }),
        connection: 'close',
        ...outsideHeaders(req, corsOrigins),
      });
      res.end(
        JSON.stringify({
          errors: [
            {
              message: slowClient
                ? `The request body was not received within ${ms} ms; nothing was written`
                : `The request took longer than ${ms} ms; nothing it would have written was written`,
              extensions: { code: 'REQUEST_TIMEOUT' },
            },
          ],
        }),
      );
    }, ms);
    res.once('close', () => clearTimeout(timer));
    withScope(whenGone(new RequestScope({ deadline, statementsAtOnce, client })), () => handler(req, res));
  };
}
