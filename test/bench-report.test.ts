import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeResults, type Measurement } from '../bench/report.ts';

/** The benchmark's report (bench/RESULTS.md): tables kept from earlier runs say which run measured them. */

const load = {
  failed: 0,
  requests: 100,
  rps: 10,
  p50: 5,
  p99: 9,
  cpuMsPerRequest: 1,
  dbCpuMsPerRequest: 1,
  statementsPerRequest: 1,
};

function row(target: Measurement['target'], measuredAt?: string): Measurement {
  return {
    target,
    articles: 50_000,
    op: 'article',
    title: 'One article',
    connections: 8,
    api: load,
    floor: load,
    measuredAt,
  };
}

describe('the benchmark report', () => {
  it('names the run of each table, kept from an earlier run or measured now', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-report-')), 'RESULTS.md');
    writeResults(file, {
      measurements: [
        row('postgres', 'abc1234, 2026-12-01T05:54Z'),
        row('pglite', 'def5678, 2026-11-27T02:39Z'),
        row('pglite'),
      ],
      scale: [],
      commit: 'abc1234',
      options: { articles: 50_000, duration: 10, connections: [8], quick: false, targets: ['postgres'], scale: [] },
      seconds: 60,
    });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('## PostgreSQL server: 50,000 articles\n\nMeasured at abc1234, 2026-12-01T05:54Z.\n');
    expect(text).toContain(
      '## PGlite (embedded): 50,000 articles\n\nMeasured at def5678, 2026-11-27T02:39Z; an unrecorded run.\n',
    );
  });
});
