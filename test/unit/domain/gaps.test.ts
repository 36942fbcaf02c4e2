import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boardWeightScale,
  classifySeverity,
  dependentStrengths,
  learningPath,
  detectKnowledgeGaps,
  expectedQuestionsToTarget,
  hoursToClose,
  MAX_QUESTIONS_TO_CLOSE,
  P_CORRECT_TARGET,
  prerequisiteImpact,
  recommendedStudyPath,
  scoreGap,
  topicGraph,
  transitiveDependents,
  transitivePrerequisites,
} from '../../../services/domain/gaps.ts';
import type { LearnerSnapshot, TopicNode } from '../../../services/domain/gaps.ts';
import {
  emptyLearnerState,
  LEARNER_PARAMS,
  predictLearner,
  updateLearner,
  type LearnerState,
} from '../../../services/domain/learner-model.ts';

const NOW_GAPS = Date.UTC(2026, 5, 1);

// anatomy -> physiology -> pathology, physiology -> pharmacology; biochem stands alone.
const graph = topicGraph([
  { topicId: 'anatomy', boardExamWeight: 6, prerequisites: [] },
  { topicId: 'physiology', boardExamWeight: 7, prerequisites: ['anatomy'] },
  { topicId: 'pathology', boardExamWeight: 9, prerequisites: ['physiology'] },
  { topicId: 'pharmacology', boardExamWeight: 8, prerequisites: ['physiology'] },
  { topicId: 'biochem', boardExamWeight: 5, prerequisites: [] },
]);

describe('gap priority and severity (seed formula)', () => {
  it('passes the seed test: mastery 0.3, accuracy 0.45, weight 8 -> critical with priority > 7', () => {
    const gap = scoreGap({ masteryScore: 0.3, recentAccuracy: 0.45, boardExamWeight: 8 });
    expect(gap.severity).toBe('critical');
    expect(gap.priorityScore).toBeGreaterThan(7);
    // 3.0 * 0.7 + 2.0 * 8 + 1.0 * 0 + 1.5 * 0.55
    expect(gap.priorityScore).toBeCloseTo(18.925, 12);
    expect(gap.gapScore).toBeCloseTo(0.7, 12);
    expect(gap.recentFailureRate).toBeCloseTo(0.55, 12);
  });

  it('adds prerequisite impact at weight 1.0', () => {
    const without = scoreGap({ masteryScore: 0.5, recentAccuracy: 0.5, boardExamWeight: 5 });
    const withImpact = scoreGap({
      masteryScore: 0.5,
      recentAccuracy: 0.5,
      boardExamWeight: 5,
      prerequisiteImpact: 2.4,
    });
    expect(withImpact.priorityScore - without.priorityScore).toBeCloseTo(2.4, 12);
  });

  it('treats an unknown recent failure rate as 0.5', () => {
    expect(scoreGap({ masteryScore: 1, recentAccuracy: null, boardExamWeight: 0 }).priorityScore).toBeCloseTo(
      0.75,
      12,
    );
  });

  it('needs both a real deficit and priority for each severity', () => {
    expect(classifySeverity(0.5, 15)).toBe('critical');
    expect(classifySeverity(0.49, 30)).toBe('high');
    expect(classifySeverity(0.9, 14.9)).toBe('high');
    expect(classifySeverity(0.35, 10)).toBe('high');
    expect(classifySeverity(0.9, 9.9)).toBe('medium');
    expect(classifySeverity(0.2, 5)).toBe('medium');
    expect(classifySeverity(0.19, 30)).toBe('low');
    expect(classifySeverity(0.9, 4.9)).toBe('low');
  });

  it('never ranks a smaller gap above a larger one on the same topic', () => {
    const severityRank = { low: 0, medium: 1, high: 2, critical: 3 };
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        (a, b, weight) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const weaker = scoreGap({ masteryScore: low, recentAccuracy: 0.5, boardExamWeight: weight });
          const stronger = scoreGap({ masteryScore: high, recentAccuracy: 0.5, boardExamWeight: weight });
          expect(weaker.priorityScore).toBeGreaterThanOrEqual(stronger.priorityScore);
          expect(severityRank[weaker.severity]).toBeGreaterThanOrEqual(severityRank[stronger.severity]);
        },
      ),
    );
  });
});

