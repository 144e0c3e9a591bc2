import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';

/**
 * Requests refused before any handler ran, by HTTP status: what Node's parser refuses
 * (answerMalformedRequest), an HTTP/1.1 request without one Host field, an `Expect` other than
 * 100-continue, CONNECT. Registered by observability.ts createMetrics.
 */
export const refusedRequests = new Counter({
  name: 'newsgraph_http_refused_total',
  help: 'Requests refused before any handler ran (malformed HTTP, no Host, Expect, CONNECT) by status',
  labelNames: ['status'],
  registers: [],
});

/**
 * Connections the client closed part-way through a request (its head or its body: Node's parser
 * reports `HPE_INVALID_EOF_STATE`). Not refusals: nothing malformed arrived, the rest never did.
 * Registered by observability.ts createMetrics.
 */
export const incompleteRequests = new Counter({
  name: 'newsgraph_http_incomplete_total',
  help: 'Connections the client closed part-way through a request (its head or body)',
  registers: [],
});

/**
 * The answer to a request Node's HTTP parser refuses before any handler sees it (the server's
 * `clientError` event): the status Node itself would send, now with a GraphQL-shaped JSON body whose
 * `extensions.code` says what was wrong, instead of an empty response.
 *
 * - request line and header fields past Node's `--max-http-header-size` (16 KiB by default), e.g. a
 *   GET query too long for a URL: 431 `REQUEST_HEADER_FIELDS_TOO_LARGE`, with `limit` in bytes;
 * - the request not received within `server.requestTimeout` / `headersTimeout`: 408 `REQUEST_TIMEOUT`;
 * - a chunk extension past 16 KiB: 413 `PAYLOAD_TOO_LARGE`;
 * - anything else the parser refuses (a malformed request line or header, a bad chunk size, both
 *   Content-Length and Transfer-Encoding), and a request the client stopped sending part-way (counted
 *   by `incompleteRequests`, not as a refusal): 400 `BAD_REQUEST`.
 *
 * The connection closes after it: the rest of the stream cannot be framed. Each request gets one
 * answer, never a corrupted one: answers to earlier, wholly received requests (pipelining) go out
 * whole first; a request whose own body broke off gets this answer instead of its own while none of
 * that is written (as Node's own handler, lib/_http_server.js socketOnError), keeps its own answer
 * alone when that was written before its body was read, and else the connection just closes. Resets
 * by the client (ECONNRESET) are not answered; a connection is refused once.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Duplex, maxHeaderBytes: number): void {
  // once per connection: bytes after the first refusal only repeat it
  if (refused.has(socket)) return;
  refused.add(socket);
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message, extensions] = describe(error, maxHeaderBytes);
  if (error.code === 'HPE_INVALID_EOF_STATE') incompleteRequests.inc();
  else refusedRequests.inc({ status });
  const answer = () => {
    const responses = [...(inFlight.get(socket) ?? [])];
    // answers to wholly received requests (pipelined before this one) go out whole first
    if (responses.some((res) => res.req.complete && !res.writableFinished)) return false;
    // the refused bytes are in the body of the last request: one answered before reading its body
    // (a 415, /healthz) keeps that answer alone, one answer per request; one partly written cannot be
    // finished; one not yet answered gets this refusal instead
    const last = lastResponse.get(socket);
    const ownAnswer = last && !last.req.complete && last.headersSent ? last : undefined;
    if (!socket.writable || (ownAnswer && !ownAnswer.writableFinished)) socket.destroy();
    else if (ownAnswer) closeAfter(socket);
    else endWith(socket, [status, reason, code, message, extensions]);
    return true;
  };
  if (!answer()) waiting.set(socket, answer);
}

/** Writes a whole JSON error response on a connection no HTTP parser owns any more, and closes it (closeAfter). */
function endWith(socket: Duplex, [status, reason, code, message, extensions]: Description, headers = ''): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] });
  closeAfter(
    socket,
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      headers +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** How long a connection the server has ended waits for the client's end before it is destroyed, ms. */
export const CLOSE_LINGER_MS = 2_000;

/**
 * Ends `socket` after `last` and closes it whole: the server's side ends (FIN) and what the client
 * still sends is read and dropped, so the answer is not lost to a reset, until the client ends
 * its side or CLOSE_LINGER_MS pass; then it is destroyed. Node's HTTP server allows half-open
 * connections, so `end()` alone left one whose client never ends (FIN-WAIT-2) holding its
 * descriptor for good.
 */
export function closeAfter(socket: Duplex, last?: string): void {
  const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.resume();
  socket.end(last);
}

/**
 * The 'error' listener of a connection the HTTP server has handed over (an Upgrade request): the
 * HTTP server's own is gone once it raises 'upgrade', and a client that reset after its answer
 * (ECONNRESET) raised an unhandled 'error' that ended the process. The error has ended the
 * connection; nothing is left to answer.
 */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * RFC 9112 section 3.2: an HTTP/1.1 request must carry exactly one Host field, else 400. Node's own
 * check (`requireHostHeader`, on by default) answers an empty 400 and misses a repeated Host; the
 * server turns it off and calls this instead. The request target must have one of the forms of RFC
 * 9112 section 3.2: origin-form (`/path?query`); absolute-form (`http://host/path`, which a server
 * must accept, section 3.2.2: its authority replaces the Host field and the request goes on as the
 * origin-form of its path and query); asterisk-form (`*`) for OPTIONS only. A Host that is not
 * `host[:port]`, or a target that makes no URL with it, is refused too. Answers the request (400
 * `BAD_REQUEST`, JSON) and returns true when refused; else returns false, `req.url` then being a
 * path (or `*` for OPTIONS).
 */
export function refuseBadHostOrTarget(req: IncomingMessage, res: ServerResponse): boolean {
  const refusal = hostOrTargetRefusal(req);
  if (!refusal) return false;
  answerJson(res, refusal);
  return true;
}

function hostOrTargetRefusal(req: IncomingMessage): Description | null {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts += 1;
  const refuse = (message: string): Description => [400, 'Bad Request', 'BAD_REQUEST', message];
  if (hosts > 1) return refuse('The request has more than one Host header field');
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
    return refuse('An HTTP/1.1 request needs a Host header field');
  }
  const target = req.url ?? '/';
  if (target === '*') {
    if (req.method !== 'OPTIONS') return refuse('The request target "*" is for OPTIONS only');
  } else if (!target.startsWith('/')) {
    const absolute = /^https?:\/\/[^/?#]/i.test(target) && URL.canParse(target) ? new URL(target) : null;
    if (!absolute || !absolute.host) {
      return refuse('The request target is neither a path, an absolute http(s) URL nor "*" (for OPTIONS)');
    }
    // RFC 9110 section 4.2.4: userinfo in an http(s) URI is an error
    if (absolute.username || absolute.password) return refuse('The request target carries userinfo (user@host)');
    req.url = `${absolute.pathname}${absolute.search}`;
    req.headers.host = absolute.host;
  }
  const host = req.headers.host;
  // RFC 9110 7.2: uri-host [":" port], which the URL of the request is made from (a space, a path or
  // a port past 65535 in it made Yoga's adapter throw: a 500 with its stack)
  if (host !== undefined && (!HOST.test(host) || !URL.canParse(`http://${host}/`))) {
    return refuse('The Host header field is not a host[:port]');
  }
  // the request's URL as the server builds it: the Host (an HTTP/1.0 request may have none) and the target
  if (!URL.canParse(requestUrl(req))) return refuse('The request target is not a valid URL path');
  return null;
}

/** The request's URL as the server's adapter builds it: `http://`, the Host (else localhost), the target. */
function requestUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
}

