import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import {
  FetchLoop,
  toInbound,
  type FetchedBatch,
  type FetchLoopDeps,
} from '../../../services/stream/runtime/fetch-loop.ts';
import { drop, ok, type StepResult } from '../../../services/stream/runtime/step.ts';
import type { InboundRecord } from '../../../services/stream/runtime/types.ts';

/**
 * The fetch loop's logic on plain fetched batches (the shape kafkajs hands to eachBatch); fetching from a real
 * broker is exercised by test/integration/stream and test/integration/processors.
 */

const log = createLogger('test', 'silent');

function message(offset: number): KafkaMessage {
  return {
    key: Buffer.from(`u${offset}`),
    value: Buffer.from(`v${offset}`),
    timestamp: String(1_700_000_000_000 + offset),
    attributes: 0,
    offset: String(offset),
    headers: { trace: `h${offset}` },
  };
}

type Harness = {
  loop: FetchLoop<string>;
  /** The loop's dependencies, to build a variant with one of them replaced. */
  deps: FetchLoopDeps<string>;
  added: Array<[string, StepResult<string>]>;
  resolved: string[];
  fetched: Array<[string, number, string]>;
  consumed: Array<[string, number]>;
  waits: number[];
  calls: { heartbeat: number; idle: number };
  state: { generation: number; stopping: boolean; stale: boolean };
};

function harness(
  decode: FetchLoopDeps<string>['decode'],
  overrides: Partial<FetchLoopDeps<string>> = {},
): Harness {
  const h: Omit<Harness, 'loop' | 'deps'> = {
    added: [],
    resolved: [],
    fetched: [],
    consumed: [],
    waits: [],
    calls: { heartbeat: 0, idle: 0 },
    state: { generation: 1, stopping: false, stale: false },
  };
  const deps: FetchLoopDeps<string> = {
    decode,
    add: (record, result) => h.added.push([record.offset, result]),
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    log,
    generation: () => h.state.generation,
    stopping: () => h.state.stopping,
    waitToRetry: (ms) => {
      h.waits.push(ms);
      return Promise.resolve();
    },
    fetched: (topic, partition, hw) => h.fetched.push([topic, partition, hw]),
    consumed: (topic, n) => h.consumed.push([topic, n]),
    idle: () => (h.calls.idle += 1),
    ...overrides,
  };
  return { ...h, deps, loop: new FetchLoop<string>(deps) };
}

function payload(h: Omit<Harness, 'loop' | 'deps'>, offsets: number[]): FetchedBatch {
  return {
    batch: { topic: 't', partition: 3, highWatermark: '100', messages: offsets.map(message) },
    resolveOffset: (o) => h.resolved.push(o),
    heartbeat: () => {
      h.calls.heartbeat += 1;
      return Promise.resolve();
    },
    isRunning: () => true,
    isStale: () => h.state.stale,
  };
}

describe('toInbound', () => {
  it('keeps the coordinates, bytes, headers and timestamp', () => {
    const r = toInbound('t', 3, message(5));
    expect(r).toEqual({
      topic: 't',
      partition: 3,
      offset: '5',
      key: Buffer.from('u5'),
      value: Buffer.from('v5'),
      headers: { trace: 'h5' },
      timestamp: '1700000000005',
    });
  });
  it('fills absent keys, values and headers', () => {
    const m: KafkaMessage = { key: null, value: null, timestamp: '1', attributes: 0, offset: '0', size: 0 };
    expect(toInbound('t', 0, m)).toMatchObject({ key: null, value: null, headers: {} });
  });
});

