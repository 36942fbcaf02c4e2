import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fallbackOf, localHeatmap, shiftWeekHour } from '../../../services/domain/localtime.ts';

const cell = (weekday: number, hour: number, tzKnown: boolean, events = 1) => ({
  weekday,
  hour,
  tzKnown,
  events,
  questions: events,
  activeMs: events * 1000,
});

describe('local time heatmap', () => {
  it('shifts weekday and hour across day and week ends', () => {
    expect(shiftWeekHour(1, 23, 2)).toEqual({ weekday: 2, hour: 1 });
    expect(shiftWeekHour(7, 22, 5)).toEqual({ weekday: 1, hour: 3 });
    expect(shiftWeekHour(1, 2, -5)).toEqual({ weekday: 7, hour: 21 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: -12, max: 14 }),
        (w, h, s) => {
          const there = shiftWeekHour(w, h, s);
          expect(shiftWeekHour(there.weekday, there.hour, -s)).toEqual({ weekday: w, hour: h });
        },
      ),
    );
  });

  it('keeps zoned cells, shifts cells without a zone by the latest known offset, and merges them', () => {
    const cells = [cell(3, 9, true, 4), cell(3, 4, false, 2), cell(3, 5, false, 1)];
    // a student in UTC+5 whose old events were stored at UTC 04:00 and 05:00 on Wednesday: local 09:00 and 10:00
    expect(localHeatmap(cells, fallbackOf(300))).toEqual([
      { weekday: 3, hour: 9, events: 6, questions: 6, activeMs: 6000 },
      { weekday: 3, hour: 10, events: 1, questions: 1, activeMs: 1000 },
    ]);
    // no known zone: old events stay in UTC
    expect(fallbackOf(null)).toEqual({ offsetMinutes: 0, source: 'utc' });
    expect(localHeatmap(cells, fallbackOf(null)).map((c) => c.hour)).toEqual([4, 5, 9]);
  });

  it('never loses or invents activity', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            w: fc.integer({ min: 1, max: 7 }),
            h: fc.integer({ min: 0, max: 23 }),
            k: fc.boolean(),
            n: fc.integer({ min: 1, max: 50 }),
          }),
        ),
        fc.option(fc.integer({ min: -720, max: 840 }), { nil: null }),
        (xs, off) => {
          const out = localHeatmap(
            xs.map((x) => cell(x.w, x.h, x.k, x.n)),
            fallbackOf(off),
          );
          expect(out.reduce((s, c) => s + c.events, 0)).toBe(xs.reduce((s, x) => s + x.n, 0));
          expect(new Set(out.map((c) => `${c.weekday}:${c.hour}`)).size).toBe(out.length);
        },
      ),
    );
  });
});
