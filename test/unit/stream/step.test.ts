import { describe, expect, it } from 'vitest';
import { andThen, dlq, drop, ok } from '../../../services/stream/runtime/step.ts';
import { deadLetterMessage, DLQ_HEADERS } from '../../../services/stream/runtime/dead-letter.ts';

describe('step results', () => {
  it('are plain tagged values built by tiny helpers', () => {
    expect(ok(3)).toEqual({ type: 'ok', value: 3 });
    expect(drop('test traffic')).toEqual({ type: 'drop', reason: 'test traffic' });
    const d = dlq('undecodable', new Error('bad magic byte'));
    expect(d.type).toBe('dlq');
    expect(d.error.message).toBe('bad magic byte');
    expect(dlq('invalid', 'not an error object').error).toBeInstanceOf(Error);
    expect(dlq('invalid').error.message).toBe('invalid');
  });
  it('chain: ok continues, dlq and drop short-circuit', () => {
    expect(andThen(ok(2), (v) => ok(v * 2))).toEqual(ok(4));
    const stopped = dlq('x');
    expect(andThen(stopped, () => ok(1))).toBe(stopped);
    const dropped = drop('y');
    expect(andThen(dropped, () => ok(1))).toBe(dropped);
  });
});

describe('dead-letter message', () => {
  it('keeps the original bytes and headers and names the origin and the error', () => {
    const value = Buffer.from('not avro');
    const msg = deadLetterMessage(
      {
        topic: 'study-events',
        partition: 2,
        offset: '42',
        key: Buffer.from('u1'),
        value,
        headers: { trace: 'abc' },
        timestamp: '1700000000000',
      },
      'clickhouse-sink',
      'not_avro',
      new Error('missing magic byte'),
      new Date('2025-01-01T00:00:00Z'),
    );
    expect(msg.value).toBe(value);
    expect(msg.key?.toString()).toBe('u1');
    expect(msg.headers).toMatchObject({
      trace: 'abc',
      [DLQ_HEADERS.topic]: 'study-events',
      [DLQ_HEADERS.partition]: '2',
      [DLQ_HEADERS.offset]: '42',
      [DLQ_HEADERS.timestamp]: '1700000000000',
      [DLQ_HEADERS.reason]: 'not_avro',
      [DLQ_HEADERS.error]: 'missing magic byte',
      [DLQ_HEADERS.failedAt]: '2025-01-01T00:00:00.000Z',
    });
  });
});