describe('FetchLoop', () => {
  it('takes every record in, in order, with its step result, then reports the batch', async () => {
    const h = harness((r) => (r.offset === '11' ? drop('test traffic') : ok(r.value!.toString())));
    await h.loop.eachBatch(payload(h, [10, 11, 12]));
    expect(h.added).toEqual([
      ['10', ok('v10')],
      ['11', drop('test traffic')],
      ['12', ok('v12')],
    ]);
    expect(h.resolved).toEqual(['10', '11', '12']);
    expect(h.fetched).toEqual([['t', 3, '100']]);
    expect(h.consumed).toEqual([['t', 3]]);
    expect(h.calls).toEqual({ heartbeat: 1, idle: 1 });
    expect(h.loop.activeBatches).toBe(0);
  });

  it('retries a throwing decode on the same record with backoff, never skipping it', async () => {
    let failures = 0;
    const h = harness(async (r) => {
      if (r.offset === '1' && failures < 3) {
        failures += 1;
        throw new Error('registry unreachable');
      }
      return ok(r.offset);
    });
    await h.loop.eachBatch(payload(h, [0, 1, 2]));
    expect(h.added.map(([o]) => o)).toEqual(['0', '1', '2']);
    expect(h.resolved).toEqual(['0', '1', '2']);
    expect(h.waits).toEqual([100, 200, 400]);
    expect(h.calls.heartbeat).toBe(3 + 1); // one per retry, one at the end
  });

  it('also retries a decode that throws synchronously', async () => {
    let thrown = false;
    const h = harness((r) => {
      if (!thrown) {
        thrown = true;
        throw new Error('transient');
      }
      return ok(r.offset);
    });
    await h.loop.eachBatch(payload(h, [0]));
    expect(h.added).toEqual([['0', ok('0')]]);
    expect(h.waits).toEqual([100]);
  });

  it('stops taking records in once the generation is revoked', async () => {
    const h = harness((r) => ok(r.offset));
    const add = (record: InboundRecord, result: StepResult<string>) => {
      h.added.push([record.offset, result]);
      if (record.offset === '1') h.state.generation += 1; // a rebalance while the batch is taken in
    };
    const loop = new FetchLoop<string>({ ...h.deps, add });
    await loop.eachBatch(payload(h, [0, 1, 2, 3]));
    expect(h.added.map(([o]) => o)).toEqual(['0', '1']);
    // offset 1 was added under the old generation and resolved; the rest is fetched again after the rejoin
    expect(h.resolved).toEqual(['0', '1']);
  });

  it('drops a record whose async decode finishes after a revocation', async () => {
    const h = harness(async (r) => {
      if (r.offset === '1') h.state.generation += 1;
      return ok(r.offset);
    });
    await h.loop.eachBatch(payload(h, [0, 1, 2]));
    expect(h.added.map(([o]) => o)).toEqual(['0']);
    expect(h.resolved).toEqual(['0']);
    expect(h.consumed).toEqual([['t', 2]]);
  });

  it('gives up a retried record at shutdown without adding it', async () => {
    const h = harness(() => Promise.reject(new Error('registry unreachable')));
    const loop = new FetchLoop<string>({
      ...h.deps,
      waitToRetry: (ms) => {
        h.waits.push(ms);
        h.state.stopping = true;
        return Promise.resolve();
      },
    });
    await loop.eachBatch(payload(h, [0, 1]));
    expect(h.added).toEqual([]);
    expect(h.resolved).toEqual([]);
    expect(h.waits).toEqual([100]);
  });

  it('takes nothing in while stopping or when kafkajs says the batch is stale', async () => {
    const stopping = harness((r) => ok(r.offset));
    stopping.state.stopping = true;
    await stopping.loop.eachBatch(payload(stopping, [0, 1]));
    expect(stopping.added).toEqual([]);
    expect(stopping.consumed).toEqual([]); // nothing consumed: the metric is not touched
    expect(stopping.fetched).toEqual([['t', 3, '100']]);

    const stale = harness((r) => ok(r.offset));
    stale.state.stale = true;
    await stale.loop.eachBatch(payload(stale, [0, 1]));
    expect(stale.added).toEqual([]);
  });

  it('yields to the event loop every N records and still takes all of them in', async () => {
    const h = harness((r) => ok(r.offset), { yieldEvery: 2 });
    let timerRan = false;
    setImmediate(() => (timerRan = true));
    await h.loop.eachBatch(payload(h, [0, 1, 2, 3, 4]));
    expect(timerRan).toBe(true);
    expect(h.resolved).toEqual(['0', '1', '2', '3', '4']);
  });

  it('counts what it consumed even when the buffer throws, and reports idle', async () => {
    const h = harness((r) => ok(r.offset));
    const loop = new FetchLoop<string>({
      ...h.deps,
      add: () => {
        throw new Error('out of memory');
      },
    });
    await expect(loop.eachBatch(payload(h, [0, 1]))).rejects.toThrow('out of memory');
    expect(h.consumed).toEqual([['t', 1]]);
    expect(h.fetched).toEqual([]);
    expect(h.calls.idle).toBe(1);
    expect(loop.activeBatches).toBe(0);
  });
});
