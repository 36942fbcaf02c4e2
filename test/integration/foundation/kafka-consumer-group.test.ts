import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('kafka');
const log = createLogger('test', 'warn');

describe('Kafka 4 (KRaft) with kafkajs', () => {
  beforeAll(() => provision(iso, { kafka: true }));
  afterAll(() => teardown(iso));

  it('an idempotent producer writes keyed messages that a consumer group reads back in order per key', async () => {
    const kafka = createKafka(iso.cfg, log, 'foundation');
    const topic = `${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `student-${i % 6}`, value: `m${i}` }));
    await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${iso.id}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string; partition: number }> = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          received.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
          if (received.length === sent.length) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect(received.map((r) => r.value).sort()).toEqual(sent.map((s) => s.value).sort());
    for (let k = 0; k < 6; k++) {
      const mine = received.filter((r) => r.key === `student-${k}`);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      expect(mine.map((r) => r.value)).toEqual(
        sent.filter((s) => s.key === `student-${k}`).map((s) => s.value),
      );
    }

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: `${iso.id}-group`, topics: [topic] });
    await admin.disconnect();
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committed).toBe(sent.length);
  });
});
