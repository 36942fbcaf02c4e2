import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyAttempt,
  applyMaterialProgress,
  computeMastery,
  emptyMasteryState,
  masteryScore,
  masteryTrend,
  rollupToParent,
} from '../../../services/domain/mastery.ts';
import type { MasteryAttempt, MasteryState, OutcomeRecord } from '../../../services/domain/mastery.ts';
import { DAY_MS } from '../../../services/domain/sm2.ts';

const T0 = Date.UTC(2025, 0, 1);
const MINUTE = 60_000;

function attempt(at: number, correct: boolean, attemptNumber = 1): MasteryAttempt {
  return { occurredAt: at, correct, attemptNumber, responseTimeMs: 60_000, expectedTimeMs: 60_000 };
}

function applyAll(events: MasteryAttempt[], start?: MasteryState): MasteryState {
  return events.reduce<MasteryState>(
    (state, event) => applyAttempt(state, event),
    start ?? emptyMasteryState(),
  );
}

/** The seed's test case: 20 attempts, 15 correct; 15 first attempts, 12 of them correct. */
function seedAttempts(): MasteryAttempt[] {
  const firstAttempts = Array.from({ length: 15 }, (_, i) => i < 12);
  const retries = Array.from({ length: 5 }, (_, i) => i < 3);
  return [
    ...firstAttempts.map((correct, i) => attempt(T0 + i * MINUTE, correct, 1)),
    ...retries.map((correct, i) => attempt(T0 + (15 + i) * MINUTE, correct, 2)),
  ];
}

describe('mastery score (seed formula)', () => {
  it('passes the seed test: 20 attempts, 15 correct, 12 of 15 first attempts, fresh recall -> 0.6..0.8', () => {
    // Assumption: material completion 0.5 (the seed gives none). With retrieval strength 1 the formula
    // is 0.3 * 0.8 + 0.2 * 0.75 + 0.3 * 1 + 0.2 * 0.5 = 0.79.
    const state = applyMaterialProgress(applyAll(seedAttempts()), { completion: 0.5, occurredAt: T0 });
    expect(state).toMatchObject({
      attempts: 20,
      correct: 15,
      firstAttemptTotal: 15,
      firstAttemptCorrect: 12,
    });
    const lastAttemptAt = T0 + 19 * MINUTE;
    for (const scheduler of ['sm2', 'fsrs'] as const) {
      const mastery = computeMastery(state, lastAttemptAt, { scheduler });
      expect(mastery.components.retrievalStrength).toBeCloseTo(1, 9);
      expect(mastery.score).toBeCloseTo(0.79, 9);
      expect(mastery.score).toBeGreaterThanOrEqual(0.6);
      expect(mastery.score).toBeLessThanOrEqual(0.8);
    }
  });

  it('weights the four components 0.30 / 0.20 / 0.30 / 0.20', () => {
    const score = (c: Partial<Parameters<typeof masteryScore>[0]>) =>
      masteryScore({
        firstAttemptAccuracy: 0,
        overallAccuracy: 0,
        retrievalStrength: 0,
        materialCompletion: 0,
        ...c,
      });
    expect(score({ firstAttemptAccuracy: 1 })).toBeCloseTo(0.3, 12);
    expect(score({ overallAccuracy: 1 })).toBeCloseTo(0.2, 12);
    expect(score({ retrievalStrength: 1 })).toBeCloseTo(0.3, 12);
    expect(score({ materialCompletion: 1 })).toBeCloseTo(0.2, 12);
  });

  it('falls as recall decays: a month after the last SM-2 review (interval 1 day) retrieval is 0.9^30', () => {
    const state = applyAll(seedAttempts());
    const lastAttemptAt = T0 + 19 * MINUTE;
    const later = computeMastery(state, lastAttemptAt + 30 * DAY_MS, { scheduler: 'sm2' });
    expect(later.components.retrievalStrength).toBeCloseTo(0.9 ** 30, 9);
    expect(later.score).toBeLessThan(computeMastery(state, lastAttemptAt, { scheduler: 'sm2' }).score);
  });

  it('is 0 with an interval of [0, 0.5] before any evidence', () => {
    const mastery = computeMastery(emptyMasteryState(), T0);
    expect(mastery).toMatchObject({
      score: 0,
      lower: 0,
      upper: 0.5,
      recentAccuracy: null,
      nextReviewAt: null,
    });
    expect(mastery.trend).toBe('insufficient_data');
  });

  it('has a 95% interval that narrows as the same accuracy is seen on more attempts', () => {
    const few = computeMastery(applyAll(seedAttempts()), T0 + 19 * MINUTE);
    const many = computeMastery(
      applyAll(
        Array.from({ length: 5 }, (_, round) =>
          seedAttempts().map((a) => ({ ...a, occurredAt: a.occurredAt + round * 20 * MINUTE })),
        ).flat(),
      ),
      T0 + 99 * MINUTE,
    );
    expect(many.upper - many.lower).toBeLessThan(few.upper - few.lower);
    expect(few.lower).toBeLessThan(few.score);
    expect(few.upper).toBeGreaterThan(few.score);
  });

  it('reports the recent accuracy over the last 10 outcomes', () => {
    const events = [...Array(10).fill(false), ...Array(7).fill(true), false, false, false].map((correct, i) =>
      attempt(T0 + i * MINUTE, correct as boolean),
    );
    expect(computeMastery(applyAll(events), T0 + 20 * MINUTE).recentAccuracy).toBeCloseTo(0.7, 12);
  });

  it('counts a skipped or timed-out question as an incorrect attempt', () => {
    const state = applyAttempt(undefined, { ...attempt(T0, true), answered: false });
    expect(state).toMatchObject({ attempts: 1, correct: 0, firstAttemptTotal: 1, firstAttemptCorrect: 0 });
    expect(state.recentOutcomes).toEqual([{ at: T0, correct: false }]);
  });
});

