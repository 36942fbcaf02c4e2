import { CompressionTypes, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import type { EventCodec } from './codec.ts';
import type { EventFamily } from './kafka.ts';

/** One event ready to publish: its family, the Avro-shaped record, and its key (the student). */
export type OutgoingEvent = { family: EventFamily; record: Record<string, unknown> & { user_id: string } };

/**
 * The idempotent event producer shared by ingest, the simulator and import: acks from all in-sync replicas,
 * keyed by user_id so one student's events stay ordered in one partition, Confluent wire format values.
 * `publish` resolves only after Kafka acknowledged every record.
 */
export class EventProducer {
  readonly producer: Producer;
  private readonly codec: EventCodec;

  constructor(kafka: Kafka, codec: EventCodec) {
    this.codec = codec;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: false,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async publish(events: readonly OutgoingEvent[]): Promise<RecordMetadata[]> {
    if (events.length === 0) return [];
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    for (const event of events) {
      const topic = this.codec.topicOf(event.family);
      const value =
        this.codec.encodeKnown(event.family, event.record) ??
        (await this.codec.encode(event.family, event.record));
      const list = byTopic.get(topic) ?? [];
      list.push({ key: event.record.user_id, value });
      byTopic.set(topic, list);
    }
    return this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}
