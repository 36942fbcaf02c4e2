import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  difficultyToLogit,
  emptyLearnerState,
  fitItemDifficulties,
  LEARNER_PARAMS,
  learnerRecall,
  predictLearner,
  resolveItemDifficulty,
  updateLearner,
  type LearnerAnswer,
  type LearnerState,
} from '../../../services/domain/learner-model.ts';
import { applyAttempt, emptyMasteryState, type MasteryState } from '../../../services/domain/mastery.ts';
import {
  applyTopicEvent,
  emptyTopicMastery,
  type TopicEvent,
} from '../../../services/domain/topic-mastery.ts';

const T0 = Date.UTC(2026, 0, 5);
const MIN = 60_000;
const DAY = 86_400_000;

const answers = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 3 * DAY }),
    correct: fc.boolean(),
    b: fc.double({ min: -3, max: 3, noNaN: true }),
  }),
  { maxLength: 40 },
);

function run(list: Array<{ dt: number; correct: boolean; b: number }>): { s: LearnerState; at: number } {
  let s = emptyLearnerState();
  let at = T0;
  for (const a of list) {
    at += a.dt;
    s = updateLearner(s, { at, correct: a.correct, b: a.b });
  }
  return { s, at };
}

describe('learner model v2', () => {
  it('predicts probabilities strictly inside (0, 1), above the guessing floor, with lower <= p <= upper', () => {
    fc.assert(
      fc.property(
        answers,
        fc.integer({ min: 0, max: 60 * DAY }),
        fc.double({ min: -6, max: 6, noNaN: true }),
        (list, later, b) => {
          const { s, at } = run(list);
          const pred = predictLearner(s, at + later, b);
          expect(pred.p).toBeGreaterThan(0);
          expect(pred.p).toBeLessThan(1);
          expect(pred.p).toBeGreaterThanOrEqual(LEARNER_PARAMS.guess - 1e-9);
          expect(pred.lower).toBeLessThanOrEqual(pred.p + 1e-12);
          expect(pred.upper).toBeGreaterThanOrEqual(pred.p - 1e-12);
          expect(Number.isFinite(s.mu) && s.v > 0).toBe(true);
        },
      ),
    );
  });

  it('is monotone in correct answers: turning any answer from wrong to right never lowers the next prediction', () => {
    fc.assert(
      fc.property(answers, fc.nat(), fc.integer({ min: 0, max: 5 * DAY }), (list, pick, later) => {
        const wrongAt = list.findIndex((a, i) => !a.correct && i >= pick % Math.max(1, list.length));
        if (wrongAt < 0) return;
        const flipped = list.map((a, i) => (i === wrongAt ? { ...a, correct: true } : a));
        const before = run(list);
        const after = run(flipped);
        const b = 0;
        // Up to 1e-9, the precision predictions are clamped to (EPS): the model's floating-point arithmetic lowered
        // one by 1.00003e-12 in the counterexample below (CI, 2026-12-06, seed -172502640), against a tolerance of
        // 1e-12 then.
        expect(predictLearner(after.s, after.at + later, b).p).toBeGreaterThanOrEqual(
          predictLearner(before.s, before.at + later, b).p - 1e-9,
        );
      }),
      {
        examples: [
          [
            [
              { dt: 0, correct: false, b: 0 },
              { dt: 175016844, correct: false, b: 2.9999999980733705 },
              { dt: 55508488, correct: true, b: 0 },
              { dt: 4, correct: true, b: 0 },
              { dt: 173363136, correct: false, b: 0 },
              { dt: 78492476, correct: false, b: 0 },
              { dt: 226212599, correct: false, b: 0 },
              { dt: 199985158, correct: false, b: 0 },
              { dt: 126691674, correct: false, b: 0 },
            ],
            1725141808,
            157757319,
          ],
        ],
      },
    );
  });

  it('a correct answer raises and a wrong answer lowers the prediction for the same moment', () => {
    const s = updateLearner(emptyLearnerState(), { at: T0, correct: true, b: 0 });
    const at = T0 + MIN;
    const up = updateLearner(s, { at, correct: true, b: 0 });
    const down = updateLearner(s, { at, correct: false, b: 0 });
    const p = (x: LearnerState): number => predictLearner(x, at + MIN, 0).p;
    expect(p(up)).toBeGreaterThan(p(s));
    expect(p(down)).toBeLessThan(p(s));
  });

  it('forgets: recall and prediction fall with time since the last exposure; material study counts as exposure', () => {
    const s = updateLearner(emptyLearnerState(), { at: T0, correct: true, b: 0 });
    expect(learnerRecall(s, T0)).toBeCloseTo(1, 12);
    const week = T0 + 7 * DAY;
    expect(learnerRecall(s, week)).toBeLessThan(learnerRecall(s, T0 + DAY));
    expect(predictLearner(s, week, 0).p).toBeLessThan(predictLearner(s, T0 + DAY, 0).p);
    expect(predictLearner(s, week, 0, week - MIN).p).toBeGreaterThan(predictLearner(s, week, 0).p);
    // material study after the moment asked about does not count
    expect(predictLearner(s, week, 0, week + MIN).p).toBe(predictLearner(s, week, 0).p);
  });

  it('harder items get lower probabilities; the difficulty field maps through its logit', () => {
    const s = emptyLearnerState();
    expect(predictLearner(s, T0, 1).p).toBeLessThan(predictLearner(s, T0, -1).p);
    expect(difficultyToLogit(0.5)).toBeCloseTo(0, 12);
    expect(difficultyToLogit(0.73)).toBeCloseTo(Math.log(0.73 / 0.27), 12);
    expect(resolveItemDifficulty(1.5, 0.5)).toBe(1.5);
    expect(resolveItemDifficulty(undefined, 0.5)).toBeCloseTo(0, 12);
    expect(resolveItemDifficulty(undefined, null)).toBe(LEARNER_PARAMS.itemPriorMean);
  });

  it('is invariant to duplicated and replayed answers through the mastery row (dedupe by id, event-time order)', () => {
    fc.assert(
      fc.property(answers, fc.array(fc.nat(), { maxLength: 10 }), (list, dupes) => {
        let at = T0;
        const events: TopicEvent[] = list.map((a, i) => {
          at += a.dt + 1;
          return { at, id: `e${i}`, answer: { correct: a.correct, attemptNumber: 1, itemB: a.b } };
        });
        const once = events.reduce(
          (row, e) => applyTopicEvent(row, e, 3_600_000, 'fsrs').row,
          emptyTopicMastery(),
        );
        // replay: duplicates (filtered by id as the processor does) and the whole log again
        const seen = new Set<string>();
        const log = [
          ...events,
          ...dupes.map((d) => events[d % Math.max(1, events.length)]).filter((e) => e !== undefined),
          ...events,
        ];
        let row = emptyTopicMastery();
        for (const e of log) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
          row = applyTopicEvent(row, e, 3_600_000, 'fsrs').row;
        }
        expect(row.visible.learner).toEqual(once.visible.learner);
      }),
    );
  });

  it('in the mastery state: answers older than the last applied one are not applied to the model', () => {
    let state: MasteryState = emptyMasteryState();
    state = applyAttempt(state, { occurredAt: T0 + DAY, correct: true, attemptNumber: 1, itemB: 0 });
    const before = state.learner;
    state = applyAttempt(state, { occurredAt: T0, correct: false, attemptNumber: 1, itemB: 0 });
    expect(state.learner).toEqual(before);
    expect(state.attempts).toBe(2);
  });

  it('the row step gives the same model for any arrival order within the allowed lateness', () => {
    fc.assert(
      fc.property(answers, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (list, seed) => {
        let at = T0;
        const events: TopicEvent[] = list.map((a, i) => {
          at += (a.dt % (10 * MIN)) + 1;
          return {
            at,
            id: `e${String(i).padStart(3, '0')}`,
            answer: { correct: a.correct, attemptNumber: 1, itemB: a.b },
          };
        });
        const inOrder = events.reduce(
          (row, e) => applyTopicEvent(row, e, DAY, 'fsrs').row,
          emptyTopicMastery(),
        );
        const shuffled = [...events];
        let r = seed;
        for (let i = shuffled.length - 1; i > 0; i--) {
          r = (r * 48271) % 2147483647;
          const j = r % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as TopicEvent, shuffled[i] as TopicEvent];
        }
        const outOfOrder = shuffled.reduce(
          (row, e) => applyTopicEvent(row, e, DAY, 'fsrs').row,
          emptyTopicMastery(),
        );
        expect(outOfOrder.visible.learner).toEqual(inOrder.visible.learner);
      }),
    );
  });
});

