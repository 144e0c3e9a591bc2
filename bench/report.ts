import fs from 'node:fs';
import os from 'node:os';

/** Writes the benchmark's results as Markdown and the scale run as an SVG chart. */

export interface LoadNumbers {
  /** Requests that failed under load (HTTP errors, timeouts, GraphQL errors). */
  failed: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  dbCpuMsPerRequest: number | null;
  statementsPerRequest: number;
}

export interface Measurement {
  target: 'postgres' | 'pglite' | 'postgraphile';
  articles: number;
  op: string;
  title: string;
  connections: number;
  api: LoadNumbers;
  floor: LoadNumbers | null;
  /**
   * The peer's measurements only: each interleaved pass, the API's numbers for the same read
   * and the peer's (`api` above is the mean of the peer's).
   */
  pairs?: { api: LoadNumbers; peer: LoadNumbers }[];
  /** "commit, date" of the run that measured it. */
  measuredAt?: string;
}

export interface ScalePoint extends LoadNumbers {
  articles: number;
  op: string;
  /** The floor's CPU ms per request (API process + database) for the same operation and size. */
  floorCpuMsPerRequest?: number;
  /** Whether the answer's counts are exact, estimates (sampled facets), or absent. */
  counts?: 'exact' | 'estimate' | 'none';
  measuredAt?: string;
}

/** API process CPU plus database CPU per request (PGlite runs inside the API process). */
export const totalCpu = (n: LoadNumbers) => n.cpuMsPerRequest + (n.dbCpuMsPerRequest ?? 0);

/**
 * The mean of several measurements of one read: every rate and per-request figure averaged,
 * percentiles too (a mean of per-pass p50s, not a pooled p50), requests and failures summed.
 */