describe('mastery properties', () => {
  const attemptArb = fc.record({
    offsetMinutes: fc.integer({ min: 0, max: 60 * 24 * 60 }),
    correct: fc.boolean(),
    attemptNumber: fc.integer({ min: 1, max: 3 }),
    responseTimeMs: fc.integer({ min: 1_000, max: 300_000 }),
  });
  const historyArb = fc.array(attemptArb, { maxLength: 40 });
  const toEvents = (
    history: { offsetMinutes: number; correct: boolean; attemptNumber: number; responseTimeMs: number }[],
  ) =>
    history
      .map((h) => ({
        ...attempt(T0 + h.offsetMinutes * MINUTE, h.correct, h.attemptNumber),
        responseTimeMs: h.responseTimeMs,
      }))
      .sort((a, b) => a.occurredAt - b.occurredAt);

  it('keeps the score and its interval inside [0, 1], with the score inside its interval', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom('sm2' as const, 'fsrs' as const),
        (history, completion, queryDays, scheduler) => {
          const state = applyMaterialProgress(applyAll(toEvents(history)), { completion, occurredAt: T0 });
          const mastery = computeMastery(state, T0 + queryDays * DAY_MS, { scheduler });
          expect(mastery.lower).toBeGreaterThanOrEqual(0);
          expect(mastery.upper).toBeLessThanOrEqual(1);
          expect(mastery.lower).toBeLessThanOrEqual(mastery.score);
          expect(mastery.score).toBeLessThanOrEqual(mastery.upper);
        },
      ),
    );
  });

  it('never scores a correct answer below an incorrect one given at the same point', () => {
    fc.assert(
      fc.property(
        historyArb,
        attemptArb,
        fc.integer({ min: 0, max: 30 * DAY_MS }),
        fc.constantFrom('sm2' as const, 'fsrs' as const),
        (history, next, queryDelay, scheduler) => {
          const events = toEvents(history);
          const before = applyAll(events);
          const at = (events.at(-1)?.occurredAt ?? T0) + next.offsetMinutes * MINUTE;
          const base = { ...attempt(at, true, next.attemptNumber), responseTimeMs: next.responseTimeMs };
          const ifCorrect = applyAttempt(before, base);
          const ifIncorrect = applyAttempt(before, { ...base, correct: false });
          for (const queryAt of [at, at + queryDelay]) {
            expect(computeMastery(ifCorrect, queryAt, { scheduler }).score).toBeGreaterThanOrEqual(
              computeMastery(ifIncorrect, queryAt, { scheduler }).score - 1e-12,
            );
          }
        },
      ),
    );
  });

  it('is deterministic and JSON-serialisable: the same event on the same (round-tripped) state gives the same state', () => {
    fc.assert(
      fc.property(historyArb, attemptArb, (history, next) => {
        const state = applyAll(toEvents(history));
        const roundTripped = JSON.parse(JSON.stringify(state)) as MasteryState;
        expect(roundTripped).toEqual(state);
        const event = attempt(T0 + next.offsetMinutes * MINUTE, next.correct, next.attemptNumber);
        expect(applyAttempt(roundTripped, event)).toEqual(applyAttempt(state, event));
      }),
    );
  });

  it('reaches the same counts, recent outcomes and material completion in any arrival order', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.array(
          fc.record({
            completion: fc.double({ min: 0, max: 1, noNaN: true }),
            offsetMinutes: fc.integer({ min: 0, max: 1000 }),
          }),
          { maxLength: 5 },
        ),
        fc.integer(),
        (history, progress, seed) => {
          type Event =
            | { kind: 'attempt'; attempt: MasteryAttempt }
            | { kind: 'progress'; completion: number; occurredAt: number };
          const events: Event[] = [
            ...toEvents(history).map((a) => ({ kind: 'attempt' as const, attempt: a })),
            ...progress.map((p) => ({
              kind: 'progress' as const,
              completion: p.completion,
              occurredAt: T0 + p.offsetMinutes * MINUTE,
            })),
          ];
          const shuffled = shuffle(events, seed);
          const run = (list: Event[]) =>
            list.reduce<MasteryState>(
              (state, e) =>
                e.kind === 'attempt' ? applyAttempt(state, e.attempt) : applyMaterialProgress(state, e),
              emptyMasteryState(),
            );
          const inOrder = run(events);
          const reordered = run(shuffled);
          // The schedulers (fsrsDaily too) and the learner model are sequential (applied in event-time order by the row step,
          // whose order independence test/unit/processors/mastery-row.test.ts and learner-model.test.ts show).
          const { sm2: _a, fsrs: _b, learner: _e, fsrsDaily: _g, ...orderFree } = inOrder;
          const { sm2: _c, fsrs: _d, learner: _f, fsrsDaily: _h, ...orderFreeReordered } = reordered;
          expect(orderFreeReordered).toEqual(orderFree);
        },
      ),
    );
  });
});

