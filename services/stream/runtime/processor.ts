import { topicPartitionKey } from '../../shared/kafka.ts';
import { EventEmitter } from 'node:events';
import { linksFromHeaders, recordSpan, tracingEnabled } from '../../shared/tracing.ts';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Logger } from '../../shared/logger.ts';
import type { Registry } from '../../shared/metrics.ts';
import {
  backoffDelay,
  flushDecision,
  msUntilDue,
  PositionTracker,
  shouldPause,
  type BackoffOptions,
  type BatchPolicyOptions,
  type FlushReason,
  type TopicPartitionOffset,
} from './batching.ts';
import { deadLetterMessage } from './dead-letter.ts';
import { runtimeMetrics, sampleIndexes, type RuntimeMetrics } from './metrics.ts';
import type { StepResult } from './step.ts';
import type { Decoded, FlushBatch, InboundRecord } from './types.ts';
import type { StreamConfig } from './config.ts';

/**
 * The consumer runtime every processor runs on. A processor supplies a pure-ish `decode` step (bytes to a typed
 * value, or a typed dead-letter/drop result) and an idempotent `handleBatch` effect; the runtime owns fetching,
 * batching, back-pressure, retries, dead-lettering, offset commits, rebalances, shutdown and metrics.
 *
 * Guarantees (see test/integration/stream/01-consumer-runtime.test.ts):
 * - At-least-once: a record's offset is committed only after the batch holding it is durable (its dead letters
 *   acknowledged by Kafka and the effect returned). Effects must therefore be idempotent (keyed by event_id).
 * - Never skip: a failing effect is retried with exponential backoff forever (while fetching is paused); at
 *   shutdown a batch that still fails is abandoned uncommitted, so it is redelivered on the next start.
 * - Rebalance-safe: records buffered under an assignment are dropped (never committed) when the group
 *   rebalances; kafkajs restarts every partition from its committed offset after the rejoin.
 */

/** Where a processor's progress lives. */
export type OffsetStore =
  | { mode: 'kafka' }
  | {
      /**
       * Extension point for processors storing positions transactionally with their effect (e.g. PostgreSQL):
       * `handleBatch` receives batch.positions and every record's coordinates and must write the positions in the
       * same transaction as the effect, ignoring records below the stored position. After each assignment the
       * runtime seeks to what `load` returns. `commitToKafka` (default true) also commits to Kafka afterwards,
       * for lag monitoring and tools only.
       */
      mode: 'external';
      load: (assignment: Array<{ topic: string; partitions: number[] }>) => Promise<TopicPartitionOffset[]>;
      commitToKafka?: boolean;
    };

export type ProcessorDefinition<T> = {
  name: string;
  groupId: string;
  topics: string[];
  /** Turns one record into a typed result. Throw only for transient infrastructure failures (retried). */
  decode: (record: InboundRecord) => StepResult<T> | Promise<StepResult<T>>;
  /** Makes a batch durable. Must be idempotent; throwing means "retry this whole batch later". */
  handleBatch: (batch: FlushBatch<T>) => Promise<void>;
  offsets?: OffsetStore;
  /** Where a group without committed offsets starts (default: earliest, topics are the source of truth). */
  fromBeginning?: boolean;
  /**
   * Periodic work on the current assignment (e.g. closing state that no new record will close), run by the flush
   * loop between flushes, so never concurrently with handleBatch. A throw is logged and retried at the next tick.
   */
  tick?: {
    everyMs: number;
    run: (assignment: Array<{ topic: string; partitions: number[] }>) => Promise<void>;
  };
};

export type RuntimeOptions = {
  kafka: Kafka;
  log: Logger;
  metrics: Registry;
  deadLetterTopic: string;
  policy: BatchPolicyOptions;
  backoff: BackoffOptions;
  fetch?: { maxBytes: number; maxBytesPerPartition: number };
  /** At shutdown, how long a failing flush keeps being retried before it is abandoned uncommitted. */
  stopGraceMs?: number;
};

/**
 * Runtime options from the environment. The `live` lane (processors a dashboard waits for) flushes after
 * STREAM_LIVE_BATCH_MAX_WAIT_MS instead of STREAM_BATCH_MAX_WAIT_MS; batches still grow with the load.
 */
