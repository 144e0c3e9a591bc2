// The embedded PostgreSQL (PGlite) in a thread of its own, behind a Unix socket that speaks the
// PostgreSQL protocol (pglite-socket), so that a long statement never blocks the API's event
// loop. Started by embedded.ts, which holds the data folder's lock for it (this thread opens the
// folder without locking it again). Plain JavaScript, so that it runs in a worker thread without
// a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** @type {{ dataDir: string; socketPath: string; activity: SharedArrayBuffer; settings: Record<string, string> }} */
const { dataDir, socketPath, activity, settings } = workerData;
// What PGlite is doing, for the API thread's statement watchdog (embedded.ts): [0] is 1 while
// a protocol message executes, [1] counts the messages begun.
const state = new Int32Array(activity);

try {
  // settings of this run only: on the command line, after PGlite's own
  const startParams = [
    ...PGlite.defaultStartParams,
    ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  const db = await PGlite.create(dataDir, { extensions: { pg_trgm }, startParams });
  const execute = db.execProtocolRawStream.bind(db);
  db.execProtocolRawStream = async (...args) => {
    Atomics.add(state, 1, 1);
    Atomics.store(state, 0, 1);
    try {
      return await execute(...args);
    } finally {
      Atomics.store(state, 0, 0);
    }
  };
  // The API connects with a pool of one; a few more sockets may be open for a moment, since pg
  // closes a connection after an error and opens the next before the server has seen the close.
  // (PGlite still runs one statement at a time, and keeps a transaction to its connection.)
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 8 });
  await server.start();
  parentPort.on('message', async (message) => {
    if (message !== 'close') return;
    await server.stop();
    await db.close();
    parentPort.postMessage({ closed: true });
  });
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
