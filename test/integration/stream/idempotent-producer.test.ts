import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotentProducer } from '../../../services/shared/idempotent-producer.ts';
import { createKafka, Kafka } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { isolatedEnv, teardown } from '../../support/isolated.ts';

/**
 * The broker writes a produce request and the client never hears back: what a SIGKILLed partition leader does to
 * the requests it appended (and replicated) before dying, and what broke ingest in the cluster test of 2026-12-06
 * (seconds of immediate 503s after the failover). Every connection of the client goes through a proxy that, while
 * `dropping` is on, swallows the broker's answer and closes the connection, so kafkajs' send fails after the
 * records were appended.
 */
async function lossyProxy(brokerPort: number) {
  const state = { dropping: false, dropped: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: brokerPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!state.dropping) return void client.write(d);
      state.dropped++;
      client.destroy();
      upstream.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const kafka = new Kafka({
    clientId: 'lossy',
    brokers: [`127.0.0.1:${brokerPort}`],
    retry: { initialRetryTime: 50, retries: 2 },
    logLevel: 0,
    socketFactory: ({ onConnect }) => net.connect({ host: '127.0.0.1', port }, onConnect),
  });
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return { kafka, state, close };
}

type Sender = {
  send(r: { topic: string; acks: number; messages: Array<{ value: string }> }): Promise<unknown>;
};

/** Stored values of the topic's only partition, in offset order. */
async function storedValues(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const [p] = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const end = Number(p!.high);
  const values: string[] = [];
  if (end === 0) return values;
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${values.length} of ${end} records`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!.toString());
        if (Number(message.offset) === end - 1) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return values;
}

describe('idempotent producer: a send that failed after the broker wrote it', () => {
  const iso = isolatedEnv('idem');
  const log = createLogger('test', 'warn');
  const kafka = createKafka(iso.cfg, log, 'test');
  const brokerPort = Number(iso.cfg.KAFKA_BROKERS[0]!.split(':')[1]);
  const topicOf = (name: string) => `${iso.cfg.KAFKA_TOPIC_PREFIX}${name}`;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: ['kafkajs', 'renewed'].map((n) => ({ topic: topicOf(n), numPartitions: 1 })),
    });
    await admin.disconnect();
  });
  afterAll(() => teardown(iso));

  /** A, then B through a lost answer (rejected), then D1+D2 and C: what each send answered. */
  async function scenario(producer: Sender, state: { dropping: boolean; dropped: number }, topic: string) {
    const send = (...values: string[]) =>
      producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) }).then(
        () => 'ok',
        (err: Error) => `${err.name}: ${err.message}`,
      );
    const a = await send('A');
    state.dropping = true;
    const b = await send('B');
    state.dropping = false;
    expect(state.dropped).toBeGreaterThan(0);
    const d = await send('D1', 'D2');
    const c = await send('C');
    return { a, b, d, c };
  }

  it('kafkajs alone reuses the failed sequence numbers: a batch fails out of order, the next is acknowledged and dropped', async () => {
    const { kafka: lossy, state, close } = await lossyProxy(brokerPort);
    const producer = lossy.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const topic = topicOf('kafkajs');
      const answers = await scenario(producer, state, topic);
      expect(answers.a).toBe('ok');
      expect(answers.b).not.toBe('ok');
      expect(answers.d).toMatch(/out of order sequence number/);
      expect(answers.c).toBe('ok');
      // B was written by its first attempt; C, acknowledged, is not in the topic.
      expect(await storedValues(kafka, topic)).toEqual(['A', 'B']);
    } finally {
      await producer.disconnect();
      await close();
    }
  });

  it('IdempotentProducer starts over under a new producer id: every acknowledged record is stored', async () => {
    const { kafka: lossy, state, close } = await lossyProxy(brokerPort);
    const producer = new IdempotentProducer(lossy, { maxInFlightRequests: 1 }, { log });
    await producer.connect();
    try {
      const topic = topicOf('renewed');
      const answers = await scenario(producer, state, topic);
      expect(answers).toEqual({ a: 'ok', b: expect.not.stringMatching(/^ok$/), d: 'ok', c: 'ok' });
      expect(producer.renewals).toBe(1);
      // B, whose send failed, is there too (at least once: its sender re-sends it and downstream dedupes).
      expect(await storedValues(kafka, topic)).toEqual(['A', 'B', 'D1', 'D2', 'C']);
    } finally {
      await producer.disconnect();
      await close();
    }
  });
});