export function runtimeOptionsFromEnv(
  env: StreamConfig,
  base: Pick<RuntimeOptions, 'kafka' | 'log' | 'metrics' | 'deadLetterTopic'>,
  lane: 'bulk' | 'live' = 'bulk',
): RuntimeOptions {
  return {
    ...base,
    policy: {
      maxRecords: env.STREAM_BATCH_MAX_RECORDS,
      maxWaitMs: lane === 'live' ? env.STREAM_LIVE_BATCH_MAX_WAIT_MS : env.STREAM_BATCH_MAX_WAIT_MS,
      pauseAtRecords: Math.max(env.STREAM_PAUSE_AT_RECORDS, env.STREAM_BATCH_MAX_RECORDS),
    },
    backoff: {
      initialMs: env.STREAM_RETRY_INITIAL_MS,
      maxMs: env.STREAM_RETRY_MAX_MS,
      factor: 2,
      jitter: 0.2,
    },
    fetch: {
      maxBytes: env.STREAM_FETCH_MAX_BYTES,
      maxBytesPerPartition: env.STREAM_FETCH_MAX_BYTES_PER_PARTITION,
    },
  };
}

/** Instrumentation events of a running processor (a public interface: tests and tools listen to them). */
export type ProcessorEvents = {
  flush: [
    { records: number; ok: number; deadLettered: number; dropped: number; reason: FlushReason; ms: number },
  ];
  flush_failed: [{ attempt: number; error: Error; delayMs: number }];
  rebalance: [{ generation: number; droppedRecords: number }];
  paused: [];
  resumed: [];
};

export type RunningProcessor = {
  readonly name: string;
  readonly events: EventEmitter<ProcessorEvents>;
  /** True once the consumer joined its group and while it has not crashed. */
  ready(): boolean;
  /** Flushes what is buffered, commits, then disconnects. Idempotent. */
  stop(): Promise<void>;
};

/** A buffer of consumed records waiting for the next flush. */
class Pending<T> {
  readonly items: Decoded<T>[] = [];
  readonly deadLetters: Array<{ message: Message; reason: string }> = [];
  readonly dropped = new Map<string, number>();
  readonly positions = new PositionTracker();
  count = 0;
  oldestAt: number | undefined;
  readonly generation: number;

  constructor(generation: number) {
    this.generation = generation;
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
    this.oldestAt ??= Date.now();
  }
}

/** Resolves every waiter on notify(), or each after its own timeout, whichever comes first. */
class Wakeup {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}

/** Records decoded between two yields to the event loop. */
const YIELD_EVERY = 500;