describe('late and early events', () => {
  it('counts a late attempt but does not move the schedulers or lastEventAt back', () => {
    const state = applyAll([attempt(T0, true), attempt(T0 + 2 * DAY_MS, true)]);
    const late = applyAttempt(state, attempt(T0 + DAY_MS, false));
    expect(late.attempts).toBe(3);
    expect(late.correct).toBe(2);
    expect(late.sm2).toEqual(state.sm2);
    expect(late.fsrs).toEqual(state.fsrs);
    expect(late.lastEventAt).toBe(T0 + 2 * DAY_MS);
    expect(late.recentOutcomes.map((o) => o.at)).toEqual([T0, T0 + DAY_MS, T0 + 2 * DAY_MS]);
  });

  it('does not grow the SM-2 interval for successes before the due date (cramming), only restarts its clock', () => {
    const crammed = applyAll(Array.from({ length: 20 }, (_, i) => attempt(T0 + i * MINUTE, true)));
    expect(crammed.sm2).toMatchObject({ repetitions: 1, intervalDays: 1, lastReviewAt: T0 + 19 * MINUTE });
    expect(crammed.sm2?.dueAt).toBe(T0 + 19 * MINUTE + DAY_MS);
    const reviewedWhenDue = applyAttempt(crammed, attempt(crammed.sm2?.dueAt as number, true));
    expect(reviewedWhenDue.sm2).toMatchObject({ repetitions: 2, intervalDays: 6 });
  });

  it('resets SM-2 on a failure even before the due date', () => {
    const state = applyAll([attempt(T0, true), attempt(T0 + DAY_MS, true), attempt(T0 + 2 * DAY_MS, false)]);
    expect(state.sm2).toMatchObject({ repetitions: 0, intervalDays: 1, lastReviewAt: T0 + 2 * DAY_MS });
  });

  it('keeps the material completion with the latest event time, whatever order it arrives in', () => {
    let state = applyMaterialProgress(undefined, { completion: 0.6, occurredAt: T0 + 10 });
    state = applyMaterialProgress(state, { completion: 0.2, occurredAt: T0 });
    expect(state.materialCompletion).toBe(0.6);
    state = applyMaterialProgress(state, { completion: 0.4, occurredAt: T0 + 20 });
    expect(state.materialCompletion).toBe(0.4);
    state = applyMaterialProgress(state, { completion: 0.5, occurredAt: T0 + 20 });
    expect(state.materialCompletion).toBe(0.5);
    expect(applyMaterialProgress(undefined, { completion: 7, occurredAt: T0 }).materialCompletion).toBe(1);
  });
});

