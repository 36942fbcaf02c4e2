import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../shared/logger.ts';
import { backoffDelay, type BackoffOptions } from '../../shared/async.ts';
import type { DecodeStep } from './definition.ts';
import type { StepResult } from './step.ts';
import type { InboundRecord } from './types.ts';

/**
 * The fetch loop of the consumer runtime (kafkajs's runner, in spirit): it takes each fetched batch in record by
 * record, decodes it and adds the typed result to the buffer. It never skips a record: a throwing decode (a
 * transient failure, e.g. the registry down) is retried on the same record with backoff. It stops taking records
 * in as soon as the batch's assignment generation is revoked, the processor stops, or kafkajs says the batch is
 * stale; what it did not take in is fetched again from the committed position.
 */

/** Records decoded between two yields to the event loop. */
const YIELD_EVERY = 500;

/** What the loop reads of kafkajs's eachBatch payload. */
export type FetchedBatch = Pick<EachBatchPayload, 'resolveOffset' | 'heartbeat' | 'isRunning' | 'isStale'> & {
  batch: { topic: string; partition: number; highWatermark: string; messages: KafkaMessage[] };
};

export type FetchLoopDeps<T> = {
  decode: DecodeStep<T>;
  /** Where decoded records go (the buffer). */
  add: (record: InboundRecord, result: StepResult<T>) => void;
  backoff: BackoffOptions;
  log: Logger;
  /** The current assignment generation. */
  generation: () => number;
  stopping: () => boolean;
  /** Waits before a decode retry; resolves early at shutdown. */
  waitToRetry: (ms: number) => Promise<void>;
  /** A fetched batch was taken in (completely, or up to a revocation or stop); not called after a throw. */
  fetched: (topic: string, partition: number, highWatermark: string) => void;
  /** Records of a fetched batch handed to decode (also after a throw); only called with n > 0. */
  consumed: (topic: string, n: number) => void;
  /** The last running batch handler is returning (the flush loop may be waiting for it at shutdown). */
  idle: () => void;
  /** Records decoded between two yields to the event loop (default 500). */
  yieldEvery?: number;
};

function isPromise<V>(value: V | Promise<V>): value is Promise<V> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** A kafkajs message with its coordinates, as steps see it. */
export function toInbound(topic: string, partition: number, m: KafkaMessage): InboundRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: m.headers ?? {},
    timestamp: m.timestamp,
  };
}

export class FetchLoop<T> {
  private readonly deps: FetchLoopDeps<T>;
  private active = 0;

  constructor(deps: FetchLoopDeps<T>) {
    this.deps = deps;
  }

  /** Batch handlers running now (kafkajs runs one at a time here, but a stop can overlap one). */
  get activeBatches(): number {
    return this.active;
  }

  /** kafkajs's eachBatch handler. */
  async eachBatch(payload: FetchedBatch): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const d = this.deps;
    const generation = d.generation();
    const yieldEvery = d.yieldEvery ?? YIELD_EVERY;
    this.active += 1;
    // Counted per record as before, added to the metric once per fetched batch (a label hash per record is costly).
    let consumed = 0;
    try {
      let sinceYield = 0;
      for (const message of batch.messages) {
        if (d.stopping() || generation !== d.generation() || !isRunning() || isStale()) break;
        // Decoding resolves mostly from caches (synchronously or in microtasks): yield now and then so sockets and
        // timers run.
        if (++sinceYield >= yieldEvery) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (generation !== d.generation() || d.stopping()) break;
        }
        const record = toInbound(batch.topic, batch.partition, message);
        consumed += 1;
        // A decode step that returns synchronously (the common case) costs no promise and no await per record.
        let first: StepResult<T> | Promise<StepResult<T>>;
        try {
          first = d.decode(record);
        } catch (err) {
          first = Promise.reject(err);
        }
        const result = isPromise(first)
          ? await this.decodeWithRetry(record, heartbeat, generation, first)
          : first;
        if (result === undefined || generation !== d.generation()) break;
        d.add(record, result);
        resolveOffset(message.offset);
      }
      d.fetched(batch.topic, batch.partition, batch.highWatermark);
    } finally {
      if (consumed > 0) d.consumed(batch.topic, consumed);
      this.active -= 1;
      if (this.active === 0) d.idle();
    }
    await heartbeat();
  }

  /**
   * A throwing decode is a transient failure (e.g. registry down): retry the same record, never skip it. `first` is
   * the outcome of the first attempt, already started by the caller. Undefined when the processor stops or the
   * generation is revoked meanwhile.
   */
  private async decodeWithRetry(
    record: InboundRecord,
    heartbeat: () => Promise<void>,
    generation: number,
    first: Promise<StepResult<T>>,
  ): Promise<StepResult<T> | undefined> {
    const d = this.deps;
    for (let attempt = 0; ; attempt++) {
      try {
        return await (attempt === 0 ? first : d.decode(record));
      } catch (err) {
        if (d.stopping() || generation !== d.generation()) return undefined;
        const delayMs = backoffDelay(d.backoff, attempt);
        d.log.warn(
          { err, topic: record.topic, partition: record.partition, offset: record.offset, delayMs },
          'decode failed; retrying',
        );
        await d.waitToRetry(delayMs);
        await heartbeat();
      }
    }
  }
}
