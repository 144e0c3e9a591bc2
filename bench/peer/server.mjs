// The benchmark's peer: PostGraphile 5 with postgraphile-plugin-connection-filter (relations on)
// over the same database as the API, as a user choosing it instead would run it. Run by
// bench/peer.ts with Node 22 (PostGraphile 5 needs it) from bench/.peer, where this file is copied
// so that its imports resolve there. DATABASE_URL, PORT. POST /graphql; POST /stats answers
// { requests, statements } as the floor does.
import http from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { PostGraphileConnectionFilterPreset } from 'postgraphile-plugin-connection-filter';

let statements = 0;
let requests = 0;
// every statement PostGraphile sends goes through a pooled client's query()
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function counted(...args) {
  statements += 1;
  return query.apply(this, args);
};

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  schema: { connectionFilterRelations: true },
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
const serv = postgraphile(preset).createServ(grafserv);
const handle = serv.createHandler();
const server = http.createServer((request, response) => {
  if (request.url === '/stats') {
    response.end(JSON.stringify({ statements, requests }));
    return;
  }
  response.on('finish', () => (requests += 1));
  handle(request, response);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`PostGraphile listening on ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
