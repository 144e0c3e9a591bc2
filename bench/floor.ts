import http from 'node:http';
import pg from 'pg';
import { CONNECTION_SETTINGS } from '../src/db/adapters.ts';
import { openPGlite } from '../src/db/pglite.ts';
import { operations, type Fixtures } from './operations.ts';

/**
 * The floor: a bare node:http server that answers each benchmarked read with its hand-written
 * SQL (one statement returning the finished JSON), on the same database as the API. Started by
 * bench/run.ts as its own process: FLOOR_DATABASE (a postgresql:// URL or a PGlite folder), PORT,
 * FIXTURES (JSON). POST /<operation> with the GraphQL variables as the body.
 */

const target = process.env.FLOOR_DATABASE!;
const fixtures = JSON.parse(process.env.FIXTURES!) as Fixtures;
const floors = new Map(operations(fixtures).flatMap((op) => (op.floor ? [[op.name, op.floor] as const] : [])));

type Query = (sql: string, params: unknown[]) => Promise<{ rows: { body: string }[] }>;
let run: Query;
if (target.startsWith('postgres')) {
  // the API's session settings (JIT off, work_mem), so the two differ only in their SQL
  const pool = new pg.Pool({
    connectionString: target,
    max: 10,
    onConnect: (client: pg.ClientBase) => client.query(CONNECTION_SETTINGS).then(() => undefined),
  });
  run = (sql, params) => pool.query(sql, params);
} else {
  const db = await openPGlite(target);
  await db.exec(CONNECTION_SETTINGS);
  run = (sql, params) => db.query<{ body: string }>(sql, params);
}

let statements = 0;
let requests = 0;
const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', async () => {
    if (request.url === '/stats') {
      response.end(JSON.stringify({ statements, requests }));
      return;
    }
    const floor = floors.get((request.url ?? '').slice(1));
    if (!floor) {
      response.statusCode = 404;
      response.end();
      return;
    }
    try {
      const variables = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      statements += 1;
      const { rows } = await run(floor.sql, floor.params(variables));
      response.setHeader('content-type', 'application/json');
      response.end(rows[0]!.body);
      requests += 1;
    } catch (error) {
      response.statusCode = 500;
      response.end(String(error));
    }
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`floor listening on ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
