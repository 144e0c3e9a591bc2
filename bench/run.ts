import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { parseArgs as parseArgv } from 'node:util';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { buildSchema, parse, validate } from 'graphql';
import pg from 'pg';
import { parseConfig } from '../src/config.ts';
import { applyMigrations } from '../src/db/migrate.ts';
import { openPGlite } from '../src/db/pglite.ts';
import { hashKey } from '../src/resolvers/access/apiKeys.ts';
import { benchSearchText, dataset } from './generate.ts';
import { loadDataset, type SqlClient } from './load.ts';
import { operations, type Fixtures, type Operation } from './operations.ts';
import { ensurePeer, peerOperations } from './peer.ts';
import {
  meanLoad,
  totalCpu,
  writeChart,
  writeResults,
  type LoadNumbers,
  type Measurement,
  type ScalePoint,
} from './report.ts';

/**
 * npm run bench                       50k articles, PostgreSQL and PGlite, 1/8/32 connections
 * npm run bench -- --quick            smoke test: 10k articles, 8 connections, 1 s per operation
 * npm run bench -- --articles 100000  another size
 * npm run bench -- --scale            also the lists, search, facets, histogram, author page and write mix at 10k, 100k and 1M (PostgreSQL)
 * npm run bench -- --targets postgres --duration 5 --connections 1,8
 *
 * Every operation's answer is checked before it is timed: reads must equal the floor's (the
 * hand-written SQL) exactly, writes must succeed. A wrong answer fails the run, whatever the mode.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/** The Redis the cached measurement on the server uses. */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLK_TCK = 100;

interface Options {
  quick: boolean;
  articles: number;
  /** postgraphile: the peer, measured on the postgres target's database (bench/peer.ts). */
  targets: ('postgres' | 'pglite' | 'postgraphile')[];
  duration: number;
  connections: number[];
  scale: number[];
  /** Measure --scale on this existing database rather than generated ones. */
  scaleDatabase?: string;
  keep: boolean;
  /** Interleaved passes of the API and the peer, each read timed once per pass; reported as means. */
  peerPasses: number;
}

const USAGE = `usage: npm run bench -- [options]

  --quick                 smoke test: 10k articles, 8 connections, 1 s per operation (CI)
  --articles <n>          dataset size (default 50000; 10000 with --quick)
  --targets <list>        postgres, pglite, postgraphile (the peer, on postgres's database; needs the
                          npm registry once), or none (with --scale); default all three, --quick
                          postgres,pglite
  --connections <list>    concurrent connections, e.g. 1,8,32 (default; 8 with --quick)
  --duration <s>          seconds per operation and connection count (default 10; 1 with --quick)
  --scale                 also canonical, canonical-no-total, search, facets, histogram, author page, mutations at 10k, 100k, 1M (PostgreSQL)
  --scale-sizes <list>    other sizes for --scale, e.g. 10000,100000
  --scale-database <url>  --scale on this PostgreSQL database (one kept with --keep) instead of
                          generating one per size: migrated, compacted, measured, kept
  --peer-passes <n>       passes of the API and PostGraphile, interleaved read by read (default 3;
                          1 with --quick); the comparison reports their mean
  --keep                  keep the benchmark database
  --dry-run               print the options and exit
  --help                  this text`;

