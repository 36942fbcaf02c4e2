/**
 * Learner model pooling (issue 15 item 2: student ability with organ-system and topic effects): the pooled
 * prediction of a topic from the student's other topics. Probabilities stay in (0, 1), rise with correct answers
 * on any topic of the student, do not depend on the order the rows were built in (the sums commute) nor on
 * duplicated and replayed rows' answers (dedupe upstream), and reduce to the unpooled model when pooling is off.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addSums,
  emptyLearnerState,
  LEARNER_PARAMS,
  pooledLearner,
  predictLearner,
  rowSums,
  systemOf,
  updateLearner,
  type LearnerState,
  type PoolSums,
} from '../../../services/domain/learner-model.ts';

const T0 = Date.UTC(2026, 0, 5);
const HOUR = 3_600_000;
const TOPICS = ['card.physio.a', 'card.physio.b', 'card.path.c', 'resp.physio.d', 'renal.path.e'];

type Answer = { topic: number; correct: boolean; b: number };
const answerList = fc.array(
  fc.record({
    topic: fc.integer({ min: 0, max: TOPICS.length - 1 }),
    correct: fc.boolean(),
    b: fc.double({ min: -3, max: 3, noNaN: true }),
  }),
  { maxLength: 60 },
);

/** Rows per topic after the answers (one hour apart, in list order), and the pooled prediction of each topic. */
function student(list: readonly Answer[]): { rows: LearnerState[]; at: number } {
  const rows = TOPICS.map(() => emptyLearnerState());
  let at = T0;
  for (const a of list) {
    at += HOUR;
    rows[a.topic] = updateLearner(rows[a.topic] as LearnerState, { at, correct: a.correct, b: a.b });
  }
  return { rows, at };
}

function sumsOf(rows: readonly LearnerState[]): { student: PoolSums; systems: Map<string, PoolSums> } {
  const student = { g: 0, i: 0 };
  const systems = new Map<string, PoolSums>();
  rows.forEach((r, t) => {
    addSums(student, r, 1);
    const sys = systemOf(TOPICS[t] as string);
    const s = systems.get(sys) ?? { g: 0, i: 0 };
    addSums(s, r, 1);
    systems.set(sys, s);
  });
  return { student, systems };
}

function pooledPredictions(rows: readonly LearnerState[], at: number): number[] {
  const sums = sumsOf(rows);
  return rows.map(
    (r, t) =>
      predictLearner(
        pooledLearner(r, sums.student, sums.systems.get(systemOf(TOPICS[t] as string)) as PoolSums),
        at,
        LEARNER_PARAMS.itemPriorMean,
      ).p,
  );
}

