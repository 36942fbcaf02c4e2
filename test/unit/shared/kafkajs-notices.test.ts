import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../../services/shared/kafka.ts';

const cfg = { KAFKA_BROKERS: ['127.0.0.1:1'], KAFKA_CLIENT_ID: 'notices-test' };

describe("kafkajs' known harmless notices (services/shared/kafka.ts)", () => {
  it('an idempotent producer with bounded retries makes kafkajs warn; createKafka keeps it out of the logs', () => {
    // Plain kafkajs with the same retry setting: the notice is emitted when the producer is created.
    const raw: string[] = [];
    new Kafka({
      clientId: 'raw',
      brokers: cfg.KAFKA_BROKERS,
      logLevel: logLevel.WARN,
      retry: { retries: 8 },
      logCreator: () => (e: LogEntry) => void raw.push(e.log.message),
    }).producer({ idempotent: true });
    expect(raw).toContain('Limiting retries for the idempotent producer may invalidate EoS guarantees');

    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    createKafka(cfg, log).producer({ idempotent: true });
    expect(lines).toEqual([]);
    // Other kafkajs warnings still reach the log.
    createKafka(cfg, log).logger().warn('something else', {});
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['something else']);
  });
});
