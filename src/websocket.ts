import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Context } from './context.ts';
import { prisma } from './db/client.ts';
import { AuthenticationError, authenticate } from './resolvers/access/apiKeys.ts';
import type { TrustedDocumentSettings } from './config.ts';
import { withoutSchemaHints } from './http.ts';
import { variablesRefusal } from './input/boundary.ts';
import { tokenLimitError } from './limits.ts';
import { answerBadHandshake, refuseHandshake, routeUpgrade } from './malformedRequests.ts';
import { addressOf, type SocketRateLimits } from './rateLimit.ts';
import { trustedDocumentText } from './trustedDocuments.ts';

/** The refusal of a query or mutation sent over WebSocket. */
function notOverWebSocket(): GraphQLError {
  return new GraphQLError('Only subscriptions run over WebSocket; send queries and mutations over HTTP', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/** Message types only a server sends (GraphQL over WebSocket, graphql-transport-ws). */
const SERVER_MESSAGES = new Set(['connection_ack', 'next', 'error']);

/**
 * Keeps a client's protocol faults from graphql-ws's handlers for server faults, which close with
 * 4500 (Internal Server Error) and print a stack to stderr (not the log), once per connection:
 * - a message of a type only a server sends (`next`, `error`, `connection_ack`), or a subscribe
 *   whose id is too long or holds control characters (clientFault), closes the socket with 4400,
 *   as graphql-ws closes on any other invalid message;
 * - an error ws raises for what the client sent (`WS_ERR_*`: a message past MAX_BODY_BYTES, a bad
 *   frame) is not passed on: ws has already closed the socket with the code that says why (1009,
 *   1002, 1007).
 * It wraps the socket's own `on('message')` and `once('error')` for the listeners added after it.
 */
function refuseClientFaults(socket: WebSocket): void {
  const on = socket.on.bind(socket);
  const once = socket.once.bind(socket);
  socket.on = ((event: string, listener: (...args: unknown[]) => void) => {
    if (event !== 'message') return on(event, listener);
    return on('message', (data: unknown, ...rest: unknown[]) => {
      const refusal = clientFault(data);
      if (refusal) {
        socket.close(4400, `Invalid message received: ${refusal}`);
        return;
      }
      listener(data, ...rest);
    });
  }) as WebSocket['on'];
  socket.once = ((event: string, listener: (...args: unknown[]) => void) => {
    if (event !== 'error') return once(event, listener);
    return once('error', (error: unknown) => {
      if (/^WS_ERR_/.test(String((error as { code?: unknown })?.code))) return;
      listener(error);
    });
  }) as WebSocket['once'];
}

/** The longest operation id a subscribe message may carry (graphql-ws clients send UUIDs: 36). */
export const MAX_OPERATION_ID_LENGTH = 128;

/**
 * Why a client's message is refused here, or null to pass it on (graphql-ws refuses other bad
 * shapes itself): a type only a server sends, or a subscribe whose id is not 1-128 characters of
 * text without control characters or lone surrogates (graphql-ws takes any string, and echoes it in
 * every answer).
 */
function clientFault(data: unknown): string | null {
  let message: { type?: unknown; id?: unknown } | null;
  try {
    message = JSON.parse(String(data)) as { type?: unknown; id?: unknown } | null;
  } catch {
    return null;
  }
  if (typeof message?.type !== 'string') return null;
  if (SERVER_MESSAGES.has(message.type)) return 'a type only a server sends';
  const id = message.id;
  if (
    message.type === 'subscribe' &&
    typeof id === 'string' &&
    (id.length > MAX_OPERATION_ID_LENGTH || /\p{Cc}|\p{Cs}/u.test(id))
  ) {
    return `an id must be at most ${MAX_OPERATION_ID_LENGTH} characters, without control characters or lone surrogates`;
  }
  return null;
}

/** What each subscribe message wrote, by its payload: the document it runs and its variables. */
const written = new WeakMap<object, string>();

/** The names a subscribe message knows of the schema: its document (a trusted one's text) and variables. */
function writtenBy(payload: { query: string; variables?: unknown }): string {
  const text = written.get(payload);
  if (text !== undefined) return text;
  // variables the input boundary refuses are not read (JSON.stringify recursed past the stack)
  return `${payload.query}\n${variablesRefusal(payload.variables) ? '' : JSON.stringify(payload.variables ?? null)}`;
}

/**
 * Closes `socket` refused by the rate limits when it says who it is: 1013 Try Again Later (RFC 6455
 * close code registry), the reason rateLimitedReason gives. graphql-ws clients retry it with their
 * back-off (4429 would be final for them).
 */
function closeRateLimited(socket: WebSocket, refused: GraphQLError): void {
  socket.close(1013, rateLimitedReason(refused.message, Number(refused.extensions.retryAfter)));
}

/** Most bytes of a close frame's reason (RFC 6455 section 5.5: 125 bytes of payload, 2 of them the code). */
const CLOSE_REASON_BYTES = 123;

/**
 * The close reason of a socket refused by the rate limits: `RATE_LIMITED: <message>; retry after
 * <retryAfter> s`, at most 123 bytes of UTF-8. A longer message is cut (at a character's end),
 * never the code or the number of seconds a client reads from its end.
 */
export function rateLimitedReason(message: string, retryAfter: number): string {
  const head = Buffer.from(`RATE_LIMITED: ${message}`);
  const tail = `; retry after ${retryAfter} s`;
  let end = Math.max(0, Math.min(head.length, CLOSE_REASON_BYTES - Buffer.byteLength(tail)));
  // not inside a character: back to the first byte of the one cut (UTF-8 continuation bytes are 10xxxxxx)
  if (end < head.length) while (end > 0 && (head[end]! & 0xc0) === 0x80) end--;
  return head.subarray(0, end).toString() + tail;
}

/**
 * `error` without the `http` extension (Yoga's status for an HTTP answer, which a socket message
 * has not): a socket's errors carry what HTTP's answers carry in their body, no more.
 */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (error.extensions?.http === undefined) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol,
 * https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) at `path`, for subscriptions:
 * every operation goes through the Yoga server's plugins (authentication from the
 * `authorization` connection parameter or the upgrade request's header, validation with the
 * shape limits, the input boundary and the query cost when the subscription starts).
 * Queries and mutations are refused here: they go over HTTP. graphql-ws does not run Yoga's
 * request hooks, so what they do for HTTP is done here too, from the same functions: the rate
 * limits (`rateLimit`: each `subscribe` message counts as a request, RATE_LIMITED past them, and
 * so does a `connection_init` with a key, closed with 1013 past them; a key refused there counts
 * against the address as an HTTP 401 does), the
 * trusted documents (`documentId` in the payload; with TRUSTED_DOCUMENTS_ONLY a query text is
 * refused, PERSISTED_QUERY_ONLY), the token limit before parsing (TOO_MANY_TOKENS), and, without
 * `suggestions` (production), error messages that name only what the client wrote
 * (withoutSchemaHints). Messages are at most `maxPayload` bytes; a client address holds at most
 * `perAddress` sockets at once. Returns a function that closes every socket.
 */