describe('prerequisite impact', () => {
  it('finds dependents and prerequisites transitively', () => {
    expect(transitiveDependents('anatomy', graph)).toEqual(['pathology', 'pharmacology', 'physiology']);
    expect(transitivePrerequisites('pathology', graph)).toEqual(['anatomy', 'physiology']);
    expect(transitiveDependents('biochem', graph)).toEqual([]);
  });

  it('sums the board weight of every transitive dependent, in units of one weight-10 topic', () => {
    expect(prerequisiteImpact('anatomy', graph)).toBeCloseTo((7 + 9 + 8) / 10, 12);
    expect(prerequisiteImpact('physiology', graph)).toBeCloseTo(1.7, 12);
    expect(prerequisiteImpact('pathology', graph)).toBe(0);
  });

  it('terminates on cyclic prerequisites and never counts a topic as its own dependent', () => {
    const cyclic = topicGraph([
      { topicId: 'a', boardExamWeight: 1, prerequisites: ['c'] },
      { topicId: 'b', boardExamWeight: 2, prerequisites: ['a'] },
      { topicId: 'c', boardExamWeight: 3, prerequisites: ['b'] },
    ]);
    expect(transitiveDependents('a', cyclic)).toEqual(['b', 'c']);
    expect(prerequisiteImpact('a', cyclic)).toBeCloseTo(0.5, 12);
  });
});

describe('hours to close a gap (learner model)', () => {
  const P = LEARNER_PARAMS;
  const NOW = Date.UTC(2026, 5, 1);
  const logit = (x: number) => Math.log(x / (1 - x));
  // z at which P(correct) = c + (1 - c) sigma(z) reaches the target with no posterior spread.
  const zTarget = logit((P_CORRECT_TARGET - P.guess) / (1 - P.guess));
  const state = (mu: number, v: number, lastAt: number | null = NOW): LearnerSnapshot => ({
    mu,
    v,
    s: 5,
    lastAt,
    materialAt: null,
  });

  it('with a narrow posterior needs (z* - z) / drift questions, the closed form of the mean path', () => {
    for (const mu of [-2, -0.5, 0.3, 0.9]) {
      const z = mu - P.itemPriorMean;
      const closed = Math.ceil((zTarget - z) / P.drift - 1e-9);
      const n = expectedQuestionsToTarget(state(mu, 1e-6), NOW);
      // A narrow posterior still widens by processNoise per answer, which lowers the spread factor slightly.
      expect(n).toBeGreaterThanOrEqual(closed);
      expect(n).toBeLessThanOrEqual(closed + 3);
    }
  });

  it('is 0 when the model already predicts the target now, and counts from the prior for an unstudied topic', () => {
    expect(expectedQuestionsToTarget(state(3, 0.01), NOW)).toBe(0);
    const prior = expectedQuestionsToTarget(null, NOW);
    // prior mean mu0 - b = -0.1 logits: at least (1.0986 + 0.1) / 0.025 = 48 answers, more for its wide posterior
    expect(prior).toBeGreaterThanOrEqual(48);
    expect(prior).toBeLessThan(80);
    expect(expectedQuestionsToTarget({ ...emptyLearnerState(), materialAt: null }, NOW)).toBe(prior);
  });

  it('follows the expected path of updateLearner: the mean ability of simulated students grows by drift per answer', () => {
    // Students drawn from the model's own predictive probability, answering back to back from one state.
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const start: LearnerState = { ...emptyLearnerState(), mu: -0.4, v: 0.5, lastAt: NOW };
    const answers = 40;
    let sum = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      let s = start;
      for (let k = 0; k < answers; k++) {
        const p = predictLearner(s, NOW, P.itemPriorMean).p;
        s = updateLearner(s, { at: NOW, correct: random() < p, b: P.itemPriorMean });
      }
      sum += s.mu;
    }
    // Expected score of an answer is 0 under the model's own probability: E[mu_n] = mu_0 + n drift.
    expect(sum / runs).toBeCloseTo(start.mu + answers * P.drift, 1);
  });

  it('needs no more questions as ability rises, and forgetting since the last answer never lowers the count', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: 0.001, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 400 }),
        (a, b, v, daysAgo) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const n = (mu: number, last = NOW) => expectedQuestionsToTarget(state(mu, v, last), NOW);
          expect(n(low)).toBeGreaterThanOrEqual(n(high));
          expect(n(low, NOW - daysAgo * 86_400_000)).toBeGreaterThanOrEqual(n(low));
          expect(n(low)).toBeLessThanOrEqual(MAX_QUESTIONS_TO_CLOSE);
        },
      ),
    );
  });

  it('turns questions into hours at the given minutes per question, rounded up to the half hour', () => {
    expect(hoursToClose(0, 2)).toBe(0);
    expect(hoursToClose(45, 2)).toBe(1.5);
    expect(hoursToClose(46, 2)).toBe(2);
    expect(hoursToClose(50, 1.2)).toBe(1);
    expect(hoursToClose(1, 0.5)).toBe(0.5);
  });
});

