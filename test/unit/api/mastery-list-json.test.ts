import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { round } from '../../../services/analytics-api/compute.ts';
import { r4 } from '../../../services/analytics-api/data/state.ts';

/** The mastery list writes its numbers as text itself (data/state.ts): the same text JSON.stringify(round(x)) gives. */
describe('mastery list number text', () => {
  const expected = (x: number | null) => JSON.stringify(round(x));

  it('equals JSON.stringify(round(x)) for any double, null, NaN and the infinities', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.double({ min: -0.01, max: 1.01 }), fc.constant(null)), (x) => {
        expect(r4(x)).toBe(expected(x));
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals it on every 4-decimal grid point of [0, 1] and at the ties between them', () => {
    for (let k = 0; k <= 10_000; k++) {
      for (const x of [k / 10_000, (k + 0.5) / 10_000, (k - 0.5) / 10_000, k / 10_000 + 1e-9]) {
        expect(r4(x), String(x)).toBe(expected(x));
      }
    }
    for (const x of [0, -0, 1, 1 / 32, 0.03125, 0.49999999999999994 / 10_000, 1e-300, -1e-300]) {
      expect(r4(x), String(x)).toBe(expected(x));
    }
  });
});
