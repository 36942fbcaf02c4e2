/**
 * Runs a processor definition over a bounded range of its topics (per partition: from, inclusive, to, exclusive)
 * on the shared consumer runtime, then stops it by itself. Used by replay and rebuild.
 *
 * The range is enforced in a decode wrapper: records outside it, or of students not in the optional user filter,
 * are dropped (their positions still advance, under the run's own group only); records the processor would
 * dead-letter are dropped too (the live processor already dead-lettered them; a replay must not add copies).
 * The run ends once every partition consumed its last in-range record and the runtime flushed and committed.
 */
import { topicPartitionKey } from '../shared/kafka.ts';
import type { Admin } from 'kafkajs';
import type { Kafka } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import type { ProcessorDefinition, RuntimeOptions } from '../stream/index.ts';
import { runProcessor } from '../stream/index.ts';
import { drop, type StepResult } from '../stream/index.ts';
import type { InboundRecord } from '../stream/index.ts';
import type { StreamConfig } from '../stream/index.ts';
import { runtimeOptionsFromEnv } from '../stream/index.ts';

export type TopicPartitionRange = { topic: string; partition: number; from: number; to: number };

export type BoundedProgress = { done: number; total: number; remaining: number; elapsedMs: number };

/**
 * records: decode calls (a record re-fetched after a rebalance counts again); inRange: records of the range
 * (each once: the sum of the range sizes); skippedUsers: in-range decode calls dropped by the user filter.
 */
export type BoundedResult = {
  records: number;
  inRange: number;
  skippedUsers: number;
  ms: number;
  /** From the start to the end of the first flush (what `bench sink` leaves out of its drain time). */
  firstFlushMs: number | null;
};

export const rangeKey = topicPartitionKey;

/** Sets the Kafka group's committed offsets to the range starts (so a group-offset processor starts there). */
export async function seedKafkaGroup(admin: Admin, group: string, ranges: readonly TopicPartitionRange[]) {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const r of ranges) {
    const list = byTopic.get(r.topic) ?? [];
    list.push({ partition: r.partition, offset: String(r.from) });
    byTopic.set(r.topic, list);
  }
  for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId: group, topic, partitions });
}

export async function runBounded<T>(opts: {
  def: ProcessorDefinition<T>;
  kafka: Kafka;
  log: Logger;
  stream: StreamConfig;
  deadLetterTopic: string;
  ranges: readonly TopicPartitionRange[];
  users?: ReadonlySet<string>;
  onProgress?: (p: BoundedProgress) => void;
  runtime?: Partial<Pick<RuntimeOptions, 'policy'>>;
}): Promise<BoundedResult> {
  const started = performance.now();
  const ranges = new Map(opts.ranges.map((r) => [rangeKey(r.topic, r.partition), r]));
  const total = opts.ranges.reduce((s, r) => s + Math.max(0, r.to - r.from), 0);
  const open = new Set([...ranges].filter(([, r]) => r.to > r.from).map(([k]) => k));
  const result: BoundedResult = { records: 0, inRange: 0, skippedUsers: 0, ms: 0, firstFlushMs: null };
  let seen = 0;
  if (open.size === 0) return result;
  const inner = opts.def.decode;
  const asStep = (out: StepResult<T>): StepResult<T> =>
    out.type === 'dlq' ? drop(`dead_letter:${out.reason}`) : out;
  // Synchronous when the inner decode is (the sink's and the rebuild's decoders are, once a writer schema is
  // cached): no promise per record, as in the live processors.
  const decode = (record: InboundRecord): StepResult<T> | Promise<StepResult<T>> => {
    const key = rangeKey(record.topic, record.partition);
    const range = ranges.get(key);
    const offset = Number(record.offset);
    result.records++;
    if (!range || offset < range.from || offset >= range.to) {
      if (range && offset >= range.to - 1) open.delete(key);
      return drop('outside_range');
    }
    if (offset >= range.to - 1) open.delete(key);
    seen++;
    if (opts.users && !opts.users.has(record.key?.toString('utf8') ?? '')) {
      result.skippedUsers++;
      return drop('user_not_selected');
    }
    const out = inner(record);
    return out instanceof Promise ? out.then(asStep) : asStep(out);
  };
  const base = runtimeOptionsFromEnv(opts.stream, {
    kafka: opts.kafka,
    log: opts.log,
    metrics: createMetricsRegistry('datatools'),
    deadLetterTopic: opts.deadLetterTopic,
  });
  const processor = await runProcessor<T>(
    { ...opts.def, decode, fromBeginning: true },
    { ...base, policy: { ...base.policy, ...opts.runtime?.policy }, stopGraceMs: 30_000 },
  );
  processor.events.once('flush', () => (result.firstFlushMs = performance.now() - started));
  try {
    while (open.size > 0) {
      await new Promise((r) => setTimeout(r, 200));
      const done = Math.min(seen, total);
      opts.onProgress?.({
        done,
        total,
        remaining: total - done,
        elapsedMs: performance.now() - started,
      });
    }
  } finally {
    await processor.stop();
  }
  result.ms = performance.now() - started;
  result.inRange = total;
  opts.onProgress?.({ done: total, total, remaining: 0, elapsedMs: result.ms });
  return result;
}
