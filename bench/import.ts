import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyMigrations } from '../src/db/migrate.ts';
import { writeImportFile } from './importFile.ts';

/**
 * The bulk import benchmark (issue 17): a generated NDJSON file of `--records` articles
 * (bench/importFile.ts) imported by `npm run import` into an empty database, as a user runs it:
 * wall time, records per second and peak memory (the command's VmHWM, its largest resident set,
 * read from /proc), then the same file again (every record unchanged), then `npm run export` of
 * everything. Writes bench/import.json and prints a Markdown table.
 */

const USAGE = `usage: npm run bench:import -- [--records N] [--target postgres|pglite] [--dry-run]

  --records N      articles in the file (default 100000)
  --target T       postgres (default; the server of BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres)
                   or pglite (a new embedded folder)
  --dry-run        check the options and say what would run`;

const root = path.resolve(import.meta.dirname, '..');

interface Measured {
  command: string;
  seconds: number;
  peakRssMiB: number;
  summary: string;
}

/** Runs an npm script's command line (as package.json has it) with `args`, measuring wall time and peak RSS. */
async function measure(script: string, args: string[], env: Record<string, string | undefined>): Promise<Measured> {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const [node, ...nodeArgs] = scripts[script]!.split(' ');
  if (node !== 'node') throw new Error(`${script} is not a node command`);
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let peakKiB = 0;
  const poll = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peakKiB = Math.max(peakKiB, hwm);
    } catch {
      // gone
    }
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(poll);
  if (code !== 0 && code !== 3) throw new Error(`${script} ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`);
  return {
    command: `npm run ${script} -- ${args.map((arg) => path.basename(arg)).join(' ')}`,
    seconds: (performance.now() - started) / 1000,
    peakRssMiB: peakKiB / 1024,
    summary:
      (script === 'export' ? `${stdout.split('\n').filter(Boolean).length}` : stdout.trim().split('\n').at(-1)) ?? '',
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '100000' },
      target: { type: 'string', default: 'postgres' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const records = Number(values.records);
  if (!Number.isInteger(records) || records < 1 || records > 10_000_000) {
    console.error(`--records must be an integer from 1 to 10000000\n\n${USAGE}`);
    return 2;
  }
  if (values.target !== 'postgres' && values.target !== 'pglite') {
    console.error(`--target must be postgres or pglite\n\n${USAGE}`);
    return 2;
  }
  const server = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (values['dry-run']) {
    console.log(
      `would import ${records} generated records into a new ${values.target} database, twice, then export them`,
    );
    return 0;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-bench-import-'));
  const file = path.join(work, `import-${records}.ndjson`);
  const name = `newsgraph_bench_import_${process.pid}`;
  let env: Record<string, string | undefined>;
  if (values.target === 'postgres') {
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(server);
    url.pathname = `/${name}`;
    await applyMigrations({ kind: 'postgres', url: url.toString() });
    env = { DATABASE_URL: url.toString(), MIGRATE_ON_START: 'false' };
  } else {
    const dataDir = path.join(work, 'data');
    await applyMigrations({ kind: 'pglite', dataDir });
    env = { DATABASE_URL: undefined, PGLITE_DIR: dataDir, MIGRATE_ON_START: 'false' };
  }
  try {
    console.error(`writing ${records.toLocaleString('en')} records to ${file}`);
    await writeImportFile(file, { count: records, seed: `bench-${records}` });
    const size = fs.statSync(file).size;
    const first = await measure('import', [file], env);
    const second = await measure('import', [file], env);
    const exported = await measure('export', ['--out', path.join(work, 'export.ndjson')], env);
    exported.summary = `${fs.readFileSync(path.join(work, 'export.ndjson'), 'utf8').split('\n').filter(Boolean).length} records`;
    const result = {
      date: new Date().toISOString(),
      target: values.target,
      records,
      fileBytes: size,
      cpus: os.cpus().length,
      runs: [first, second, exported].map((run) => ({
        ...run,
        seconds: Number(run.seconds.toFixed(2)),
        recordsPerSecond: Math.round(records / run.seconds),
        peakRssMiB: Math.round(run.peakRssMiB),
      })),
    };
    fs.writeFileSync(path.join(root, 'bench', 'import.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`| run | wall | records/s | peak RSS | printed |`);
    console.log(`|---|---|---|---|---|`);
    for (const run of result.runs) {
      console.log(
        `| \`${run.command}\` | ${run.seconds} s | ${run.recordsPerSecond.toLocaleString('en')} | ${run.peakRssMiB} MiB | ${run.summary} |`,
      );
    }
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    if (values.target === 'postgres') {
      const admin = new pg.Client({ connectionString: server });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
