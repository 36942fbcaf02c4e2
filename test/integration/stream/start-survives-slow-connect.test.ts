import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Kafka } from '../../../services/shared/kafka.ts';
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

const SEED_HOST = 'seed.studystream.invalid';

/**
 * A Kafka client whose bootstrap address differs from the broker's advertised one, so the broker found in the
 * metadata gets a connection of its own, and whose first `stalls` connections to the advertised address never
 * complete: kafkajs sees a "Connection timeout", as it did on the busy machine of the cluster run where a
 * processor instance died at start-up (a connect that completed while the event loop stalled timed out anyway).
 * Every connection goes to the real broker; only the first attempts to reach it are held back.
 */
function kafkaWithStalledConnects(brokers: string[], stalls: number) {
  const stalled: string[] = [];
  const kafka = new Kafka({
    clientId: 'slow-connect',
    brokers: brokers.map((b) => `${SEED_HOST}:${b.split(':')[1]}`),
    connectionTimeout: 300,
    retry: { initialRetryTime: 100, retries: 3 },
    logLevel: 0,
    socketFactory: ({ host, port, onConnect }) => {
      if (host !== SEED_HOST && stalled.length < stalls) {
        stalled.push(`${host}:${port}`);
        return new net.Socket(); // never connected: kafkajs times the attempt out
      }
      return net.connect({ host: '127.0.0.1', port }, onConnect);
    },
  });
  return { kafka, stalled };
}

describe('stream runtime: start-up against a broker slow to accept connections', () => {
  const iso = isolatedEnv('slowconn');
  const harnessOf = harnessHooks(iso);

  it('kafkajs alone gives up an idempotent producer connect on one connection timeout', async () => {
    const { kafka, stalled } = kafkaWithStalledConnects(iso.cfg.KAFKA_BROKERS, 1);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await expect(producer.connect()).rejects.toMatchObject({ name: 'KafkaJSConnectionError' });
      expect(stalled).toHaveLength(1);
    } finally {
      await producer.disconnect();
    }
  });

  it('a processor starts through connection timeouts and then stores every event once', async () => {
    const h = harnessOf();
    const { events, expected } = makeEvents({
      users: 4,
      perUser: 40,
      startMs: Date.UTC(2025, 6, 1),
      spanDays: 5,
    });
    await publishInChunks(h, events);
    const { kafka, stalled } = kafkaWithStalledConnects(iso.cfg.KAFKA_BROKERS, 3);
    const group = `${iso.id}-sink`;
    const sink = await startSink(h, group, kafka);
    try {
      expect(stalled.length).toBe(3);
      await waitFor('sink caught up', () => caughtUp(h, group), 60_000);
    } finally {
      await sink.stop();
    }
    const o = await observed(h.clickhouse);
    for (const [table, n] of Object.entries(expected.perTable))
      expect(o.raw[table], table).toEqual({ rows: n, events: n });
  });
});
