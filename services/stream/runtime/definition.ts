import type { Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger.ts';
import type { Registry } from '../../shared/metrics.ts';
import type { BackoffOptions } from '../../shared/async.ts';
import type { BatchPolicyOptions, FlushReason } from './batching.ts';
import type { StreamConfig } from './config.ts';
import type { StepResult } from './step.ts';
import type { FlushBatch, InboundRecord, TopicPartitionOffset } from './types.ts';

/** The topic-partitions a member owns in the current generation of its group. */
export type Assignment = Array<{ topic: string; partitions: number[] }>;

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
      load: (assignment: Assignment) => Promise<TopicPartitionOffset[]>;
      commitToKafka?: boolean;
    };

/** Turns one record into a typed result. Throw only for transient infrastructure failures (retried). */
export type DecodeStep<T> = (record: InboundRecord) => StepResult<T> | Promise<StepResult<T>>;

export type ProcessorDefinition<T> = {
  name: string;
  groupId: string;
  topics: string[];
  /** Turns one record into a typed result. Throw only for transient infrastructure failures (retried). */
  decode: DecodeStep<T>;
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
    run: (assignment: Assignment) => Promise<void>;
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
  /** How long start() retries connecting and subscribing on retriable Kafka errors (KAFKA_START_DEADLINE_MS). */
  startDeadlineMs?: number;
};

/**
 * Runtime options from the environment. The `live` lane (processors a dashboard waits for) flushes after
 * STREAM_LIVE_BATCH_MAX_WAIT_MS instead of STREAM_BATCH_MAX_WAIT_MS; batches still grow with the load.
 */
export function runtimeOptionsFromEnv(
  env: StreamConfig,
  base: Pick<RuntimeOptions, 'kafka' | 'log' | 'metrics' | 'deadLetterTopic' | 'startDeadlineMs'>,
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
