import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/resolvers/access/apiKeys.ts';
import { EXPORT_BODY_BYTES, IMPORT_BODY_BYTES } from '../../src/transfer/http.ts';
import { prepareFileDatabase } from '../support/prepare.ts';
import { startServer, type RunningServer } from '../support/process.ts';
import { serverUrl } from '../support/targets.ts';

/**
 * A body past its route's limit is answered 413 PAYLOAD_TOO_LARGE, on every route that reads one,
 * and the connection it came on is never left waiting: a body refused by its Content-Length is
 * read and dropped after the answer and the connection carries the next request; one that is
 * longer than it may be while arriving (chunked) is answered `Connection: close`, and the
 * connection closes. Kept alive, it stalled the client's next request until the socket reset.
 * The real process, on this file's database.
 */

const KEY = `ngk_${'o'.repeat(43)}`;
const SETUP = `INSERT INTO "ApiKey" ("name", "role", "prefix", "secretHash")
  VALUES ('oversized-editor', 'EDITOR', 'ngk_oooooo', '${hashKey(KEY)}');`;
const GRAPHQL_BODY_BYTES = 1_000_000;

let server: RunningServer;

beforeAll(async () => {
  await prepareFileDatabase(SETUP);
  server = await startServer({
    MAX_BODY_BYTES: String(GRAPHQL_BODY_BYTES),
    MIGRATE_ON_START: 'false',
    SEED_DEMO_DATA: 'false',
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

interface Exchange {
  /** Status lines and Connection fields of the answers, in order. */
  answers: { status: number; connection: string | undefined }[];
  /** Whether the server closed the connection, and when (ms after the request was sent). */
  closedAfterMs: number | undefined;
}

/**
 * On one connection: a POST of `size` bytes to `route` (with a Content-Length, or chunked), then
 * a GET /healthz; collects the answers for `waitMs`.
 */
async function exchange(route: string, size: number, framing: 'length' | 'chunked', waitMs = 4_000) {
  const { port, hostname } = new URL(server.url);
  const socket = net.connect(Number(port), hostname);
  const started = Date.now();
  let received = '';
  let closedAfterMs: number | undefined;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closedAfterMs ??= Date.now() - started));
  const head = [
    `POST ${route} HTTP/1.1`,
    'Host: x',
    `Authorization: Bearer ${KEY}`,
    'Content-Type: application/json',
    framing === 'length' ? `Content-Length: ${size}` : 'Transfer-Encoding: chunked',
  ].join('\r\n');
  socket.write(`${head}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < size && !socket.destroyed; sent += piece.length) {
    const part = piece.subarray(0, Math.min(piece.length, size - sent));
    socket.write(
      framing === 'length'
        ? part
        : Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]),
    );
  }
  if (framing === 'chunked') socket.write('0\r\n\r\n');
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.destroy();
  const answers = [...received.matchAll(/HTTP\/1\.1 (\d{3}) [^]*?\r\n\r\n/g)].map((match) => ({
    status: Number(match[1]),
    connection: /\r\nconnection: ([^\r]*)/i.exec(match[0])?.[1]?.toLowerCase(),
  }));
  return { answers, closedAfterMs } satisfies Exchange;
}

describe(`a body past its limit (${serverUrl ? 'PostgreSQL server' : 'PGlite'})`, () => {
  const routes = [
    ['/graphql', GRAPHQL_BODY_BYTES],
    ['/export.ndjson', EXPORT_BODY_BYTES],
    ['/import.ndjson', IMPORT_BODY_BYTES],
  ] as const;

  it.each(routes)('%s: refused by its Content-Length, the connection serves the next request', async (route, limit) => {
    const { answers } = await exchange(route, limit + 1, 'length', 1_500);
    expect(answers).toEqual([
      { status: 413, connection: 'keep-alive' },
      { status: 200, connection: 'keep-alive' },
    ]);
  });

  it.each(routes)('%s: refused while it arrives, the answer closes the connection at once', async (route, limit) => {
    const { answers, closedAfterMs } = await exchange(route, limit + 256 * 1024, 'chunked');
    expect(answers).toEqual([{ status: 413, connection: 'close' }]);
    // closed within the linger (CLOSE_LINGER_MS, 2 s), never left for the client to wait on
    expect(closedAfterMs).toBeDefined();
  });
});
