import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  nextEasiness,
  qualityFromAttempt,
  seedQualityMultiplier,
  sm2RecallProbability,
  sm2Review,
  sm2Stability,
} from '../../../services/domain/sm2.ts';
import type { Sm2Options, Sm2State } from '../../../services/domain/sm2.ts';

const T0 = Date.UTC(2025, 0, 1);

/** Reviews on each due date with the given qualities; returns every state. */
function reviewOnDueDates(qualities: number[], options: Sm2Options = {}): Sm2State[] {
  const states: Sm2State[] = [];
  let state: Sm2State | undefined;
  for (const quality of qualities) {
    state = sm2Review(state, quality, state?.dueAt ?? T0, options);
    states.push(state);
  }
  return states;
}

describe('SM-2 intervals', () => {
  it('grow 1, 6, then x EF with successful reviews (quality 4 keeps EF at 2.5: 15, 38, 95)', () => {
    const states = reviewOnDueDates([4, 4, 4, 4, 4]);
    expect(states.map((s) => s.intervalDays)).toEqual([1, 6, 15, 38, 95]);
    expect(states.map((s) => s.repetitions)).toEqual([1, 2, 3, 4, 5]);
    expect(states.every((s) => s.easiness === 2.5)).toBe(true);
  });

  it('grow faster with perfect answers because each raises EF by 0.1 (6 x 2.8 = 16.8 -> 17)', () => {
    const states = reviewOnDueDates([5, 5, 5]);
    expect(states.map((s) => s.intervalDays)).toEqual([1, 6, 17]);
    expect(states[2]?.easiness).toBeCloseTo(2.8, 12);
  });

  it('restart at one day after a failed review, keeping the lowered EF', () => {
    const states = reviewOnDueDates([4, 4, 4, 1, 4, 4]);
    expect(states.map((s) => s.intervalDays)).toEqual([1, 6, 15, 1, 1, 6]);
    expect(states[3]?.repetitions).toBe(0);
    expect(states[3]?.easiness).toBeCloseTo(1.96, 12);
  });

  it("follow the seed's memoryless multiplier 1.3 + (q - 3) * 0.2 when asked, truncating like the seed", () => {
    const good = reviewOnDueDates([4, 4, 4, 4], { multiplier: 'seed_quality' });
    expect(good.map((s) => s.intervalDays)).toEqual([1, 6, 9, 13]);
    const perfect = reviewOnDueDates([5, 5, 5, 5], { multiplier: 'seed_quality' });
    expect(perfect.map((s) => s.intervalDays)).toEqual([1, 6, 10, 17]);
    expect([3, 4, 5].map(seedQualityMultiplier).map((m) => Number(m.toFixed(10)))).toEqual([1.3, 1.5, 1.7]);
  });

  it('set the due date interval days after the review', () => {
    const state = sm2Review(undefined, 4, T0);
    expect(state).toEqual({
      repetitions: 1,
      intervalDays: 1,
      easiness: 2.5,
      dueAt: T0 + DAY_MS,
      lastReviewAt: T0,
    });
  });

  it('ignore a review older than the last one (it cannot be placed in the schedule after the fact)', () => {
    const state = sm2Review(undefined, 4, T0);
    expect(sm2Review(state, 1, T0 - 1)).toBe(state);
  });

  it('keep invariants for any sequence of qualities: EF >= 1.3, interval >= 1, due = review + interval', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }), (qualities) => {
        for (const state of reviewOnDueDates(qualities)) {
          expect(state.easiness).toBeGreaterThanOrEqual(1.3);
          expect(state.intervalDays).toBeGreaterThanOrEqual(1);
          expect(state.dueAt).toBe(state.lastReviewAt + state.intervalDays * DAY_MS);
        }
      }),
    );
  });

  it('never shrink while every review succeeds', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 3, max: 5 }), { minLength: 2, maxLength: 30 }), (qualities) => {
        const intervals = reviewOnDueDates(qualities).map((s) => s.intervalDays);
        for (let i = 1; i < intervals.length; i++) {
          expect(intervals[i]).toBeGreaterThanOrEqual(intervals[i - 1] as number);
        }
      }),
    );
  });
});

