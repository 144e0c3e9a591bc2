import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readNextEvents } from '../test/support/sse.ts';

/**
 * Live updates under load: one API process holds N open GraphQL-over-SSE subscriptions
 * (`articleMatched`, ten distinct questions), then a burst of articles is filed through the API;
 * reports delivery latency (from the mutation's answer, i.e. its commit, to the event at the
 * subscriber), deliveries made against expected, the server's CPU per delivered event, and its
 * resident memory per open subscription (VmRSS from /proc, before and after opening them).
 *
 * npm run bench:live -- [--subscriptions 1000] [--burst 100] [--concurrency 8] [--target postgres|pglite]
 */

const USAGE = `usage: npm run bench:live -- [options]
  --subscriptions <n>   open SSE subscriptions (default 1000)
  --burst <n>           articles filed in the burst (default 100)
  --concurrency <n>     mutations in flight during the burst (default 8)
  --target <t>          postgres (a new database on BENCH_POSTGRES_URL's server, default
                        postgresql://postgres@127.0.0.1:5432/postgres) or pglite (default postgres)
  --dry-run             print the options and exit`;

const root = path.resolve(import.meta.dirname, '..');

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        subscriptions: { type: 'string', default: '1000' },
        burst: { type: 'string', default: '100' },
        concurrency: { type: 'string', default: '8' },
        target: { type: 'string', default: 'postgres' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const whole = (name: 'subscriptions' | 'burst' | 'concurrency') => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) {
      process.stderr.write(`--${name}: ${values[name]} is not a positive whole number\n\n${USAGE}\n`);
      process.exit(2);
    }
    return value;
  };
  if (values.target !== 'postgres' && values.target !== 'pglite') {
    process.stderr.write(`--target: ${values.target} is not postgres or pglite\n\n${USAGE}\n`);
    process.exit(2);
  }
  return {
    subscriptions: whole('subscriptions'),
    burst: whole('burst'),
    concurrency: whole('concurrency'),
    target: values.target as 'postgres' | 'pglite',
    dryRun: values['dry-run'] ?? false,
  };
}

/** The ten questions the subscribers ask, in turn: priority at least k, and the same for Australian stories. */
const QUESTIONS = [1, 2, 3, 4, 5].flatMap((k) => [
  { priority: { gte: k } },
  { priority: { gte: k }, isAustralian: true },
]);

function matches(question: (typeof QUESTIONS)[number], article: { priority: number; isAustralian: boolean }) {
  return article.priority >= question.priority.gte && (!('isAustralian' in question) || article.isAustralian);
}

const WORDS = (
  'budget senate reef election wombat inflation tariff drought harbour rail council minister treasury ' +
  'export mining wheat cyclone bushfire vaccine hospital school court judge police union strike wage ' +
  'housing rent interest bank dollar market index share profit loss company merger pipeline grid solar ' +
  'wind coal gas hydrogen battery carbon climate ocean river forest koala parliament ballot referendum'
).split(' ');

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

function procStatus(pid: number) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssBytes: rssKb * 1024, cpuMs: (ticks * 1000) / 100 };
}

