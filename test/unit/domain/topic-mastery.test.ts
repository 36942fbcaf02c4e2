import { topicPartitionKey } from '../../../services/shared/kafka.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyTopicEvent,
  completionUpTo,
  emptyTopicMastery,
  type TopicMasteryState,
  type TopicEvent,
} from '../../../services/domain/topic-mastery.ts';
import { leafFigures, parentFigures, unstudiedFigures } from '../../../services/domain/topic-figures.ts';
import { admitRecords } from '../../../services/stream/stateful/positions.ts';

const L = 3_600_000;
const T0 = Date.UTC(2025, 0, 6, 8);
const MIN = 60_000;

function answer(i: number, at: number, correct: boolean): TopicEvent {
  return {
    at,
    id: `e${String(i).padStart(4, '0')}`,
    answer: { correct, attemptNumber: 1, responseTimeMs: 40_000 },
  };
}
function material(i: number, at: number, id: string, p: number): TopicEvent {
  return { at, id: `m${String(i).padStart(4, '0')}`, material: { materialId: id, progress: p } };
}
function run(events: readonly TopicEvent[]): {
  row: TopicMasteryState;
  history: Map<number, unknown>;
  late: number;
} {
  let row: TopicMasteryState | undefined;
  const history = new Map<number, unknown>();
  let late = 0;
  for (const e of events) {
    const r = applyTopicEvent(row, e, L, 'fsrs');
    row = r.row;
    if (r.late) late++;
    for (const h of r.history) history.set(h.day, h.columns);
  }
  return { row: row ?? emptyTopicMastery(), history, late };
}

/** Three study days, answers every few minutes, material progress in between. */
function stream(): TopicEvent[] {
  const out: TopicEvent[] = [];
  let i = 0;
  for (const day of [0, 1, 3])
    for (let k = 0; k < 12; k++) {
      const at = T0 + day * 86_400_000 + k * 4 * MIN;
      out.push(answer(i++, at, (k * 7 + day) % 3 !== 0));
      if (k % 4 === 0) out.push(material(i++, at + MIN, `mat-${k % 8}`, Math.min(1, 0.2 + k / 12)));
    }
  return out;
}

describe('mastery row step', () => {
  it('the seed case: 20 answers, 15 correct, 12 of 15 first attempts correct, fresh recall: mastery 0.6-0.8', () => {
    const events: TopicEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const first = i < 15;
      const correct = first ? i < 12 : i < 18;
      events.push({
        at: T0 + i * MIN,
        id: `e${i}`,
        answer: { correct, attemptNumber: first ? 1 : 2, responseTimeMs: 50_000 },
      });
    }
    const { row } = run(events);
    const c = leafFigures(row.visible, 'fsrs');
    expect([c.attempts, c.correct, c.firstAttemptTotal, c.firstAttemptCorrect]).toEqual([20, 15, 15, 12]);
    expect(c.masteryScore).toBeGreaterThanOrEqual(0.6);
    expect(c.masteryScore).toBeLessThanOrEqual(0.8);
    expect(c.masteryLower).toBeLessThanOrEqual(c.masteryScore);
    expect(c.masteryUpper).toBeGreaterThanOrEqual(c.masteryScore);
  });

  it('arrival order within the allowed lateness does not change the row or its history', () => {
    const base = stream();
    const reference = run(base);
    expect(reference.history.size).toBeGreaterThan(0);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: L / 2, noNaN: true }), {
          minLength: base.length,
          maxLength: base.length,
        }),
        (jitter) => {
          const shuffled = base
            .map((e, k) => ({ e, key: e.at + (jitter[k] as number) }))
            .sort((a, b) => a.key - b.key)
            .map((x) => x.e);
          const result = run(shuffled);
          expect(result.late).toBe(0);
          expect(result.row).toEqual(reference.row);
          expect(result.history).toEqual(reference.history);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('material progress commutes with answers (two topics interleaved arbitrarily)', () => {
    const base = stream();
    const answers = base.filter((e) => e.answer);
    const materials = base.filter((e) => e.material);
    const reference = run([...answers, ...materials]);
    expect(run([...materials, ...answers]).row).toEqual(reference.row);
    expect(run(base).row).toEqual(reference.row);
  });

  it('material completion does not depend on the key order of the stored row (jsonb reorders keys)', () => {
    const progress = [0.1, 0.7, 0.30000000000000004, 0.9, 0.2];
    const a = completionUpTo(Object.fromEntries(progress.map((p, i) => [`m${i}`, { '1': p }])));
    const b = completionUpTo(Object.fromEntries(progress.map((p, i) => [`m${i}`, { '1': p }]).reverse()));
    expect(a).toBe(b);
  });

  it('an answer older than the fold point is late: counted, not scheduled', () => {
    const base = stream();
    const early = answer(9999, T0 - 86_400_000, true);
    const { row, late } = run([...base, early]);
    expect(late).toBe(1);
    const without = run(base).row;
    expect(row.visible.attempts).toBe(without.visible.attempts + 1);
    expect(row.visible.fsrs).toEqual(without.visible.fsrs);
  });

  it('roll-up to a parent is the board-weighted mean, unstudied children count as 0', () => {
    const studied = leafFigures(run(stream()).row.visible, 'fsrs');
    const parent = parentFigures([
      { weight: 3, columns: studied },
      { weight: 1, columns: unstudiedFigures() },
    ]);
    expect(parent.masteryScore).toBeCloseTo((3 * studied.masteryScore) / 4, 10);
    expect(parent.attempts).toBe(studied.attempts);
    expect(parent.nextReviewAt).toBe(studied.nextReviewAt);
  });
});

describe('consumer positions', () => {
  const rec = (offset: number, partition = 0) => ({
    record: { topic: 't', partition, offset: String(offset) },
  });
  it('skips records below the stored position and re-fetched copies, and advances past dropped records', () => {
    const stored = new Map([
      [topicPartitionKey('t', 0), { topic: 't', partition: 0, next: 5, watermarkMs: null }],
    ]);
    const { admitted, skipped, next } = admitRecords([rec(3), rec(5), rec(6), rec(5), rec(0, 1)], stored, [
      { topic: 't', partition: 0, offset: '9' },
      { topic: 't', partition: 1, offset: '1' },
    ]);
    expect(admitted.map((a) => `${a.record.partition}:${a.record.offset}`)).toEqual(['0:5', '0:6', '1:0']);
    expect(skipped).toBe(2);
    expect(next.get(topicPartitionKey('t', 0))?.next).toBe(9);
    expect(next.get(topicPartitionKey('t', 1))?.next).toBe(1);
  });
});
