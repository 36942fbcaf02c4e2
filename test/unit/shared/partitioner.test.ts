import fc from 'fast-check';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { memoizedKeyPartitioner } from '../../../services/shared/producer.ts';

const metadata = (n: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

const args = (
  topic: string,
  partitions: number,
  key: string | null,
  partition?: number,
): PartitionerArgs => ({
  topic,
  partitionMetadata: metadata(partitions),
  message: { key, value: 'x', ...(partition === undefined ? {} : { partition }) },
});

describe('memoizedKeyPartitioner', () => {
  it('picks the same partition as the default (Java-compatible murmur2) partitioner, first and repeated', () => {
    const memoized = memoizedKeyPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        const expected = reference(args('t', n, key));
        expect(memoized(args('t', n, key))).toBe(expected);
        expect(memoized(args('t', n, key))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('follows a change of the partition count instead of answering from the memo', () => {
    const memoized = memoizedKeyPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 200 }, (_, i) => `stu_${i}`);
    for (const k of keys) memoized(args('t', 3, k));
    const moved = keys.filter((k) => reference(args('t', 3, k)) !== reference(args('t', 12, k)));
    expect(moved.length).toBeGreaterThan(0);
    for (const k of keys) expect(memoized(args('t', 12, k))).toBe(reference(args('t', 12, k)));
  });

  it('keeps topics apart and honours an explicit partition', () => {
    const memoized = memoizedKeyPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    expect(memoized(args('a', 2, 'stu_1'))).toBe(reference(args('a', 2, 'stu_1')));
    expect(memoized(args('b', 7, 'stu_1'))).toBe(reference(args('b', 7, 'stu_1')));
    expect(memoized(args('a', 12, 'stu_1', 5))).toBe(5);
  });

  it('still answers correctly after the memo starts over (more keys than it keeps)', () => {
    const memoized = memoizedKeyPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 100_500; i++) memoized(args('t', 12, `k${i}`));
    for (let i = 0; i < 1_000; i++)
      expect(memoized(args('t', 12, `k${i}`))).toBe(reference(args('t', 12, `k${i}`)));
  });

  it('spreads keyless records like the default partitioner (within the available partitions)', () => {
    const memoized = memoizedKeyPartitioner();
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(memoized(args('t', 4, null)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
