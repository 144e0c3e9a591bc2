import { createServer as createHttpServer } from 'node:http';
import { config, ConfigError } from './config.ts';
import { announcePort, FolderInUseError } from './db/folderLock.ts';

/** Boots the API: configuration, migrations (embedded database), demo data, then listens. */
async function main(): Promise<void> {
  const settings = config();
  const { createLogger } = await import('./observability.ts');
  const log = createLogger(settings.logLevel);
  const { prisma, connect, migrateDatabase, disconnect } = await import('./db/client.ts');
  // Takes the embedded database folder before anything else (or stops here: one owner per folder).
  await connect();
  if (settings.migrateOnStart) {
    const applied = await migrateDatabase();
    if (applied.length) log.info({ applied }, `migrations applied: ${applied.join(', ')}`);
  }
  if (settings.seedDemoData) {
    const { seedDemoData } = await import('./seed/demo.ts');
    const inserted = await seedDemoData(prisma);
    if (inserted) {
      log.info({ inserted }, `demo data loaded: ${inserted} articles`);
      // Once, with the demo data: a key to try the mutations locally. It goes to the terminal,
      // deliberately not through the logger (keys never appear in logs).
      const { createApiKey } = await import('./resolvers/apiKeys.ts');
      const { secret } = await createApiKey(prisma, 'local-admin', 'ADMIN');
      console.log(
        `Admin API key "local-admin" for local use (shown once; send it as "Authorization: Bearer <key>"):\n${secret}`,
      );
    }
  }
  const { createServer, GRAPHQL_ENDPOINT } = await import('./yoga.ts');
  const { Lifecycle, withRequestTimeout } = await import('./http.ts');
  const lifecycle = new Lifecycle();
  const server = createHttpServer(
    withRequestTimeout(createServer(settings, { lifecycle, logger: log }), settings.requestTimeoutMs),
  );
  // a client must send its whole request within the same budget
  if (settings.requestTimeoutMs > 0) {
    server.requestTimeout = settings.requestTimeoutMs;
    server.headersTimeout = Math.min(settings.requestTimeoutMs, 60_000);
  }
  server.listen(settings.port, settings.host, () => {
    const { port } = server.address() as import('node:net').AddressInfo;
    announcePort(port);
    const where =
      settings.database.kind === 'pglite' ? `embedded PostgreSQL in ${settings.database.dataDir}` : 'PostgreSQL server';
    log.info({ port }, `Newsgraph API on http://localhost:${port}${GRAPHQL_ENDPOINT} (${where})`);
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
    server.close(() => {
      disconnect().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof FolderInUseError) {
    console.error(`newsgraph: ${error.message}; stop it first, or set PGLITE_DIR to another folder.`);
  } else console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