/** A Host field's shape: an IP literal in brackets or a name without delimiters, then an optional port. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@[\]\\:]+)(:\d{0,5})?$/;

/**
 * The answer to an `Expect` header other than `100-continue` (the server's `checkExpectation`
 * event; RFC 9110 section 10.1.1): 417 `EXPECTATION_FAILED`, JSON, where Node sends an empty 417.
 */
export function answerExpectation(res: ServerResponse): void {
  answerJson(res, [
    417,
    'Expectation Failed',
    'EXPECTATION_FAILED',
    'The only expectation this server meets is "Expect: 100-continue"',
  ]);
}

/**
 * The answer to CONNECT (the server's `connect` event): this is an origin server, not a proxy, so
 * 405 `METHOD_NOT_ALLOWED` (JSON), where Node would close the connection without a word.
 */
export function answerConnect(socket: Duplex): void {
  refusedRequests.inc({ status: 405 });
  endWith(
    socket,
    [405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED', 'This server is not a proxy: CONNECT is not served'],
    'Allow: GET, HEAD, POST, OPTIONS\r\n',
  );
}

/**
 * The answer to a malformed WebSocket handshake (ws's `wsClientError`: a method other than GET, a
 * missing or invalid Sec-WebSocket-Key, -Version, -Protocol or -Extensions): 405 for the method,
 * else 400 `BAD_REQUEST`, as JSON with ws's reason as the message.
 */
export function answerBadHandshake(error: Error, socket: Duplex): void {
  const method = error.message === 'Invalid HTTP method';
  refusedRequests.inc({ status: method ? 405 : 400 });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  endWith(
    socket,
    method
      ? [405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED', 'A WebSocket handshake is a GET request']
      : [400, 'Bad Request', 'BAD_REQUEST', `Not a valid WebSocket handshake: ${error.message}`],
    method ? 'Allow: GET\r\n' : '',
  );
}

function answerJson(res: ServerResponse, [status, , code, message]: Description): void {
  refusedRequests.inc({ status });
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
}

/**
 * Answers a WebSocket handshake the server will not take with `status` and a JSON error body
 * (`code`, `message`, `extensions`), `headers` (CRLF-terminated lines) added, and closes the
 * connection; counted as a refused request.
 */
export function refuseHandshake(socket: Duplex, refusal: Description, headers = ''): void {
  refusedRequests.inc({ status: refusal[0] });
  endWith(socket, refusal, headers);
}

/**
 * Routes an HTTP Upgrade request (the server's `upgrade` event, which Node raises for every request
 * carrying `Connection: upgrade` once anything listens for WebSockets). A WebSocket handshake
 * (`Upgrade: websocket`) on `path` (or `path/`) goes to `accept` once every earlier request of the
 * connection is answered. Any other, such as curl's `--http2` offer (`Upgrade: h2c`) or a WebSocket
 * handshake elsewhere, is served as the plain HTTP/1.1 request it also is: RFC 9110 section 7.8
 * lets a server ignore an Upgrade it does not take, and Node 20 cannot decline one (Node 24's
 * `shouldUpgradeCallback` can), so the request is handed back to the HTTP server without its
 * Upgrade fields. `path` null: no WebSocket endpoint (shutting down), every request is served
 * plainly. An HTTP/1.1 request without one Host field is refused (400) either way.
 */
export function routeUpgrade(
  server: Server,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string | null,
  accept: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): void {
  // before any answer, accept's refusal (refuseHandshake) included
  socket.on('error', destroyOnError);
  const refusal = hostOrTargetRefusal(req);
  // the endpoint's paths as Yoga serves them (with or without a trailing slash); ws itself refuses
  // a handshake by another method (405)
  const target = (req.url ?? '').split('?', 1)[0];
  const websocket =
    path !== null && req.headers.upgrade?.toLowerCase() === 'websocket' && (target === path || target === `${path}/`);
  const badQuery = !refusal && !queryIsUtf8(new URL(requestUrl(req)).search);
  afterEarlierAnswers(socket, () => {
    if (socket.destroyed) return;
    if (badQuery && websocket) {
      // as every HTTP route answers it (http.ts useUtf8Query)
      refusedRequests.inc({ status: 400 });
      endWith(socket, [400, 'Bad Request', 'BAD_REQUEST', NOT_UTF8_QUERY]);
    } else if (refusal) {
      refusedRequests.inc({ status: refusal[0] });
      endWith(socket, refusal);
    } else if (websocket) accept(req, socket, head);
    else {
      // the HTTP server's own error handling takes the connection back (its clientError answers)
      socket.off('error', destroyOnError);
      socket.unshift(Buffer.concat([withoutUpgrade(req), head]));
      // a keep-alive timer an earlier answer left on the connection would close it mid-request
      (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
      server.emit('connection', socket);
    }
  });
}

/** The request's head as the client sent it (its target in origin-form), less `Upgrade`, `HTTP2-Settings` and their Connection tokens. */
function withoutUpgrade(req: IncomingMessage): Buffer {
  const hopByHop = new Set(['upgrade', 'http2-settings']);
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) continue;
    // (the Host an absolute-form target replaced goes back as the target's authority: hostOrTargetRefusal)
    let value = lower === 'host' ? (req.headers.host ?? raw[i + 1]!) : raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token && !hopByHop.has(token.toLowerCase()))
        .join(',');
      if (!value) continue;
    }
    // no space after the colon, and none after each remaining comma: never longer than it came, so
    // a head under Node's header limit stays under it
    lines.push(`${name}:${value}`);
  }
  // Node reads header bytes as Latin-1: the same bytes go back
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Runs `then` once every response of the connection's earlier requests has finished (pipelining). */
function afterEarlierAnswers(socket: Duplex, then: () => void): void {
  const responses = inFlight.get(socket);
  if (!responses?.size) {
    then();
    return;
  }
  const check = () => {
    if (responses.size) return false;
    then();
    return true;
  };
  waiting.set(socket, check);
}

