import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../services/shared/async.ts';
import {
  flushDecision,
  msUntilDue,
  shouldPause,
  type BatchPolicyOptions,
} from '../../../services/stream/runtime/batching.ts';

const policy: BatchPolicyOptions = { maxRecords: 100, maxWaitMs: 1000, pauseAtRecords: 250 };

describe('batching policy', () => {
  it('never flushes an empty buffer, even at shutdown', () => {
    expect(flushDecision(policy, 0, undefined, 0, true)).toBeUndefined();
  });
  it('flushes by size, by time, and everything at shutdown', () => {
    expect(flushDecision(policy, 100, 0, 1, false)).toBe('size');
    expect(flushDecision(policy, 5, 0, 999, false)).toBeUndefined();
    expect(flushDecision(policy, 5, 0, 1000, false)).toBe('time');
    expect(flushDecision(policy, 5, 0, 1, true)).toBe('shutdown');
  });
  it('tells how long until a time-based flush is due', () => {
    expect(msUntilDue(policy, undefined, 10)).toBeUndefined();
    expect(msUntilDue(policy, 0, 400)).toBe(600);
    expect(msUntilDue(policy, 0, 5000)).toBe(0);
  });
  it('pauses when buffered plus in-flight records reach the threshold', () => {
    expect(shouldPause(policy, 100, 100)).toBe(false);
    expect(shouldPause(policy, 150, 100)).toBe(true);
  });
});

describe('backoffDelay', () => {
  const opts = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 };
  it('grows exponentially and is capped', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(opts, a, mid))).toEqual([100, 200, 400, 800, 5000]);
  });
  it('jitters within the configured share', () => {
    expect(backoffDelay(opts, 0, () => 0)).toBe(80);
    expect(backoffDelay(opts, 0, () => 1)).toBe(120);
  });
});