function isPromise<V>(value: V | Promise<V>): value is Promise<V> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function toInbound(topic: string, partition: number, m: KafkaMessage): InboundRecord {
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

class ProcessorRuntime<T> implements RunningProcessor {
  readonly name: string;
  readonly events = new EventEmitter<ProcessorEvents>();
  private readonly def: ProcessorDefinition<T>;
  private readonly opts: RuntimeOptions;
  private readonly log: Logger;
  private readonly m: RuntimeMetrics;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly wake = new Wakeup();
  private readonly stopWake = new Wakeup();
  private generation = 0;
  private pending: Pending<T>;
  private inFlight = 0;
  private activeBatches = 0;
  private storeDown = false;
  private paused = false;
  private joined = false;
  private stopping = false;
  private abandoning = false;
  private stopped: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private lastFlushEnd = Date.now();
  private assignment: Array<{ topic: string; partitions: number[] }> = [];
  private nextTickAt = 0;
  private readonly highWatermarks = new Map<string, { topic: string; partition: number; hw: bigint }>();

  constructor(def: ProcessorDefinition<T>, opts: RuntimeOptions) {
    this.def = def;
    this.opts = opts;
    this.name = def.name;
    this.log = opts.log.child({ processor: def.name });
    this.m = runtimeMetrics(opts.metrics);
    this.pending = new Pending<T>(0);
    this.consumer = opts.kafka.consumer({
      groupId: def.groupId,
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytes: opts.fetch?.maxBytes ?? 52_428_800,
      maxBytesPerPartition: opts.fetch?.maxBytesPerPartition ?? 4_194_304,
      maxWaitTimeInMs: Math.min(500, opts.policy.maxWaitMs),
      allowAutoTopicCreation: false,
    });
    this.producer = opts.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  private get labels() {
    return { processor: this.name };
  }

  async start(): Promise<void> {
    const { REBALANCING, GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(REBALANCING, () => this.revoke('rebalancing'));
    this.consumer.on(GROUP_JOIN, (e) => {
      this.revoke('joined');
      this.joined = true;
      // kafkajs keeps (or drops) paused partitions across a rejoin on its own terms: re-assert the state we want.
      this.applyBackPressure(true);
      this.assignment = Object.entries(e.payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions,
      }));
      void this.seekExternal(e.payload.memberAssignment);
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    });
    await this.producer.connect();
    await this.consumer.connect();
    for (const topic of this.def.topics)
      await this.consumer.subscribe({ topic, fromBeginning: this.def.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.loop = this.flushLoop().catch((err: unknown) => {
      this.log.fatal({ err }, 'flush loop failed');
      throw err;
    });
    this.log.info({ topics: this.def.topics, groupId: this.def.groupId }, 'processor started');
  }

  ready(): boolean {
    return this.joined && !this.stopping;
  }

  /** A new assignment generation: what was buffered under the old one is dropped, never committed. */
  private revoke(why: string): void {
    this.generation += 1;
    const dropped = this.pending.count;
    this.pending = new Pending<T>(this.generation);
    this.m.buffered.set(this.labels, 0);
    this.m.rebalances.inc(this.labels);
    if (why === 'rebalancing') this.joined = false;
    if (dropped > 0)
      this.log.info({ dropped, why }, 'dropped uncommitted in-memory records of the old assignment');
    this.events.emit('rebalance', { generation: this.generation, droppedRecords: dropped });
  }

  private async seekExternal(assignment: Record<string, number[]>): Promise<void> {
    const store = this.def.offsets;
    if (!store || store.mode !== 'external') return;
    const list = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
    try {
      for (const p of await store.load(list)) this.consumer.seek(p);
    } catch (err) {
      this.log.error({ err }, 'loading external offsets failed; restarting the consumer');
      await this.consumer.stop().catch(() => {});
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const generation = this.generation;
    this.activeBatches += 1;
    // Counted per record as before, added to the metric once per fetched batch (a label hash per record is costly).
    let consumed = 0;
    try {
      let sinceYield = 0;
      for (const message of batch.messages) {
        if (this.stopping || generation !== this.generation || !isRunning() || isStale()) break;
        // Decoding resolves mostly from caches (synchronously or in microtasks): yield now and then so sockets and
        // timers run.
        if (++sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (generation !== this.generation || this.stopping) break;
        }
        const record = toInbound(batch.topic, batch.partition, message);
        consumed += 1;
        // A decode step that returns synchronously (the common case) costs no promise and no await per record.
        let first: StepResult<T> | Promise<StepResult<T>>;
        try {
          first = this.def.decode(record);
        } catch (err) {
          first = Promise.reject(err);
        }
        const result = isPromise(first)
          ? await this.decodeWithRetry(record, heartbeat, generation, first)
          : first;
        if (result === undefined || generation !== this.generation) break;
        this.pending.add(record, result, this.name);
        resolveOffset(message.offset);
      }
      this.noteHighWatermark(batch.topic, batch.partition, batch.highWatermark);
      this.m.buffered.set(this.labels, this.pending.count);
      if (this.pending.count >= this.opts.policy.maxRecords) this.wake.notify();
      this.applyBackPressure();
    } finally {
      if (consumed > 0) this.m.consumed.inc({ ...this.labels, topic: batch.topic }, consumed);
      this.activeBatches -= 1;
      if (this.activeBatches === 0 && this.stopping) this.wake.notify();
    }
    await heartbeat();
  }

  /**
   * A throwing decode is a transient failure (e.g. registry down): retry the same record, never skip it. `first` is
   * the outcome of the first attempt, already started by the caller.
   */
  private async decodeWithRetry(
    record: InboundRecord,
    heartbeat: () => Promise<void>,
    generation: number,
    first: Promise<StepResult<T>>,
  ): Promise<StepResult<T> | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await (attempt === 0 ? first : this.def.decode(record));
      } catch (err) {
        if (this.stopping || generation !== this.generation) return undefined;
        const delayMs = backoffDelay(this.opts.backoff, attempt);
        this.log.warn(
          { err, topic: record.topic, partition: record.partition, offset: record.offset, delayMs },
          'decode failed; retrying',
        );
        await this.stopWake.wait(delayMs);
        await heartbeat();
      }
    }
  }

  private noteHighWatermark(topic: string, partition: number, hw: string): void {
    this.highWatermarks.set(topicPartitionKey(topic, partition), { topic, partition, hw: BigInt(hw) });
  }

  private applyBackPressure(force = false): void {
    if (!this.joined && !this.stopping) return;
    const pause =
      this.stopping || this.storeDown || shouldPause(this.opts.policy, this.pending.count, this.inFlight);
    if (pause === this.paused && !force) return;
    const topics = this.def.topics.map((topic) => ({ topic }));
    try {
      if (pause) this.consumer.pause(topics);
      else this.consumer.resume(topics);
    } catch (err) {
      this.log.debug({ err }, 'pause/resume ignored (consumer not running)');
      return;
    }
    this.paused = pause;
    this.m.paused.set(this.labels, pause ? 1 : 0);
    this.events.emit(pause ? 'paused' : 'resumed');
    this.log.debug(
      { paused: pause, buffered: this.pending.count, inFlight: this.inFlight, storeDown: this.storeDown },
      'back-pressure',
    );
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      await this.tickIfDue();
      const reason = flushDecision(
        this.opts.policy,
        this.pending.count,
        this.pending.oldestAt,
        Date.now(),
        this.stopping,
      );
      if (!reason) {
        if (this.stopping && this.activeBatches === 0) return;
        const untilFlush =
          msUntilDue(this.opts.policy, this.pending.oldestAt, Date.now()) ?? this.opts.policy.maxWaitMs;
        const untilTick = this.def.tick ? Math.max(0, this.nextTickAt - Date.now()) : Infinity;
        await this.wake.wait(Math.min(untilFlush, untilTick));
        continue;
      }
      const batch = this.pending;
      this.pending = new Pending<T>(this.generation);
      this.inFlight = batch.count;
      this.m.buffered.set(this.labels, 0);
      await this.flush(batch, reason);
      this.inFlight = 0;
      this.applyBackPressure();
    }
  }

  private async tickIfDue(): Promise<void> {
    const tick = this.def.tick;
    if (!tick || this.stopping || !this.joined || Date.now() < this.nextTickAt) return;
    this.nextTickAt = Date.now() + tick.everyMs;
    const generation = this.generation;
    try {
      await tick.run(this.assignment);
    } catch (err) {
      this.log.warn({ err, generation }, 'tick failed; retried at the next tick');
    }
  }

  /** Dead letters, then the effect, then the commit: offsets move only after everything before is durable. */
  private async flush(batch: Pending<T>, reason: FlushReason): Promise<void> {
    const started = performance.now();
    const positions = batch.positions.toList();
    const external = this.def.offsets?.mode === 'external';
    let deadLettersSent = batch.deadLetters.length === 0;
    let effectDone = batch.items.length === 0 && !external;
    for (let attempt = 0; !(deadLettersSent && effectDone); attempt++) {
      if (batch.generation !== this.generation) {
        this.log.info(
          { records: batch.count },
          'batch of a revoked assignment not flushed; it will be redelivered',
        );
        return;
      }
      try {
        if (!deadLettersSent) {
          await this.producer.send({
            topic: this.opts.deadLetterTopic,
            acks: -1,
            messages: batch.deadLetters.map((d) => d.message),
          });
          deadLettersSent = true;
        }
        if (!effectDone) {
          await this.def.handleBatch({ items: batch.items, positions, generation: batch.generation });
          effectDone = true;
        }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.m.flushFailures.inc(this.labels);
        this.storeDown = true;
        this.applyBackPressure();
        if (this.abandoning) {
          this.log.error(
            { err: error, records: batch.count },
            'abandoning a failing batch at shutdown (uncommitted: redelivered on restart)',
          );
          return;
        }
        const delayMs = backoffDelay(this.opts.backoff, attempt);
        this.events.emit('flush_failed', { attempt, error, delayMs });
        this.log.warn(
          { err: error, attempt, delayMs, records: batch.count },
          'flush failed; fetching paused, retrying',
        );
        await this.wake.wait(delayMs);
      }
    }
    if (this.storeDown) {
      this.storeDown = false;
      this.log.info('store reachable again; resuming');
    }
    if (!external || this.def.offsets?.mode !== 'external' || this.def.offsets.commitToKafka !== false) {
      await this.commit(positions, batch.generation);
    }
    this.recordFlush(batch, reason, started);
  }

  private async commit(positions: TopicPartitionOffset[], generation: number): Promise<void> {
    if (positions.length === 0) return;
    if (generation !== this.generation) {
      this.log.info(
        'assignment changed during the flush; offsets not committed (records will be redelivered and deduplicated)',
      );
      return;
    }
    try {
      await this.consumer.commitOffsets(positions);
      for (const p of positions) {
        const hw = this.highWatermarks.get(topicPartitionKey(p.topic, p.partition));
        if (hw)
          this.m.lag.set(
            { ...this.labels, topic: p.topic, partition: String(p.partition) },
            Number(hw.hw - BigInt(p.offset)),
          );
      }
    } catch (err) {
      this.m.commitFailures.inc(this.labels);
      this.log.warn({ err }, 'offset commit failed (records will be redelivered and deduplicated)');
    }
  }

  private recordFlush(batch: Pending<T>, reason: FlushReason, started: number): void {
    const ms = performance.now() - started;
    const dropped = [...batch.dropped.values()].reduce((a, b) => a + b, 0);
    this.m.flushDuration.observe(this.labels, ms / 1000);
    this.m.flushRecords.observe({ ...this.labels, reason }, batch.count);
    this.m.processed.inc({ ...this.labels, result: 'ok' }, batch.items.length);
    this.m.processed.inc({ ...this.labels, result: 'dlq' }, batch.deadLetters.length);
    this.m.processed.inc({ ...this.labels, result: 'drop' }, dropped);
    for (const d of batch.deadLetters) this.m.deadLettered.inc({ ...this.labels, reason: d.reason });
    for (const [r, n] of batch.dropped) this.m.dropped.inc({ ...this.labels, reason: r }, n);
    const now = Date.now();
    if (tracingEnabled()) {
      const sampled = sampleIndexes(batch.items.length, 128).map((i) => batch.items[i]!.record.headers);
      recordSpan(`process ${this.def.name}`, {
        startTime: now - ms,
        links: linksFromHeaders(sampled),
        attributes: { 'messaging.batch.message_count': batch.count, 'studystream.processor': this.def.name },
      });
    }
    const freshness = this.m.freshness.labels(this.labels);
    for (const i of sampleIndexes(batch.items.length)) {
      const ts = Number(batch.items[i]!.record.timestamp);
      if (ts > 0) freshness.observe(Math.max(0, now - ts) / 1000);
    }
    this.m.throughput.set(this.labels, (batch.count * 1000) / Math.max(1, now - this.lastFlushEnd));
    this.lastFlushEnd = now;
    this.log.debug({ records: batch.count, reason, ms: Math.round(ms) }, 'batch flushed');
    this.events.emit('flush', {
      records: batch.count,
      ok: batch.items.length,
      deadLettered: batch.deadLetters.length,
      dropped,
      reason,
      ms,
    });
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.log.info('stopping: pausing, flushing what is buffered, committing, disconnecting');
    this.stopping = true;
    this.stopWake.notify();
    this.applyBackPressure();
    const grace = setTimeout(() => {
      this.abandoning = true;
      this.wake.notify();
    }, this.opts.stopGraceMs ?? 10_000);
    grace.unref();
    try {
      this.wake.notify();
      await this.loop;
    } finally {
      clearTimeout(grace);
      await this.consumer
        .disconnect()
        .catch((err: unknown) => this.log.warn({ err }, 'consumer disconnect failed'));
      await this.producer
        .disconnect()
        .catch((err: unknown) => this.log.warn({ err }, 'producer disconnect failed'));
      this.log.info('processor stopped');
    }
  }
}

/** Starts a processor on the shared runtime; resolves once it is subscribed and running. */
export async function runProcessor<T>(
  def: ProcessorDefinition<T>,
  opts: RuntimeOptions,
): Promise<RunningProcessor> {
  const runtime = new ProcessorRuntime<T>(def, opts);
  await runtime.start();
  return runtime;
}
