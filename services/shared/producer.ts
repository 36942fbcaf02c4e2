import {
  CompressionTypes,
  Partitioners,
  type ICustomPartitioner,
  type Kafka,
  type RecordMetadata,
} from 'kafkajs';
import type { EventCodec } from './codec.ts';
import { IdempotentProducer } from './idempotent-producer.ts';
import type { Logger } from './logger.ts';
import { retryKafkaStart, type EventFamily, type KafkaStartRetry } from './kafka.ts';

/** One event ready to publish: its family, the Avro-shaped record, and its key (the student). */
export type OutgoingEvent = {
  family: EventFamily;
  record: Record<string, unknown> & { user_id: string };
  /** Kafka record headers (W3C trace context when tracing is on: services/shared/tracing.ts). */
  headers?: Record<string, string>;
};

/**
 * The idempotent event producer shared by ingest, the simulator and import: acks from all in-sync replicas,
 * keyed by user_id so one student's events stay ordered in one partition, Confluent wire format values.
 * `publish` resolves only after Kafka acknowledged every record; after a failed publish the next one goes through a
 * new producer id (IdempotentProducer), so a failure never makes a later batch vanish.
 */
export class EventProducer {
  readonly producer: IdempotentProducer;
  private readonly codec: EventCodec;

  constructor(kafka: Kafka, codec: EventCodec, log: Logger, onRenewal?: () => void) {
    this.codec = codec;
    this.producer = new IdempotentProducer(
      kafka,
      { maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: memoizedKeyPartitioner },
      { log, onRenewal },
    );
  }

  /** Connects; with `retry`, transient failures are retried until its deadline (retryKafkaStart). */
  connect(retry?: KafkaStartRetry): Promise<void> {
    return retry
      ? retryKafkaStart('producer connect', () => this.producer.connect(), retry)
      : this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async publish(events: readonly OutgoingEvent[]): Promise<RecordMetadata[]> {
    if (events.length === 0) return [];
    type Out = { key: string; value: Buffer; headers?: Record<string, string>; partitionKey: string };
    const byTopic = new Map<string, Out[]>();
    if (this.codec.subjects) await this.codec.prepareSubjects(events.map((e) => e.record.user_id));
    for (const event of events) {
      const topic = this.codec.topicOf(event.family);
      const value =
        this.codec.encodeKnown(event.family, event.record) ??
        (await this.codec.encode(event.family, event.record));
      // The key is what the record carries (the pseudonym); the partition stays the one of the student's id.
      const userId = event.record.user_id;
      let key = this.codec.wireUserId(userId);
      if (key === undefined) {
        await this.codec.prepareSubjects([userId]); // the cache went stale during this batch
        key = this.codec.wireUserId(userId);
        if (key === undefined) throw new Error('no pseudonym for a student after preparing it');
      }
      const list = byTopic.get(topic) ?? [];
      list.push(
        event.headers
          ? { key, value, headers: event.headers, partitionKey: userId }
          : { key, value, partitionKey: userId },
      );
      byTopic.set(topic, list);
    }
    return this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}

/** Keys remembered per topic before the memo starts over (a student id is ~12 bytes: a few MB at most). */
const MEMO_KEYS = 100_000;

/**
 * Kafka's default partitioner (murmur2 of the key modulo the partition count, the same as the Java client, so
 * other producers agree on a student's partition) with the answer remembered per topic, partition count and key:
 * a busy producer sees the same students again and again, and hashing every record cost ~5% of ingest's CPU.
 * Records without a key, or with an explicit partition, go straight to the default partitioner.
 */
export const memoizedKeyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  const memo = new Map<string, { partitions: number; byKey: Map<string, number> }>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    // EventProducer partitions by the student's id while the key is their pseudonym (shared/subjects.ts).
    const key = (message as { partitionKey?: string }).partitionKey ?? message.key;
    if (typeof key !== 'string' || (message.partition !== undefined && message.partition !== null)) {
      return fallback(args);
    }
    let entry = memo.get(topic);
    if (
      entry === undefined ||
      entry.partitions !== partitionMetadata.length ||
      entry.byKey.size >= MEMO_KEYS
    ) {
      entry = { partitions: partitionMetadata.length, byKey: new Map() };
      memo.set(topic, entry);
    }
    let partition = entry.byKey.get(key);
    if (partition === undefined) {
      partition = fallback({ ...args, message: { ...message, key } });
      entry.byKey.set(key, partition);
    }
    return partition;
  };
};
