import { describe, expect, it } from 'vitest';
import { RecordBuffer } from '../../../services/stream/runtime/buffer.ts';
import type { Assignment } from '../../../services/stream/runtime/definition.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import {
  AssignmentState,
  assignmentOf,
  externalPositions,
  seekExternal,
  type SeekExternalDeps,
} from '../../../services/stream/runtime/rebalance.ts';
import { ok } from '../../../services/stream/runtime/step.ts';
import type { InboundRecord } from '../../../services/stream/runtime/types.ts';

/** Rebalance handling on plain data; real group rebalances are exercised by test/integration/processors. */

const policy = { maxRecords: 100, maxWaitMs: 1000, pauseAtRecords: 200 };

function record(offset: number): InboundRecord {
  return {
    topic: 't',
    partition: 0,
    offset: String(offset),
    key: null,
    value: null,
    headers: {},
    timestamp: '0',
  };
}

function setup() {
  const buffer = new RecordBuffer<number>(policy, () => 0);
  const state = new AssignmentState((g) => buffer.reset(g));
  return { buffer, state };
}

describe('assignmentOf', () => {
  it('lists a kafkajs member assignment as topic-partitions', () => {
    expect(assignmentOf({ a: [0, 2], b: [1] })).toEqual([
      { topic: 'a', partitions: [0, 2] },
      { topic: 'b', partitions: [1] },
    ]);
    expect(assignmentOf({})).toEqual([]);
  });
});

describe('AssignmentState', () => {
  it('starts out of the group, at generation 0, with nothing assigned', () => {
    const { state } = setup();
    expect(state.generation).toBe(0);
    expect(state.joined).toBe(false);
    expect(state.assignment).toEqual([]);
    expect(state.isCurrent(0)).toBe(true);
  });

  it('a rebalance starts a new generation and drops what was buffered under the old one', () => {
    const { buffer, state } = setup();
    state.revoke('joined');
    state.join({ t: [0] });
    buffer.add(record(0), ok(0), 'p');
    buffer.add(record(1), ok(1), 'p');
    const inFlight = buffer.take(); // a flush of generation 1 is running
    buffer.add(record(2), ok(2), 'p');

    const r = state.revoke('rebalancing');
    expect(r).toEqual({ generation: 2, droppedRecords: 1, why: 'rebalancing' });
    expect(state.joined).toBe(false);
    expect(buffer.count).toBe(0);
    expect(buffer.generation).toBe(2);
    // the batch in flight belongs to the old generation: it is stale (neither flushed further nor committed)
    expect(state.isCurrent(inFlight.generation)).toBe(false);
    expect(state.isCurrent(2)).toBe(true);
  });

  it('a join keeps its new generation and records the assignment', () => {
    const { buffer, state } = setup();
    buffer.add(record(0), ok(0), 'p');
    expect(state.revoke('joined')).toEqual({ generation: 1, droppedRecords: 1, why: 'joined' });
    state.join({ t: [3, 1] });
    expect(state.joined).toBe(true);
    const expected: Assignment = [{ topic: 't', partitions: [3, 1] }];
    expect(state.assignment).toEqual(expected);
    expect(buffer.generation).toBe(1);
  });

  it('a crash leaves the group without a new generation', () => {
    const { state } = setup();
    state.revoke('joined');
    state.join({ t: [0] });
    state.crashed();
    expect(state.joined).toBe(false);
    expect(state.generation).toBe(1);
  });

  it('generations only grow, one per revocation', () => {
    const { state } = setup();
    const seen = [1, 2, 3, 4].map((i) => state.revoke(i % 2 ? 'rebalancing' : 'joined').generation);
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});

describe('externalPositions', () => {
  it('seeks nowhere for Kafka-stored offsets', async () => {
    expect(await externalPositions(undefined, { t: [0] })).toEqual([]);
    expect(await externalPositions({ mode: 'kafka' }, { t: [0] })).toEqual([]);
  });

  it("asks the external store for the new assignment's positions", async () => {
    const asked: Assignment[] = [];
    const positions = await externalPositions(
      {
        mode: 'external',
        load: (a) => {
          asked.push(a);
          return Promise.resolve(
            a.flatMap((x) => x.partitions.map((p) => ({ topic: x.topic, partition: p, offset: '7' }))),
          );
        },
      },
      { t: [0, 1] },
    );
    expect(asked).toEqual([[{ topic: 't', partitions: [0, 1] }]]);
    expect(positions).toEqual([
      { topic: 't', partition: 0, offset: '7' },
      { topic: 't', partition: 1, offset: '7' },
    ]);
  });

  it('passes a load failure on (seekExternal retries it)', async () => {
    await expect(
      externalPositions({ mode: 'external', load: () => Promise.reject(new Error('pg down')) }, { t: [0] }),
    ).rejects.toThrow('pg down');
  });
});

describe('seekExternal', () => {
  const backoff = { initialMs: 10, maxMs: 40, factor: 2, jitter: 0 };

  /** A store whose first `failures` loads fail (the store down), then answer offset 7 for every partition. */
  function harness(
    failures: number,
    opts: { revokeAfterFailures?: number; stopAfterFailures?: number } = {},
  ) {
    let loads = 0;
    let current = true;
    let stopping = false;
    const sought: Array<{ topic: string; partition: number; offset: string }> = [];
    const waits: number[] = [];
    const deps: SeekExternalDeps = {
      store: {
        mode: 'external',
        load: (a) => {
          loads += 1;
          if (loads <= failures) {
            if (loads === opts.revokeAfterFailures) current = false;
            if (loads === opts.stopAfterFailures) stopping = true;
            return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:15432'));
          }
          return Promise.resolve(
            a.flatMap((x) => x.partitions.map((p) => ({ topic: x.topic, partition: p, offset: '7' }))),
          );
        },
      },
      seek: (p) => sought.push(p),
      isCurrent: () => current,
      stopping: () => stopping,
      backoff,
      wait: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      log: createLogger('test', 'silent'),
    };
    return { deps, sought, waits, loads: () => loads };
  }

  it('regression: a load failing while the store is down is retried until it succeeds, then every partition is sought', async () => {
    // The runtime used to call consumer.stop() on the first failure: a stopped kafkajs consumer never rejoins, so a
    // rebalance during a PostgreSQL restart silenced the mastery processor for good (cluster postgres-restart).
    const h = harness(3);
    expect(await seekExternal(h.deps, { t: [0, 1] })).toBe('seeked');
    expect(h.loads()).toBe(4);
    expect(h.waits).toEqual([10, 20, 40]);
    expect(h.sought).toEqual([
      { topic: 't', partition: 0, offset: '7' },
      { topic: 't', partition: 1, offset: '7' },
    ]);
  });

  it('stops retrying, and seeks nothing, once the assignment is revoked (the next join loads again)', async () => {
    const h = harness(5, { revokeAfterFailures: 2 });
    expect(await seekExternal(h.deps, { t: [0] })).toBe('revoked');
    expect(h.loads()).toBe(2);
    expect(h.sought).toEqual([]);
  });

  it('stops retrying at shutdown', async () => {
    const h = harness(5, { stopAfterFailures: 1 });
    expect(await seekExternal(h.deps, { t: [0] })).toBe('stopping');
    expect(h.loads()).toBe(1);
    expect(h.sought).toEqual([]);
  });

  it('seeks nothing, without asking anything, for Kafka-stored offsets', async () => {
    const h = harness(0);
    expect(await seekExternal({ ...h.deps, store: { mode: 'kafka' } }, { t: [0] })).toBe('seeked');
    expect(h.loads()).toBe(0);
    expect(h.sought).toEqual([]);
  });
});
