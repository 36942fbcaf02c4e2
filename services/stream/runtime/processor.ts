import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { IdempotentProducer } from '../../shared/idempotent-producer.ts';
import { retryKafkaStart } from '../../shared/kafka.ts';
import type { Logger } from '../../shared/logger.ts';
import { BackPressure, RecordBuffer } from './buffer.ts';
import { CommitManager, commitsToKafka } from './commit-manager.ts';
import type { ProcessorDefinition, ProcessorEvents, RuntimeOptions } from './definition.ts';
import { FetchLoop } from './fetch-loop.ts';
import { Flusher } from './flusher.ts';
import { runtimeMetrics, type RuntimeMetrics } from './metrics.ts';
import { AssignmentState, seekExternal, type Revocation } from './rebalance.ts';
import { Wakeup } from './wakeup.ts';

const DEFAULT_START_DEADLINE_MS = 120_000;

/**
 * The consumer runtime every processor runs on. A processor supplies a pure-ish `decode` step (bytes to a typed
 * value, or a typed dead-letter/drop result) and an idempotent `handleBatch` effect; the runtime owns fetching,
 * batching, back-pressure, retries, dead-lettering, offset commits, rebalances, shutdown and metrics.
 *
 * This class composes the parts, each in its own file with its own unit tests: the fetch loop (fetch-loop.ts),
 * the buffer and back-pressure (buffer.ts), the flush with its retries (flusher.ts), the offsets (commit-manager.ts)
 * and rebalance handling (rebalance.ts). It owns the consumer and producer and the lifecycle (start, the flush loop
 * with the processor's tick, shutdown).
 *
 * Guarantees (exercised on real Kafka by test/integration/stream and test/integration/processors):
 * - At-least-once: a record's offset is committed only after the batch holding it is durable (its dead letters
 *   acknowledged by Kafka and the effect returned). Effects must therefore be idempotent (keyed by event_id).
 * - Never skip: a failing effect is retried with exponential backoff forever (while fetching is paused); at
 *   shutdown a batch that still fails is abandoned uncommitted, so it is redelivered on the next start.
 * - Rebalance-safe: records buffered under an assignment are dropped (never committed) when the group
 *   rebalances; kafkajs restarts every partition from its committed offset after the rejoin.
 */

export type RunningProcessor = {
  readonly name: string;
  readonly events: EventEmitter<ProcessorEvents>;
  /** True once the consumer joined its group and while it has not crashed. */
  ready(): boolean;
  /** Flushes what is buffered, commits, then disconnects. Idempotent. */
  stop(): Promise<void>;
};

class ProcessorRuntime<T> implements RunningProcessor {
  readonly name: string;
  readonly events = new EventEmitter<ProcessorEvents>();
  private readonly def: ProcessorDefinition<T>;
  private readonly opts: RuntimeOptions;
  private readonly log: Logger;
  private readonly m: RuntimeMetrics;
  private readonly labels: { processor: string };
  private readonly consumer: Consumer;
  private readonly producer: IdempotentProducer;
  private readonly wake = new Wakeup();
  private readonly stopWake = new Wakeup();
  private readonly buffer: RecordBuffer<T>;
  private readonly backPressure: BackPressure;
  private readonly rebalance: AssignmentState;
  private readonly commits: CommitManager;
  private readonly fetch: FetchLoop<T>;
  private readonly flusher: Flusher<T>;
  private stopping = false;
  private abandoning = false;
  private stopped: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private nextTickAt = 0;

  constructor(def: ProcessorDefinition<T>, opts: RuntimeOptions) {
    this.def = def;
    this.opts = opts;
    this.name = def.name;
    this.labels = { processor: def.name };
    this.log = opts.log.child({ processor: def.name });
    this.m = runtimeMetrics(opts.metrics);
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
    this.producer = new IdempotentProducer(
      opts.kafka,
      { maxInFlightRequests: 1, allowAutoTopicCreation: false },
      { log: this.log },
    );
    this.buffer = new RecordBuffer<T>(opts.policy);
    this.backPressure = new BackPressure(opts.policy);
    this.rebalance = new AssignmentState((generation) => this.buffer.reset(generation));
    const isCurrent = (generation: number) => this.rebalance.isCurrent(generation);
    this.commits = new CommitManager({
      commitOffsets: (positions) => this.consumer.commitOffsets(positions),
      isCurrent,
      log: this.log,
      metrics: this.m,
      labels: this.labels,
    });
    this.fetch = new FetchLoop<T>({
      decode: def.decode,
      add: (record, result) => this.buffer.add(record, result, this.name),
      backoff: opts.backoff,
      log: this.log,
      generation: () => this.rebalance.generation,
      stopping: () => this.stopping,
      waitToRetry: (ms) => this.stopWake.wait(ms),
      fetched: (topic, partition, highWatermark) => {
        this.commits.noteHighWatermark(topic, partition, highWatermark);
        this.m.buffered.set(this.labels, this.buffer.count);
        if (this.buffer.full()) this.wake.notify();
        this.applyBackPressure();
      },
      consumed: (topic, n) => this.m.consumed.inc({ ...this.labels, topic }, n),
      idle: () => {
        if (this.stopping) this.wake.notify();
      },
    });
    this.flusher = new Flusher<T>({
      name: def.name,
      handleBatch: def.handleBatch,
      sendDeadLetters: async (messages) => {
        await this.producer.send({ topic: opts.deadLetterTopic, acks: -1, messages });
      },
      external: def.offsets?.mode === 'external',
      commitToKafka: commitsToKafka(def.offsets),
      commits: this.commits,
      isCurrent,
      abandoning: () => this.abandoning,
      backPressure: this.backPressure,
      applyBackPressure: () => this.applyBackPressure(),
      backoff: opts.backoff,
      wait: (ms) => this.wake.wait(ms),
      events: this.events,
      log: this.log,
      metrics: this.m,
      labels: this.labels,
    });
  }

