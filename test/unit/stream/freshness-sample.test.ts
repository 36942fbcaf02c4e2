import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleIndexes } from '../../../services/stream/runtime/metrics.ts';

describe('sampleIndexes (records of a batch whose age feeds stream_freshness_seconds)', () => {
  it('every record of a small batch; at most max of a large one, strictly increasing, first and last included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 2, max: 1000 }), (n, max) => {
        const idx = sampleIndexes(n, max);
        expect(idx.length).toBe(Math.min(n, max));
        for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThan(idx[i - 1]!);
        if (n > 0) {
          expect(idx[0]).toBe(0);
          expect(idx.at(-1)).toBe(n - 1);
        }
      }),
    );
  });
});