describe('item calibration', () => {
  it('recovers item difficulties from simulated answers of known ability (MAP with a weak prior)', () => {
    // deterministic pseudo-random outcomes
    let r = 12345;
    const rand = (): number => (r = (r * 48271) % 2147483647) / 2147483647;
    const truth = new Map([
      ['easy', -1.5],
      ['mid', 0],
      ['hard', 1.5],
    ]);
    const obs = [];
    for (let i = 0; i < 3000; i++)
      for (const [item, b] of truth) {
        const z = -1 + 2 * rand();
        const p = 0.2 + 0.8 / (1 + Math.exp(-(z - b)));
        obs.push({ item, z, k: 1, correct: rand() < p });
      }
    const fitted = fitItemDifficulties(obs, () => 0, 2);
    for (const [item, b] of truth) {
      expect(fitted.get(item)?.n).toBe(3000);
      expect(Math.abs((fitted.get(item)?.b ?? NaN) - b)).toBeLessThan(0.15);
    }
  });

  it('with no answers an item stays at its prior; a tight prior dominates few answers', () => {
    const fitted = fitItemDifficulties([{ item: 'x', z: 0, k: 1, correct: true } as const], () => 0.7, 0.01);
    expect(fitted.get('x')?.b).toBeCloseTo(0.7, 2);
    expect(fitItemDifficulties([], () => 0, 1).size).toBe(0);
  });
});

describe('answer update', () => {
  it('shrinks the ability variance with every answer before process noise', () => {
    const a: LearnerAnswer = { at: T0, correct: true, b: 0 };
    const s1 = updateLearner(emptyLearnerState(), a);
    expect(s1.v).toBeLessThan(LEARNER_PARAMS.v0 + LEARNER_PARAMS.processNoise);
    expect(s1.n).toBe(1);
    expect(s1.lastAt).toBe(T0);
  });
});
