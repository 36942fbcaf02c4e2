import { Counter, Gauge, Histogram, type Registry } from '../../shared/metrics.ts';

/** The runtime's Prometheus series; every one is labelled by processor. Created once per registry. */
export type RuntimeMetrics = ReturnType<typeof createRuntimeMetrics>;

/** Records per batch whose age feeds stream_freshness_seconds (evenly spaced, first and last included). */
export const FRESHNESS_SAMPLES = 256;

/** Indexes of at most `max` records of `n`, evenly spaced, the first and the last included. */
export function sampleIndexes(n: number, max = FRESHNESS_SAMPLES): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1)));
}

const cache = new WeakMap<Registry, RuntimeMetrics>();

export function runtimeMetrics(registry: Registry): RuntimeMetrics {
  let m = cache.get(registry);
  if (!m) {
    m = createRuntimeMetrics(registry);
    cache.set(registry, m);
  }
  return m;
}

function createRuntimeMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: 'stream_records_consumed_total',
      help: 'records fetched from Kafka',
      labelNames: ['processor', 'topic'],
      registers,
    }),
    processed: new Counter({
      name: 'stream_records_processed_total',
      help: 'records whose batch became durable, by step result (ok, dlq, drop)',
      labelNames: ['processor', 'result'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'stream_records_dead_lettered_total',
      help: 'records sent to the dead-letter topic, by reason',
      labelNames: ['processor', 'reason'],
      registers,
    }),
    dropped: new Counter({
      name: 'stream_records_dropped_total',
      help: 'records dropped on purpose, by reason',
      labelNames: ['processor', 'reason'],
      registers,
    }),
    flushDuration: new Histogram({
      name: 'stream_batch_flush_duration_seconds',
      help: 'time to make one batch durable (dead letters, effect, offset commit), retries included',
      labelNames: ['processor'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    freshness: new Histogram({
      name: 'stream_freshness_seconds',
      help: 'record age when its batch became durable: broker timestamp (ingest acknowledgement) to commit; sampled, at most FRESHNESS_SAMPLES records per batch',
      labelNames: ['processor'],
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers,
    }),
    flushRecords: new Histogram({
      name: 'stream_batch_records',
      help: 'records per flushed batch',
      labelNames: ['processor', 'reason'],
      buckets: [1, 10, 100, 1000, 5000, 10000, 25000, 50000, 100000],
      registers,
    }),
    flushFailures: new Counter({
      name: 'stream_batch_flush_failures_total',
      help: 'failed flush attempts (each is retried with backoff)',
      labelNames: ['processor'],
      registers,
    }),
    commitFailures: new Counter({
      name: 'stream_offset_commit_failures_total',
      help: 'offset commits rejected (usually a rebalance: the records are redelivered and deduplicated)',
      labelNames: ['processor'],
      registers,
    }),
    lag: new Gauge({
      name: 'stream_consumer_lag',
      help: 'records between the committed position and the high watermark, per partition',
      labelNames: ['processor', 'topic', 'partition'],
      registers,
    }),
    throughput: new Gauge({
      name: 'stream_throughput_records_per_second',
      help: 'records made durable per second over the last flush interval',
      labelNames: ['processor'],
      registers,
    }),
    buffered: new Gauge({
      name: 'stream_buffered_records',
      help: 'records waiting in memory for the next flush',
      labelNames: ['processor'],
      registers,
    }),
    paused: new Gauge({
      name: 'stream_consumer_paused',
      help: '1 while fetching is paused for back-pressure',
      labelNames: ['processor'],
      registers,
    }),
    rebalances: new Counter({
      name: 'stream_rebalances_total',
      help: 'rebalances seen (in-memory batches of the old assignment are dropped, never committed)',
      labelNames: ['processor'],
      registers,
    }),
  };
}
