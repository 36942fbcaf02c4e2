import type { IHeaders, Message } from 'kafkajs';
import type { InboundRecord } from './types.ts';

/** Header names on dead-letter records: where the record came from and why it could not be processed. */
export const DLQ_HEADERS = {
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  timestamp: 'dlq.source.timestamp',
  reason: 'dlq.reason',
  error: 'dlq.error',
  processor: 'dlq.processor',
  failedAt: 'dlq.failed_at',
} as const;

const MAX_ERROR_LENGTH = 2000;

/**
 * The dead-letter message for a record: original key and value bytes untouched, original headers kept, and our
 * headers naming the source topic, partition, offset, the original timestamp, the reason and the error.
 */
export function deadLetterMessage(
  record: InboundRecord,
  processor: string,
  reason: string,
  error: Error,
  now: Date = new Date(),
): Message {
  const headers: IHeaders = { ...record.headers };
  headers[DLQ_HEADERS.topic] = record.topic;
  headers[DLQ_HEADERS.partition] = String(record.partition);
  headers[DLQ_HEADERS.offset] = record.offset;
  headers[DLQ_HEADERS.timestamp] = record.timestamp;
  headers[DLQ_HEADERS.reason] = reason;
  headers[DLQ_HEADERS.error] = error.message.slice(0, MAX_ERROR_LENGTH);
  headers[DLQ_HEADERS.processor] = processor;
  headers[DLQ_HEADERS.failedAt] = now.toISOString();
  return { key: record.key, value: record.value, headers, timestamp: record.timestamp };
}
