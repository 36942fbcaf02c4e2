/** The per-batch tracer of `bench processors --trace` (services/stream/stateful/trace.ts). */
import { describe, expect, it } from 'vitest';
import { BatchTracer } from '../../../services/stream/stateful/trace.ts';
import { phasesOf } from '../../../bench/trace-report.ts';

const rec = (partition: number, offset: number, timestamp: number) => ({
  record: { topic: 't', partition, offset: String(offset), timestamp: String(timestamp) },
});

describe('BatchTracer', () => {
  it('keeps per batch the oldest and newest produce and fetch times of its records, then the phase marks in order', () => {
    const pool = { totalCount: 3, idleCount: 1, waitingCount: 2 };
    const tracer = new BatchTracer(pool);
    const t0 = Date.now();
    tracer.decoded('mastery', rec(0, 5, 0).record);
    tracer.decoded('mastery', rec(1, 9, 0).record);
    // A record decoded again (re-fetched after a seek) keeps its first fetch time.
    tracer.decoded('mastery', rec(0, 5, 0).record);
    // Another processor's decode of the same coordinates is its own.
    tracer.decoded('sessions', rec(0, 5, 0).record);
    const trace = tracer.start('mastery', 'batch', [rec(0, 5, t0 - 300), rec(1, 9, t0 - 100)]);
    expect(trace.records).toBe(2);
    expect(trace.producedFirst).toBe(t0 - 300);
    expect(trace.producedLast).toBe(t0 - 100);
    expect(trace.fetchedFirst).toBeGreaterThanOrEqual(t0);
    expect(trace.fetchedLast).toBeGreaterThanOrEqual(trace.fetchedFirst as number);
    expect(trace.pool).toEqual({ total: 3, idle: 1, waiting: 2 });
    BatchTracer.mark(trace, 'connected');
    BatchTracer.mark(trace, 'committed');
    BatchTracer.mark(undefined, 'ignored');
    expect(trace.marks.map(([name]) => name)).toEqual(['started', 'connected', 'committed']);
    expect(phasesOf(trace).map(([name]) => name)).toEqual([
      'produced -> fetched (oldest record)',
      'fetched -> effect started (buffered)',
      'started -> connected',
      'connected -> committed',
    ]);
    expect(phasesOf(trace)[0]![1]).toBeGreaterThanOrEqual(300);
    // A record is matched to one batch only.
    expect(tracer.start('mastery', 'batch', [rec(0, 5, t0)]).fetchedFirst).toBeNull();
    tracer.start('sessions', 'tick', []);
    expect(tracer.last('mastery')).toBe(tracer.traces[1]);
    expect(tracer.last('sessions')).toBeUndefined();
  });
});
