import { describe, expect, it } from 'vitest';
import { topicNames } from '../../../services/shared/kafka.ts';
import { DLQ_HEADERS } from '../../../services/stream/runtime/dead-letter.ts';
import { isolatedEnv } from '../../support/isolated.ts';
import {
  caughtUp,
  harnessHooks,
  makeEvents,
  observed,
  publishInChunks,
  startSink,
  waitFor,
} from './support.ts';

/** A record that is not Avro lands in the dead-letter topic with its origin; the sink goes on with the rest. */
describe('clickhouse-sink: dead-lettering', () => {
  const iso = isolatedEnv('dlq');
  const harnessOf = harnessHooks(iso);

  it('dead-letters a non-Avro record with its original bytes and origin, and stores the valid ones', async () => {
    const h = harnessOf();
    const names = topicNames(iso.cfg);
    const { events, expected } = makeEvents({
      users: 3,
      perUser: 30,
      startMs: Date.UTC(2025, 4, 1),
      spanDays: 3,
    });
    await publishInChunks(h, events.slice(0, 45));
    const raw = h.kafka.producer();
    await raw.connect();
    const [meta] = await raw.send({
      topic: names['study-events'],
      messages: [{ key: 'stu-0', value: Buffer.from('{"json":"not avro"}') }],
    });
    await raw.disconnect();
    await publishInChunks(h, events.slice(45));

    const group = `${iso.id}-sink`;
    const sink = await startSink(h, group);
    try {
      await waitFor('sink caught up', () => caughtUp(h, group), 60_000);
    } finally {
      await sink.stop();
    }
    const o = await observed(h.clickhouse);
    for (const [table, n] of Object.entries(expected.perTable)) expect(o.raw[table]!.events, table).toBe(n);

    const consumer = h.kafka.consumer({ groupId: `${iso.id}-dlq-reader` });
    const received: Array<{ value: string; headers: Record<string, string> }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: names.deadLetter, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        received.push({ value: message.value!.toString(), headers });
      },
    });
    try {
      await waitFor('dead letter', async () => received.length > 0, 30_000);
    } finally {
      await consumer.disconnect();
    }
    expect(received).toHaveLength(1);
    expect(received[0]!.value).toBe('{"json":"not avro"}');
    expect(received[0]!.headers).toMatchObject({
      [DLQ_HEADERS.topic]: names['study-events'],
      [DLQ_HEADERS.partition]: String(meta!.partition),
      [DLQ_HEADERS.offset]: meta!.baseOffset,
      [DLQ_HEADERS.reason]: 'not_avro',
      [DLQ_HEADERS.processor]: 'clickhouse-sink',
    });
    expect(received[0]!.headers[DLQ_HEADERS.error]).toMatch(/wire format/);
  });
});
