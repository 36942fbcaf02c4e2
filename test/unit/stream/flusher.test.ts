import { EventEmitter } from 'node:events';
import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { BackPressure, PendingBatch } from '../../../services/stream/runtime/buffer.ts';
import type { ProcessorEvents } from '../../../services/stream/runtime/definition.ts';
import { Flusher, type FlusherDeps } from '../../../services/stream/runtime/flusher.ts';
import { runtimeMetrics } from '../../../services/stream/runtime/metrics.ts';
import { dlq, drop, ok } from '../../../services/stream/runtime/step.ts';
import type {
  FlushBatch,
  InboundRecord,
  TopicPartitionOffset,
} from '../../../services/stream/runtime/types.ts';

/**
 * Flushing a taken batch, on plain data: the order dead letters → effect → commit, retries, abandonment and
 * revocation. The real dead-letter topic and stores are exercised by test/integration/stream (dead-letter.test.ts,
 * sink-survives-clickhouse-outage.test.ts).
 */

const log = createLogger('test', 'silent');
const policy = { maxRecords: 100, maxWaitMs: 1000, pauseAtRecords: 200 };

function record(offset: number, partition = 0): InboundRecord {
  return {
    topic: 't',
    partition,
    offset: String(offset),
    key: null,
    value: Buffer.from(`v${offset}`),
    headers: {},
    timestamp: String(Date.now() - 1000),
  };
}

function batchOf(generation: number, kinds: Array<'ok' | 'dlq' | 'drop'>): PendingBatch<number> {
  const b = new PendingBatch<number>(generation);
  kinds.forEach((k, i) =>
    b.add(record(i), k === 'ok' ? ok(i) : k === 'dlq' ? dlq('undecodable') : drop('test traffic'), 'p'),
  );
  return b;
}

type Steps = { effectFailures?: number; deadLetterFailures?: number };

function setup(steps: Steps = {}, overrides: Partial<FlusherDeps<number>> = {}) {
  const calls: string[] = [];
  const effects: FlushBatch<number>[] = [];
  const sent: Message[][] = [];
  const committed: Array<[TopicPartitionOffset[], number]> = [];
  const events = new EventEmitter<ProcessorEvents>();
  const failed: ProcessorEvents['flush_failed'][0][] = [];
  const flushed: ProcessorEvents['flush'][0][] = [];
  events.on('flush_failed', (f) => failed.push(f));
  events.on('flush', (f) => flushed.push(f));
  const registry = new Registry();
  const backPressure = new BackPressure(policy);
  const storeDownSeen: boolean[] = [];
  let effectFailures = steps.effectFailures ?? 0;
  let deadLetterFailures = steps.deadLetterFailures ?? 0;
  const flusher = new Flusher<number>({
    name: 'p',
    handleBatch: (batch) => {
      calls.push('effect');
      if (effectFailures-- > 0) return Promise.reject(new Error('store down'));
      effects.push(batch);
      return Promise.resolve();
    },
    sendDeadLetters: (messages) => {
      calls.push('dead letters');
      if (deadLetterFailures-- > 0) return Promise.reject(new Error('broker down'));
      sent.push(messages);
      return Promise.resolve();
    },
    external: false,
    commitToKafka: true,
    commits: {
      commit: (positions, generation) => {
        calls.push('commit');
        committed.push([positions, generation]);
        return Promise.resolve('committed' as const);
      },
    },
    isCurrent: (g) => g === 1,
    abandoning: () => false,
    backPressure,
    applyBackPressure: () => storeDownSeen.push(backPressure.storeDown),
    backoff: { initialMs: 10, maxMs: 100, factor: 2, jitter: 0 },
    wait: () => Promise.resolve(),
    events,
    log,
    metrics: runtimeMetrics(registry),
    labels: { processor: 'p' },
    ...overrides,
  });
  const values = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
  return { flusher, calls, effects, sent, committed, failed, flushed, backPressure, storeDownSeen, values };
}