async function main() {
  const run = options();
  if (run.dryRun) {
    console.log(JSON.stringify(run));
    return;
  }
  const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const database = `newsgraph_bench_live_${process.pid}`;
  const dataDir = run.target === 'pglite' ? fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-live-')) : undefined;
  let databaseUrl: string | undefined;
  if (run.target === 'postgres') {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  }
  const port = 40_000 + (process.pid % 20_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      PGLITE_DIR: dataDir,
      MIGRATE_ON_START: 'true',
      SEED_DEMO_DATA: 'true',
      SUBSCRIPTIONS_PER_ADDRESS: String(run.subscriptions + 10),
      RATE_LIMIT_ANONYMOUS: '0',
      RATE_LIMIT_PER_KEY: '0',
      RATE_LIMIT_CONCURRENT: '0',
      RESPONSE_CACHE_TTL_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const base = `http://127.0.0.1:${port}`;
  const streams: AbortController[] = [];
  try {
    for (let waited = 0; ; waited += 250) {
      const ready = await fetch(`${base}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready && /ngk_[A-Za-z0-9_-]+/.test(output)) break;
      if (waited > 180_000 || child.exitCode !== null) throw new Error(`the server did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const key = /ngk_[A-Za-z0-9_-]+/.exec(output)![0];
    let serial = 0;
    const file = async (priority: number, isAustralian: boolean) => {
      serial += 1;
      const title = `Live bench ${serial}`;
      const sent = performance.now();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: `mutation($input: CreateArticleInput!) { createArticle(input: $input) { __typename } }`,
          variables: {
            input: {
              title,
              url: `https://bench.example/live/${process.pid}/${title.split(' ').at(-1)}`,
              source: 'Bench Wire',
              publishedAt: new Date(Date.UTC(2026, 9, 1, 0, serial)).toISOString(),
              priority,
              isAustralian,
              // a text of its own (copies would all join one story, and wait for each other's lock on it)
              body: Array.from({ length: 120 }, (_, i) => WORDS[(serial * 7919 + i * i * 31) % WORDS.length]).join(' '),
            },
          },
        }),
      });
      const body = (await response.json()) as { data?: { createArticle: { __typename: string } } };
      if (body.data?.createArticle.__typename !== 'CreateArticleSuccess') throw new Error(JSON.stringify(body));
      return { title, sent, answered: performance.now() };
    };

    await file(1, false); // warm-up
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = procStatus(child.pid!);
    const received = new Map<string, number[]>(); // title -> receive times
    let connected = 0;
    const subscription = `subscription($filter: ArticleFilter) { articleMatched(filter: $filter) { reason article { title } } }`;
    const openOne = async (index: number) => {
      const controller = new AbortController();
      streams.push(controller);
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: subscription, variables: { filter: QUESTIONS[index % QUESTIONS.length] } }),
        signal: controller.signal,
      });
      if (response.status !== 200) throw new Error(`subscription ${index}: HTTP ${response.status}`);
      connected += 1;
      void readNextEvents(response, (data) => {
        const at = performance.now();
        const title = (JSON.parse(data) as { data?: { articleMatched?: { article?: { title: string } } } }).data
          ?.articleMatched?.article?.title;
        if (!title) throw new Error(`subscription ${index}: ${data}`);
        const times = received.get(title) ?? [];
        times.push(at);
        received.set(title, times);
      }).catch(() => undefined); // closed at the end
    };
    const opening = performance.now();
    for (let start = 0; start < run.subscriptions; start += 50) {
      await Promise.all(Array.from({ length: Math.min(50, run.subscriptions - start) }, (_, i) => openOne(start + i)));
    }
    const openMs = performance.now() - opening;
    // every stream is live once a probe that every question matches reaches all of them
    const probe = await file(5, true);
    for (let waited = 0; (received.get(probe.title)?.length ?? 0) < run.subscriptions; waited += 50) {
      if (waited > 60_000) throw new Error(`the probe reached ${received.get(probe.title)?.length ?? 0} subscribers`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const opened = procStatus(child.pid!);

    // the burst: priorities 1-5 and the flag in turn, `concurrency` mutations at a time
    const articles = Array.from({ length: run.burst }, (_, i) => ({
      priority: (i % 5) + 1,
      isAustralian: i % 2 === 0,
    }));
    const filed: { title: string; sent: number; answered: number; priority: number; isAustralian: boolean }[] = [];
    const cpuBefore = procStatus(child.pid!).cpuMs;
    const burstStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: run.concurrency }, async () => {
        while (next < articles.length) {
          const article = articles[next++]!;
          filed.push({ ...(await file(article.priority, article.isAustralian)), ...article });
        }
      }),
    );
    const expected = filed.reduce(
      (sum, article) =>
        sum +
        Array.from({ length: run.subscriptions }, (_, i) => QUESTIONS[i % QUESTIONS.length]!).filter((question) =>
          matches(question, article),
        ).length,
      0,
    );
    let delivered = 0;
    for (let waited = 0; waited < 60_000; waited += 100) {
      delivered = filed.reduce((sum, article) => sum + (received.get(article.title)?.length ?? 0), 0);
      if (delivered >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const burstMs = performance.now() - burstStart;
    const cpuMs = procStatus(child.pid!).cpuMs - cpuBefore;
    const fromAnswer: number[] = [];
    const fromSend: number[] = [];
    for (const article of filed) {
      for (const at of received.get(article.title) ?? []) {
        fromAnswer.push(at - article.answered);
        fromSend.push(at - article.sent);
      }
    }
    fromAnswer.sort((a, b) => a - b);
    fromSend.sort((a, b) => a - b);
    const result = {
      target: run.target,
      subscriptions: run.subscriptions,
      connected,
      distinctQuestions: QUESTIONS.length,
      burst: run.burst,
      concurrency: run.concurrency,
      openMs: Math.round(openMs),
      expected,
      delivered,
      latencyFromAnswerMs: { p50: percentile(fromAnswer, 50), p99: percentile(fromAnswer, 99), max: fromAnswer.at(-1) },
      latencyFromSendMs: { p50: percentile(fromSend, 50), p99: percentile(fromSend, 99), max: fromSend.at(-1) },
      burstMs: Math.round(burstMs),
      serverCpuMsPerEvent: cpuMs / Math.max(delivered, 1),
      serverCpuMsPerArticle: cpuMs / run.burst,
      rssBeforeBytes: before.rssBytes,
      rssOpenBytes: opened.rssBytes,
      rssPerSubscriptionBytes: Math.round((opened.rssBytes - before.rssBytes) / run.subscriptions),
      measuredAt: new Date().toISOString(),
    };
    const round = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(1));
    console.log(`
| ${run.target} | value |
|---|---|
| open SSE subscriptions (10 distinct questions) | ${connected} (opened in ${result.openMs} ms) |
| articles filed in the burst (${run.concurrency} at a time) | ${run.burst}, in ${result.burstMs} ms until the last delivery |
| deliveries made / expected | ${delivered} / ${expected} |
| latency, commit answered -> event received | p50 ${round(result.latencyFromAnswerMs.p50)} ms, p99 ${round(result.latencyFromAnswerMs.p99)} ms, max ${round(result.latencyFromAnswerMs.max)} ms |
| latency, mutation sent -> event received | p50 ${round(result.latencyFromSendMs.p50)} ms, p99 ${round(result.latencyFromSendMs.p99)} ms |
| server CPU per delivered event | ${result.serverCpuMsPerEvent.toFixed(3)} ms (${result.serverCpuMsPerArticle.toFixed(1)} ms per article, its write included) |
| server memory (RSS) per open subscription | ${(result.rssPerSubscriptionBytes / 1024).toFixed(1)} KiB (${(before.rssBytes / 2 ** 20).toFixed(0)} -> ${(opened.rssBytes / 2 ** 20).toFixed(0)} MiB) |
`);
    const file_ = path.join(root, 'bench', 'live.json');
    const all = fs.existsSync(file_) ? (JSON.parse(fs.readFileSync(file_, 'utf8')) as Record<string, unknown>) : {};
    all[run.target] = result;
    fs.writeFileSync(file_, `${JSON.stringify(all, null, 2)}\n`);
    if (delivered < expected) process.exitCode = 1;
  } finally {
    for (const controller of streams) controller.abort();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (run.target === 'postgres') {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
