import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  daysUntilReady,
  fitLinear,
  fitLogistic,
  modelOf,
  normalCdf,
  predictLinear,
  predictLogistic,
  predictWithIntervals,
  projectFeatures,
  readinessFeatures,
  solve,
  weakSections,
  type Features,
  type ModelArtifact,
  type ReadinessActivity,
  type ReadinessLeaf,
} from '../../../services/domain/readiness.ts';
import { loadReadinessArtifact } from '../../../services/readiness/artifact.ts';
import { ndcgAt, trainReadiness } from '../../../services/readiness/train.ts';

const leaf = (over: Partial<ReadinessLeaf>): ReadinessLeaf => ({
  topicId: 't',
  system: 'cardio',
  share: 0.25,
  studied: false,
  score: 0,
  attempts: 0,
  correct: 0,
  recallAtExam: 0,
  ...over,
});

const activity: ReadinessActivity = {
  questions: 18,
  correct: 8,
  firstAttempts: 10,
  firstAttemptCorrect: 6,
  questions30d: 10,
  correct30d: 7,
  activeMinutes: 120,
  daysSinceStart: 20,
};

const leaves = [
  leaf({ topicId: 'a', studied: true, score: 0.9, attempts: 8, correct: 7, recallAtExam: 0.5 }),
  leaf({ topicId: 'b', studied: true, score: 0.4, attempts: 10, correct: 1, recallAtExam: 1 }),
  leaf({ topicId: 'c', system: 'renal', share: 0.3 }),
  leaf({ topicId: 'd', system: 'renal', share: 0.2 }),
];

describe('readiness features', () => {
  it('computes the seed features and the structural terms by hand', () => {
    const f = readinessFeatures(leaves, activity);
    expect(f.avg_mastery_score).toBeCloseTo(0.65, 12);
    expect(f.topics_mastered).toBe(1);
    expect(f.topics_weak).toBe(1);
    expect(f.accuracy_30d).toBeCloseTo(0.7, 12);
    expect(f.first_attempt_accuracy).toBeCloseTo(0.6, 12);
    expect(f.coverage).toBeCloseTo(0.5, 12);
    expect(f.weighted_mastery).toBeCloseTo(0.25 * 0.9 + 0.25 * 0.4, 12);
    // p̂ = (c+1)/(n+2): a 8/10, b 2/12
    expect(f.proj_studied).toBeCloseTo(0.25 * 0.8 + 0.25 * (2 / 12), 12);
    expect(f.proj_recall).toBeCloseTo(0.25 * 0.8 * 0.5 + 0.25 * (2 / 12), 12);
    expect(f.proj_unstudied).toBeCloseTo(0.5 * (9 / 20), 12);
  });

  it('falls back to the overall smoothed accuracy without recent or first answers', () => {
    const f = readinessFeatures([], { ...activity, questions30d: 0, firstAttempts: 0 });
    expect(f.accuracy_30d).toBeCloseTo(9 / 20, 12);
    expect(f.first_attempt_accuracy).toBeCloseTo(9 / 20, 12);
    expect(f.avg_mastery_score).toBe(0);
  });

  it('lists the weak sections by lost exam share', () => {
    const weak = weakSections(leaves);
    expect(weak.map((s) => s.system)).toEqual(['renal']);
    expect(weak[0]).toMatchObject({ examShare: 0.5, mastery: 0, coverage: 0 });
  });
});

describe('model fitting', () => {
  it('solves a linear system', () => {
    expect(
      solve(
        [
          [2, 1],
          [1, 3],
        ],
        [3, 5],
      ).map((x) => Math.round(x * 1e9) / 1e9),
    ).toEqual([0.8, 1.4]);
  });

  it('recovers an exact linear relation', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      ...readinessFeatures([], activity),
      coverage: i / 50,
    }));
    const m = fitLinear(
      rows,
      rows.map((r) => 0.2 + 0.6 * r.coverage),
      ['coverage'],
      0,
    );
    for (const r of rows) expect(predictLinear(m, r)).toBeCloseTo(0.2 + 0.6 * r.coverage, 9);
  });

  it('fits a logistic regression whose probabilities follow the data', () => {
    // Deterministic pseudo-random labels with P(pass) = sigmoid(8 (x - 0.5)).
    let s = 7;
    const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const rows: Features[] = [];
    const y: boolean[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = rand();
      rows.push({ ...readinessFeatures([], activity), coverage: x });
      y.push(rand() < 1 / (1 + Math.exp(-8 * (x - 0.5))));
    }
    const m = fitLogistic(rows, y, ['coverage'], 0);
    expect(predictLogistic(m, { ...rows[0]!, coverage: 0.5 })).toBeCloseTo(0.5, 1);
    expect(predictLogistic(m, { ...rows[0]!, coverage: 0.9 })).toBeGreaterThan(0.9);
    expect(predictLogistic(m, { ...rows[0]!, coverage: 0.1 })).toBeLessThan(0.1);
  });

  it('has a standard normal CDF', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.6448536)).toBeCloseTo(0.95, 6);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 6);
  });
});

