import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { EventCodec } from '../../../services/shared/codec.ts';
import { createKafka } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { applyServerFields } from '../../../services/ingest/apply.ts';
import { decodeEvent } from '../../../services/ingest/validate.ts';
import { redriveOne, redriveRefusal, type DeadLetter } from '../../../services/datatools/dlq.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { questionAttempt } from '../../support/ingest-events.ts';

/**
 * Issue 18, finding 13, against Kafka, the registry and PostgreSQL: `dlq redrive` publishes only to this deployment's
 * event topics and only records that decode and pass ingest's validation (it used to re-publish any bytes to
 * whatever topic the dlq.source.topic header named).
 */
let iso: IsolatedEnv;
let pool: Pool;
let codec: EventCodec;
let producer: Producer;
const DLQ = 'dead-letter';

async function avro(overrides: Record<string, unknown> = {}): Promise<Buffer> {
  const now = Date.now();
  const d = decodeEvent(questionAttempt({ occurred_at: now - 1000 }), now);
  if (!d.ok) throw new Error('fixture does not decode');
  const out = applyServerFields(d.event, {
    receivedAt: now,
    skewMs: 0,
    ipHash: null,
    userAgent: { browser: null, os: null },
  });
  return codec.encode('question-attempts', { ...out.record, ...overrides });
}

let offset = 0;
const letter = (topic: string, value: Buffer | null): DeadLetter => ({
  partition: 0,
  offset: offset++,
  timestamp: Date.now(),
  key: null,
  value,
  headers: {},
  source: { topic, partition: 0, offset: 1 },
  reason: 'test',
  error: 'test',
  processor: 'test',
  failedAt: new Date().toISOString(),
});

beforeAll(async () => {
  iso = isolatedEnv('redrive');
  await provision(iso, { postgres: true, kafka: true });
  pool = createPgPool(iso.cfg);
  codec = new EventCodec(createRegistry(iso.cfg), iso.cfg);
  await codec.registerAll();
  producer = createKafka(iso.cfg, createLogger('test', 'warn'), 'test').producer({ idempotent: true });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await pool?.end();
  if (iso) await teardown(iso);
});

describe('dlq redrive validates like ingest', () => {
  it('refuses a topic that is not an event topic, bytes that are not Avro, and a record ingest would reject', async () => {
    const topic = codec.topicOf('question-attempts');
    const good = await avro();
    expect(await redriveRefusal(codec, letter(`${iso.cfg.KAFKA_TOPIC_PREFIX}dead-letter`, good))).toMatch(
      /not an event topic/,
    );
    expect(await redriveRefusal(codec, letter('__consumer_offsets', good))).toMatch(/not an event topic/);
    expect(await redriveRefusal(codec, letter(topic, Buffer.from('{"user_id":"x"}')))).toMatch(/not Avro/);
    expect(
      await redriveRefusal(codec, letter(topic, Buffer.concat([good.subarray(0, 5), Buffer.from([1, 2])]))),
    ).toMatch(/does not decode/);
    const email = await avro({ question_id: 'jane.doe@example.org' });
    expect(await redriveRefusal(codec, letter(topic, email))).toMatch(
      /fails ingest validation: question_id looks like an e-mail/,
    );
    expect(await redriveRefusal(codec, letter(topic, good))).toBeNull();
  });

  it('redriveOne publishes only what passes, and records nothing for a refusal', async () => {
    const topic = codec.topicOf('question-attempts');
    const refused = await redriveOne(pool, producer, codec, DLQ, letter('some.other.topic', await avro()));
    expect(refused).toMatchObject({ status: 'refused' });
    const ok = await redriveOne(pool, producer, codec, DLQ, letter(topic, await avro()));
    expect(ok).toMatchObject({ status: 'redriven' });
    const { rows } = await pool.query('SELECT source_topic FROM dlq_redrives');
    expect(rows).toEqual([{ source_topic: topic }]);
  });
});
