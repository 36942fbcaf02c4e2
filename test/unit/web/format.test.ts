import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  firstArray,
  firstNumber,
  firstString,
  forgettingCurve,
  masteryTree,
  minutes,
  num,
  pct,
  recall,
  systemDisciplineGrid,
  toLocalCells,
  tokenClaims,
} from '../../../services/web/src/format.ts';

describe('dashboard formats', () => {
  it('percent, numbers and minutes', () => {
    expect(pct(0.6363)).toBe('64%');
    expect(pct(0)).toBe('0%');
    expect(pct(null)).toBe('–');
    expect(pct(Number.NaN)).toBe('–');
    expect(num(86.875)).toBe('86.9');
    expect(num(2, 0)).toBe('2');
    expect(num(undefined)).toBe('–');
    expect(minutes(25)).toBe('25 min');
    expect(minutes(160)).toBe('2 h 40 min');
    expect(minutes(65)).toBe('1 h 05 min');
  });
});

describe('time-of-day heatmap in local time', () => {
  it('shifts hours and wraps weekdays (Monday 00:00 UTC is Sunday 19:00 in New York winter)', () => {
    expect(toLocalCells([{ weekday: 1, hour: 0, value: 3 }], -300)).toEqual([
      { weekday: 7, hour: 19, value: 3 },
    ]);
    expect(toLocalCells([{ weekday: 7, hour: 23, value: 1 }], 60)).toEqual([
      { weekday: 1, hour: 0, value: 1 },
    ]);
    // Half-hour zones: the cell moves to the hour its start falls in (India, +05:30).
    expect(toLocalCells([{ weekday: 3, hour: 10, value: 2 }], 330)).toEqual([
      { weekday: 3, hour: 15, value: 2 },
    ]);
  });

  it('keeps the total and maps distinct cells to distinct cells for whole-hour offsets', () => {
    const cell = fc.record({
      weekday: fc.integer({ min: 1, max: 7 }),
      hour: fc.integer({ min: 0, max: 23 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(cell, { selector: (c) => `${c.weekday}:${c.hour}` }),
        fc.integer({ min: -12, max: 14 }),
        (cells, h) => {
          const input = cells.map((c, i) => ({ ...c, value: i + 1 }));
          const out = toLocalCells(input, h * 60);
          expect(out.length).toBe(input.length);
          expect(out.reduce((s, c) => s + c.value, 0)).toBe(input.reduce((s, c) => s + c.value, 0));
          // Shifting back restores the input.
          const back = toLocalCells(out, -h * 60);
          expect(back).toEqual([...input].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour));
        },
      ),
    );
  });
});

describe('forgetting curve', () => {
  it('is 1 at 0, 0.9 at the stability, decreasing', () => {
    expect(recall(0, 5)).toBe(1);
    expect(recall(5, 5)).toBeCloseTo(0.9, 10);
    expect(recall(10, 5)).toBeLessThan(recall(5, 5));
  });

  it('reads the stability from the schedule: recall 0.9 on the review date', () => {
    const curve = forgettingCurve('2026-03-10T00:00:00Z', '2026-03-14T00:00:00Z', 10)!;
    expect(curve).toHaveLength(11);
    expect(curve[4]![1]).toBeCloseTo(0.9, 3);
    expect(curve[0]).toEqual([0, 1]);
    expect(forgettingCurve(null, '2026-03-14T00:00:00Z', 10)).toBeNull();
    expect(forgettingCurve('2026-03-14T00:00:00Z', '2026-03-10T00:00:00Z', 10)).toBeNull();
  });
});

describe('mastery tree', () => {
  it('nests topics under their parents, orphans at the top', () => {
    const tree = masteryTree([
      { topicId: 'a', name: 'A', parentId: null, score: 0.5, attempts: 10 },
      { topicId: 'a.b', name: 'AB', parentId: 'a', score: 0.4, attempts: 6 },
      { topicId: 'a.b.c', name: 'ABC', parentId: 'a.b', score: 0.3, attempts: 0 },
      { topicId: 'x.y', name: 'XY', parentId: 'x', score: 0.9, attempts: 2 },
    ]);
    expect(tree.map((n) => n.id)).toEqual(['a', 'x.y']);
    expect(tree[0]!.children![0]!.children![0]).toEqual({ id: 'a.b.c', name: 'ABC', value: 1, score: 0.3 });
  });
});

describe('defensive reads and token claims', () => {
  it('picks the first present field of the right type', () => {
    const body = { gaps: [{ topic: { id: 't1' }, priority: 7.5 }], readiness: { value: 0.7 } };
    expect(firstArray(body, 'items', 'gaps')).toHaveLength(1);
    expect(firstArray(body, 'nothing')).toEqual([]);
    expect(firstString(body.gaps[0], 'topicId', 'topic.id')).toBe('t1');
    expect(firstNumber(body, 'readiness', 'readiness.value')).toBe(0.7);
    expect(firstNumber(null, 'a')).toBeNull();
  });

  it('decodes the payload of a JWT (base64url), empty for garbage', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 's-1', role: 'educator', cohorts: ['c'] })).toString(
      'base64url',
    );
    expect(tokenClaims(`x.${payload}.y`)).toEqual({ sub: 's-1', role: 'educator', cohorts: ['c'] });
    expect(tokenClaims('garbage')).toEqual({});
    expect(tokenClaims('a.%%%.b')).toEqual({});
  });
});

describe('system x discipline grid', () => {
  it('one cell per level-1 topic at its system row and discipline column', () => {
    const g = systemDisciplineGrid([
      { topicId: 'cardio', name: 'Cardiovascular', level: 0, score: 0.5 },
      { topicId: 'cardio.phys', name: 'Cardiovascular — Physiology', level: 1, score: 0.6 },
      { topicId: 'cardio.path', name: 'Cardiovascular — Pathology', level: 1, score: 0.4 },
      { topicId: 'renal.phys', name: 'Renal — Physiology', level: 1, score: 0.7 },
      { topicId: 'renal.phys.gfr', name: 'GFR', level: 2, score: 0.9 },
    ]);
    expect(g.systems).toEqual(['Cardiovascular', 'Renal']);
    expect(g.disciplines).toEqual(['Physiology', 'Pathology']);
    expect(g.cells).toEqual([
      [0, 0, 0.6],
      [1, 0, 0.4],
      [0, 1, 0.7],
    ]);
  });
});
