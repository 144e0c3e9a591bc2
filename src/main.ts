import fs from 'node:fs';
import path from 'node:path';
import { createServer as createHttpServer, maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { config, ConfigError } from './config.ts';
import { announceLocalToken, announcePort, FolderInUseError, keepOwnerFiles, servesFolders } from './db/folderLock.ts';
import {
  answerConnect,
  answerExpectation,
  answerMalformedRequest,
  refuseBadHostOrTarget,
  trackResponse,
} from './malformedRequests.ts';
import { outsideHeaders } from './outsideHeaders.ts';

/** A start-up failure the operator can fix: printed as one line saying what to do, exit 1. */
class StartupError extends Error {}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Answers while the server starts (migrations, demo data): alive on /healthz, not ready on
 * /readyz, and 503 STARTING with Retry-After for everything else.
 */
const starting =
  (corsOrigins: readonly string[]): Handler =>
  (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body =
      path === '/healthz'
        ? { status: 'ok' }
        : path === '/readyz'
          ? { status: 'starting' }
          : { errors: [{ message: 'The server is starting; retry shortly', extensions: { code: 'STARTING' } }] };
    res.writeHead(path === '/healthz' ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(path === '/healthz' ? {} : { 'retry-after': '1' }),
      ...outsideHeaders(req, corsOrigins),
    });
    res.end(JSON.stringify(body));
  };

const USAGE = `Starts the Newsgraph API (configuration: environment variables, see README "Configuration").

usage:
  npm start                 the server (PORT, default 4000; the embedded database in PGLITE_DIR, or DATABASE_URL)
  npm start -- --help       this text
`;