describe('SM-2 easiness factor', () => {
  it('moves by the published amounts for each quality from 2.5', () => {
    expect([5, 4, 3, 2, 1, 0].map((q) => Number(nextEasiness(2.5, q).toFixed(10)))).toEqual([
      2.6, 2.5, 2.36, 2.18, 1.96, 1.7,
    ]);
  });

  it('never drops below 1.3', () => {
    expect(nextEasiness(1.3, 0)).toBe(1.3);
    expect(nextEasiness(1.4, 1)).toBe(1.3);
  });

  it('rejects a quality that is not a number', () => {
    expect(() => nextEasiness(2.5, Number.NaN)).toThrow(RangeError);
  });
});

describe('SM-2 recall probability', () => {
  const state = sm2Review(sm2Review(undefined, 4, T0), 4, T0 + DAY_MS); // interval 6 days

  it('is 1 right after a review and 0.9 on the due date', () => {
    expect(sm2RecallProbability(state, state.lastReviewAt)).toBe(1);
    expect(sm2RecallProbability(state, state.dueAt)).toBeCloseTo(0.9, 12);
  });

  it('follows exp(-t / S): 0.81 at twice the interval', () => {
    expect(sm2RecallProbability(state, state.lastReviewAt + 12 * DAY_MS)).toBeCloseTo(0.81, 12);
    expect(sm2Stability(6)).toBeCloseTo(56.947, 3);
  });

  it('is 0 for a topic never reviewed and 1 for a time before the last review', () => {
    expect(sm2RecallProbability(undefined, T0)).toBe(0);
    expect(sm2RecallProbability(state, state.lastReviewAt - DAY_MS)).toBe(1);
  });

  it('decays monotonically within (0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3650 * DAY_MS }),
        fc.integer({ min: 1, max: 365 * DAY_MS }),
        (t, dt) => {
          const now = sm2RecallProbability(state, state.lastReviewAt + t);
          const later = sm2RecallProbability(state, state.lastReviewAt + t + dt);
          expect(now).toBeGreaterThan(0);
          expect(now).toBeLessThanOrEqual(1);
          expect(later).toBeLessThanOrEqual(now);
        },
      ),
    );
  });
});

describe('qualityFromAttempt', () => {
  const base = { correct: true, responseTimeMs: 60_000, expectedTimeMs: 60_000, attemptNumber: 1 };

  it('grades a correct, fast, first-try answer 5', () => {
    expect(qualityFromAttempt({ ...base, responseTimeMs: 30_000 })).toBe(5);
  });

  it('grades a correct answer at normal speed 4', () => {
    expect(qualityFromAttempt(base)).toBe(4);
    expect(qualityFromAttempt({ ...base, responseTimeMs: 90_000 })).toBe(4);
  });

  it('grades a correct but slow, unsure, or retried answer 3', () => {
    expect(qualityFromAttempt({ ...base, responseTimeMs: 90_001 })).toBe(3);
    expect(qualityFromAttempt({ ...base, responseTimeMs: 10_000, confidence: 0.2 })).toBe(3);
    expect(qualityFromAttempt({ ...base, responseTimeMs: 10_000, attemptNumber: 2 })).toBe(3);
  });

  it('grades a wrong answer given with confidence 2, any other wrong answer 1', () => {
    expect(qualityFromAttempt({ ...base, correct: false, confidence: 0.8 })).toBe(2);
    expect(qualityFromAttempt({ ...base, correct: false, confidence: 0.3 })).toBe(1);
    expect(qualityFromAttempt({ ...base, correct: false })).toBe(1);
    expect(qualityFromAttempt({ ...base, correct: false, attemptNumber: 2 })).toBe(1);
  });

  it('grades no answer or a timeout 0', () => {
    expect(qualityFromAttempt({ ...base, answered: false })).toBe(0);
  });

  it('uses 90 s as the expected time when the question has none, and treats a missing time as normal', () => {
    expect(qualityFromAttempt({ correct: true, responseTimeMs: 45_000, attemptNumber: 1 })).toBe(5);
    expect(qualityFromAttempt({ correct: true, responseTimeMs: 46_000, attemptNumber: 1 })).toBe(4);
    expect(qualityFromAttempt({ correct: true, attemptNumber: 1 })).toBe(4);
  });

  it('always grades a correct answer above a wrong one on the same question', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        fc.integer({ min: 1, max: 4 }),
        (responseTimeMs, confidence, attemptNumber) => {
          const attempt = { responseTimeMs, confidence, attemptNumber };
          expect(qualityFromAttempt({ ...attempt, correct: true })).toBeGreaterThan(
            qualityFromAttempt({ ...attempt, correct: false }),
          );
        },
      ),
    );
  });
});
