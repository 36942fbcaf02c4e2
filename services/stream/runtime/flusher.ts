import type { EventEmitter } from 'node:events';
import type { Message } from 'kafkajs';
import type { Logger } from '../../shared/logger.ts';
import { linksFromHeaders, recordSpan, tracingEnabled } from '../../shared/tracing.ts';
import { backoffDelay, type BackoffOptions } from '../../shared/async.ts';
import type { FlushReason } from './batching.ts';
import type { BackPressure, PendingBatch } from './buffer.ts';
import type { CommitManager } from './commit-manager.ts';
import type { ProcessorDefinition, ProcessorEvents } from './definition.ts';
import { sampleIndexes, type RuntimeMetrics } from './metrics.ts';

/**
 * Making one taken batch durable: its dead letters, then its effect, then its offsets. Offsets move only after
 * everything before them is durable. A failing step is retried with exponential backoff forever while fetching is
 * paused (the store is down), except at shutdown after the grace period, when the batch is abandoned uncommitted
 * (redelivered on the next start). A batch whose generation is revoked meanwhile is given up uncommitted (another
 * member, or this one after the rejoin, consumes it again).
 */

export type FlushOutcome = 'flushed' | 'revoked' | 'abandoned';

export type FlusherDeps<T> = {
  name: string;
  handleBatch: ProcessorDefinition<T>['handleBatch'];
  /** Sends dead letters to the dead-letter topic, acknowledged by every in-sync replica. */
  sendDeadLetters: (messages: Message[]) => Promise<void>;
  /** An external offset store writes its positions in the effect, so the effect runs even without ok records. */
  external: boolean;
  /** Whether positions go to Kafka after the effect (commitsToKafka of the offset store). */
  commitToKafka: boolean;
  commits: Pick<CommitManager, 'commit'>;
  isCurrent: (generation: number) => boolean;
  /** True once the shutdown grace period is over: a failing batch is abandoned. */
  abandoning: () => boolean;
  /** The store is down from a failed attempt until the batch is durable; fetching stays paused meanwhile. */
  backPressure: Pick<BackPressure, 'storeDown'>;
  /** Applies the back-pressure state to the consumer (pauses fetching). */
  applyBackPressure: () => void;
  backoff: BackoffOptions;
  /** Waits before the next attempt; resolves early when woken (shutdown). */
  wait: (ms: number) => Promise<void>;
  events: EventEmitter<ProcessorEvents>;
  log: Logger;
  metrics: RuntimeMetrics;
  labels: { processor: string };
  /** Milliseconds clock (default Date.now); flush durations use performance.now(). */
  clock?: () => number;
};

export class Flusher<T> {
  private readonly deps: FlusherDeps<T>;
  private readonly clock: () => number;
  private lastFlushEnd: number;

  constructor(deps: FlusherDeps<T>) {
    this.deps = deps;
    this.clock = deps.clock ?? Date.now;
    this.lastFlushEnd = this.clock();
  }

  /** Dead letters, then the effect, then the commit: offsets move only after everything before is durable. */
  async flush(batch: PendingBatch<T>, reason: FlushReason): Promise<FlushOutcome> {
    const d = this.deps;
    const started = performance.now();
    const positions = batch.positions.toList();
    let deadLettersSent = batch.deadLetters.length === 0;
    let effectDone = batch.items.length === 0 && !d.external;
    for (let attempt = 0; !(deadLettersSent && effectDone); attempt++) {
      if (!d.isCurrent(batch.generation)) {
        d.log.info(
          { records: batch.count, storeDown: d.backPressure.storeDown },
          'batch of a revoked assignment not flushed; it will be redelivered',
        );
        // `storeDown` said "the batch being retried fails": with that batch given up, nothing is left to flush, so
        // a flag kept set would keep fetching paused for good (no batch, no flush, no success to clear it). The
        // new assignment fetches; its first flush finds out whether the store is still down (and pauses again).
        d.backPressure.storeDown = false;
        return 'revoked';
      }
      try {
        if (!deadLettersSent) {
          await d.sendDeadLetters(batch.deadLetters.map((x) => x.message));
          deadLettersSent = true;
        }
        if (!effectDone) {
          await d.handleBatch({ items: batch.items, positions, generation: batch.generation });
          effectDone = true;
        }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        d.metrics.flushFailures.inc(d.labels);
        d.backPressure.storeDown = true;
        d.applyBackPressure();
        if (d.abandoning()) {
          d.log.error(
            { err: error, records: batch.count },
            'abandoning a failing batch at shutdown (uncommitted: redelivered on restart)',
          );
          return 'abandoned';
        }
        const delayMs = backoffDelay(d.backoff, attempt);
        d.events.emit('flush_failed', { attempt, error, delayMs });
        d.log.warn(
          { err: error, attempt, delayMs, records: batch.count },
          'flush failed; fetching paused, retrying',
        );
        await d.wait(delayMs);
      }
    }
    if (d.backPressure.storeDown) {
      d.backPressure.storeDown = false;
      d.log.info('store reachable again; resuming');
    }
    if (d.commitToKafka) await d.commits.commit(positions, batch.generation);
    this.report(batch, reason, started);
    return 'flushed';
  }

  /** Metrics, the trace span, the debug line and the `flush` event of a durable batch. */
  private report(batch: PendingBatch<T>, reason: FlushReason, started: number): void {
    const { metrics: m, labels, name } = this.deps;
    const ms = performance.now() - started;
    const dropped = batch.droppedCount();
    m.flushDuration.observe(labels, ms / 1000);
    m.flushRecords.observe({ ...labels, reason }, batch.count);
    m.processed.inc({ ...labels, result: 'ok' }, batch.items.length);
    m.processed.inc({ ...labels, result: 'dlq' }, batch.deadLetters.length);
    m.processed.inc({ ...labels, result: 'drop' }, dropped);
    for (const x of batch.deadLetters) m.deadLettered.inc({ ...labels, reason: x.reason });
    for (const [r, n] of batch.dropped) m.dropped.inc({ ...labels, reason: r }, n);
    const now = this.clock();
    if (tracingEnabled()) {
      const sampled = sampleIndexes(batch.items.length, 128).map((i) => batch.items[i]!.record.headers);
      recordSpan(`process ${name}`, {
        startTime: now - ms,
        links: linksFromHeaders(sampled),
        attributes: { 'messaging.batch.message_count': batch.count, 'studystream.processor': name },
      });
    }
    const freshness = m.freshness.labels(labels);
    for (const i of sampleIndexes(batch.items.length)) {
      const ts = Number(batch.items[i]!.record.timestamp);
      if (ts > 0) freshness.observe(Math.max(0, now - ts) / 1000);
    }
    m.throughput.set(labels, (batch.count * 1000) / Math.max(1, now - this.lastFlushEnd));
    this.lastFlushEnd = now;
    this.deps.log.debug({ records: batch.count, reason, ms: Math.round(ms) }, 'batch flushed');
    this.deps.events.emit('flush', {
      records: batch.count,
      ok: batch.items.length,
      deadLettered: batch.deadLetters.length,
      dropped,
      reason,
      ms,
    });
  }
}