  async start(): Promise<void> {
    const { REBALANCING, GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(REBALANCING, () => this.revoked(this.rebalance.revoke('rebalancing')));
    this.consumer.on(GROUP_JOIN, (e) => {
      this.revoked(this.rebalance.revoke('joined'));
      this.rebalance.join(e.payload.memberAssignment);
      // kafkajs keeps (or drops) paused partitions across a rejoin on its own terms: re-assert the state we want.
      this.applyBackPressure(true);
      void this.seekExternal(e.payload.memberAssignment);
    });
    this.consumer.on(CRASH, (e) => {
      this.rebalance.crashed();
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    });
    const retry = {
      log: this.log,
      deadlineMs: this.opts.startDeadlineMs ?? DEFAULT_START_DEADLINE_MS,
      stopping: () => this.stopping,
    };
    await retryKafkaStart('producer connect', () => this.producer.connect(), retry);
    await retryKafkaStart('consumer connect', () => this.consumer.connect(), retry);
    const fromBeginning = this.def.fromBeginning ?? true;
    for (const topic of this.def.topics)
      await retryKafkaStart(
        `subscribe ${topic}`,
        () => this.consumer.subscribe({ topic, fromBeginning }),
        retry,
      );
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.fetch.eachBatch(payload),
    });
    this.loop = this.flushLoop().catch((err: unknown) => {
      this.log.fatal({ err }, 'flush loop failed');
      throw err;
    });
    this.log.info({ topics: this.def.topics, groupId: this.def.groupId }, 'processor started');
  }

  ready(): boolean {
    return this.rebalance.joined && !this.stopping;
  }

  /** A new assignment generation: what was buffered under the old one was dropped, never committed. */
  private revoked({ generation, droppedRecords, why }: Revocation): void {
    this.m.buffered.set(this.labels, 0);
    this.m.rebalances.inc(this.labels);
    if (droppedRecords > 0)
      this.log.info(
        { dropped: droppedRecords, why },
        'dropped uncommitted in-memory records of the old assignment',
      );
    this.events.emit('rebalance', { generation, droppedRecords });
    // A flush retrying a failing store waits out its backoff: wake it, so that it gives up the revoked batch (and
    // its hold on fetching) now rather than after the wait.
    this.wake.notify();
  }

  /**
   * Seeks a new assignment to the external store's positions. A failing load is retried (never a consumer.stop():
   * a stopped kafkajs consumer never rejoins, so a rebalance while PostgreSQL was down used to silence the
   * processor for good; see test/cluster/postgres-restart.test.ts).
   */
  private async seekExternal(memberAssignment: Record<string, number[]>): Promise<void> {
    const generation = this.rebalance.generation;
    await seekExternal(
      {
        store: this.def.offsets,
        seek: (p) => this.consumer.seek(p),
        isCurrent: () => this.rebalance.isCurrent(generation),
        stopping: () => this.stopping,
        backoff: this.opts.backoff,
        wait: (ms) => this.stopWake.wait(ms),
        log: this.log,
      },
      memberAssignment,
    );
  }

  private applyBackPressure(force = false): void {
    const bp = this.backPressure;
    const pause = bp.wanted(
      {
        joined: this.rebalance.joined,
        stopping: this.stopping,
        buffered: this.buffer.count,
        inFlight: this.buffer.inFlight,
      },
      force,
    );
    if (pause === undefined) return;
    const topics = this.def.topics.map((topic) => ({ topic }));
    try {
      if (pause) this.consumer.pause(topics);
      else this.consumer.resume(topics);
    } catch (err) {
      this.log.debug({ err }, 'pause/resume ignored (consumer not running)');
      return;
    }
    bp.paused = pause;
    this.m.paused.set(this.labels, pause ? 1 : 0);
    this.events.emit(pause ? 'paused' : 'resumed');
    this.log.debug(
      { paused: pause, buffered: this.buffer.count, inFlight: this.buffer.inFlight, storeDown: bp.storeDown },
      'back-pressure',
    );
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      await this.tickIfDue();
      const reason = this.buffer.flushReason(this.stopping);
      if (!reason) {
        if (this.stopping && this.fetch.activeBatches === 0) return;
        const untilTick = this.def.tick ? Math.max(0, this.nextTickAt - Date.now()) : Infinity;
        await this.wake.wait(Math.min(this.buffer.msUntilFlush(), untilTick));
        continue;
      }
      const batch = this.buffer.take();
      this.m.buffered.set(this.labels, 0);
      await this.flusher.flush(batch, reason);
      this.buffer.settled();
      this.applyBackPressure();
    }
  }

  private async tickIfDue(): Promise<void> {
    const tick = this.def.tick;
    if (!tick || this.stopping || !this.rebalance.joined || Date.now() < this.nextTickAt) return;
    this.nextTickAt = Date.now() + tick.everyMs;
    const generation = this.rebalance.generation;
    try {
      await tick.run(this.rebalance.assignment);
    } catch (err) {
      this.log.warn({ err, generation }, 'tick failed; retried at the next tick');
    }
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