/** Connections that were answered a refusal (or are waiting to be). */
const refused = new WeakSet<Duplex>();
/** Each connection's responses not yet finished, in request order (HTTP/1.1 pipelining). */
const inFlight = new WeakMap<Duplex, Set<ServerResponse>>();
/** Each connection's latest request's response, finished or not. */
const lastResponse = new WeakMap<Duplex, ServerResponse>();
/** A refusal waiting for the answers before it: tried again as each of them finishes. */
const waiting = new WeakMap<Duplex, () => boolean>();

/**
 * Records a request's response on its connection until it finishes or closes, so that a refusal
 * later on that connection waits for it (answerMalformedRequest). Call it first in the server's
 * request handler.
 */
export function trackResponse(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  let responses = inFlight.get(socket);
  if (!responses) inFlight.set(socket, (responses = new Set()));
  responses.add(res);
  lastResponse.set(socket, res);
  const done = () => {
    responses.delete(res);
    const retry = waiting.get(socket);
    if (retry?.()) waiting.delete(socket);
  };
  res.once('finish', done);
  res.once('close', done);
}

/** An HTTP refusal: its status, reason phrase, error code, message and further extensions. */
export type Description = [
  status: number,
  reason: string,
  code: string,
  message: string,
  extensions?: Record<string, unknown>,
];