describe('mastery trend', () => {
  const outcomes = (pattern: boolean[]): OutcomeRecord[] =>
    pattern.map((correct, i) => ({ at: T0 + i, correct }));
  const repeat = (value: boolean, n: number) => Array<boolean>(n).fill(value);

  it('needs 10 recent and at least 5 earlier outcomes', () => {
    expect(masteryTrend(outcomes(repeat(true, 14)))).toBe('insufficient_data');
    expect(masteryTrend(outcomes([...repeat(false, 5), ...repeat(true, 10)]))).toBe('improving');
  });

  it('is improving or declining for a change of at least 15 points', () => {
    // earlier 5/10, recent 7/10: +20 points
    const earlier = [...repeat(true, 5), ...repeat(false, 5)];
    expect(masteryTrend(outcomes([...earlier, ...repeat(true, 7), ...repeat(false, 3)]))).toBe('improving');
    expect(masteryTrend(outcomes([...earlier, ...repeat(true, 3), ...repeat(false, 7)]))).toBe('declining');
  });

  it('is stable for a smaller change', () => {
    const earlier = [...repeat(true, 5), ...repeat(false, 5)];
    expect(masteryTrend(outcomes([...earlier, ...repeat(true, 6), ...repeat(false, 4)]))).toBe('stable');
  });

  it('only looks at the last 20 outcomes', () => {
    const old = repeat(false, 30);
    const state = applyAll(
      [...old, ...repeat(true, 20)].map((correct, i) => attempt(T0 + i * MINUTE, correct)),
    );
    expect(state.recentOutcomes).toHaveLength(20);
    expect(computeMastery(state, T0).trend).toBe('stable');
  });
});

describe('rollupToParent', () => {
  it('weights child scores by board-exam weight', () => {
    expect(
      rollupToParent([
        { score: 0.8, weight: 8 },
        { score: 0.4, weight: 2 },
      ]),
    ).toBeCloseTo(0.72, 12);
  });

  it('falls back to the plain mean when every weight is zero, and to null without children', () => {
    expect(
      rollupToParent([
        { score: 0.2, weight: 0 },
        { score: 0.6, weight: 0 },
      ]),
    ).toBeCloseTo(0.4, 12);
    expect(rollupToParent([])).toBeNull();
  });

  it('stays between the lowest and highest child score', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            score: fc.double({ min: 0, max: 1, noNaN: true }),
            weight: fc.double({ min: 0, max: 10, noNaN: true }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (children) => {
          const parent = rollupToParent(children) as number;
          expect(parent).toBeGreaterThanOrEqual(Math.min(...children.map((c) => c.score)) - 1e-12);
          expect(parent).toBeLessThanOrEqual(Math.max(...children.map((c) => c.score)) + 1e-12);
        },
      ),
    );
  });
});

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const result = [...items];
  let random = seed >>> 0;
  for (let i = result.length - 1; i > 0; i--) {
    random = (Math.imul(random, 1_664_525) + 1_013_904_223) >>> 0;
    const j = random % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}
