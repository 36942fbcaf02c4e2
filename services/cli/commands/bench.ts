import { UsageError, type Command } from '../command.ts';

/**
 * `studystream bench <name> [options]`: runs a benchmark from bench/<name>.ts (each module exports a default
 * Command). Results are written as JSON under bench/results/. Add a row to BENCHES to add a benchmark.
 */
export const BENCHES: Record<
  string,
  { summary: string; options: string; load: () => Promise<{ default: Command }> }
> = {
  capacity: {
    options: '[--out deploy/CAPACITY.md] [--print] [RESULT.json ...]',
    summary:
      'no measurement: writes deploy/CAPACITY.md (per-core throughput per stage, sizing for 10k/100k/1M students) from bench/results/',
    load: () => import('../../../bench/capacity.ts'),
  },
  ingest: {
    options:
      '[--duration 20] [--concurrency 64] [--batch 100] [--rate 5000] [--latency-duration 15] [--workers 1,2] [--ceiling-records 1000000] [--no-ceiling]',
    summary: 'events/s through POST /v1/events/batch, ack latency at a fixed rate, Kafka producer ceiling',
    load: () => import('../../../bench/ingest.ts'),
  },
  api: {
    options:
      '[--students 1000] [--days 90] [--seed 7] [--rate 80] [--duration 60] [--requests 600] [--concurrency 16] [--mix dashboard=30,...] [--api-workers 1] [--no-closed] [--keep] [--reuse NAMESPACE]',
    summary:
      'analytics API p50/p95/p99 per endpoint, cached and uncached, 1,000 simulated students x 90 days',
    load: () => import('../../../bench/api.ts'),
  },
  rebuild: {
    options: '[--events 5000000] [--students 1000] [--days 90] [--seed 7] [--only mastery|clickhouse]',
    summary:
      'rebuild rate (events/s) of the mastery state and of ClickHouse from N events (default 5,000,000); topic bytes/event',
    load: () => import('../../../bench/rebuild.ts'),
  },
  sink: {
    options: '[--events 5000000] [--students 1000] [--days 90] [--seed 7] [--keep]',
    summary:
      'ClickHouse sink rows/s draining a pre-filled topic vs clickhouse-client from a file; bytes/event; cohort query',
    load: () => import('../../../bench/sink.ts'),
  },
  'clickhouse-reads': {
    options: '--reuse NAMESPACE [--students 200]',
    summary:
      "ClickHouse server time of the analytics API's per-student reads on a kept bench api dataset (--reuse NAMESPACE)",
    load: () => import('../../../bench/clickhouse-reads.ts'),
  },
  'api-cpu': {
    options:
      '--reuse NAMESPACE [--path /api/analytics/knowledge-gaps] [--requests 1000] [--students 200] [--concurrency 4] [--server-checks]',
    summary:
      'API CPU time per uncached request, in-process (process.cpuUsage), on a kept bench api dataset: robust to other load',
    load: () => import('../../../bench/api-cpu.ts'),
  },
  processors: {
    options: '[--events 60000] [--rate 2000] [--seconds 30] [--phases drain,alone,together] [--trace FILE]',
    summary:
      'events/s through the mastery processor; freshness (Kafka ack to topic_mastery row) at 2,000 events/s; --trace: where each batch spent its time',
    load: () => import('../../../bench/processors.ts'),
  },
};

const benchHelp = (name: string) => {
  const b = BENCHES[name]!;
  return `usage: studystream bench ${name} ${b.options}\n\n${b.summary}\nResults are written as JSON under bench/results/ (details: bench/${name}.ts).\n`;
};
export const subcommands = Object.fromEntries(Object.keys(BENCHES).map((n) => [n, benchHelp(n)]));
const list = Object.entries(BENCHES).map(([n, b]) => `  ${n}  ${b.summary}`);
export const help = `usage: studystream bench <name> [options]   (studystream bench <name> --help: its options)\n\nbenchmarks:\n${list.join('\n')}\n`;

const bench: Command = async (args) => {
  const [name, ...rest] = args;
  const entry = name ? BENCHES[name] : undefined;
  if (!entry) throw new UsageError(help.trimEnd());
  return (await entry.load()).default(rest);
};
export default bench;
