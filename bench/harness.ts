import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { positiveIntOption } from '../services/cli/command.ts';

/**
 * Shared benchmark utilities: every `studystream bench <name>` measures with these, prints one table and writes
 * bench/results/<name>-<timestamp>.json with the machine it ran on, so runs compare as ratios to the ceiling measured
 * in the same run (e.g. Kafka's own producer tool) on a noisy machine.
 */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Percentiles by the nearest-rank method over a copy of the samples (0 for an empty list). */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, min: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const rank = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: sum / sorted.length,
    p50: rank(0.5),
    p95: rank(0.95),
    p99: rank(0.99),
    max: sorted[sorted.length - 1]!,
  };
}

/** Collects latencies (ms) of timed operations. */
export class Recorder {
  readonly samples: number[] = [];

  /** Times one async operation and records its latency; returns its result. */
  async time<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.samples.push(performance.now() - t0);
    }
  }

  record(ms: number): void {
    this.samples.push(ms);
  }

  summary(): Percentiles {
    return percentiles(this.samples);
  }
}

/** Wall time of an async function, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - t0 };
}

/**
 * Runs `fn` `iterations` times (after `warmup` unrecorded runs) with at most `concurrency` in flight, or paces starts
 * at `ratePerSecond` (a fixed offered load: latency is measured from the scheduled start, so a slow system cannot
 * hide its queueing — no coordinated omission).
 */
export async function runLoad(
  fn: (i: number) => Promise<unknown>,
  opts: { iterations: number; concurrency?: number; ratePerSecond?: number; warmup?: number },
): Promise<{ latency: Percentiles; elapsedMs: number; opsPerSecond: number; errors: number }> {
  for (let i = 0; i < (opts.warmup ?? 0); i++) await fn(-1 - i);
  const samples: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const interval = opts.ratePerSecond ? 1_000 / opts.ratePerSecond : 0;
  const worker = async () => {
    while (next < opts.iterations) {
      const i = next++;
      const scheduled = interval > 0 ? t0 + i * interval : performance.now();
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        await fn(i);
      } catch {
        errors++;
      }
      samples.push(performance.now() - scheduled);
    }
  };
  const concurrency = opts.concurrency ?? (interval > 0 ? 64 : 1);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  return {
    latency: percentiles(samples),
    elapsedMs,
    opsPerSecond: (opts.iterations / elapsedMs) * 1_000,
    errors,
  };
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: number[];
  node: string;
  /** Which stack profile the run measured: "cluster" or "single" (see runProfile). */
  profile: string;
}

/**
 * The stack profile a run measures: STUDYSTREAM_PROFILE when set, else "cluster" when KAFKA_BROKERS lists more than
 * one broker (the cluster profile's env), else "single". `bench capacity` puts cluster runs in their own column.
 */
export function runProfile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STUDYSTREAM_PROFILE) return env.STUDYSTREAM_PROFILE;
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').filter((b) => b.trim());
  return brokers.length > 1 ? 'cluster' : 'single';
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpus: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((os.freemem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    profile: runProfile(),
  };
}

export type Row = Record<string, string | number | null | undefined>;

function cell(value: Row[string]): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  }
  return value;
}

/** A plain-text table (numbers right-aligned), columns in the order of the first row's keys unless given. */
export function formatTable(rows: readonly Row[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = columns ?? Object.keys(rows[0]!);
  const text = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] == null));
  const line = (cells: readonly string[]) =>
    cells
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n')}\n`;
}

export interface BenchReport {
  name: string;
  /** What was run: dataset seed, sizes, offered rates, versions. */
  params: Record<string, unknown>;
  rows: Row[];
  /** The same measure by the reference tool on the same machine in the same run, where one exists. */
  ceiling?: Row[];
  notes?: string[];
}

/** Prints the report's tables and writes it as JSON with the machine info. Returns the file written. */
export function report(
  r: BenchReport,
  opts: { dir?: string; print?: (text: string) => void; now?: Date } = {},
): string {
  const print = opts.print ?? ((t: string) => process.stdout.write(t));
  print(`\n${r.name}\n${formatTable(r.rows)}`);
  if (r.ceiling?.length) print(`\nceiling (same machine, same run)\n${formatTable(r.ceiling)}`);
  for (const note of r.notes ?? []) print(`note: ${note}\n`);
  const dir = opts.dir ?? RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const now = opts.now ?? new Date();
  const file = `${dir}${dir.endsWith('/') ? '' : '/'}${r.name}-${now.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ ...r, at: now.toISOString(), machine: machineInfo() }, null, 2)}\n`,
  );
  print(`results: ${file}\n`);
  return file;
}

/** Options of the benchmarks that pre-fill topics with a simulated cohort (`bench sink`, `bench rebuild`). */
export const DATASET_OPTIONS = {
  events: { type: 'string' },
  students: { type: 'string' },
  days: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** The simulated cohort those options ask for: 5 million events, 1,000 students over 90 days, seed 7 by default. */
export function datasetFromOptions(values: {
  events?: string;
  students?: string;
  days?: string;
  seed?: string;
}) {
  return {
    total: positiveIntOption(values.events, 'events', 5_000_000),
    students: positiveIntOption(values.students, 'students', 1000),
    days: positiveIntOption(values.days, 'days', 90),
    seed: values.seed ?? '7',
  };
}