describe('learner model pooling', () => {
  it('predicts strictly inside (0, 1) with lower <= p <= upper', () => {
    fc.assert(
      fc.property(answerList, (list) => {
        const { rows, at } = student(list);
        const sums = sumsOf(rows);
        rows.forEach((r, t) => {
          const pooled = pooledLearner(r, sums.student, sums.systems.get(systemOf(TOPICS[t] as string))!);
          const p = predictLearner(pooled, at + HOUR, 0);
          expect(p.p).toBeGreaterThan(0);
          expect(p.p).toBeLessThan(1);
          expect(p.lower).toBeLessThanOrEqual(p.p + 1e-12);
          expect(p.upper).toBeGreaterThanOrEqual(p.p - 1e-12);
          expect(pooled.v).toBeGreaterThan(0);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('is monotone in correct answers: a wrong answer turned right on any topic never lowers any topic', () => {
    fc.assert(
      fc.property(answerList, fc.nat(), (list, pick) => {
        const wrong = list.map((a, i) => ({ a, i })).filter(({ a }) => !a.correct);
        if (wrong.length === 0) return;
        const i = (wrong[pick % wrong.length] as { i: number }).i;
        const flipped = list.map((a, k) => (k === i ? { ...a, correct: true } : a));
        const before = student(list);
        const after = student(flipped);
        const p0 = pooledPredictions(before.rows, before.at);
        const p1 = pooledPredictions(after.rows, after.at);
        p0.forEach((p, t) => expect(p1[t] as number).toBeGreaterThanOrEqual(p - 1e-12));
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order the rows were built in (the sums commute)', () => {
    fc.assert(
      fc.property(answerList, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (list, seed) => {
        const { rows, at } = student(list);
        // Sums accumulated in a shuffled row order, and with rows added, removed and added again (a replay that
        // rewrites a row subtracts its old sums and adds the new ones).
        const order = rows.map((_, i) => i);
        let x = seed;
        for (let k = order.length - 1; k > 0; k--) {
          x = (x * 1103515245 + 12345) % 2 ** 31;
          const j = x % (k + 1);
          [order[k], order[j]] = [order[j] as number, order[k] as number];
        }
        const total = { g: 0, i: 0 };
        for (const k of order) {
          addSums(total, rows[k], 1);
          addSums(total, rows[k], -1);
          addSums(total, rows[k], 1);
        }
        const direct = sumsOf(rows).student;
        expect(total.g).toBeCloseTo(direct.g, 9);
        expect(total.i).toBeCloseTo(direct.i, 9);
        const p = pooledPredictions(rows, at);
        p.forEach((v) => expect(Number.isFinite(v)).toBe(true));
      }),
      { numRuns: 200 },
    );
  });

  it("a topic never answered is predicted from the student's other topics, closer to its own system's", () => {
    const strong = student(
      Array.from({ length: 30 }, (_, k) => ({ topic: k % 2, correct: true, b: 0.5 })), // cardio a, b
    );
    const weak = student(
      Array.from({ length: 30 }, (_, k) => ({ topic: k % 2, correct: k % 5 === 0, b: 0.5 })),
    );
    const fresh = 2; // card.path.c: same system (card), no answers
    const other = 3; // resp.physio.d: another system, no answers
    const ps = pooledPredictions(strong.rows, strong.at);
    const pw = pooledPredictions(weak.rows, weak.at);
    const flat = predictLearner(emptyLearnerState(), strong.at, LEARNER_PARAMS.itemPriorMean).p;
    expect(ps[fresh]).toBeGreaterThan(flat);
    expect(pw[fresh]).toBeLessThan(flat);
    // The same system's evidence counts more than the student's overall.
    expect(ps[fresh] as number).toBeGreaterThan(ps[other] as number);
    expect(pw[fresh] as number).toBeLessThan(pw[other] as number);
  });

  it("excludes the topic's own answers from its prior, and is the unpooled model when pooling is off", () => {
    const { rows, at } = student([
      { topic: 0, correct: true, b: 0 },
      { topic: 0, correct: false, b: 1 },
      { topic: 0, correct: true, b: -1 },
    ]);
    const r = rows[0] as LearnerState;
    const own = rowSums(r);
    // Only the topic's own answers: they are excluded, so the prior is the population's N(mu0, sum of the
    // three variances), combined with the row's own evidence (its precision and precision-mean less the flat
    // prior's).
    const P = LEARNER_PARAMS;
    const V = P.poolStudentVar + P.poolSystemVar + P.poolTopicVar;
    const empty = pooledLearner(emptyLearnerState(), { g: 0, i: 0 }, { g: 0, i: 0 });
    expect(empty.mu).toBeCloseTo(P.mu0, 12);
    expect(empty.v).toBeCloseTo(V, 12);
    const alone = pooledLearner(r, own, own);
    const v = 1 / (1 / V + 1 / r.v - 1 / P.v0);
    expect(alone.v).toBeCloseTo(v, 12);
    expect(alone.mu).toBeCloseTo(v * (P.mu0 / V + r.mu / r.v - P.mu0 / P.v0), 12);
    const flat = { ...LEARNER_PARAMS, poolStudentVar: 0 };
    expect(pooledLearner(r, own, own, flat)).toBe(r);
    expect(predictLearner(alone, at, 0).p).toBeGreaterThan(0);
    // A state written before pooling (no sums) reads as zero sums.
    const legacy: LearnerState = { mu: r.mu, v: r.v, n: r.n, s: r.s, lastAt: r.lastAt };
    expect(rowSums(legacy)).toEqual({ g: 0, i: 0 });
  });

  it('systemOf takes the first slug segment', () => {
    expect(systemOf('card.physio.heart-failure')).toBe('card');
    expect(systemOf('gen')).toBe('gen');
  });
});
