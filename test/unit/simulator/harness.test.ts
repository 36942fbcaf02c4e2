import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTable, percentiles, report, runLoad } from '../../../bench/harness.ts';

describe('bench harness', () => {
  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(xs)).toMatchObject({
      count: 100,
      min: 1,
      p50: 50,
      p95: 95,
      p99: 99,
      max: 100,
      mean: 50.5,
    });
    expect(percentiles([]).count).toBe(0);
  });

  it('prints aligned tables and writes JSON with machine info', () => {
    const table = formatTable([{ stage: 'ingest', 'events/s': 21000, p99_ms: 12.345 }]);
    expect(table).toContain('events/s');
    expect(table).toContain('21,000');
    expect(table).toContain('12.35');
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const out: string[] = [];
    const file = report(
      { name: 'unit', params: { seed: 1 }, rows: [{ a: 1 }] },
      { dir, print: (t) => out.push(t) },
    );
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.machine.node).toBe(process.version);
    expect(json.rows).toEqual([{ a: 1 }]);
    expect(file).toMatch(/unit-\d{4}-.*\.json$/);
  });

  it('runs a load at fixed concurrency and counts errors', async () => {
    const r = await runLoad(
      async (i) => {
        if (i === 3) throw new Error('x');
      },
      { iterations: 20, concurrency: 4 },
    );
    expect(r.latency.count).toBe(20);
    expect(r.errors).toBe(1);
  });
});
