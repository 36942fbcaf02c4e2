import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  csvRow,
  deriveEventId,
  parseCsvLine,
  prepareRow,
  uuidV5,
} from '../../../services/datatools/import.ts';
import { lagOf, planReset } from '../../../services/datatools/offsets.ts';
import { clampToLive, parseBound } from '../../../services/datatools/replay.ts';
import { parseId, redriveMessage, toDeadLetter } from '../../../services/datatools/dlq.ts';

const OLD = Date.UTC(2019, 5, 1, 12);
const attempt = {
  family: 'question-attempts',
  user_id: 'stu_1',
  occurred_at: OLD,
  session_id: 's1',
  question_id: 'q1',
  topic_ids: ['a.b.c'],
  selected_answer: 'A',
  is_correct: true,
  attempt_number: 1,
  time_to_answer_ms: 1000,
};

describe('derived event ids', () => {
  it('is RFC 4122 version 5 (known vector: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('canonical JSON sorts keys at every level and ignores key order of the input', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    const reordered = Object.fromEntries(Object.entries(attempt).reverse());
    expect(deriveEventId(reordered)).toBe(deriveEventId(attempt));
    expect(deriveEventId({ ...attempt, is_correct: false })).not.toBe(deriveEventId(attempt));
  });
});

describe('import validation', () => {
  const opts = { receivedAt: Date.UTC(2026, 0, 1), maxFutureMs: 300_000 };

  it('keeps an old occurred_at (no max age, no skew) and derives a stable id', () => {
    const a = prepareRow({ line: 1, value: attempt, bytes: 0 }, opts);
    const b = prepareRow({ line: 7, value: { ...attempt }, bytes: 0 }, opts);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.event.record.occurred_at).toBe(OLD);
    expect(a.event.record.event_id).toBe(b.event.record.event_id);
    expect(a.derivedId).toBe(true);
    expect((a.event.record.client as { offline_synced: boolean }).offline_synced).toBe(false);
  });

  it('applies the ingest rules otherwise, with line numbers', () => {
    const r = prepareRow(
      { line: 3, value: { ...attempt, user_id: 'a@b.c', attempt_number: 0 }, bytes: 0 },
      opts,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejection.line).toBe(3);
    expect(r.rejection.errors.map((e) => e.path).sort()).toEqual(['attempt_number', 'user_id']);
    const future = prepareRow(
      { line: 4, value: { ...attempt, occurred_at: opts.receivedAt + 3_600_000 }, bytes: 0 },
      opts,
    );
    expect(future.ok).toBe(false);
    const broken = prepareRow({ line: 5, parseError: 'invalid JSON', bytes: 0 }, opts);
    expect(!broken.ok && broken.rejection.errors[0]!.reason).toBe('invalid JSON');
  });

  it('parses CSV cells by Avro type: numbers, booleans, ;-separated topic_ids, nested columns', () => {
    expect(parseCsvLine('a,"b,c","d ""q""",')).toEqual(['a', 'b,c', 'd "q"', '']);
    const header = [
      'family',
      'user_id',
      'occurred_at',
      'topic_ids',
      'is_correct',
      'attempt_number',
      'confidence',
      'client.platform',
    ];
    const row = csvRow(header, [
      'question-attempts',
      'u',
      '1700000000000',
      'x.y;x.z',
      'true',
      '2',
      '',
      'IOS',
    ]);
    expect(row).toEqual({
      family: 'question-attempts',
      user_id: 'u',
      occurred_at: 1_700_000_000_000,
      topic_ids: ['x.y', 'x.z'],
      is_correct: true,
      attempt_number: 2,
      client: { platform: 'IOS' },
    });
  });
});

describe('offsets', () => {
  it('lag counts from the low watermark when nothing is committed', () => {
    expect(lagOf(null, 5, 12)).toBe(7);
    expect(lagOf(10, 5, 12)).toBe(2);
    expect(lagOf(3, 5, 12)).toBe(7);
    expect(lagOf(12, 0, 12)).toBe(0);
  });

  it('plans a reset per partition with the current position', () => {
    expect(
      planReset(
        [{ topic: 't', partition: 0, offset: 9 }],
        [
          { topic: 't', partition: 0, offset: 2 },
          { topic: 't', partition: 1, offset: 0 },
        ],
      ),
    ).toEqual([
      { topic: 't', partition: 0, current: 9, target: 2 },
      { topic: 't', partition: 1, current: null, target: 0 },
    ]);
  });
});

describe('replay ranges', () => {
  it('parses bounds', () => {
    expect(parseBound('earliest')).toEqual({ kind: 'earliest' });
    expect(parseBound('2026-01-02T03:04:05Z')).toEqual({ kind: 'time', ms: Date.UTC(2026, 0, 2, 3, 4, 5) });
    expect(parseBound('0:10,2:30')).toEqual({
      kind: 'offsets',
      offsets: new Map([
        [0, 10],
        [2, 30],
      ]),
    });
    expect(parseBound('yesterday')).toBeUndefined();
  });

  it('clamps range ends to the live position', () => {
    const live = new Map([['t|0', 50]]);
    const { ranges, clamped } = clampToLive(
      [
        { topic: 't', partition: 0, from: 10, to: 80 },
        { topic: 't', partition: 1, from: 0, to: 5 },
      ],
      live,
    );
    expect(clamped).toBe(2);
    expect(ranges).toEqual([
      { topic: 't', partition: 0, from: 10, to: 50 },
      { topic: 't', partition: 1, from: 0, to: 0 },
    ]);
  });
});

describe('dead letters', () => {
  it('reads the source from the headers and re-drives the original bytes without dlq headers', () => {
    const d = toDeadLetter(2, {
      key: Buffer.from('stu_1'),
      value: Buffer.from([0, 0, 0, 0, 1, 2]),
      timestamp: '1700000000000',
      attributes: 0,
      offset: '41',
      headers: {
        trace: 'abc',
        'dlq.source.topic': 'question-attempts',
        'dlq.source.partition': '3',
        'dlq.source.offset': '77',
        'dlq.reason': 'unknown_topic',
      },
    } as never);
    expect(d.source).toEqual({ topic: 'question-attempts', partition: 3, offset: 77 });
    expect(parseId('2:41')).toEqual({ partition: 2, offset: 41 });
    const m = redriveMessage('dead-letter', d);
    expect(m.value).toEqual(Buffer.from([0, 0, 0, 0, 1, 2]));
    expect(m.headers).toEqual({ trace: 'abc', 'dlq.redriven_from': 'dead-letter/2:41' });
  });
});
