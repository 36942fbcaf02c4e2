import type { IHeaders } from 'kafkajs';

/** A position in a topic-partition. Kafka positions mean "the next record to read" (last consumed + 1). */
export type TopicPartitionOffset = { topic: string; partition: number; offset: string };

/** One record as consumed, with its coordinates: what a step sees and what dead-lettering preserves. */
export type InboundRecord = {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Broker timestamp of the record, epoch ms as a string. */
  timestamp: string;
};

/** A decoded record kept for the effect, with its origin (processors storing offsets themselves need it). */
export type Decoded<T> = { record: InboundRecord; value: T };

/**
 * What a processor's effect receives: the ok records of the batch in consumption order (per partition), and the
 * positions (next offset per topic-partition) that become durable once the effect succeeded. Positions cover
 * every record consumed into the batch, dead-lettered and dropped ones included.
 */
export type FlushBatch<T> = {
  items: Decoded<T>[];
  positions: TopicPartitionOffset[];
  /** Assignment generation the batch was consumed in; it changes on every rebalance. */
  generation: number;
};