export function attachWebSockets(
  server: Server,
  yoga: YogaServerInstance<Record<string, unknown>, Context>,
  options: {
    path: string;
    maxPayload: number;
    maxTokens: number;
    trustedDocuments: TrustedDocumentSettings;
    suggestions: boolean;
    /**
     * Counts a keyed `connection_init` and each `subscribe` message as requests of their client
     * (`authorization` as the socket gave it, `address` its client address), and refused keys
     * (rateLimit.ts socketRateLimits). None: not counted.
     */
    rateLimit?: SocketRateLimits;
    /** Take the client address from X-Forwarded-For (TRUST_PROXY), as HTTP requests do. */
    trustProxy?: boolean;
    /**
     * Open sockets one client address may hold (WEBSOCKETS_PER_ADDRESS; 0 or none: no limit): a
     * handshake past them is answered 429 RATE_LIMITED (`sockets`: the limit, Retry-After: 1).
     */
    perAddress?: number;
  },
): () => Promise<void> {
  const forSocket = (errors: readonly GraphQLError[], payload: { query: string; variables?: unknown }) =>
    (options.suggestions ? errors : withoutSchemaHints(errors, writtenBy(payload))).map(withoutHttp);
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  // the client address of a socket's upgrade request, as HTTP requests take theirs
  const addressOfSocket = (upgrade: IncomingMessage) => {
    const forwarded = upgrade.headers['x-forwarded-for'];
    return addressOf(
      typeof forwarded === 'string' ? forwarded : undefined,
      upgrade.socket.remoteAddress,
      options.trustProxy ?? false,
    );
  };
  // handshakes on the path come here; other Upgrade requests are served as plain requests, and a
  // malformed handshake is answered in JSON (malformedRequests.ts)
  // once closing, a handshake is answered as the plain request it also is (503 while draining)
  let closing = false;
  // open sockets per client address: each holds memory and a descriptor for as long as its client
  // keeps it, initialised or not, so one address could otherwise open them without end; a slot is
  // taken before the handshake and given back when its connection closes, however it ends
  const openSockets = new Map<string, number>();
  const perAddress = options.perAddress ?? 0;
  const accept = (request: IncomingMessage, upgraded: Duplex, rest: Buffer) => {
    const address = addressOfSocket(request);
    const open = openSockets.get(address) ?? 0;
    if (perAddress > 0 && open >= perAddress) {
      refuseHandshake(
        upgraded,
        [
          429,
          'Too Many Requests',
          'RATE_LIMITED',
          `At most ${perAddress} open WebSockets per client address; close one first`,
          { retryAfter: 1, sockets: perAddress },
        ],
        'Retry-After: 1\r\n',
      );
      return;
    }
    openSockets.set(address, open + 1);
    upgraded.once('close', () => {
      const left = (openSockets.get(address) ?? 1) - 1;
      if (left > 0) openSockets.set(address, left);
      else openSockets.delete(address);
    });
    sockets.handleUpgrade(request, upgraded, rest, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    routeUpgrade(server, req, socket, head, closing ? null : options.path, accept),
  );
  sockets.on('wsClientError', answerBadHandshake);
  // before graphql-ws's own listener (useServer below), which must not see the client's faults
  sockets.prependListener('connection', refuseClientFaults);
  const disposable = useServer(
    {
      // The key is checked once the client says who it is (connection_init): an `authorization`
      // that is not a string, is not "Bearer <API key>", or names no live key is refused there
      // (graphql-ws closes with 4403 Forbidden), as HTTP refuses it (401), never taken as anonymous
      // (null is no key, as when none is sent). A key's lookup counts as one of its requests, and
      // a refused one against its address, as over HTTP: sockets opened one after another with
      // made-up keys are limited (1013) as such HTTP requests are (429).
      // Each subscription checks it again when it starts (a key may be revoked meanwhile).
      onConnect: async (ctx) => {
        const given = ctx.connectionParams?.authorization;
        const authorization = given == null ? ctx.extra.request.headers.authorization : given;
        if (authorization === undefined) return true;
        if (typeof authorization !== 'string') return false;
        const address = addressOfSocket(ctx.extra.request);
        const refused = await options.rateLimit?.connect(authorization, address);
        if (refused) {
          // graphql-ws's own close (4403) that follows is then a no-op
          closeRateLimited(ctx.extra.socket, refused);
          return false;
        }
        try {
          await authenticate(prisma, authorization);
          return true;
        } catch (error) {
          if (!(error instanceof AuthenticationError)) throw error;
          await options.rateLimit?.keyRefused(authorization, address);
          return false;
        }
      },
      // no HTTP status in a message; in production, messages name only what the client wrote (its
      // document and variables)
      onError: (_ctx, _id, payload, errors) => forSocket(errors, payload).map((error) => error.toJSON()),
      onNext: (_ctx, _id, payload, _args, result) =>
        result.errors?.length ? { ...result, errors: forSocket(result.errors, payload) } : undefined,
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
        // POST, as a GraphQL-over-HTTP request with a body: the upgrade's GET would have Yoga's
        // parse refuse a mutation "only from a POST request" before this says where it belongs
        const request = new Request(`http://localhost${options.path}`, { method: 'POST', headers });
        // counted first, before anything reads the message
        const refused = await options.rateLimit?.message(authorization, addressOfSocket(upgrade));
        if (refused) return [refused];
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          request,
          req: upgrade,
          socket: ctx.extra.socket,
          params: payload,
        });
        const text = trustedDocumentText(options.trustedDocuments, payload);
        if (text instanceof GraphQLError) return [text];
        // before anything reads the variables (JSON.stringify below recursed past the stack on
        // 5,000 levels, and graphql-ws closed the socket with the RangeError's text)
        const tooDeep = variablesRefusal(payload.variables);
        if (tooDeep) return [tooDeep];
        written.set(payload, `${text}\n${JSON.stringify(payload.variables ?? null)}`);
        const tooLarge = tokenLimitError(text, options);
        if (tooLarge) return [tooLarge];
        let document;
        try {
          document = parse(text);
        } catch (error) {
          return [
            error instanceof GraphQLError
              ? error
              : new GraphQLError('Syntax Error: the document could not be parsed', {
                  extensions: { code: 'GRAPHQL_PARSE_FAILED' },
                }),
          ];
        }
        // a query or mutation is told so before validation (HTTP-only rules, a field it misspelt)
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation === 'query' || operation?.operation === 'mutation') return [notOverWebSocket()];
        const errors = validate(schema, document);
        if (errors.length) return errors;
        if (operation?.operation !== 'subscription') return [notOverWebSocket()];
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
    closing = true;
    // each socket is sent a close frame (1001); one whose client never answers it is cut off after a
    // second, not after ws's 30 s, which outlasted SHUTDOWN_TIMEOUT_MS (exit 1)
    const cutOff = setTimeout(() => {
      for (const client of sockets.clients) client.terminate();
    }, 1_000);
    try {
      await disposable.dispose();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    } finally {
      clearTimeout(cutOff);
    }
  };
}