function describe(error: Error & { code?: string }, maxHeaderBytes: number): Description {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        'Request Header Fields Too Large',
        'REQUEST_HEADER_FIELDS_TOO_LARGE',
        `The request line and header fields pass ${maxHeaderBytes} bytes; send a long query as a POST body`,
        { limit: maxHeaderBytes },
      ];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'Payload Too Large', 'PAYLOAD_TOO_LARGE', 'A chunk extension of the request body is too long'];
    default:
      return [400, 'Bad Request', 'BAD_REQUEST', 'The request is not well-formed HTTP/1.1'];
  }
}

/** The message of the 400 for a query string that is not UTF-8 (queryIsUtf8), on every route. */
export const NOT_UTF8_QUERY = 'The query string is not UTF-8 once percent-decoded';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * True when a URL's query (`url.search`: ASCII, as the URL parser serializes it) decodes to UTF-8:
 * each `%XX` is a byte (WHATWG URL percent-decoding, which leaves a `%` without two hex digits as
 * it is), and the bytes must be well-formed UTF-8 (no `%FF`, no encoded surrogate such as
 * `%ED%A0%80`, no cut-off sequence).
 */
export function queryIsUtf8(search: string): boolean {
  if (!search.includes('%')) return true;
  try {
    decodeURIComponent(search);
    return true;
  } catch {
    // a malformed escape or bad UTF-8: tell them apart
  }
  const bytes = new Uint8Array(search.length);
  let length = 0;
  for (let i = 0; i < search.length; i++) {
    const hex = search[i] === '%' ? search.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes[length++] = parseInt(hex, 16);
      i += 2;
    } else bytes[length++] = search.charCodeAt(i) & 0xff;
  }
  try {
    STRICT_UTF8.decode(bytes.subarray(0, length));
    return true;
  } catch {
    return false;
  }
}
