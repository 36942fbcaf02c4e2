import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackPressure, PendingBatch, RecordBuffer } from '../../../services/stream/runtime/buffer.ts';
import type { BatchPolicyOptions } from '../../../services/stream/runtime/batching.ts';
import { DLQ_HEADERS } from '../../../services/stream/runtime/dead-letter.ts';
import { dlq, drop, ok } from '../../../services/stream/runtime/step.ts';
import type { InboundRecord } from '../../../services/stream/runtime/types.ts';

/** The buffer and back-pressure on plain records; the real consumer's pause/resume is exercised by the
 * integration tests (test/integration/stream/sink-survives-clickhouse-outage.test.ts). */

const policy: BatchPolicyOptions = { maxRecords: 3, maxWaitMs: 1000, pauseAtRecords: 5 };

function record(offset: number, partition = 0, topic = 't'): InboundRecord {
  return {
    topic,
    partition,
    offset: String(offset),
    key: Buffer.from('u1'),
    value: Buffer.from(`v${offset}`),
    headers: { h: 'x' },
    timestamp: '1700000000000',
  };
}

describe('PendingBatch', () => {
  it('sorts records by step result and tracks the positions of all of them', () => {
    let now = 100;
    const b = new PendingBatch<string>(7, () => now);
    b.add(record(0), ok('a'), 'proc');
    now = 200;
    b.add(record(1), dlq('undecodable', new Error('bad magic byte')), 'proc');
    b.add(record(2), drop('test traffic'), 'proc');
    b.add(record(3), drop('test traffic'), 'proc');
    b.add(record(4), drop('other'), 'proc');
    b.add(record(5, 1), ok('b'), 'proc');
    expect(b.generation).toBe(7);
    expect(b.count).toBe(6);
    expect(b.oldestAt).toBe(100); // the first record's arrival, not the last
    expect(b.items.map((i) => [i.record.offset, i.value])).toEqual([
      ['0', 'a'],
      ['5', 'b'],
    ]);
    expect(b.deadLetters).toHaveLength(1);
    expect(b.deadLetters[0]!.reason).toBe('undecodable');
    const headers = b.deadLetters[0]!.message.headers!;
    expect(headers[DLQ_HEADERS.processor]).toBe('proc');
    expect(headers[DLQ_HEADERS.offset]).toBe('1');
    expect(b.deadLetters[0]!.message.value).toEqual(Buffer.from('v1'));
    expect([...b.dropped]).toEqual([
      ['test traffic', 2],
      ['other', 1],
    ]);
    expect(b.droppedCount()).toBe(3);
    expect(b.positions.toList()).toEqual([
      { topic: 't', partition: 0, offset: '5' },
      { topic: 't', partition: 1, offset: '6' },
    ]);
  });
});

describe('RecordBuffer', () => {
  it('flushes by size, by time, and at shutdown; tells how long until a time flush', () => {
    let now = 0;
    const buf = new RecordBuffer<number>(policy, () => now);
    expect(buf.flushReason(true)).toBeUndefined();
    expect(buf.msUntilFlush()).toBe(1000);
    buf.add(record(0), ok(0), 'p');
    now = 400;
    expect(buf.flushReason(false)).toBeUndefined();
    expect(buf.msUntilFlush()).toBe(600);
    expect(buf.flushReason(true)).toBe('shutdown');
    now = 1000;
    expect(buf.flushReason(false)).toBe('time');
    buf.add(record(1), ok(1), 'p');
    expect(buf.full()).toBe(false);
    buf.add(record(2), ok(2), 'p');
    expect(buf.full()).toBe(true);
    expect(buf.flushReason(false)).toBe('size');
  });

  it('take() hands over the batch, counts it in flight and starts an empty one of the same generation', () => {
    const buf = new RecordBuffer<number>(policy, () => 0);
    buf.reset(4);
    buf.add(record(0), ok(0), 'p');
    buf.add(record(1), ok(1), 'p');
    const taken = buf.take();
    expect(taken.count).toBe(2);
    expect(taken.generation).toBe(4);
    expect(buf.count).toBe(0);
    expect(buf.inFlight).toBe(2);
    expect(buf.generation).toBe(4);
    buf.add(record(2), ok(2), 'p');
    expect(buf.count).toBe(1);
    buf.settled();
    expect(buf.inFlight).toBe(0);
  });

  it('reset() drops what is buffered (returning how many) and leaves the batch in flight alone', () => {
    const buf = new RecordBuffer<number>(policy, () => 0);
    buf.add(record(0), ok(0), 'p');
    const taken = buf.take();
    buf.add(record(1), ok(1), 'p');
    buf.add(record(2), drop('x'), 'p');
    expect(buf.reset(1)).toBe(2);
    expect(buf.count).toBe(0);
    expect(buf.generation).toBe(1);
    expect(buf.inFlight).toBe(1);
    expect(taken.generation).toBe(0);
    expect(buf.reset(2)).toBe(0);
  });

  it('every added record ends in exactly one place: a taken batch, a reset, or the buffer', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'add' as const }),
      fc.constant({ kind: 'take' as const }),
      fc.constant({ kind: 'reset' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const buf = new RecordBuffer<number>(policy, () => 0);
        let added = 0;
        let generation = 0;
        const taken: number[] = [];
        let droppedByReset = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            buf.add(record(added), ok(added), 'p');
            added += 1;
          } else if (o.kind === 'take') {
            const b = buf.take();
            expect(b.generation).toBe(generation);
            taken.push(...b.items.map((i) => i.value));
            buf.settled();
          } else droppedByReset += buf.reset(++generation);
        }
        expect(taken.length + droppedByReset + buf.count).toBe(added);
        // taken values keep consumption order
        expect([...taken].sort((a, b) => a - b)).toEqual(taken);
      }),
    );
  });
});

describe('BackPressure', () => {
  const state = { joined: true, stopping: false, buffered: 0, inFlight: 0 };

  it('does nothing while the consumer is out of its group, unless stopping', () => {
    const bp = new BackPressure(policy);
    expect(bp.wanted({ ...state, joined: false, buffered: 100 })).toBeUndefined();
    expect(bp.wanted({ ...state, joined: false, stopping: true })).toBe(true);
  });

  it('pauses when buffered plus in flight reach pauseAtRecords, resumes below, and only on a change', () => {
    const bp = new BackPressure(policy);
    expect(bp.wanted({ ...state, buffered: 2, inFlight: 2 })).toBeUndefined(); // 4 < 5, already resumed
    expect(bp.wanted({ ...state, buffered: 2, inFlight: 3 })).toBe(true);
    bp.paused = true;
    expect(bp.wanted({ ...state, buffered: 9, inFlight: 0 })).toBeUndefined(); // already paused
    expect(bp.wanted({ ...state, buffered: 0, inFlight: 0 })).toBe(false);
  });

  it('keeps fetching paused while the store is down and at shutdown', () => {
    const bp = new BackPressure(policy);
    bp.storeDown = true;
    expect(bp.wanted(state)).toBe(true);
    bp.paused = true;
    bp.storeDown = false;
    expect(bp.wanted({ ...state, stopping: true })).toBeUndefined();
    expect(bp.wanted(state)).toBe(false);
  });

  it('re-asserts the applied state when forced (after a rejoin)', () => {
    const bp = new BackPressure(policy);
    expect(bp.wanted(state)).toBeUndefined();
    expect(bp.wanted(state, true)).toBe(false);
    bp.paused = true;
    expect(bp.wanted({ ...state, buffered: 5 }, true)).toBe(true);
  });
});
