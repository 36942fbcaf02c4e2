import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fsrsRecallProbability,
  fsrsReview,
  ratingFromCorrectness,
  ratingFromQuality,
} from '../../../services/domain/fsrs.ts';
import type { FsrsRating, FsrsState } from '../../../services/domain/fsrs.ts';
import { DAY_MS } from '../../../services/domain/sm2.ts';

const T0 = Date.UTC(2025, 0, 1);

describe('FSRS rating from our grades', () => {
  it('treats every SM-2 failure (quality < 3) as Again, then 3 Hard, 4 Good, 5 Easy', () => {
    expect([0, 1, 2, 3, 4, 5].map(ratingFromQuality)).toEqual([
      'again',
      'again',
      'again',
      'hard',
      'good',
      'easy',
    ]);
  });

  it('maps bare correctness to Good or Again', () => {
    expect(ratingFromCorrectness(true)).toBe('good');
    expect(ratingFromCorrectness(false)).toBe('again');
  });
});

describe('fsrsReview', () => {
  it('starts a new topic at the default FSRS-6 initial stabilities (w0..w3) and schedules in whole days', () => {
    const first = (['again', 'hard', 'good', 'easy'] as const).map((rating) =>
      fsrsReview(undefined, rating, T0),
    );
    expect(first.map((s) => s.stability)).toEqual([0.212, 1.2931, 2.3065, 8.2956]);
    expect(first.map((s) => s.scheduledDays)).toEqual([1, 2, 3, 8]);
    expect(first.every((s) => s.state === 'review' && s.reps === 1 && s.lapses === 0)).toBe(true);
    expect(first[2]?.dueAt).toBe(T0 + 3 * DAY_MS);
    expect(first[2]?.lastReviewAt).toBe(T0);
  });

  it('spaces successive Good reviews on their due dates 3, 14, 57, 196 days apart', () => {
    let state: FsrsState | undefined;
    const intervals: number[] = [];
    for (let i = 0; i < 4; i++) {
      state = fsrsReview(state, 'good', state?.dueAt ?? T0);
      intervals.push(state.scheduledDays);
    }
    expect(intervals).toEqual([3, 14, 57, 196]);
  });

  it('counts a lapse and cuts stability when a reviewed topic is forgotten', () => {
    const learned = fsrsReview(undefined, 'good', T0);
    const forgotten = fsrsReview(learned, 'again', learned.dueAt);
    expect(forgotten.lapses).toBe(1);
    expect(forgotten.reps).toBe(2);
    expect(forgotten.stability).toBeLessThan(learned.stability);
    expect(forgotten.scheduledDays).toBe(1);
  });

  it('barely moves stability when a topic is drilled many times in one sitting', () => {
    let state = fsrsReview(undefined, 'good', T0);
    for (let i = 1; i <= 20; i++) state = fsrsReview(state, 'good', T0 + i * 60_000);
    expect(state.stability).toBeCloseTo(2.3065, 4);
    expect(state.scheduledDays).toBe(3);
  });

  it('ignores a review older than the last one', () => {
    const state = fsrsReview(undefined, 'good', T0);
    expect(fsrsReview(state, 'again', T0 - 1)).toBe(state);
  });

  it('is deterministic and its state survives a JSON round trip (no fuzz, no Dates)', () => {
    const ratings: FsrsRating[] = ['good', 'hard', 'again', 'good', 'easy'];
    const run = (viaJson: boolean) => {
      let state: FsrsState | undefined;
      for (const rating of ratings) {
        const next = fsrsReview(state, rating, state?.dueAt ?? T0);
        state = viaJson ? (JSON.parse(JSON.stringify(next)) as FsrsState) : next;
      }
      return state;
    };
    expect(run(true)).toEqual(run(false));
    expect(run(false)).toEqual(run(false));
  });

  it('keeps stability positive and the due date after the review for any rating sequence', () => {
    const rating = fc.constantFrom<FsrsRating>('again', 'hard', 'good', 'easy');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(rating, fc.integer({ min: 0, max: 60 * DAY_MS })), { minLength: 1, maxLength: 25 }),
        (reviews) => {
          let state: FsrsState | undefined;
          let at = T0;
          for (const [r, gap] of reviews) {
            at += gap;
            state = fsrsReview(state, r, at);
            expect(state.stability).toBeGreaterThan(0);
            expect(state.dueAt).toBeGreaterThan(at);
            expect(state.difficulty).toBeGreaterThanOrEqual(1);
            expect(state.difficulty).toBeLessThanOrEqual(10);
          }
        },
      ),
    );
  });
});

describe('fsrsRecallProbability', () => {
  const state = fsrsReview(undefined, 'good', T0);

  it('is 1 at the review and 0.9 after exactly "stability" days, by the definition of FSRS stability', () => {
    expect(fsrsRecallProbability(state, T0)).toBe(1);
    expect(fsrsRecallProbability(state, T0 + state.stability * DAY_MS)).toBeCloseTo(0.9, 6);
  });

  it('decays within a day (fractional elapsed days, unlike get_retrievability)', () => {
    expect(fsrsRecallProbability(state, T0 + DAY_MS / 2)).toBeLessThan(1);
  });

  it('is 0 for a topic never reviewed', () => {
    expect(fsrsRecallProbability(undefined, T0)).toBe(0);
  });

  it('decays monotonically within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3650 * DAY_MS }),
        fc.integer({ min: 1, max: 365 * DAY_MS }),
        (t, dt) => {
          const now = fsrsRecallProbability(state, T0 + t);
          const later = fsrsRecallProbability(state, T0 + t + dt);
          expect(now).toBeGreaterThanOrEqual(0);
          expect(now).toBeLessThanOrEqual(1);
          expect(later).toBeLessThanOrEqual(now);
        },
      ),
    );
  });
});
