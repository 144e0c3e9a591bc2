import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { Lifecycle } from '../../src/http.ts';
import { createServer } from '../../src/yoga.ts';
import { startServer } from '../support/process.ts';

/**
 * Graceful shutdown of the real process: SIGTERM lets a mutation in flight commit and answer,
 * then the process exits 0 and accepts nothing more.
 */

let env: Record<string, string | undefined>;
let cleanup = async () => {};

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    env = { SEED_DEMO_DATA: 'true', MIGRATE_ON_START: 'true' };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-shutdown-'));
    env = { PGLITE_DIR: dir, SEED_DEMO_DATA: 'true' };
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
});
afterAll(async () => cleanup());

describe('graceful shutdown', () => {
  it('readiness fails as soon as draining starts', async () => {
    const lifecycle = new Lifecycle();
    const yoga = createServer(undefined, { lifecycle });
    // the database open and answering first: /readyz gives it 2 s, which opening PGlite on a busy machine can take
    await prisma.$queryRaw`SELECT 1`;
    expect((await yoga.fetch('http://newsgraph.test/readyz')).status).toBe(200);
    lifecycle.draining = true;
    const draining = await yoga.fetch('http://newsgraph.test/readyz');
    expect(draining.status).toBe(503);
    expect(JSON.stringify(await draining.json())).not.toMatch(/postgres|127\.0\.0\.1|password|5432/i);
    expect((await yoga.fetch('http://newsgraph.test/healthz')).status).toBe(200);
  });

  it('on SIGTERM a mutation in flight commits and answers, then the process exits 0', async () => {
    const server = await startServer(env);
    const key = /(ngk_[A-Za-z0-9_-]{43})/.exec(server.output())![1]!;
    let blocker: pg.Client | undefined;
    if (process.env.DATABASE_URL) {
      // hold a lock the mutation needs, so it is certainly in flight when the signal arrives
      blocker = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE "Topic" IN EXCLUSIVE MODE');
    }
    const inFlight = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        query:
          'mutation { createTopic(input: { name: "Written While Stopping" }) { __typename ... on CreateTopicSuccess { topic { slug } } } }',
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = server.stop();
    if (blocker) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await blocker.query('COMMIT');
      await blocker.end();
    }
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: { createTopic: { __typename: 'CreateTopicSuccess', topic: { slug: 'written-while-stopping' } } },
    });
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: finishing requests in flight/);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('exits 0 when a WebSocket client never answers the close frame', async () => {
    const server = await startServer(env);
    const { port, hostname } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(
      'GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
    );
    await expect.poll(() => received).toMatch(/^HTTP\/1\.1 101 /);
    // the client reads the close frame and says nothing: ws alone would wait 30 s for its answer,
    // past SHUTDOWN_TIMEOUT_MS (10 s), and the process would exit 1
    expect(await server.stop()).toBe(0);
    await closed;
    expect(received).toMatch(/\x88/);
  });
});
