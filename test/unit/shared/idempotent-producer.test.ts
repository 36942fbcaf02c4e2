import type { Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { IdempotentProducer } from '../../../services/shared/idempotent-producer.ts';
import { createLogger } from '../../../services/shared/logger.ts';

/**
 * The replacement logic alone, with scripted stand-ins for kafkajs producers (what Kafka does with the sequence
 * numbers is tested on the real broker: test/integration/stream/idempotent-producer.test.ts).
 */
type Script = { connect?: () => Promise<void>; send?: (n: number) => Promise<void> };

function scripted(scripts: Script[]) {
  const made: Array<{
    id: number;
    sends: number[];
    connected: boolean;
    disconnected: boolean;
    idempotent: boolean;
  }> = [];
  const kafka = {
    producer: (config: { idempotent?: boolean }) => {
      const id = made.length;
      const script = scripts[id] ?? {};
      const state = {
        id,
        sends: [] as number[],
        connected: false,
        disconnected: false,
        idempotent: !!config.idempotent,
      };
      made.push(state);
      const send = async (n: number) => {
        state.sends.push(n);
        await script.send?.(n);
        return [];
      };
      return {
        connect: async () => {
          await script.connect?.();
          state.connected = true;
        },
        disconnect: async () => {
          state.disconnected = true;
        },
        sendBatch: (b: { topicMessages: Array<{ messages: unknown[] }> }) =>
          send(b.topicMessages[0]!.messages.length),
        send: (r: { messages: unknown[] }) => send(r.messages.length),
      } as unknown as Producer;
    },
  } as unknown as Kafka;
  return { kafka, made };
}

const log = createLogger('test', 'silent');
const batch = (n: number) => ({
  topicMessages: [{ topic: 't', messages: Array.from({ length: n }, () => ({ value: 'x' })) }],
});

describe('IdempotentProducer', () => {
  it('keeps one producer while sends succeed, and asks kafkajs for an idempotent one', async () => {
    const { kafka, made } = scripted([]);
    const p = new IdempotentProducer(kafka, {}, { log });
    await p.connect();
    await p.sendBatch(batch(1));
    await p.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] });
    expect(made.map((m) => m.sends)).toEqual([[1, 2]]);
    expect(made[0]!.idempotent).toBe(true);
    expect(p.renewals).toBe(0);
  });

  it('after a failed send, the next one goes through a new producer and the failed one is disconnected', async () => {
    let renewed = 0;
    const { kafka, made } = scripted([
      { send: (n) => (n === 2 ? Promise.reject(new Error('lost answer')) : Promise.resolve()) },
    ]);
    const p = new IdempotentProducer(kafka, {}, { log, onRenewal: () => renewed++ });
    await p.connect();
    await p.sendBatch(batch(1));
    await expect(p.sendBatch(batch(2))).rejects.toThrow('lost answer');
    expect(made).toHaveLength(1); // replaced lazily, by the next send
    await p.sendBatch(batch(3));
    expect(made.map((m) => [m.sends, m.connected, m.disconnected])).toEqual([
      [[1, 2], true, true],
      [[3], true, false],
    ]);
    expect([p.renewals, renewed]).toEqual([1, 1]);
  });

  it('a replacement that cannot connect fails the send and is tried again by the next one', async () => {
    const { kafka, made } = scripted([
      { send: () => Promise.reject(new Error('broker gone')) },
      { connect: () => Promise.reject(new Error('no broker')) },
      {},
    ]);
    const p = new IdempotentProducer(kafka, {}, { log });
    await p.connect();
    await expect(p.sendBatch(batch(1))).rejects.toThrow('broker gone');
    await expect(p.sendBatch(batch(2))).rejects.toThrow('no broker');
    await p.sendBatch(batch(3));
    expect(made.map((m) => m.sends)).toEqual([[1], [], [3]]);
    expect(made[1]!.disconnected).toBe(true);
    expect(p.renewals).toBe(1);
  });

  it('runs sends one at a time, in call order, so no send is in flight on a producer being replaced', async () => {
    const gates: Array<() => void> = [];
    const order: string[] = [];
    const { kafka, made } = scripted([
      {
        send: (n) => {
          order.push(`start ${n}`);
          return new Promise<void>((resolve, reject) =>
            gates.push(() => {
              order.push(`end ${n}`);
              if (n === 1) reject(new Error('failed'));
              else resolve();
            }),
          );
        },
      },
      { send: (n) => (order.push(`new ${n}`), Promise.resolve()) },
    ]);
    const p = new IdempotentProducer(kafka, {}, { log });
    await p.connect();
    const first = p.sendBatch(batch(1)).catch((e: Error) => e.message);
    const second = p.sendBatch(batch(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['start 1']); // the second waits for the first
    gates.shift()!();
    expect(await first).toBe('failed');
    await second;
    expect(order).toEqual(['start 1', 'end 1', 'new 2']);
    expect(made[0]!.disconnected).toBe(true);
  });

  it('disconnect waits for the send in flight', async () => {
    let release = () => {};
    const { kafka, made } = scripted([{ send: () => new Promise<void>((r) => (release = r)) }]);
    const p = new IdempotentProducer(kafka, {}, { log });
    await p.connect();
    const sending = p.sendBatch(batch(1));
    const closing = p.disconnect();
    await new Promise((r) => setTimeout(r, 10));
    expect(made[0]!.disconnected).toBe(false);
    release();
    await sending;
    await closing;
    expect(made[0]!.disconnected).toBe(true);
  });
});
