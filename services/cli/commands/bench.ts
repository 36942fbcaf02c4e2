import { UsageError, type Command } from '../command.ts';

/**
 * `studystream bench <name> [options]`: runs a benchmark from bench/<name>.ts (each module exports a default
 * Command). Results are written as JSON under bench/results/. Add a row to BENCHES to add a benchmark.
 */
export const BENCHES: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  ingest: {
    summary: 'events/s through POST /v1/events/batch, ack latency at a fixed rate, Kafka producer ceiling',
    load: () => import('../../../bench/ingest.ts'),
  },
  api: {
    summary:
      'analytics API p50/p95/p99 per endpoint, cached and uncached, 1,000 simulated students x 90 days',
    load: () => import('../../../bench/api.ts'),
  },
  rebuild: {
    summary:
      'rebuild rate (events/s) of the mastery state and of ClickHouse from N events (default 5,000,000); topic bytes/event',
    load: () => import('../../../bench/rebuild.ts'),
  },
  sink: {
    summary:
      'ClickHouse sink rows/s draining a pre-filled topic vs clickhouse-client from a file; bytes/event; cohort query',
    load: () => import('../../../bench/sink.ts'),
  },
  'clickhouse-reads': {
    summary:
      "ClickHouse server time of the analytics API's per-student reads on a kept bench api dataset (--reuse NAMESPACE)",
    load: () => import('../../../bench/clickhouse-reads.ts'),
  },
  processors: {
    summary:
      'events/s through the mastery processor; freshness (Kafka ack to topic_mastery row) at 2,000 events/s',
    load: () => import('../../../bench/processors.ts'),
  },
};

const bench: Command = async (args) => {
  const [name, ...rest] = args;
  const entry = name ? BENCHES[name] : undefined;
  if (!entry) {
    const list = Object.entries(BENCHES).map(([n, b]) => `  ${n}  ${b.summary}`);
    throw new UsageError(`usage: studystream bench <name>\n\nbenchmarks:\n${list.join('\n')}`);
  }
  return (await entry.load()).default(rest);
};
export default bench;
