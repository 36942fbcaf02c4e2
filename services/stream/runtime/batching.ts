/**
 * Pure batching policy of the consumer runtime (when to flush, when to pause fetching),
 * unit-tested without Kafka. Offset bookkeeping is in commit-manager.ts.
 */

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