describe('detectKnowledgeGaps', () => {
  it('lists topics below 0.8 mastery, highest priority first, with impact and hours', () => {
    const gaps = detectKnowledgeGaps(
      [
        { topicId: 'anatomy', masteryScore: 0.5, recentAccuracy: 0.6, materialCompletion: 1 },
        { topicId: 'pathology', masteryScore: 0.4, recentAccuracy: 0.3, materialCompletion: 0 },
        { topicId: 'biochem', masteryScore: 0.85, recentAccuracy: 0.9, materialCompletion: 1 },
      ],
      graph,
      { nowMs: NOW_GAPS },
    );
    expect(gaps.map((gap) => gap.topicId)).toEqual(['pathology', 'anatomy']);
    // pathology: 3 * 0.6 + 2 * 9 + 0 + 1.5 * 0.7 = 20.85
    expect(gaps[0]).toMatchObject({ severity: 'critical', blockedTopics: 0, prerequisiteImpact: 0 });
    expect(gaps[0]?.priorityScore).toBeCloseTo(20.85, 12);
    // anatomy: 3 * 0.5 + 2 * 6 + 2.4 + 1.5 * 0.4 = 16.5
    expect(gaps[1]).toMatchObject({ severity: 'critical', blockedTopics: 3 });
    // No learner state given: both start from the prior, at the default 2 minutes per question.
    const prior = expectedQuestionsToTarget(null, NOW_GAPS);
    expect(gaps[1]).toMatchObject({ questionsToClose: prior, hoursToClose: hoursToClose(prior, 2) });
    expect(gaps[1]?.priorityScore).toBeCloseTo(16.5, 12);
  });
});

describe('recommendedStudyPath', () => {
  it('puts prerequisites first even when a dependent has higher priority, then goes by priority', () => {
    const path = recommendedStudyPath(
      [
        { topicId: 'pathology', priorityScore: 20 },
        { topicId: 'anatomy', priorityScore: 10 },
        { topicId: 'biochem', priorityScore: 12 },
        { topicId: 'pharmacology', priorityScore: 15 },
      ],
      graph,
    );
    expect(path).toEqual({ order: ['biochem', 'anatomy', 'pathology', 'pharmacology'], cycles: [] });
  });

  it('respects prerequisites that run through topics which are not gaps', () => {
    // physiology is mastered, but anatomy still comes before pathology through it
    const path = recommendedStudyPath(
      [
        { topicId: 'pathology', priorityScore: 20 },
        { topicId: 'anatomy', priorityScore: 1 },
      ],
      graph,
    );
    expect(path.order).toEqual(['anatomy', 'pathology']);
  });

  it('breaks a prerequisite cycle at its highest-priority member and reports the cycle', () => {
    const cyclic = topicGraph([
      { topicId: 'a', boardExamWeight: 1, prerequisites: ['b'] },
      { topicId: 'b', boardExamWeight: 1, prerequisites: ['a'] },
      { topicId: 'c', boardExamWeight: 1, prerequisites: ['a'] },
      { topicId: 'd', boardExamWeight: 1, prerequisites: [] },
    ]);
    const path = recommendedStudyPath(
      [
        { topicId: 'c', priorityScore: 30 },
        { topicId: 'a', priorityScore: 5 },
        { topicId: 'b', priorityScore: 9 },
        { topicId: 'd', priorityScore: 1 },
      ],
      cyclic,
    );
    expect(path).toEqual({ order: ['d', 'b', 'a', 'c'], cycles: [['a', 'b']] });
  });

  it('orders any acyclic graph so every transitive prerequisite precedes its dependents', () => {
    const dagArb = fc
      .integer({ min: 1, max: 12 })
      .chain((n) =>
        fc.tuple(
          fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
          fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n, maxLength: n }),
        ),
      );
    fc.assert(
      fc.property(dagArb, ([edges, priorities]) => {
        // topic i may only require topics j < i, so the graph is acyclic
        const nodes: TopicNode[] = priorities.map((_, i) => ({
          topicId: `t${String(i).padStart(2, '0')}`,
          boardExamWeight: 1,
          prerequisites: priorities.flatMap((__, j) =>
            j < i && edges[i]?.[j] ? [`t${String(j).padStart(2, '0')}`] : [],
          ),
        }));
        const dag = topicGraph(nodes);
        const gaps = nodes
          .filter((_, i) => i % 3 !== 1)
          .map((node, i) => ({ topicId: node.topicId, priorityScore: priorities[i] as number }));
        const { order, cycles } = recommendedStudyPath(gaps, dag);
        expect(cycles).toEqual([]);
        expect([...order].sort()).toEqual(gaps.map((gap) => gap.topicId).sort());
        for (const id of order) {
          for (const prerequisite of transitivePrerequisites(id, dag)) {
            if (order.includes(prerequisite))
              expect(order.indexOf(prerequisite)).toBeLessThan(order.indexOf(id));
          }
        }
      }),
    );
  });
});