/** A structural-like model: score = coverage, residual sd 0.05, interval ± 0.1. */
const coverageModel: ModelArtifact = {
  name: 'structural',
  score: { features: ['coverage'], mean: [0], sd: [1], coef: [0, 1] },
  residualSd: 0.05,
  residualQ: 0.1,
  calibration: Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, n: 10, passes: i })),
};

describe('predictions, intervals and projection', () => {
  it('gives the normal pass probability and the calibration interval', () => {
    const f = { ...readinessFeatures(leaves, activity) };
    const [p] = predictWithIntervals(coverageModel, [f], 0.5);
    expect(p!.score).toBeCloseTo(0.5, 12);
    expect(p!.scoreLower).toBeCloseTo(0.4, 12);
    expect(p!.scoreUpper).toBeCloseTo(0.6, 12);
    expect(p!.pass).toBeCloseTo(0.5, 6);
    expect(p!.passLower).toBeLessThan(0.5);
    expect(p!.passUpper).toBeGreaterThan(0.5);
  });

  it('projects coverage forward at the pace so far and finds the first ready day', () => {
    const f = readinessFeatures(leaves, activity);
    expect(projectFeatures(f, activity, 0)).toBe(f);
    // coverage 0.5 after 20 days: 0.025 a day; ready when P(coverage >= 0.5) >= 0.8: coverage >= 0.5 + 0.842 x 0.05
    const days = daysUntilReady(coverageModel, f, activity, 0.5);
    // Slower pace (coverage 0.1 after 20 days): past the first two weeks, found by the weekly then daily search.
    const slow = { ...f, coverage: 0.1, proj_unstudied: 0.9 * 0.45 };
    expect(daysUntilReady(coverageModel, slow, activity, 0.5)).toBe(
      Math.ceil((0.5 + 0.8416212 * 0.05 - 0.1) / 0.005),
    );
    expect(daysUntilReady(coverageModel, { ...f, coverage: 0.01 }, activity, 0.5, 100)).toBeNull();
    expect(days).toBe(Math.ceil((0.5 + 0.8416212 * 0.05 - 0.5) / 0.025));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const pl = projectFeatures(f, activity, lo);
        const ph = projectFeatures(f, activity, hi);
        expect(ph.coverage).toBeGreaterThanOrEqual(pl.coverage);
        expect(ph.coverage).toBeLessThanOrEqual(1);
        expect(ph.proj_studied + ph.proj_unstudied).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('NDCG@10', () => {
  it('is 1 for the ideal order and lower for a worse one', () => {
    const gain = new Map([
      ['a', 3],
      ['b', 2],
      ['c', 1],
    ]);
    expect(ndcgAt(10, ['a', 'b', 'c'], gain)).toBe(1);
    const dcg = 1 + 2 / Math.log2(3) + 3 / 2;
    const idcg = 3 + 2 / Math.log2(3) + 1 / 2;
    expect(ndcgAt(10, ['c', 'b', 'a'], gain)).toBeCloseTo(dcg / idcg, 12);
  });
});

describe('training pipeline (tiny cohort)', () => {
  it('trains, selects, evaluates and writes an artifact the loader accepts', async () => {
    const result = trainReadiness({
      train: [{ seed: 'unit-train', students: 30, days: 8 }],
      validation: { seed: 'unit-validation', students: 20, days: 8 },
      holdout: [{ seed: 'unit-holdout', students: 20, days: 8 }],
      forests: [{ nEstimators: 5, maxDepth: 4 }],
    });
    const a = result.artifact;
    expect(a.version).toMatch(/^readiness-[0-9a-f]{12}$/);
    expect(a.models.map((m) => m.name).sort()).toEqual(['logistic', 'random-forest', 'structural']);
    expect(result.holdout[0]!.models).toHaveLength(3);
    expect(result.holdout[0]!.gaps.map((g) => g.ndcg10).every((x) => x >= 0 && x <= 1)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'readiness-'));
    const file = join(dir, 'readiness.json');
    writeFileSync(file, JSON.stringify(a));
    const loaded = await loadReadinessArtifact(file);
    expect(loaded.version).toBe(a.version);
    const f = readinessFeatures(leaves, activity);
    for (const m of loaded.models) {
      const [p] = predictWithIntervals(m, [f], loaded.passMark);
      expect(p!.pass).toBeGreaterThanOrEqual(0);
      expect(p!.pass).toBeLessThanOrEqual(1);
      expect(p!.scoreLower).toBeLessThanOrEqual(p!.scoreUpper);
    }
    expect(modelOf(loaded).name).toBe(a.defaultModel);
  }, 60_000);
});
