import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isReleasable,
  lastCompleteWindow,
  parsePeriod,
  windowKindForDays,
  WINDOW_KINDS,
} from '../../../services/analytics/windows.ts';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

describe('fixed calendar windows', () => {
  it('gives the last complete ISO week, month and quarter after the grace', () => {
    // Sunday 2026-03-15 12:00 UTC, grace 24 h.
    const now = at('2026-03-15T12:00:00Z');
    expect(lastCompleteWindow('week', now, 24 * H)).toEqual({
      kind: 'week',
      period: '2026-W10',
      from: '2026-03-02',
      to: '2026-03-08',
    });
    expect(lastCompleteWindow('month', now, 24 * H)).toMatchObject({
      period: '2026-02',
      from: '2026-02-01',
      to: '2026-02-28',
    });
    expect(lastCompleteWindow('quarter', now, 24 * H)).toMatchObject({
      period: '2025-Q4',
      from: '2025-10-01',
      to: '2025-12-31',
    });
    // Within the grace after a month ends, the month before is still the last complete one.
    expect(lastCompleteWindow('month', at('2026-03-01T23:00:00Z'), 24 * H).period).toBe('2026-01');
    expect(lastCompleteWindow('month', at('2026-03-02T00:00:00Z'), 24 * H).period).toBe('2026-02');
    // ISO week-numbering year: 2026-01-01 (Thursday) is in 2026-W01, 2027-01-01 (Friday) in 2026-W53.
    expect(parsePeriod('week', '2026-W01')).toMatchObject({ from: '2025-12-29', to: '2026-01-04' });
    expect(parsePeriod('week', '2026-W53')).toMatchObject({ from: '2026-12-28', to: '2027-01-03' });
    expect(parsePeriod('week', '2025-W53')).toBeNull();
    expect(parsePeriod('month', '2026-13')).toBeNull();
    expect(parsePeriod('quarter', '2026-Q5')).toBeNull();
  });

  it('never overlaps: any two instants give the same window of a kind or disjoint ones, each aligned', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WINDOW_KINDS),
        fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }),
        fc.integer({ min: 0, max: 400 * 24 * H }),
        fc.integer({ min: 0, max: 72 }),
        (kind, t, dt, graceH) => {
          const a = lastCompleteWindow(kind, t, graceH * H);
          const b = lastCompleteWindow(kind, t + dt, graceH * H);
          expect(a.from === b.from ? a.to === b.to : a.to < b.from).toBe(true);
          for (const w of [a, b]) {
            expect(parsePeriod(kind, w.period)).toEqual(w);
            const from = new Date(`${w.from}T00:00:00Z`);
            if (kind === 'week') expect(from.getUTCDay()).toBe(1);
            else expect(from.getUTCDate()).toBe(1);
            if (kind === 'quarter') expect(from.getUTCMonth() % 3).toBe(0);
          }
          expect(isReleasable(a, t, graceH * H)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('maps legacy day counts to fixed windows', () => {
    expect([1, 7, 8, 30, 31, 32, 90, 365].map(windowKindForDays)).toEqual([
      'week',
      'week',
      'month',
      'month',
      'month',
      'quarter',
      'quarter',
      'quarter',
    ]);
  });
});