describe('board weight scale, weighted impact and the learning path', () => {
  it('maps exam shares to 0-10 with the heaviest leaf at 10', () => {
    const scale = boardWeightScale([0.002, 0.004, 0.008]);
    expect(scale(0.008)).toBe(10);
    expect(scale(0.004)).toBe(5);
    expect(scale(0)).toBe(0);
    expect(boardWeightScale([0, 0])(0.1)).toBe(0);
    // The seed test case on converted weights: a leaf at 80 % of the heaviest share is weight 8 -> critical.
    const gap = scoreGap({ masteryScore: 0.3, recentAccuracy: 0.45, boardExamWeight: scale(0.0064) });
    expect(gap.severity).toBe('critical');
    expect(gap.priorityScore).toBeGreaterThan(7);
  });

  it('weights each dependent by its strongest prerequisite chain', () => {
    // a -> b (0.5) -> c (0.8); a -> c (0.3): c's best chain from a is 0.5 x 0.8 = 0.4
    const g = topicGraph([
      { topicId: 'a', boardExamWeight: 2, prerequisites: [] },
      { topicId: 'b', boardExamWeight: 4, prerequisites: ['a'], prerequisiteStrengths: { a: 0.5 } },
      {
        topicId: 'c',
        boardExamWeight: 10,
        prerequisites: ['b', 'a'],
        prerequisiteStrengths: { b: 0.8, a: 0.3 },
      },
    ]);
    expect([...dependentStrengths('a', g).entries()].sort()).toEqual([
      ['b', 0.5],
      ['c', 0.4],
    ]);
    expect(prerequisiteImpact('a', g)).toBeCloseTo((4 * 0.5 + 10 * 0.4) / 10, 12);
    expect(prerequisiteImpact('b', g)).toBeCloseTo(0.8, 12);
  });

  it('orders the top gaps by prerequisites with the materials not yet completed', () => {
    const gaps = detectKnowledgeGaps(
      [
        { topicId: 'pathology', masteryScore: 0.2, recentAccuracy: 0.3, materialCompletion: 0 },
        { topicId: 'physiology', masteryScore: 0.5, recentAccuracy: 0.6, materialCompletion: 0.5 },
        { topicId: 'biochem', masteryScore: 0.7, recentAccuracy: 0.6, materialCompletion: 0.5 },
      ],
      graph,
      { minutesPerQuestion: 1 },
    );
    const path = learningPath(
      gaps,
      graph,
      [
        { materialId: 'm2', topicIds: ['physiology'], progress: 0.5 },
        { materialId: 'm1', topicIds: ['physiology', 'pathology'], progress: 0.1 },
        { materialId: 'done', topicIds: ['physiology'], progress: 0.97 },
      ],
      2,
    );
    expect(path.steps.map((s) => s.topicId)).toEqual(['physiology', 'pathology']);
    expect(path.steps[0]!.materials).toEqual([
      { materialId: 'm1', progress: 0.1 },
      { materialId: 'm2', progress: 0.5 },
    ]);
    expect(path.steps[1]!.materials).toEqual([{ materialId: 'm1', progress: 0.1 }]);
    // The student's own pace: 1 minute per question halves the practice time of the 2-minute default.
    const pathology = gaps.find((g) => g.topicId === 'pathology')!;
    expect(pathology.hoursToClose).toBe(hoursToClose(pathology.questionsToClose, 1));
  });
});
