import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

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
 *   Content-Length and Transfer-Encoding): 400 `BAD_REQUEST`.
 *
 * The connection closes after it: the rest of the stream cannot be framed. Each request gets one
 * answer, never a corrupted one: answers to earlier, wholly received requests (pipelining) go out
 * whole first; a request whose own body broke off gets this answer instead of its own while none of
 * that is written (as Node's own handler, lib/_http_server.js socketOnError), keeps its own answer
 * alone when that was written before its body was read, and else the connection just closes. Resets
 * by the client (ECONNRESET) are not answered; a connection is refused once.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket, maxHeaderBytes: number): void {
  // once per connection: bytes after the first refusal only repeat it
  if (refused.has(socket)) return;
  refused.add(socket);
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message, extensions] = describe(error, maxHeaderBytes);
  const body = JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] });
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
    else if (ownAnswer) socket.end();
    else {
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Cache-Control: no-store\r\n' +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    return true;
  };
  if (!answer()) waiting.set(socket, answer);
}

/** Connections that were answered a refusal (or are waiting to be). */
const refused = new WeakSet<Socket>();
/** Each connection's responses not yet finished, in request order (HTTP/1.1 pipelining). */
const inFlight = new WeakMap<Socket, Set<ServerResponse>>();
/** Each connection's latest request's response, finished or not. */
const lastResponse = new WeakMap<Socket, ServerResponse>();
/** A refusal waiting for the answers before it: tried again as each of them finishes. */
const waiting = new WeakMap<Socket, () => boolean>();

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

type Description = [
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