export function meanLoad(runs: LoadNumbers[]): LoadNumbers {
  const mean = (pick: (run: LoadNumbers) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
  const db = runs.every((run) => run.dbCpuMsPerRequest != null);
  return {
    failed: runs.reduce((sum, run) => sum + run.failed, 0),
    requests: runs.reduce((sum, run) => sum + run.requests, 0),
    rps: mean((run) => run.rps),
    p50: mean((run) => run.p50),
    p99: mean((run) => run.p99),
    cpuMsPerRequest: mean((run) => run.cpuMsPerRequest),
    dbCpuMsPerRequest: db ? mean((run) => run.dbCpuMsPerRequest!) : null,
    statementsPerRequest: mean((run) => run.statementsPerRequest),
  };
}

/** A number for the report; one that could not be measured (nothing answered: NaN, Infinity) is a dash. */
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const ratio = (api: number, floor: number) =>
  floor > 0 && Number.isFinite(api) && Number.isFinite(floor) ? `${(api / floor).toFixed(2)}x` : '—';

export function resultsTable(measurements: Measurement[]): string {
  const lines = [
    '| Operation | Conns | req/s API (floor) | p50 ms API (floor) | p99 ms API (floor) | CPU ms/req API+DB (floor) | CPU ratio | SQL statements/req | Failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of measurements) {
    const f = m.floor;
    const cpu =
      m.target !== 'pglite'
        ? `${fixed(m.api.cpuMsPerRequest)}+${fixed(m.api.dbCpuMsPerRequest ?? 0)}`
        : fixed(m.api.cpuMsPerRequest);
    const floorCpu = f
      ? m.target !== 'pglite'
        ? `${fixed(f.cpuMsPerRequest)}+${fixed(f.dbCpuMsPerRequest ?? 0)}`
        : fixed(f.cpuMsPerRequest)
      : '';
    lines.push(
      `| ${m.op} | ${m.connections} | ${fixed(m.api.rps, 0)}${f ? ` (${fixed(f.rps, 0)})` : ''} | ${fixed(m.api.p50, 0)}${f ? ` (${fixed(f.p50, 0)})` : ''} | ${fixed(m.api.p99, 0)}${f ? ` (${fixed(f.p99, 0)})` : ''} | ${cpu}${f ? ` (${floorCpu})` : ''} | ${f ? ratio(totalCpu(m.api), totalCpu(f)) : '—'} | ${fixed(m.api.statementsPerRequest, 1)}${f ? ` (${fixed(f.statementsPerRequest, 0)})` : ''} | ${m.api.failed}${f?.failed ? ` (${f.failed})` : ''} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The API against its peer (PostGraphile 5) on the same database, read by read: CPU per request
 * of the server process plus every PostgreSQL process, and throughput.
 */
export function peerTable(measurements: Measurement[]): string {
  const lines = [
    '| Operation | Conns | Passes | API CPU ms/req (Node + PostgreSQL) | PostGraphile 5 | API / PostGraphile (each pass) | req/s API | req/s PostGraphile |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const peer of measurements.filter((m) => m.target === 'postgraphile')) {
    // interleaved passes carry the API's own numbers; a run before them, the API's separate run
    const api = peer.pairs
      ? meanLoad(peer.pairs.map((pair) => pair.api))
      : measurements.find((m) => m.target === 'postgres' && m.op === peer.op && m.connections === peer.connections)
          ?.api;
    if (!api) continue;
    const both = (x: LoadNumbers) =>
      `${fixed(x.cpuMsPerRequest)} + ${fixed(x.dbCpuMsPerRequest ?? 0)} = ${fixed(totalCpu(x))}`;
    const each = peer.pairs
      ? ` (${peer.pairs.map((pair) => ratio(totalCpu(pair.api), totalCpu(pair.peer))).join(', ')})`
      : '';
    lines.push(
      `| ${peer.op} | ${peer.connections} | ${peer.pairs?.length ?? 1} | ${both(api)} | ${both(peer.api)} | ${ratio(totalCpu(api), totalCpu(peer.api))}${each} | ${fixed(api.rps, 0)} | ${fixed(peer.api.rps, 0)} |`,
    );
  }
  return lines.join('\n');
}

export function scaleTable(points: ScalePoint[]): string {
  const lines = [
    '| Articles | Operation | req/s | p50 ms | p99 ms | CPU ms/req (API+DB) | CPU / floor | SQL statements/req | Counts |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const p of points) {
    // points measured before the floor and the counts were recorded show a dash
    const floor = p.floorCpuMsPerRequest != null ? ratio(totalCpu(p), p.floorCpuMsPerRequest) : '—';
    lines.push(
      `| ${p.articles.toLocaleString('en')} | ${p.op} | ${fixed(p.rps, 0)} | ${fixed(p.p50, 0)} | ${fixed(p.p99, 0)} | ${fixed(totalCpu(p))} | ${floor} | ${fixed(p.statementsPerRequest, 1)} | ${p.counts ?? '—'} |`,
    );
  }
  return lines.join('\n');
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

export function writeResults(
  file: string,
  run: {
    measurements: Measurement[];
    scale: ScalePoint[];
    commit: string;
    options: {
      articles: number;
      duration: number;
      connections: number[];
      quick: boolean;
      targets: string[];
      scale: number[];
    };
    seconds: number;
    notes?: string;
    /** Microseconds graphql-js takes to parse and validate the canonical query (no cache). */
    parseValidateUs?: number;
  },
): string {
  const byTarget = (target: string) => run.measurements.filter((m) => m.target === target);
  const sections = [
    `# Benchmark results${run.options.quick ? ' (quick smoke run)' : ''}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Report written at commit ${run.commit}; each section says when its numbers were measured.`,
    `- Machine: ${machine()}`,
    run.options.targets.length
      ? `- Dataset: ${run.options.articles.toLocaleString('en')} articles (seeded generator, bench/generate.ts); ${run.options.duration} s per measurement; connections ${run.options.connections.join(', ')}; the run took ${run.seconds.toFixed(0)} s.`
      : `- This run measured only the scale points at ${run.options.scale.map((size) => size.toLocaleString('en')).join(', ')} articles (${run.options.duration} s per measurement, ${run.seconds.toFixed(0)} s); the other tables are from earlier runs (see their dates).`,
    '- "floor": the same answer from hand-written SQL behind a bare node:http server (bench/floor.ts). Every answer was checked equal to the floor before timing.',
    '- CPU ms/req: user+system CPU of the API process (+ all PostgreSQL processes, for the server) divided by requests. With PGlite the database runs inside the API process.',
  ];
  if (run.parseValidateUs != null) {
    sections.push(
      `- Parsing and validating the canonical query takes ${run.parseValidateUs.toFixed(0)} µs without a cache (graphql-js against schema.graphql, this run). Yoga caches both by query text, so on a warm server \`canonical-trusted\` (the id of a trusted document instead of the text) against \`canonical-no-total\` shows what is left to save: the cache lookup and the request's bytes.`,
    );
  }
  const titles = {
    postgres: 'PostgreSQL server',
    pglite: 'PGlite (embedded)',
    postgraphile: 'PostGraphile 5 + connection-filter (the peer, on the PostgreSQL server database)',
  };
  for (const target of ['postgres', 'pglite', 'postgraphile'] as const) {
    const rows = byTarget(target);
    if (!rows.length) continue;
    // targets may come from runs on different dataset sizes (a later run of one target)
    const sizes = [...new Set(rows.map((row) => row.articles))].map((size) => size.toLocaleString('en'));
    sections.push(
      '',
      `## ${titles[target]}: ${sizes.join(', ')} articles`,
      '',
      measuredAt(rows),
      '',
      resultsTable(rows),
    );
  }
  if (byTarget('postgraphile').length) {
    sections.push(
      '',
      '## This API against PostGraphile 5',
      '',
      'The same reads on the same database, answers checked equal (ids, order, totals, bylines) before timing; both servers up, timed in interleaved passes (API, PostGraphile, next read), each figure the mean of the passes.',
      '',
      peerTable(run.measurements),
    );
  }
  if (run.scale.length) {
    sections.push(
      '',
      '## Scale (PostgreSQL, 8 connections)',
      '',
      measuredAt(run.scale),
      '',
      scaleTable(run.scale),
      '',
      '![Latency and CPU per request against dataset size](scale.svg)',
    );
  }
  if (run.notes) sections.push('', run.notes);
  fs.writeFileSync(file, `${sections.join('\n')}\n`);
  return file;
}

/** "Measured at <commit>, <time>" for a section's rows (several when they come from several runs). */
function measuredAt(rows: readonly { measuredAt?: string }[]): string {
  const runs = [...new Set(rows.map((row) => row.measuredAt ?? 'an unrecorded run'))];
  return `Measured at ${runs.join('; ')}.`;
}

/** Two panels against dataset size (log scale): p50/p99 latency and CPU ms per request. */
export function writeChart(file: string, points: ScalePoint[]): void {
  const ops = [...new Set(points.map((p) => p.op))];
  const sizes = [...new Set(points.map((p) => p.articles))].sort((a, b) => a - b);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const width = 980;
  const height = 420;
  const panel = (
    x0: number,
    title: string,
    series: { label: string; color: string; dash?: string; values: (number | null)[] }[],
  ) => {
    const w = 420;
    const h = 300;
    const top = 60;
    const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v): v is number => v != null))) * 1.15;
    const lx = (size: number) => {
      const [lo, hi] = [Math.log10(sizes[0]!), Math.log10(sizes.at(-1)!)];
      return x0 + 50 + (hi === lo ? w / 2 : ((Math.log10(size) - lo) / (hi - lo)) * (w - 70));
    };
    const ly = (value: number) => top + h - (value / max) * h;
    const parts = [
      `<text x="${x0 + 50}" y="${top - 30}" font-size="15" font-weight="bold">${title}</text>`,
      `<line x1="${x0 + 50}" y1="${top + h}" x2="${x0 + w}" y2="${top + h}" stroke="#333"/>`,
      `<line x1="${x0 + 50}" y1="${top}" x2="${x0 + 50}" y2="${top + h}" stroke="#333"/>`,
    ];
    for (let i = 0; i <= 4; i++) {
      const value = (max / 4) * i;
      parts.push(
        `<text x="${x0 + 44}" y="${ly(value) + 4}" font-size="11" text-anchor="end">${value.toFixed(value < 10 ? 1 : 0)}</text>`,
        `<line x1="${x0 + 50}" y1="${ly(value)}" x2="${x0 + w}" y2="${ly(value)}" stroke="#eee"/>`,
      );
    }
    for (const size of sizes) {
      parts.push(
        `<text x="${lx(size)}" y="${top + h + 18}" font-size="11" text-anchor="middle">${size >= 1e6 ? `${size / 1e6}M` : `${size / 1e3}k`}</text>`,
      );
    }
    parts.push(
      `<text x="${x0 + 50 + (w - 50) / 2}" y="${top + h + 38}" font-size="12" text-anchor="middle">articles (log scale)</text>`,
    );
    series.forEach((s, index) => {
      const coords = s.values.map((v, i) => (v == null ? null : `${lx(sizes[i]!)},${ly(v)}`)).filter(Boolean);
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''} points="${coords.join(' ')}"/>`,
      );
      for (const c of coords)
        parts.push(`<circle cx="${c!.split(',')[0]}" cy="${c!.split(',')[1]}" r="3" fill="${s.color}"/>`);
      parts.push(
        `<line x1="${x0 + 60}" y1="${top + 8 + index * 16}" x2="${x0 + 80}" y2="${top + 8 + index * 16}" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''}/>`,
        `<text x="${x0 + 85}" y="${top + 12 + index * 16}" font-size="11">${s.label}</text>`,
      );
    });
    return parts.join('\n');
  };
  const value = (op: string, pick: (p: ScalePoint) => number) =>
    sizes.map((size) => {
      const point = points.find((p) => p.op === op && p.articles === size);
      return point ? pick(point) : null;
    });
  const latency = ops.flatMap((op, i) => [
    { label: `${op} p50`, color: colors[i % colors.length]!, values: value(op, (p) => p.p50) },
    { label: `${op} p99`, color: colors[i % colors.length]!, dash: '5,4', values: value(op, (p) => p.p99) },
  ]);
  const cpu = ops.map((op, i) => ({ label: op, color: colors[i % colors.length]!, values: value(op, totalCpu) }));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'Latency (ms) at 8 connections, PostgreSQL', latency)}
${panel(490, 'CPU ms per request (API + PostgreSQL)', cpu)}
</svg>
`;
  fs.writeFileSync(file, svg);
}