/**
 * Boots the API: configuration; the port (taken first, so a busy port stops the process before
 * the database is touched); the database (migrated on start, or checked to be up to date);
 * demo data; then requests are served. Until then /readyz answers 503 "starting".
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.some((arg) => arg === '--help' || arg === '-h' || arg === 'help')) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.length) {
    process.stderr.write(`newsgraph: unknown argument ${JSON.stringify(args[0])}\n\n${USAGE}`);
    process.exit(2);
  }
  const settings = config();
  let handler: Handler = starting(settings.corsOrigins);
  // requests still arriving are checked against REQUEST_TIMEOUT_MS every second (Node's default, 30 s,
  // let a slow sender hold its connection up to 30 s past the limit)
  // (Host is checked here, not by Node, whose 400 has no body and allows a repeated Host)
  const server = createHttpServer({ connectionsCheckingInterval: 1_000, requireHostHeader: false }, (req, res) => {
    trackResponse(req, res);
    if (refuseBadHostOrTarget(req, res)) return;
    handler(req, res);
  });
  // what Node's parser refuses (a URL past 16 KiB, a malformed request), an `Expect` it cannot meet and
  // CONNECT get a typed JSON answer too
  server.on('clientError', (error: Error, socket: Socket) => answerMalformedRequest(error, socket, maxHeaderSize));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    trackResponse(req, res);
    answerExpectation(res);
  });
  server.on('connect', (_req: IncomingMessage, socket: Socket) => answerConnect(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new StartupError(
            `port ${settings.port} is in use (another server?); start on a free port, e.g. PORT=${settings.port + 1} npm start`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          new StartupError(`port ${settings.port} needs privileges; use a port above 1023, e.g. PORT=4000 npm start`),
        );
      } else if (error.code === 'ENOTFOUND' || error.code === 'EADDRNOTAVAIL' || error.code === 'EAI_AGAIN') {
        reject(
          new StartupError(`HOST=${settings.host} is not an address of this machine; unset HOST to listen on all`),
        );
      } else reject(new StartupError(`cannot listen on port ${settings.port}: ${error.message}`));
    });
    server.listen(settings.port, settings.host, resolve);
  });
  const { port } = server.address() as import('node:net').AddressInfo;

  // an embedded database that was never created is not created here without its migrations
  const target = settings.database;
  if (
    target.kind === 'pglite' &&
    !settings.migrateOnStart &&
    !target.dataDir.startsWith('memory://') &&
    !fs.existsSync(path.join(target.dataDir, 'PG_VERSION'))
  ) {
    throw new StartupError(`there is no database in ${target.dataDir} yet; run: npm run db:migrate`);
  }

  const { createLogger } = await import('./observability.ts');
  const log = createLogger(settings.logLevel, undefined, settings.logFormat);
  const { prisma, connect, migrateDatabase, pendingMigrations, disconnect, checkReplicas } =
    await import('./db/client.ts');
  const { connectionProblem } = await import('./db/errors.ts');
  const { EmbeddedFolderError } = await import('./db/embedded.ts');
  try {
    // Takes the embedded database folder (or stops here: one owner per folder), as a server's.
    servesFolders();
    await connect();
    if (settings.migrateOnStart) {
      const applied = await migrateDatabase();
      if (applied.length) log.info({ applied }, `migrations applied: ${applied.join(', ')}`);
    } else {
      const pending = await pendingMigrations();
      if (pending.length) {
        throw new StartupError(
          `the database is missing ${pending.length} migration${pending.length > 1 ? 's' : ''} (${pending[0]}${pending.length > 1 ? ', ...' : ''}); run: npm run db:migrate`,
        );
      }
    }
  } catch (error) {
    if (error instanceof EmbeddedFolderError) throw new StartupError(error.message);
    const problem = connectionProblem(error);
    if (problem) {
      const running = problem.startsWith('cannot reach') ? ' and that it is running' : '';
      throw new StartupError(`${problem}; check DATABASE_URL${running}`);
    }
    throw error;
  }
  // read replicas: reachable standbys, or one line now rather than failed reads later
  await checkReplicas().catch((error: Error) => {
    throw new StartupError(error.message);
  });
  announcePort(port);
  // the import and export commands reach this process through its folder (db/folderLock.ts)
  // (imported here, not above: its modules open the database, which needs the settings read first)
  const { acceptLocalToken } = await import('./transfer/http.ts');
  acceptLocalToken(announceLocalToken());
  // its lock and token files come back if someone removes them while it runs
  keepOwnerFiles();
  if (settings.seedDemoData) {
    const { seedDemoData } = await import('./seed/demo.ts');
    const inserted = await seedDemoData(prisma);
    if (inserted) log.info({ inserted }, `demo data loaded: ${inserted} articles`);
    if (settings.production) {
      // keys never go to the log stream: in production the operator makes them
      if (inserted) {
        log.info('no API key was made; make an ADMIN key with: npm run apikey -- create --name <name> --role admin');
      }
    } else {
      // With the demo data: a key to try the mutations locally, made while the database has none
      // at all (so also on the start after a first one cut short between the two). It goes to the
      // terminal, deliberately not through the logger (keys never appear in logs).
      const { createApiKey } = await import('./resolvers/access/apiKeys.ts');
      const { ValidationError } = await import('./errors.ts');
      if ((await prisma.apiKey.count()) === 0) {
        try {
          const { secret } = await createApiKey(prisma, 'local-admin', 'ADMIN');
          console.log(
            `Admin API key "local-admin" for local use (shown once; send it as "Authorization: Bearer <key>"):\n${secret}`,
          );
        } catch (error) {
          // another process starting at once made it (and printed it)
          if (!(error instanceof ValidationError)) throw error;
        }
      }
    }
  }

  const { createServer, GRAPHQL_ENDPOINT } = await import('./yoga.ts');
  const { Lifecycle, headAsGet, withRequestScope } = await import('./http.ts');
  const lifecycle = new Lifecycle();
  const { createCounterStore, socketRateLimits } = await import('./rateLimit.ts');
  // one set of rate-limit counters for HTTP requests and WebSocket messages
  const counters = createCounterStore(settings.rateLimits);
  const yoga = createServer(settings, { lifecycle, logger: log, counters });
  handler = withRequestScope(headAsGet(yoga, GRAPHQL_ENDPOINT), {
    timeoutMs: settings.requestTimeoutMs,
    statementsAtOnce: settings.dbStatementsPerRequest,
    corsOrigins: settings.corsOrigins,
    trustProxy: settings.rateLimits.trustProxy,
  });
  // a client must send its whole request within the same budget
  if (settings.requestTimeoutMs > 0) {
    server.requestTimeout = settings.requestTimeoutMs;
    server.headersTimeout = Math.min(settings.requestTimeoutMs, 60_000);
  }
  const where =
    settings.database.kind === 'pglite' ? `embedded PostgreSQL in ${settings.database.dataDir}` : 'PostgreSQL server';
  const { startRollupCompaction } = await import('./db/rollupCompaction.ts');
  const compaction = startRollupCompaction(prisma, log);
  const { startTrashPurge } = await import('./trashPurge.ts');
  const trashPurge = startTrashPurge(prisma, settings.trashRetentionDays, log);
  // events to subscribers (through Redis when set), the webhook worker, GraphQL over WebSocket
  const { startAlerts } = await import('./alerts.ts');
  const alerts = await startAlerts(settings.alerts, log);
  const { attachWebSockets } = await import('./websocket.ts');
  const closeSockets = attachWebSockets(server, yoga, {
    path: GRAPHQL_ENDPOINT,
    maxPayload: settings.maxBodyBytes,
    maxTokens: settings.limits.maxTokens,
    trustedDocuments: settings.trustedDocuments,
    suggestions: !settings.production,
    rateLimit: socketRateLimits(settings.rateLimits, counters, log),
    trustProxy: settings.rateLimits.trustProxy,
    perAddress: settings.websocketsPerAddress,
  });

  // Graceful shutdown: readiness fails at once, no new connections are accepted, requests in
  // flight finish (a mutation in flight commits and answers), then the database closes.
  const stop = (signal: string) => {
    if (lifecycle.draining) return;
    lifecycle.draining = true;
    log.info({ signal }, `${signal}: finishing requests in flight, then exiting`);
    setTimeout(() => {
      log.error(`shutdown took longer than ${settings.shutdownTimeoutMs} ms; exiting anyway`);
      process.exit(1);
    }, settings.shutdownTimeoutMs).unref();
    // open subscriptions end (their streams complete), so their connections can close
    const alertsStopped = alerts.stop();
    void closeSockets();
    server.close(() => {
      compaction
        .stop()
        .then(() => trashPurge.stop())
        .then(() => alertsStopped)
        .then(disconnect)
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // announced once a SIGTERM or SIGINT would be handled: whoever waits for this line may stop us
  log.info({ port }, `Newsgraph API on http://localhost:${port}${GRAPHQL_ENDPOINT} (${where})`);
}

main().catch((error: unknown) => {
  if (error instanceof FolderInUseError) {
    console.error(`newsgraph: ${error.message}; stop it first, or set PGLITE_DIR to another folder.`);
  } else if (error instanceof StartupError) console.error(`newsgraph: ${error.message}`);
  else console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
