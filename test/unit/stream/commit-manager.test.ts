import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import {
  CommitManager,
  commitsToKafka,
  PositionTracker,
} from '../../../services/stream/runtime/commit-manager.ts';
import { runtimeMetrics } from '../../../services/stream/runtime/metrics.ts';
import type { TopicPartitionOffset } from '../../../services/stream/runtime/types.ts';

/** The commit manager's logic on plain data; the commits to a real broker are exercised by test/integration/stream. */

const log = createLogger('test', 'silent');

describe('PositionTracker (what a batch may commit)', () => {
  it('keeps the next offset (last + 1) per topic-partition, whatever the order', () => {
    const t = new PositionTracker();
    t.consumed('a', 0, '5');
    t.consumed('a', 0, '3');
    t.consumed('a', 1, '9007199254740993');
    t.consumed('b', 0, '0');
    expect(t.size).toBe(3);
    expect(t.toList()).toEqual([
      { topic: 'a', partition: 0, offset: '6' },
      { topic: 'a', partition: 1, offset: '9007199254740994' },
      { topic: 'b', partition: 0, offset: '1' },
    ]);
  });

  it('equals the maximum offset + 1 per partition, computed with BigInt, for any consumption order', () => {
    const record = fc.record({
      topic: fc.constantFrom('t1', 't2'),
      partition: fc.integer({ min: 0, max: 3 }),
      offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 2n }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), (records) => {
        const t = new PositionTracker();
        for (const r of records) t.consumed(r.topic, r.partition, r.offset.toString());
        const max = new Map<string, { topic: string; partition: number; offset: bigint }>();
        for (const r of records) {
          const k = `${r.topic}/${r.partition}`;
          const cur = max.get(k);
          if (!cur || r.offset > cur.offset) max.set(k, { ...r });
        }
        const expected = [...max.values()]
          .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
          .map((p) => ({ topic: p.topic, partition: p.partition, offset: (p.offset + 1n).toString() }));
        expect(t.toList()).toEqual(expected);
      }),
    );
  });
});

describe('commitsToKafka', () => {
  it('commits to Kafka unless an external store opts out', () => {
    const load = () => Promise.resolve([]);
    expect(commitsToKafka(undefined)).toBe(true);
    expect(commitsToKafka({ mode: 'kafka' })).toBe(true);
    expect(commitsToKafka({ mode: 'external', load })).toBe(true);
    expect(commitsToKafka({ mode: 'external', load, commitToKafka: true })).toBe(true);
    expect(commitsToKafka({ mode: 'external', load, commitToKafka: false })).toBe(false);
  });
});

function manager(opts: { current?: number; fail?: Error } = {}) {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  const commits: TopicPartitionOffset[][] = [];
  const m = new CommitManager({
    commitOffsets: (positions) => {
      if (opts.fail) return Promise.reject(opts.fail);
      commits.push(positions);
      return Promise.resolve();
    },
    isCurrent: (g) => g === (opts.current ?? 1),
    log,
    metrics,
    labels: { processor: 'p' },
  });
  const values = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
  return { m, commits, values };
}

describe('CommitManager', () => {
  const positions = [
    { topic: 'a', partition: 0, offset: '10' },
    { topic: 'a', partition: 1, offset: '4' },
  ];

  it('commits the positions of a batch of the current generation and sets the lag from the high watermarks', async () => {
    const { m, commits, values } = manager();
    m.noteHighWatermark('a', 0, '25');
    m.noteHighWatermark('a', 0, '30'); // the latest fetch wins
    expect(await m.commit(positions, 1)).toBe('committed');
    expect(commits).toEqual([positions]);
    // partition 1's high watermark is unknown: no lag reported for it
    expect(await values('stream_consumer_lag')).toEqual([
      { labels: { processor: 'p', topic: 'a', partition: '0' }, value: 20 },
    ]);
  });

  it('computes lag with 64-bit offsets exactly', () => {
    const { m } = manager();
    m.noteHighWatermark('a', 0, '9007199254741000');
    expect(m.lag([{ topic: 'a', partition: 0, offset: '9007199254740993' }])).toEqual([
      { topic: 'a', partition: 0, lag: 7 },
    ]);
  });

  it('never commits a batch of a revoked generation', async () => {
    const { m, commits } = manager({ current: 2 });
    expect(await m.commit(positions, 1)).toBe('revoked');
    expect(commits).toEqual([]);
  });

  it('has nothing to commit for an empty batch', async () => {
    const { m, commits } = manager();
    expect(await m.commit([], 1)).toBe('nothing');
    expect(commits).toEqual([]);
  });

  it('counts a rejected commit and does not throw (the records are redelivered)', async () => {
    const { m, values } = manager({ fail: new Error('REBALANCE_IN_PROGRESS') });
    m.noteHighWatermark('a', 0, '25');
    expect(await m.commit(positions, 1)).toBe('failed');
    expect(await values('stream_offset_commit_failures_total')).toEqual([
      { labels: { processor: 'p' }, value: 1 },
    ]);
    expect(await values('stream_consumer_lag')).toEqual([]);
  });
});
