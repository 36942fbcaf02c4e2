import { describe, expect, it } from 'vitest';
import { RecordBuffer } from '../../../services/stream/runtime/buffer.ts';
import type { Assignment } from '../../../services/stream/runtime/definition.ts';
import {
  AssignmentState,
  assignmentOf,
  externalPositions,
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

  it('passes a load failure on (the runtime restarts the consumer)', async () => {
    await expect(
      externalPositions({ mode: 'external', load: () => Promise.reject(new Error('pg down')) }, { t: [0] }),
    ).rejects.toThrow('pg down');
  });
});