describe('Flusher', () => {
  it('sends dead letters, then runs the effect, then commits the positions of every record', async () => {
    const s = setup();
    const batch = batchOf(1, ['ok', 'dlq', 'drop', 'ok']);
    expect(await s.flusher.flush(batch, 'size')).toBe('flushed');
    expect(s.calls).toEqual(['dead letters', 'effect', 'commit']);
    expect(s.sent[0]!.map((m) => m.value)).toEqual([Buffer.from('v1')]);
    expect(s.effects[0]!.items.map((i) => i.value)).toEqual([0, 3]);
    expect(s.effects[0]!.positions).toEqual([{ topic: 't', partition: 0, offset: '4' }]);
    expect(s.effects[0]!.generation).toBe(1);
    expect(s.committed).toEqual([[[{ topic: 't', partition: 0, offset: '4' }], 1]]);
    expect(s.flushed).toEqual([
      { records: 4, ok: 2, deadLettered: 1, dropped: 1, reason: 'size', ms: expect.any(Number) },
    ]);
    const processed = await s.values('stream_records_processed_total');
    expect(processed.map((v) => [v.labels.result, v.value])).toEqual([
      ['ok', 2],
      ['dlq', 1],
      ['drop', 1],
    ]);
    expect((await s.values('stream_records_dead_lettered_total'))[0]).toMatchObject({
      labels: { reason: 'undecodable' },
      value: 1,
    });
  });

  it('skips the steps with nothing to do but still commits the positions (all dropped)', async () => {
    const s = setup();
    await s.flusher.flush(batchOf(1, ['drop', 'drop']), 'time');
    expect(s.calls).toEqual(['commit']);
    expect(s.committed[0]![0]).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
  });

  it('runs the effect of an external offset store even without ok records (it writes the positions)', async () => {
    const s = setup({}, { external: true, commitToKafka: false });
    await s.flusher.flush(batchOf(1, ['drop']), 'time');
    expect(s.calls).toEqual(['effect']);
    expect(s.effects[0]!.items).toEqual([]);
    expect(s.effects[0]!.positions).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
  });

  it('retries a failing effect with backoff while the store is down, without re-sending dead letters', async () => {
    const s = setup({ effectFailures: 2 });
    expect(await s.flusher.flush(batchOf(1, ['dlq', 'ok']), 'size')).toBe('flushed');
    expect(s.calls).toEqual(['dead letters', 'effect', 'effect', 'effect', 'commit']);
    expect(s.failed.map((f) => [f.attempt, f.delayMs, f.error.message])).toEqual([
      [0, 10, 'store down'],
      [1, 20, 'store down'],
    ]);
    expect(s.storeDownSeen).toEqual([true, true]); // fetching paused at each failure
    expect(s.backPressure.storeDown).toBe(false); // reachable again once the batch is durable
    expect((await s.values('stream_batch_flush_failures_total'))[0]!.value).toBe(2);
  });

  it('retries failing dead letters before running the effect', async () => {
    const s = setup({ deadLetterFailures: 1 });
    await s.flusher.flush(batchOf(1, ['dlq', 'ok']), 'size');
    expect(s.calls).toEqual(['dead letters', 'dead letters', 'effect', 'commit']);
  });

  it('abandons a failing batch uncommitted once the shutdown grace is over', async () => {
    const s = setup({ effectFailures: 99 }, { abandoning: () => true });
    expect(await s.flusher.flush(batchOf(1, ['ok']), 'shutdown')).toBe('abandoned');
    expect(s.calls).toEqual(['effect']);
    expect(s.committed).toEqual([]);
    expect(s.flushed).toEqual([]);
  });

  it('gives up a batch of a revoked generation without running its effect or committing', async () => {
    const s = setup();
    expect(await s.flusher.flush(batchOf(0, ['ok']), 'size')).toBe('revoked');
    expect(s.calls).toEqual([]);
  });

  /** A batch of generation 1 whose effect fails once; the generation is revoked while the flusher waits to retry. */
  async function revokedWhileRetrying() {
    let current = 1;
    const revokeWhileWaiting = () => {
      current = 2;
      return Promise.resolve();
    };
    const s = setup({ effectFailures: 1 }, { isCurrent: (g) => g === current, wait: revokeWhileWaiting });
    expect(await s.flusher.flush(batchOf(1, ['ok']), 'size')).toBe('revoked');
    return s;
  }

  it('gives up between retries when the generation is revoked meanwhile', async () => {
    const s = await revokedWhileRetrying();
    expect(s.calls).toEqual(['effect']);
    expect(s.committed).toEqual([]);
  });

  it('regression: a batch revoked while the store is down does not leave fetching paused for good', async () => {
    // A rebalance (e.g. the group coordinator moving to another broker) while PostgreSQL restarted: the failing batch
    // was given up with storeDown still set, the processor's buffer was empty after the rejoin, so no flush ever
    // ran to clear it and the paused partitions were never resumed (cluster postgres-restart after broker-kill).
    const s = await revokedWhileRetrying();
    expect(s.storeDownSeen).toEqual([true]); // paused at the failure
    expect(s.backPressure.storeDown).toBe(false);
    // Nothing buffered, the store not known down: the wanted state is fetching (force: as re-asserted at a rejoin).
    expect(s.backPressure.wanted({ joined: true, stopping: false, buffered: 0, inFlight: 0 }, true)).toBe(
      false,
    );
  });

  it('commits nothing to Kafka when the external store opts out', async () => {
    const s = setup({}, { commitToKafka: false });
    await s.flusher.flush(batchOf(1, ['ok']), 'size');
    expect(s.calls).toEqual(['effect']);
  });
});
