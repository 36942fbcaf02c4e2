import { topicPartitionKey } from '../../shared/kafka.ts';
/** Pure batching and offset bookkeeping for the consumer runtime (unit-tested without Kafka). */

export type BatchPolicyOptions = {
  /** Flush when this many records (ok + dead-lettered + dropped) are buffered. */
  maxRecords: number;
  /** Flush when the oldest buffered record has waited this long. */
  maxWaitMs: number;
  /** Pause fetching when this many records wait (buffer + the batch being flushed): back-pressure. */
  pauseAtRecords: number;
};

export type FlushReason = 'size' | 'time' | 'shutdown';

/** Decides whether a buffer should be flushed now, and why. */
export function flushDecision(
  policy: BatchPolicyOptions,
  buffered: number,
  oldestAt: number | undefined,
  now: number,
  stopping = false,
): FlushReason | undefined {
  if (buffered === 0) return undefined;
  if (stopping) return 'shutdown';
  if (buffered >= policy.maxRecords) return 'size';
  if (oldestAt !== undefined && now - oldestAt >= policy.maxWaitMs) return 'time';
  return undefined;
}

/** Milliseconds until a time-based flush is due (0 when due, undefined when nothing is buffered). */
export function msUntilDue(
  policy: BatchPolicyOptions,
  oldestAt: number | undefined,
  now: number,
): number | undefined {
  if (oldestAt === undefined) return undefined;
  return Math.max(0, oldestAt + policy.maxWaitMs - now);
}

/** Whether fetching should pause: too much waits in memory while the sink catches up (or its store is down). */
export function shouldPause(policy: BatchPolicyOptions, buffered: number, inFlight: number): boolean {
  return buffered + inFlight >= policy.pauseAtRecords;
}

export type TopicPartitionOffset = { topic: string; partition: number; offset: string };

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

export type BackoffOptions = { initialMs: number; maxMs: number; factor: number; jitter: number };

/** Exponential backoff delay for the given attempt (0-based), capped, with proportional jitter from `random`. */
export function backoffDelay(
  opts: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** attempt);
  const spread = base * opts.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
