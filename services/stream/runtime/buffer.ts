import type { Message } from 'kafkajs';
import {
  flushDecision,
  msUntilDue,
  shouldPause,
  type BatchPolicyOptions,
  type FlushReason,
} from './batching.ts';
import { PositionTracker } from './commit-manager.ts';
import { deadLetterMessage } from './dead-letter.ts';
import type { StepResult } from './step.ts';
import type { Decoded, InboundRecord } from './types.ts';

/**
 * The in-memory buffer of the consumer runtime and its back-pressure. Records wait here between the fetch loop
 * and the next flush, sorted by step result (ok items, dead letters, drop counts) with their positions. At most
 * one batch is in flight (taken by the flusher) while the next one fills; fetching pauses while the two together
 * reach the policy's pauseAtRecords, while the store is down, or at shutdown.
 */

/** Records consumed under one assignment generation, waiting for the next flush. */
export class PendingBatch<T> {
  readonly items: Decoded<T>[] = [];
  readonly deadLetters: Array<{ message: Message; reason: string }> = [];
  readonly dropped = new Map<string, number>();
  readonly positions = new PositionTracker();
  count = 0;
  /** When the first record was added (the clock of the time-based flush). */
  oldestAt: number | undefined;
  readonly generation: number;
  private readonly clock: () => number;

  constructor(generation: number, clock: () => number = Date.now) {
    this.generation = generation;
    this.clock = clock;
  }

  add(record: InboundRecord, result: StepResult<T>, processor: string): void {
    if (result.type === 'ok') this.items.push({ record, value: result.value });
    else if (result.type === 'dlq')
      this.deadLetters.push({
        message: deadLetterMessage(record, processor, result.reason, result.error),
        reason: result.reason,
      });
    else this.dropped.set(result.reason, (this.dropped.get(result.reason) ?? 0) + 1);
    this.positions.consumed(record.topic, record.partition, record.offset);
    this.count += 1;
    this.oldestAt ??= this.clock();
  }

  /** Records dropped on purpose, all reasons together. */
  droppedCount(): number {
    return [...this.dropped.values()].reduce((a, b) => a + b, 0);
  }
}

/** The batch being filled and the size of the batch in flight. */
export class RecordBuffer<T> {
  private readonly policy: BatchPolicyOptions;
  private readonly clock: () => number;
  private pending: PendingBatch<T>;
  private flushing = 0;

  constructor(policy: BatchPolicyOptions, clock: () => number = Date.now) {
    this.policy = policy;
    this.clock = clock;
    this.pending = new PendingBatch<T>(0, clock);
  }

  /** Records buffered for the next flush. */
  get count(): number {
    return this.pending.count;
  }

  /** Records of the batch being flushed (0 between flushes). */
  get inFlight(): number {
    return this.flushing;
  }

  /** The assignment generation the buffered records belong to. */
  get generation(): number {
    return this.pending.generation;
  }

  add(record: InboundRecord, result: StepResult<T>, processor: string): void {
    this.pending.add(record, result, processor);
  }

  /** Whether the buffer reached a size-based flush. */
  full(): boolean {
    return this.pending.count >= this.policy.maxRecords;
  }

  /** Why the buffer should be flushed now, or undefined when it should wait. */
  flushReason(stopping: boolean): FlushReason | undefined {
    return flushDecision(this.policy, this.pending.count, this.pending.oldestAt, this.clock(), stopping);
  }

  /** How long until a time-based flush is due (the full wait when nothing is buffered). */
  msUntilFlush(): number {
    return msUntilDue(this.policy, this.pending.oldestAt, this.clock()) ?? this.policy.maxWaitMs;
  }

  /** Takes the buffered batch for a flush; a new empty one of the same generation fills meanwhile. */
  take(): PendingBatch<T> {
    const batch = this.pending;
    this.pending = new PendingBatch<T>(batch.generation, this.clock);
    this.flushing = batch.count;
    return batch;
  }

  /** The batch taken last is done with (flushed, abandoned or revoked). */
  settled(): void {
    this.flushing = 0;
  }

  /** Drops what is buffered (never committed: it is redelivered) and starts a batch of `generation`. */
  reset(generation: number): number {
    const dropped = this.pending.count;
    this.pending = new PendingBatch<T>(generation, this.clock);
    return dropped;
  }
}

/** The state that decides whether fetching should be paused. */
export type BackPressureInput = {
  /** The consumer is in its group (pausing an unjoined consumer is meaningless, except while stopping). */
  joined: boolean;
  stopping: boolean;
  buffered: number;
  inFlight: number;
};

/** Whether fetching is paused, and when that should change. */
export class BackPressure {
  private readonly policy: BatchPolicyOptions;
  /** Fetching as last applied to the consumer. */
  paused = false;
  /** The store failed the last flush attempt: fetching stays paused until a flush succeeds. */
  storeDown = false;

  constructor(policy: BatchPolicyOptions) {
    this.policy = policy;
  }

  /**
   * The pause state to apply now, or undefined when nothing is to be done. `force` re-asserts the wanted state
   * even when it seems applied (after a rejoin kafkajs keeps or drops paused partitions on its own terms).
   */
  wanted(s: BackPressureInput, force = false): boolean | undefined {
    if (!s.joined && !s.stopping) return undefined;
    const pause = s.stopping || this.storeDown || shouldPause(this.policy, s.buffered, s.inFlight);
    if (pause === this.paused && !force) return undefined;
    return pause;
  }
}