/** Options of a run; an unknown option or a bad value prints the usage and exits 2. */
function parseArgs(argv: string[]): Options & { dryRun: boolean } {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n\n${USAGE}\n`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgv({
      args: argv,
      strict: true,
      options: {
        quick: { type: 'boolean' },
        articles: { type: 'string' },
        targets: { type: 'string' },
        connections: { type: 'string' },
        duration: { type: 'string' },
        scale: { type: 'boolean' },
        'scale-sizes': { type: 'string' },
        'scale-database': { type: 'string' },
        keep: { type: 'boolean' },
        'peer-passes': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const numbers = (text: string, what: string) =>
    text.split(',').map((item) => {
      const value = Number(item);
      if (!Number.isInteger(value) || value <= 0) fail(`--${what}: ${item} is not a positive whole number`);
      return value;
    });
  const targets = (values.targets ?? (quick ? 'postgres,pglite' : 'postgres,pglite,postgraphile')).split(',');
  for (const target of targets) {
    if (!['postgres', 'pglite', 'postgraphile', 'none'].includes(target)) fail(`--targets: unknown target ${target}`);
  }
  if (targets.includes('postgraphile') && !targets.includes('postgres')) {
    fail("--targets: postgraphile is measured on the postgres target's database; add postgres");
  }
  return {
    quick,
    articles: numbers(values.articles ?? (quick ? '10000' : '50000'), 'articles')[0]!,
    targets: targets.filter((target) => target !== 'none') as Options['targets'],
    duration: numbers(values.duration ?? (quick ? '1' : '10'), 'duration')[0]!,
    connections: numbers(values.connections ?? (quick ? '8' : '1,8,32'), 'connections'),
    scale: values.scale ? numbers(values['scale-sizes'] ?? '10000,100000,1000000', 'scale-sizes') : [],
    scaleDatabase: values['scale-database'],
    keep: values.keep ?? false,
    peerPasses: numbers(values['peer-passes'] ?? (quick ? '1' : '3'), 'peer-passes')[0]!,
    dryRun: values['dry-run'] ?? false,
  };
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** Commit and date of this run, kept with each number (a report may merge several runs). */
const MEASURED_AT = `${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim()}, ${new Date().toISOString().slice(0, 16)}Z`;

// ---- processes and CPU -------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** CPU time (ms) a process has used, from /proc (user + system). */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU time (ms) of each PostgreSQL server process (postmaster, backends, background workers). */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        out.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** CPU the PostgreSQL processes used since `before` (processes started since count in full). */
function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpu()) total += ms - (before.get(pid) ?? 0);
  return total;
}

interface Service {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Every process the bench started and has not stopped: killed if the bench itself fails. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** How to run a process other than this project's TypeScript with this Node (the peer's Node 22). */
interface Runner {
  node: string;
  cwd: string;
}

async function startProcess(
  script: string,
  env: Record<string, string>,
  ready: string,
  runner?: Runner,
): Promise<Service> {
  const port = await freePort();
  const child = spawn(runner?.node ?? process.execPath, runner ? [script] : ['--import', 'tsx', script], {
    cwd: runner?.cwd ?? root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode != null) throw new Error(`${script} exited: ${output}`);
    try {
      const response = await fetch(`${url}${ready}`, { method: ready === '/stats' ? 'POST' : 'GET' });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${script} did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode != null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// ---- databases ------------------------------------------------------------------------------

interface Database {
  kind: 'postgres' | 'pglite';
  /** DATABASE_URL, or the PGlite folder. */
  location: string;
  drop(): Promise<void>;
}

async function createDatabase(kind: 'postgres' | 'pglite', size: number): Promise<Database> {
  const data = dataset(size);
  log(`${kind}: generating and loading ${size.toLocaleString('en')} articles`);
  if (kind === 'postgres') {
    const name = `newsgraph_bench_${size}_${process.pid}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    await applyMigrations({ kind: 'postgres', url: url.href });
    const clients = [new pg.Client({ connectionString: url.href }), new pg.Client({ connectionString: url.href })];
    for (const client of clients) await client.connect();
    const { seconds } = await loadDataset(clients, data);
    log(`${kind}: loaded in ${seconds.toFixed(1)} s`);
    for (const client of clients) await client.end();
    return {
      kind,
      location: url.href,
      drop: async () => {
        const cleanup = new pg.Client({ connectionString: SERVER_URL });
        await cleanup.connect();
        await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await cleanup.end();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-bench-'));
  const db = await openPGlite(dir);
  await applyMigrations({ kind: 'pglite-open', db });
  const { seconds } = await loadDataset([db as unknown as SqlClient], data);
  log(`${kind}: loaded in ${seconds.toFixed(1)} s`);
  await db.close();
  return { kind, location: dir, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `work` with a SQL client on the database (PGlite: only while no server holds it). */
async function withClient<T>(database: Database, work: (db: SqlClient) => Promise<T>): Promise<T> {
  if (database.kind === 'postgres') {
    const client = new pg.Client({ connectionString: database.location });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
  const db = await openPGlite(database.location);
  try {
    return await work(db as unknown as SqlClient);
  } finally {
    await db.close();
  }
}

const SEARCH_TEXT = benchSearchText();
const BENCH_KEY = `ngk_${'b'.repeat(43)}`;

async function prepareFixtures(database: Database): Promise<Fixtures> {
  return withClient(database, async (db) => {
    const ids = async (sql: string, params: unknown[] = []) =>
      ((await db.query(sql, params)).rows as { id: number }[]).map((row) => row.id);
    const names = async (sql: string) => ((await db.query(sql)).rows as { name: string }[]).map((row) => row.name);
    const [topicId] = await ids('SELECT "id" FROM "Topic" ORDER BY "articleCount" DESC, "id" OFFSET 20 LIMIT 1');
    const [authorId] = await ids('SELECT "id" FROM "Author" ORDER BY "articleCount" DESC, "id" OFFSET 5 LIMIT 1');
    const articleIds = await ids('SELECT "id" FROM "Article" ORDER BY md5("id"::text) LIMIT 500');
    // Writes must not change what the reads return: they update summaries of articles that do
    // not match the search (and are not fetched by id); new stories get priority 1-2 and the
    // bylines of authors other than the benchmarked one. Only articles no earlier run updated
    // (version 1): a kept database is measured again.
    const updatableIds = await ids(
      `SELECT "id" FROM "Article" WHERE NOT "searchVector" @@ websearch_to_tsquery('english', $1)
         AND "id" <> ALL($2::int[]) AND "version" = 1 ORDER BY "id" LIMIT 20000`,
      [SEARCH_TEXT, articleIds],
    );
    const authorNames = await names(
      `SELECT "name" FROM "Author" WHERE "id" <> ${authorId} ORDER BY "articleCount" DESC OFFSET 50 LIMIT 20`,
    );
    const topicNames = await names('SELECT "name" FROM "Topic" ORDER BY "id" LIMIT 20');
    await db.query(
      `INSERT INTO "ApiKey" ("name", "role", "prefix", "secretHash") VALUES ('bench', 'EDITOR', $1, $2)
       ON CONFLICT ("name") DO NOTHING`,
      [BENCH_KEY.slice(0, 10), hashKey(BENCH_KEY)],
    );
    return {
      topicId: topicId!,
      authorId: authorId!,
      articleIds,
      searchText: SEARCH_TEXT,
      updatableIds,
      authorNames,
      topicNames,
    };
  });
}

// ---- requests --------------------------------------------------------------------------------

let requestCounter = 0;

function graphqlBody(op: Operation, i: number): string {
  const document = op.documentId ? { documentId: op.documentId } : { query: op.query };
  return JSON.stringify({ ...document, variables: op.variables(i) });
}

/** Reads are anonymous, as a public frontend's are; writes carry the bench's EDITOR key. */
const apiHeaders = (op: Operation): Record<string, string> => ({
  'content-type': 'application/json',
  ...(op.write ? { authorization: `Bearer ${BENCH_KEY}` } : {}),
});

async function callApi(api: Service, op: Operation, i: number): Promise<{ data: unknown; errors?: unknown }> {
  const response = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: apiHeaders(op),
    body: graphqlBody(op, i),
  });
  return (await response.json()) as { data: unknown; errors?: unknown };
}

/** Fails the run unless the floor answers every sampled request of `ops` exactly as the API did. */
async function checkFloor(floor: Service, ops: Operation[], answers: Map<string, unknown[]>, label: string) {
  for (const op of ops.filter((o) => o.floor)) {
    for (const [i, expected] of answers.get(op.name)!.entries()) {
      const actual = await callFloor(floor, op, i);
      assert.deepStrictEqual(actual.data, expected, `${label} ${op.name}: the API and the floor disagree`);
    }
  }
}

async function callFloor(floor: Service, op: Operation, i: number): Promise<{ data: unknown }> {
  const response = await fetch(`${floor.url}/${op.name}`, { method: 'POST', body: JSON.stringify(op.variables(i)) });
  if (!response.ok) throw new Error(`floor ${op.name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { data: unknown };
}

/** The answers of the API to every read, for the floor to be compared with (several ids for by-id reads). */
async function apiAnswers(api: Service, ops: Operation[]): Promise<Map<string, unknown[]>> {
  const answers = new Map<string, unknown[]>();
  for (const op of ops.filter((o) => !o.write)) {
    const samples: unknown[] = [];
    for (let i = 0; i < (op.name === 'article' ? 20 : 1); i++) {
      const result = await callApi(api, op, i);
      assert.equal(result.errors, undefined, `${op.name}: ${JSON.stringify(result.errors)}`);
      samples.push(result.data);
    }
    answers.set(op.name, samples);
  }
  return answers;
}

function checkSubstance(name: string, data: unknown): void {
  // An empty answer would make a meaningless benchmark (and hide a wrong one).
  const text = JSON.stringify(data);
  assert.ok(
    !/"edges":\[\]/.test(text) && !/"total":0\b/.test(text) && !/:null}$/.test(text),
    `${name} is empty: ${text.slice(0, 200)}`,
  );
}

async function checkWrites(api: Service, op: Operation): Promise<void> {
  const i = requestCounter++;
  const result = (await callApi(api, op, i)) as {
    data: {
      upsertArticle: { __typename: string; created: boolean };
      updateArticle: { __typename: string; article: { summary: string } };
    };
    errors?: unknown;
  };
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  assert.equal(result.data.upsertArticle.__typename, 'UpsertArticleSuccess', JSON.stringify(result.data));
  assert.equal(result.data.upsertArticle.created, true);
  assert.equal(result.data.updateArticle.__typename, 'UpdateArticleSuccess', JSON.stringify(result.data));
  assert.equal(result.data.updateArticle.article.summary, `Summary revised by the benchmark, request ${i}.`);
}

async function metric(api: Service, name: string): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) total += Number(line.split(' ').at(-1));
  return total;
}

type LoadResult = LoadNumbers;

/**
 * Waits until no statement runs on the database but this check's: a request still in flight when
 * the load stops keeps its backend busy (a slow floor statement ran 30 s past its window and was
 * charged to the next measurement). Its CPU belongs to the measurement that sent it, so this
 * waits before reading the CPU counters; after `limitMs` the stragglers are terminated, and said.
 */
async function statementsDone(database: Database, what: string, limitMs = 120_000): Promise<void> {
  await withClient(database, async (db) => {
    const busy = async () =>
      Number(
        (
          (
            await db.query(`SELECT count(*) AS n FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`)
          ).rows as { n: string }[]
        )[0]!.n,
      );
    const deadline = Date.now() + limitMs;
    while ((await busy()) > 0) {
      if (Date.now() > deadline) {
        await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`);
        log(`${what}: statements still running ${limitMs / 1000} s after the load were terminated`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

async function load(
  service: Service,
  kind: 'api' | 'floor' | 'peer',
  op: Operation,
  connections: number,
  duration: number,
  database: Database,
): Promise<LoadResult> {
  const floorStats = async () =>
    (await (await fetch(`${service.url}/stats`)).json()) as { statements: number; requests: number };
  const statements = async () =>
    kind === 'api' ? metric(service, 'newsgraph_db_statements_total') : (await floorStats()).statements;
  // Requests as the server counts them: autocannon stops counting at the deadline, but requests
  // in flight then still complete and use CPU, so per-request figures divide by the server's count
  // once it has settled.
  const served = async () =>
    kind === 'api' ? metric(service, 'newsgraph_http_requests_total{operation=') : (await floorStats()).requests;
  const settled = async () => {
    let last = await served();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await served();
      if (now === last) return now;
      last = now;
    }
  };
  const errors = async () => (kind === 'api' ? metric(service, 'newsgraph_graphql_errors_total') : 0);
  const [statementsBefore, errorsBefore, servedBefore] = [await statements(), await errors(), await served()];
  const cpuBefore = cpuMs(service.process.pid!);
  const dbBefore = database.kind === 'postgres' ? postgresCpu() : new Map<number, number>();
  const result = await autocannon({
    url: kind === 'floor' ? `${service.url}/${op.name}` : `${service.url}/graphql`,
    method: 'POST',
    headers: kind === 'floor' ? { 'content-type': 'application/json' } : apiHeaders(op),
    connections,
    duration,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          const i = requestCounter++;
          return { ...request, body: kind === 'floor' ? JSON.stringify(op.variables(i)) : graphqlBody(op, i) };
        },
      },
    ],
  });
  if (database.kind === 'postgres') await statementsDone(database, `${kind} ${op.name} c=${connections}`);
  const handled = (await settled()) - servedBefore;
  const cpu = cpuMs(service.process.pid!) - cpuBefore;
  const dbCpu = database.kind === 'postgres' ? postgresCpuSince(dbBefore) : null;
  const total = result.requests.total;
  // Answers were checked before timing; under overload a server may still refuse or time out
  // requests (pool wait, statement timeout). Those are counted and reported, not hidden.
  const failed = result.non2xx + result.errors + result.timeouts + ((await errors()) - errorsBefore);
  if (failed > 0) log(`${kind} ${op.name} c=${connections}: ${failed} failed requests of ${handled}`);
  return {
    failed,
    requests: total,
    // answered requests only: a refusal is fast, and must not count as throughput
    rps: Math.max(0, total - failed) / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: cpu / handled,
    dbCpuMsPerRequest: dbCpu == null ? null : dbCpu / handled,
    statementsPerRequest: ((await statements()) - statementsBefore) / handled,
  };
}

function apiEnv(database: Database): Record<string, string> {
  return {
    ...(database.kind === 'postgres'
      ? { DATABASE_URL: database.location }
      : // production settings on the embedded database: what is measured is its speed
        { PGLITE_DIR: database.location, ALLOW_EMBEDDED_IN_PRODUCTION: 'true' }),
    SEED_DEMO_DATA: 'false',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ANONYMOUS: '0',
    RATE_LIMIT_PER_KEY: '0',
    // autocannon's connections are one client: production's per-client limit would refuse them
    RATE_LIMIT_CONCURRENT: '0',
    NODE_ENV: 'production',
    INTROSPECTION: 'true',
    // what is measured is the work of answering; the cached answer is measured on its own
    RESPONSE_CACHE_TTL_MS: '0',
  };
}

/**
 * canonical-no-total sent by documentId to a server that runs only trusted documents: what a
 * production client built with the manifest sends. Its answers are checked equal to the text's.
 */
async function trustedRun(
  database: Database,
  ops: Operation[],
  answers: Map<string, unknown[]>,
  floorRuns: Map<string, LoadResult>,
  options: Options,
): Promise<Measurement[]> {
  const text = ops.find((op) => op.name === 'canonical-no-total')!;
  const documentId = crypto.createHash('sha256').update(text.query).digest('hex');
  const manifest = path.join(os.tmpdir(), `newsgraph-bench-manifest-${process.pid}.json`);
  fs.writeFileSync(manifest, JSON.stringify({ [documentId]: text.query }));
  const trusted = {
    ...text,
    name: 'canonical-trusted',
    title: `${text.title}, sent as a trusted document id`,
    documentId,
  };
  const out: Measurement[] = [];
  const api = await startProcess(
    'src/main.ts',
    { ...apiEnv(database), TRUSTED_DOCUMENTS: manifest, TRUSTED_DOCUMENTS_ONLY: 'true' },
    '/readyz',
  );
  try {
    const sent = await apiAnswers(api, [trusted]);
    assert.deepStrictEqual(sent.get(trusted.name), answers.get(text.name), `${database.kind}: trusted answers differ`);
    for (const connections of options.connections) {
      const result = await load(api, 'api', trusted, connections, options.duration, database);
      out.push({
        target: database.kind,
        articles: options.articles,
        op: trusted.name,
        title: trusted.title,
        connections,
        api: result,
        floor: floorRuns.get(`canonical-no-total/${connections}`) ?? null,
        measuredAt: MEASURED_AT,
      });
      log(`${database.kind} ${trusted.name} c=${connections}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms`);
    }
  } finally {
    await api.stop();
    fs.rmSync(manifest, { force: true });
  }
  return out;
}

/**
 * PostGraphile 5 + connection-filter on the API's database (bench/peer.ts): for each read both
 * answer alike, the peer's answers (ids, order, totals, bylines) are checked equal to the API's,
 * then both are timed in `options.peerPasses` interleaved passes (API, peer, next read, ...;
 * both processes up, one loaded at a time), CPU of the server process and of PostgreSQL
 * included. The peer's measurement is the mean of its passes and keeps every pass with the
 * API's of the same pass (`pairs`), so a drift of the machine between passes shows in both.
 */
async function peerRun(
  database: Database,
  fixtures: Fixtures,
  ops: Operation[],
  answers: Map<string, unknown[]>,
  floorRuns: Map<string, LoadResult>,
  options: Options,
): Promise<Measurement[]> {
  const runner = ensurePeer(log);
  const peer = await startProcess(runner.script, { DATABASE_URL: database.location }, '/stats', runner);
  const api = await startProcess('src/main.ts', apiEnv(database), '/readyz');
  const out: Measurement[] = [];
  try {
    const peerOps = peerOperations(fixtures, ops);
    for (const op of peerOps) {
      for (const [i, expected] of answers.get(op.name)!.entries()) {
        const result = await callApi(peer, op, i);
        assert.equal(result.errors, undefined, `postgraphile ${op.name}: ${JSON.stringify(result.errors)}`);
        assert.deepStrictEqual(
          op.peerShape(result.data),
          op.apiShape(expected),
          `postgraphile ${op.name}: PostGraphile and the API disagree`,
        );
      }
    }
    log(`postgraphile: every answer checked (same ids, order and totals as the API on ${peerOps.length} reads)`);
    // the API is sent its own query for each read (the peer's operations carry PostGraphile's)
    const apiOp = (name: string) => ops.find((op) => op.name === name)!;
    const sent = await apiAnswers(
      api,
      peerOps.map((op) => apiOp(op.name)),
    );
    for (const op of peerOps) {
      assert.deepStrictEqual(sent.get(op.name), answers.get(op.name), `${op.name}: the API's second server disagrees`);
    }
    const pairs = new Map<string, { api: LoadResult; peer: LoadResult }[]>();
    for (let pass = 1; pass <= options.peerPasses; pass += 1) {
      for (const op of peerOps) {
        for (const connections of options.connections) {
          const apiResult = await load(api, 'api', apiOp(op.name), connections, options.duration, database);
          const peerResult = await load(peer, 'peer', op, connections, options.duration, database);
          const key = `${op.name}/${connections}`;
          pairs.set(key, [...(pairs.get(key) ?? []), { api: apiResult, peer: peerResult }]);
          log(
            `pass ${pass} ${op.name} c=${connections}: API ${totalCpu(apiResult).toFixed(2)} CPU ms/req, ` +
              `postgraphile ${totalCpu(peerResult).toFixed(2)} (${apiResult.rps.toFixed(0)} and ${peerResult.rps.toFixed(0)} req/s)`,
          );
        }
      }
    }
    for (const op of peerOps) {
      for (const connections of options.connections) {
        const passes = pairs.get(`${op.name}/${connections}`)!;
        out.push({
          target: 'postgraphile',
          articles: options.articles,
          op: op.name,
          title: op.title,
          connections,
          api: meanLoad(passes.map((pair) => pair.peer)),
          floor: floorRuns.get(`${op.name}/${connections}`) ?? null,
          pairs: passes,
          measuredAt: MEASURED_AT,
        });
      }
    }
  } finally {
    await Promise.all([peer.stop(), api.stop()]);
  }
  return out;
}

/** The API with its response cache: in Redis on the server (BENCH_REDIS_URL), in memory on PGlite. */
function cachedApiEnv(database: Database): Record<string, string> {
  return {
    ...apiEnv(database),
    RESPONSE_CACHE_TTL_MS: '600000',
    ...(database.kind === 'postgres'
      ? { REDIS_URL: REDIS_URL, RESPONSE_CACHE_PREFIX: `newsgraph-bench:${process.pid}:` }
      : {}),
  };
}

/** Whether Redis answers at REDIS_URL (the cached measurement on the server needs it). */
async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function benchTarget(kind: 'postgres' | 'pglite', options: Options): Promise<Measurement[]> {
  const database = await createDatabase(kind, options.articles);
  const out: Measurement[] = [];
  requestCounter = 0; // request i of the write mix updates the i-th updatable article
  try {
    const fixtures = await prepareFixtures(database);
    const ops = operations(fixtures);
    // 1. The API's answers, then the floor's: they must be equal before anything is timed.
    let api = await startProcess('src/main.ts', apiEnv(database), '/readyz');
    const answers = await apiAnswers(api, ops);
    for (const [name, samples] of answers) checkSubstance(name, samples[0]);
    await checkWrites(
      api,
      ops.find((op) => op.write)!,
    );
    if (database.kind === 'pglite') await api.stop(); // one process per PGlite folder
    const floorEnv = { FLOOR_DATABASE: database.location, FIXTURES: JSON.stringify(fixtures) };
    let floor = await startProcess('bench/floor.ts', floorEnv, '/stats');
    await checkFloor(floor, ops, answers, kind);
    log(`${kind}: every answer checked (API = floor on ${answers.size} reads; writes succeed)`);
    // 2. Timed runs: the floor first (its process is up), then the API.
    const floorRuns = new Map<string, LoadResult>();
    for (const op of ops.filter((o) => o.floor)) {
      for (const connections of options.connections) {
        floorRuns.set(
          `${op.name}/${connections}`,
          await load(floor, 'floor', op, connections, options.duration, database),
        );
      }
    }
    await floor.stop();
    if (database.kind === 'pglite') api = await startProcess('src/main.ts', apiEnv(database), '/readyz');
    for (const op of ops) {
      for (const connections of options.connections) {
        const result = await load(api, 'api', op, connections, options.duration, database);
        const floorResult = floorRuns.get(`${op.name}/${connections}`) ?? null;
        out.push({
          target: kind,
          articles: options.articles,
          op: op.name,
          title: op.title,
          connections,
          api: result,
          floor: floorResult,
          measuredAt: MEASURED_AT,
        });
        log(
          `${kind} ${op.name} c=${connections}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms` +
            (floorResult ? ` (floor ${floorResult.rps.toFixed(0)} req/s p50 ${floorResult.p50} ms)` : ''),
        );
      }
    }
    await api.stop();
    // 3. The canonical list again, answered from the response cache (anonymous reads).
    if (database.kind === 'pglite' || (await redisAnswers())) {
      api = await startProcess('src/main.ts', cachedApiEnv(database), '/readyz');
      const canonical = ops.find((op) => op.name === 'canonical')!;
      const cached = { ...canonical, name: 'canonical-cached', title: `${canonical.title}, from the response cache` };
      // every variable set the load sends, answered once (and checked) before timing
      const warm = await apiAnswers(api, [cached]);
      assert.deepStrictEqual(warm.get(cached.name), answers.get(canonical.name), `${kind}: cached answers differ`);
      for (const connections of options.connections) {
        const result = await load(api, 'api', cached, connections, options.duration, database);
        out.push({
          target: kind,
          articles: options.articles,
          op: cached.name,
          title: cached.title,
          connections,
          api: result,
          floor: floorRuns.get(`canonical/${connections}`) ?? null,
          measuredAt: MEASURED_AT,
        });
        log(`${kind} ${cached.name} c=${connections}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms`);
      }
      await api.stop();
    } else log(`${kind}: Redis does not answer at ${REDIS_URL}: no cached measurement`);
    // 4. The list without totalCount again, sent as a trusted document's id (production's way).
    out.push(...(await trustedRun(database, ops, answers, floorRuns, options)));
    // 5. The peer (PostGraphile 5) on the same database, its answers checked against the API's.
    if (kind === 'postgres' && options.targets.includes('postgraphile')) {
      out.push(...(await peerRun(database, fixtures, ops, answers, floorRuns, options)));
    }
  } finally {
    if (!options.keep) await database.drop();
  }
  return out;
}

/** A database kept by an earlier run (--scale-database): brought to the current schema, never dropped. */
async function existingDatabase(url: string): Promise<{ database: Database; size: number }> {
  await applyMigrations({ kind: 'postgres', url });
  const database: Database = { kind: 'postgres', location: url, drop: async () => {} };
  const size = await withClient(database, async (db) => {
    await db.query('SELECT "newsgraph_compact_rollup"()');
    await db.query('VACUUM (FULL) "ArticleRollup"');
    await db.query('VACUUM (ANALYZE)');
    return Number(((await db.query('SELECT count(*) AS n FROM "Article"')).rows as { n: string }[])[0]!.n);
  });
  return { database, size };
}

/**
 * Whether an answer's counts are exact: `estimate` when any says `exact: false` (sampled
 * facets), `exact` when it holds a total, facet or histogram count, `none` otherwise.
 */
function countsOf(answer: unknown): ScalePoint['counts'] {
  const text = JSON.stringify(answer);
  if (text.includes('"exact":false')) return 'estimate';
  return /"(totalCount|total|count)":/.test(text) ? 'exact' : 'none';
}

async function scaleRun(options: Options): Promise<ScalePoint[]> {
  const points: ScalePoint[] = [];
  const sizes = options.scaleDatabase ? [0] : options.scale;
  for (const planned of sizes) {
    const { database, size } = options.scaleDatabase
      ? await existingDatabase(options.scaleDatabase)
      : { database: await createDatabase('postgres', planned), size: planned };
    requestCounter = 0;
    try {
      const fixtures = await prepareFixtures(database);
      const ops = operations(fixtures).filter((op) =>
        [
          'canonical',
          'canonical-no-total',
          'search',
          'facets',
          'facets-search',
          'histogram',
          'author-page',
          // the write cost, story detection included, as the archive grows
          'mutations',
        ].includes(op.name),
      );
      const api = await startProcess('src/main.ts', apiEnv(database), '/readyz');
      const answers = await apiAnswers(api, ops);
      for (const [name, samples] of answers) checkSubstance(name, samples[0]);
      // the floor at this size too: its answers checked equal, then timed, for the ratio
      const floorEnv = { FLOOR_DATABASE: database.location, FIXTURES: JSON.stringify(fixtures) };
      const floor = await startProcess('bench/floor.ts', floorEnv, '/stats');
      const floorCpu = new Map<string, number>();
      await checkFloor(floor, ops, answers, `scale ${size}`);
      for (const op of ops.filter((o) => o.floor)) {
        floorCpu.set(op.name, totalCpu(await load(floor, 'floor', op, 8, options.duration, database)));
      }
      await floor.stop();
      for (const op of ops) {
        if (op.write) {
          // after every read (a write changes what facets scale by); request i of the mix
          // updates the i-th updatable article, so the count starts again, and the writes are
          // checked to succeed first
          requestCounter = 0;
          await checkWrites(api, op);
        }
        const result = await load(api, 'api', op, 8, options.duration, database);
        points.push({
          articles: size,
          op: op.name,
          ...result,
          floorCpuMsPerRequest: floorCpu.get(op.name),
          counts: op.write ? undefined : countsOf(answers.get(op.name)![0]),
          measuredAt: MEASURED_AT,
        });
        log(
          `scale ${size} ${op.name}: p50 ${result.p50} ms p99 ${result.p99} ms, ${(result.cpuMsPerRequest + (result.dbCpuMsPerRequest ?? 0)).toFixed(2)} CPU ms/req`,
        );
      }
      await api.stop();
    } finally {
      if (!options.keep) await database.drop();
    }
  }
  return points;
}

/** Mean microseconds graphql-js takes to parse and validate the canonical query against schema.graphql. */
function parseValidateMicros(runs = 2_000): number {
  const schema = buildSchema(fs.readFileSync(path.join(root, 'schema.graphql'), 'utf8'));
  const text = operations({} as Fixtures).find((op) => op.name === 'canonical')!.query;
  for (let i = 0; i < 200; i += 1) validate(schema, parse(text)); // warm the JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i += 1) {
    if (validate(schema, parse(text)).length) throw new Error('the canonical query does not validate');
  }
  return Number(process.hrtime.bigint() - started) / 1_000 / runs;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.dryRun) {
    // the settings each server would be started with must be ones it accepts
    for (const kind of options.targets.filter((target) => target !== 'postgraphile')) {
      const location = kind === 'postgres' ? 'postgresql://postgres@127.0.0.1:5432/bench' : '/tmp/bench';
      parseConfig(apiEnv({ kind, location } as Database));
    }
    process.stdout.write(`${JSON.stringify(options)}\n`);
    return;
  }
  const started = Date.now();
  const measurements: Measurement[] = [];
  for (const target of options.targets) {
    if (target !== 'postgraphile') measurements.push(...(await benchTarget(target, options)));
  }
  const scale = options.scale.length ? await scaleRun(options) : [];
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  const outDir = options.quick ? path.join(root, 'bench/out') : path.join(root, 'bench');
  fs.mkdirSync(outDir, { recursive: true });
  // The raw numbers are kept, so a later run of only the targets (or only --scale) completes the
  // report instead of replacing it.
  const rawFile = path.join(outDir, options.quick ? 'quick.json' : 'results.json');
  const previous = fs.existsSync(rawFile)
    ? (JSON.parse(fs.readFileSync(rawFile, 'utf8')) as { measurements: Measurement[]; scale: ScalePoint[] })
    : { measurements: [], scale: [] };
  const raw = {
    // A target measured now replaces its earlier numbers; other targets' are kept.
    measurements: [...previous.measurements.filter((m) => !options.targets.includes(m.target)), ...measurements],
    // Likewise a dataset size measured now replaces that size's scale points.
    scale: [...previous.scale.filter((p) => !scale.some((point) => point.articles === p.articles)), ...scale].sort(
      (a, b) => a.articles - b.articles,
    ),
  };
  fs.writeFileSync(rawFile, `${JSON.stringify(raw, null, 1)}\n`);
  const file = writeResults(path.join(outDir, options.quick ? 'quick.md' : 'RESULTS.md'), {
    ...raw,
    commit,
    parseValidateUs: parseValidateMicros(),
    // the sizes this run measured (an existing database's is known only once counted)
    options: { ...options, scale: [...new Set(scale.map((point) => point.articles))] },
    seconds: (Date.now() - started) / 1000,
    notes: fs.existsSync(path.join(root, 'bench/FINDINGS.md'))
      ? fs.readFileSync(path.join(root, 'bench/FINDINGS.md'), 'utf8')
      : undefined,
  });
  if (raw.scale.length) writeChart(path.join(outDir, 'scale.svg'), raw.scale);
  log(`wrote ${path.relative(root, file)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  // CI's smoke run fails on refused requests as on wrong answers (they are reported first)
  const failing = measurements.filter((m) => m.api.failed > 0 || (m.floor?.failed ?? 0) > 0);
  if (options.quick && failing.length) {
    throw new Error(
      `requests failed while timed: ${failing.map((m) => `${m.target} ${m.op} (${m.api.failed} of ${m.api.requests})`).join(', ')}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
