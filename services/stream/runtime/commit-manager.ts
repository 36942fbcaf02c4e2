import { topicPartitionKey } from '../../shared/kafka.ts';
import type { Logger } from '../../shared/logger.ts';
import type { OffsetStore } from './definition.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { TopicPartitionOffset } from './types.ts';

/**
 * Offsets of the consumer runtime (kafkajs's offsetManager, in spirit): what is safe to commit and committing it.
 *
 * - A batch's positions (PositionTracker) cover every record consumed into it, dead-lettered and dropped ones
 *   included. They become safe to commit only once the batch is durable (its dead letters acknowledged and its
 *   effect returned); the flusher calls `commit` then, so offsets move after every flush (by size, by time, or at
 *   shutdown) and never before.
 * - A batch of an older assignment generation is never committed: its partitions may belong to another member
 *   now, which restarts them from the last committed offset (the effect is idempotent, so the redelivery is too).
 * - A rejected commit is counted and logged, never thrown: the records are redelivered and deduplicated.
 * - Lag per partition is the fetched high watermark minus the committed position.
 */

/** Whether positions go to Kafka after a durable batch (always, unless an external store says otherwise). */
export function commitsToKafka(store: OffsetStore | undefined): boolean {
  return store?.mode !== 'external' || store.commitToKafka !== false;
}

/**
 * The next offset to consume per topic-partition, for records taken into a batch. Kafka commits mean "the next
 * record to read", so the committed offset is the last record's offset + 1.
 */
export class PositionTracker {
  /** The highest offset consumed per topic-partition (called per record: no BigInt until toList). */
  private readonly last = new Map<string, TopicPartitionOffset>();

  /** Notes that the record at `offset` was consumed (whatever its step result was). */
  consumed(topic: string, partition: number, offset: string): void {
    const key = topicPartitionKey(topic, partition);
    const current = this.last.get(key);
    if (!current) this.last.set(key, { topic, partition, offset });
    else if (offsetLess(current.offset, offset)) current.offset = offset;
  }

  get size(): number {
    return this.last.size;
  }

  toList(): TopicPartitionOffset[] {
    return [...this.last.values()]
      .map((p) => ({ topic: p.topic, partition: p.partition, offset: (BigInt(p.offset) + 1n).toString() }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }
}

/** a < b for Kafka offsets (non-negative decimal strings without leading zeros), without parsing them. */
function offsetLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

export type CommitOutcome = 'nothing' | 'revoked' | 'committed' | 'failed';

export type CommitManagerDeps = {
  /** Commits positions to the group (the consumer's commitOffsets). */
  commitOffsets: (positions: TopicPartitionOffset[]) => Promise<void>;
  /** Whether the assignment generation a batch was consumed in is still the current one. */
  isCurrent: (generation: number) => boolean;
  log: Logger;
  metrics: Pick<RuntimeMetrics, 'lag' | 'commitFailures'>;
  labels: { processor: string };
};

export class CommitManager {
  private readonly deps: CommitManagerDeps;
  private readonly highWatermarks = new Map<string, { topic: string; partition: number; hw: bigint }>();

  constructor(deps: CommitManagerDeps) {
    this.deps = deps;
  }

  /** Notes a partition's high watermark as last fetched (the lag reference). */
  noteHighWatermark(topic: string, partition: number, hw: string): void {
    this.highWatermarks.set(topicPartitionKey(topic, partition), { topic, partition, hw: BigInt(hw) });
  }

  /** Records between each committed position and its partition's last fetched high watermark (when known). */
  lag(positions: TopicPartitionOffset[]): Array<{ topic: string; partition: number; lag: number }> {
    const out: Array<{ topic: string; partition: number; lag: number }> = [];
    for (const p of positions) {
      const hw = this.highWatermarks.get(topicPartitionKey(p.topic, p.partition));
      if (hw) out.push({ topic: p.topic, partition: p.partition, lag: Number(hw.hw - BigInt(p.offset)) });
    }
    return out;
  }

  /** Commits a durable batch's positions, unless its generation was revoked meanwhile; never throws. */
  async commit(positions: TopicPartitionOffset[], generation: number): Promise<CommitOutcome> {
    if (positions.length === 0) return 'nothing';
    const { log, metrics, labels } = this.deps;
    if (!this.deps.isCurrent(generation)) {
      log.info(
        'assignment changed during the flush; offsets not committed (records will be redelivered and deduplicated)',
      );
      return 'revoked';
    }
    try {
      await this.deps.commitOffsets(positions);
      for (const l of this.lag(positions))
        metrics.lag.set({ ...labels, topic: l.topic, partition: String(l.partition) }, l.lag);
      return 'committed';
    } catch (err) {
      metrics.commitFailures.inc(labels);
      log.warn({ err }, 'offset commit failed (records will be redelivered and deduplicated)');
      return 'failed';
    }
  }
}
