/**
 * Exam readiness (seed design, "Exam Readiness Prediction"): features of one student, three predictors of the
 * exam score and pass, and what the API derives from them (readiness, intervals, days until ready). Pure: the
 * training (services/readiness/train.ts) fits the models on the simulator's truth and writes an artifact; the API
 * loads the artifact and calls `predictReadiness`.
 *
 * Features (one student, at the exam date):
 *   seed: avg_mastery_score (mean over studied leaves), topics_mastered (>= 0.8), topics_weak (studied, < 0.5),
 *         accuracy_30d, study_minutes_total, first_attempt_accuracy, questions_attempted_total, days_since_start;
 *   more: coverage (exam share of the studied leaves), weighted_mastery (Σ share x mastery, unstudied 0), and the
 *         structural projection's terms: proj_studied Σ_studied share x p̂, proj_recall Σ_studied share x p̂ x R(exam),
 *         proj_unstudied (1 - coverage) x the student's overall smoothed accuracy, with p̂ = (correct + 1) /
 *         (attempts + 2) on the leaf and R(exam) the scheduler's recall probability at the exam date.
 * Models:
 *   structural    least squares of the score on the projection's terms (Σ weight x P(correct at the exam date));
 *   logistic      logistic regression of pass on the standardised seed features (+ coverage, weighted mastery),
 *                 with a least-squares score model on the same features;
 *   random-forest ml-random-forest regression of the score on every feature.
 * Pass probability (structural, random forest): P(score >= passMark) under a normal residual with the validation
 * residual sd. Score interval: prediction ± the validation residuals' 90 % absolute quantile (split conformal).
 * Pass-probability interval: the 90 % Wilson interval of the observed pass rate among validation students whose
 * predicted probability fell in the same tenth (empirical calibration).
 */
import { RandomForestRegression } from 'ml-random-forest';
import { clamp01, wilsonInterval } from './stats.ts';

export const SEED_FEATURES = [
  'avg_mastery_score',
  'topics_mastered',
  'topics_weak',
  'accuracy_30d',
  'study_minutes_total',
  'first_attempt_accuracy',
  'questions_attempted_total',
  'days_since_start',
] as const;
export const EXTRA_FEATURES = [
  'coverage',
  'weighted_mastery',
  'proj_studied',
  'proj_recall',
  'proj_unstudied',
] as const;
export const ALL_FEATURES = [...SEED_FEATURES, ...EXTRA_FEATURES] as const;
export type FeatureName = (typeof ALL_FEATURES)[number];
export type Features = Record<FeatureName, number>;

export const STRUCTURAL_FEATURES: FeatureName[] = [
  'proj_studied',
  'proj_recall',
  'proj_unstudied',
  'coverage',
];
export const LOGISTIC_FEATURES: FeatureName[] = [...SEED_FEATURES, 'coverage', 'weighted_mastery'];

/** Mastery at or above this is "mastered"; below WEAK (studied) "weak". */
export const MASTERED = 0.8;
export const WEAK = 0.5;
/** Pass probability from which a student counts as exam-ready (days until ready). */
export const READY_PROBABILITY = 0.8;
export const INTERVAL_LEVEL = 0.9;

export type ReadinessLeaf = {
  topicId: string;
  system: string;
  /** Share of the exam (the leaves' shares sum to 1). */
  share: number;
  studied: boolean;
  /** Mastery score at the exam date (0 when unstudied). */
  score: number;
  attempts: number;
  correct: number;
  /** Recall probability at the exam date (0 when unstudied). */
  recallAtExam: number;
};

export type ReadinessActivity = {
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  questions30d: number;
  correct30d: number;
  activeMinutes: number;
  /** Days from the first activity to the exam date (>= 0). */
  daysSinceStart: number;
};

export function readinessFeatures(leaves: readonly ReadinessLeaf[], a: ReadinessActivity): Features {
  let studied = 0;
  let scoreSum = 0;
  let mastered = 0;
  let weak = 0;
  let coverage = 0;
  let weighted = 0;
  let projStudied = 0;
  let projRecall = 0;
  for (const leaf of leaves) {
    if (!leaf.studied) continue;
    studied++;
    scoreSum += leaf.score;
    if (leaf.score >= MASTERED) mastered++;
    else if (leaf.score < WEAK) weak++;
    coverage += leaf.share;
    weighted += leaf.share * leaf.score;
    const p = (leaf.correct + 1) / (leaf.attempts + 2);
    projStudied += leaf.share * p;
    projRecall += leaf.share * p * clamp01(leaf.recallAtExam);
  }
  const overall = (a.correct + 1) / (a.questions + 2);
  return {
    avg_mastery_score: studied > 0 ? scoreSum / studied : 0,
    topics_mastered: mastered,
    topics_weak: weak,
    accuracy_30d: a.questions30d > 0 ? a.correct30d / a.questions30d : overall,
    study_minutes_total: a.activeMinutes,
    first_attempt_accuracy: a.firstAttempts > 0 ? a.firstAttemptCorrect / a.firstAttempts : overall,
    questions_attempted_total: a.questions,
    days_since_start: a.daysSinceStart,
    coverage: Math.min(1, coverage),
    weighted_mastery: weighted,
    proj_studied: projStudied,
    proj_recall: projRecall,
    proj_unstudied: (1 - Math.min(1, coverage)) * overall,
  };
}

// ---- models ------------------------------------------------------------------------------------------------

/** Least squares (ridge-stabilised) on standardised features; coef[0] is the intercept. */
export type LinearModel = { features: FeatureName[]; mean: number[]; sd: number[]; coef: number[] };
export type LogisticModel = LinearModel;

function standardize(rows: readonly Features[], features: readonly FeatureName[]) {
  const mean = features.map((f) => rows.reduce((s, r) => s + r[f], 0) / Math.max(1, rows.length));
  const sd = features.map((f, j) => {
    const v = rows.reduce((s, r) => s + (r[f] - mean[j]!) ** 2, 0) / Math.max(1, rows.length);
    return Math.sqrt(v) > 1e-12 ? Math.sqrt(v) : 1;
  });
  return { mean, sd };
}

function design(f: Features, m: Pick<LinearModel, 'features' | 'mean' | 'sd'>): number[] {
  return [1, ...m.features.map((name, j) => (f[name] - m.mean[j]!) / m.sd[j]!)];
}

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
export function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const pivot = M[c]![c]!;
    if (Math.abs(pivot) < 1e-15) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const k = M[r]![c]! / pivot;
      if (k === 0) continue;
      for (let j = c; j <= n; j++) M[r]![j]! -= k * M[c]![j]!;
    }
  }
  return M.map((row, i) => (Math.abs(row[i]!) < 1e-15 ? 0 : row[n]! / row[i]!));
}

export function fitLinear(
  rows: readonly Features[],
  y: readonly number[],
  features: readonly FeatureName[],
  ridge = 1e-3,
): LinearModel {
  const { mean, sd } = standardize(rows, features);
  const m = { features: [...features], mean, sd };
  const p = features.length + 1;
  const XtX = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const Xty = new Array<number>(p).fill(0);
  rows.forEach((r, i) => {
    const x = design(r, m);
    for (let a = 0; a < p; a++) {
      Xty[a]! += x[a]! * y[i]!;
      for (let b = 0; b < p; b++) XtX[a]![b]! += x[a]! * x[b]!;
    }
  });
  for (let a = 1; a < p; a++) XtX[a]![a]! += ridge * rows.length;
  return { ...m, coef: solve(XtX, Xty) };
}

export function predictLinear(m: LinearModel, f: Features): number {
  const x = design(f, m);
  return x.reduce((s, v, i) => s + v * m.coef[i]!, 0);
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Logistic regression by Newton-Raphson (IRLS) with a small ridge penalty. */
export function fitLogistic(
  rows: readonly Features[],
  y: readonly boolean[],
  features: readonly FeatureName[],
  ridge = 1e-2,
  iterations = 25,
): LogisticModel {
  const { mean, sd } = standardize(rows, features);
  const m = { features: [...features], mean, sd, coef: new Array<number>(features.length + 1).fill(0) };
  const X = rows.map((r) => design(r, m));
  const p = m.coef.length;
  for (let it = 0; it < iterations; it++) {
    const H = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const g = new Array<number>(p).fill(0);
    X.forEach((x, i) => {
      const mu = sigmoid(x.reduce((s, v, j) => s + v * m.coef[j]!, 0));
      const w = Math.max(mu * (1 - mu), 1e-9);
      const r = (y[i] ? 1 : 0) - mu;
      for (let a = 0; a < p; a++) {
        g[a]! += x[a]! * r;
        for (let b = 0; b < p; b++) H[a]![b]! += w * x[a]! * x[b]!;
      }
    });
    for (let a = 1; a < p; a++) {
      H[a]![a]! += ridge * rows.length;
      g[a]! -= ridge * rows.length * m.coef[a]!;
    }
    const step = solve(H, g);
    let size = 0;
    step.forEach((s, j) => {
      m.coef[j]! += s;
      size = Math.max(size, Math.abs(s));
    });
    if (size < 1e-8) break;
  }
  return m;
}

export function predictLogistic(m: LogisticModel, f: Features): number {
  return sigmoid(predictLinear(m, f));
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export type ModelName = 'structural' | 'logistic' | 'random-forest';
export const MODEL_NAMES: ModelName[] = ['structural', 'logistic', 'random-forest'];

/** Validation-set calibration of a model's pass probability: per tenth of predicted probability, n and passes. */
export type CalibrationBin = { from: number; to: number; n: number; passes: number };

export type ModelArtifact = {
  name: ModelName;
  /** Score model (structural, logistic: linear; random forest: ml-random-forest JSON). */
  score: LinearModel | { forest: unknown };
  /** Pass model (logistic only); the others use the normal residual. */
  pass?: LogisticModel;
  /** Validation residuals: sd and the INTERVAL_LEVEL quantile of |residual|. */
  residualSd: number;
  residualQ: number;
  calibration: CalibrationBin[];
};

export type ReadinessArtifact = {
  version: string;
  trainedAt: string;
  passMark: number;
  defaultModel: ModelName;
  models: ModelArtifact[];
  /** What it was trained, selected and evaluated on (the README table comes from here). */
  provenance: Record<string, unknown>;
};

export type ScorePrediction = {
  score: number;
  scoreLower: number;
  scoreUpper: number;
  pass: number;
  passLower: number;
  passUpper: number;
};

const forests = new WeakMap<object, RandomForestRegression>();

function forestOf(model: { forest: unknown }): RandomForestRegression {
  let rf = forests.get(model);
  if (!rf) {
    rf = RandomForestRegression.load(model.forest as Parameters<typeof RandomForestRegression.load>[0]);
    forests.set(model, rf);
  }
  return rf;
}

/** Point predictions (score, pass probability) of one model for many students. */
export function predictPoints(m: ModelArtifact, rows: readonly Features[], passMark: number) {
  let scores: number[];
  if ('forest' in m.score) {
    const rf = forestOf(m.score);
    scores = rf.predict(rows.map((r) => ALL_FEATURES.map((f) => r[f])));
  } else {
    const linear = m.score;
    scores = rows.map((r) => predictLinear(linear, r));
  }
  return rows.map((r, i) => {
    const score = scores[i]!;
    const pass = m.pass
      ? predictLogistic(m.pass, r)
      : normalCdf((score - passMark) / Math.max(1e-6, m.residualSd));
    return { score, pass };
  });
}

export function calibrationBins(
  preds: ReadonlyArray<{ p: number; y: boolean }>,
  bins = 10,
): CalibrationBin[] {
  const out = Array.from({ length: bins }, (_, i) => ({
    from: i / bins,
    to: (i + 1) / bins,
    n: 0,
    passes: 0,
  }));
  for (const { p, y } of preds) {
    const b = out[Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))]!;
    b.n++;
    if (y) b.passes++;
  }
  return out;
}

/** Score and pass probability with their intervals for each student. */
export function predictWithIntervals(
  m: ModelArtifact,
  rows: readonly Features[],
  passMark: number,
): ScorePrediction[] {
  const z = 1.6448536269514722;
  return predictPoints(m, rows, passMark).map(({ score, pass }) => {
    const bin =
      m.calibration[Math.min(m.calibration.length - 1, Math.max(0, Math.floor(pass * m.calibration.length)))];
    const wilson = bin && bin.n > 0 ? wilsonInterval(bin.passes, bin.n, z) : { lower: 0, upper: 1 };
    return {
      score: clamp01(score),
      scoreLower: clamp01(score - m.residualQ),
      scoreUpper: clamp01(score + m.residualQ),
      pass: clamp01(pass),
      passLower: Math.min(clamp01(pass), wilson.lower),
      passUpper: Math.max(clamp01(pass), wilson.upper),
    };
  });
}

export function modelOf(artifact: ReadinessArtifact, name?: ModelName): ModelArtifact {
  const m = artifact.models.find((x) => x.name === (name ?? artifact.defaultModel));
  if (!m)
    throw new Error(
      `readiness model ${name ?? artifact.defaultModel} is not in artifact ${artifact.version}`,
    );
  return m;
}

// ---- projection --------------------------------------------------------------------------------------------

/**
 * The student's features `days` from now if they keep their current pace: coverage grows at its average rate so
 * far (share per day since the start), newly covered exam share is learned as well as the student's studied
 * topics on average (recall kept up by reviews), questions and minutes grow at the last 30 days' / overall rate.
 */
export function projectFeatures(f: Features, a: ReadinessActivity, days: number): Features {
  if (days <= 0) return f;
  const elapsed = Math.max(1, f.days_since_start);
  const coverage = Math.min(1, f.coverage + (f.coverage / elapsed) * days);
  const added = coverage - f.coverage;
  const pStudied = f.coverage > 0 ? f.proj_studied / f.coverage : 0;
  const recallRatio = f.proj_studied > 0 ? f.proj_recall / f.proj_studied : 0;
  const masteryStudied = f.coverage > 0 ? f.weighted_mastery / f.coverage : 0;
  const overall = f.coverage < 1 ? f.proj_unstudied / (1 - f.coverage) : 0;
  return {
    ...f,
    coverage,
    weighted_mastery: f.weighted_mastery + added * masteryStudied,
    proj_studied: f.proj_studied + added * pStudied,
    proj_recall: f.proj_recall + added * pStudied * recallRatio,
    proj_unstudied: (1 - coverage) * overall,
    study_minutes_total: f.study_minutes_total + (f.study_minutes_total / elapsed) * days,
    questions_attempted_total: f.questions_attempted_total + (a.questions30d / 30) * days,
    days_since_start: f.days_since_start + days,
  };
}

/**
 * Whole number of days (0..maxDays) after which the projected pass probability first reaches READY_PROBABILITY;
 * null when not within maxDays. Searched coarse to fine to bound the work per request (a random forest is not
 * monotone in the days): every day of the first two weeks, then weekly, then day by day inside the first week
 * that reaches the threshold.
 */
export function daysUntilReady(
  m: ModelArtifact,
  f: Features,
  a: ReadinessActivity,
  passMark: number,
  maxDays = 365,
): number | null {
  const first = (days: number[]): number | null => {
    const preds = predictPoints(
      m,
      days.map((d) => projectFeatures(f, a, d)),
      passMark,
    );
    const i = preds.findIndex((p) => p.pass >= READY_PROBABILITY);
    return i < 0 ? null : days[i]!;
  };
  const coarse: number[] = [];
  for (let d = 0; d <= Math.min(14, maxDays); d++) coarse.push(d);
  for (let d = 21; d < maxDays; d += 7) coarse.push(d);
  if (maxDays > 14) coarse.push(maxDays);
  const hit = first(coarse);
  if (hit === null || hit <= 14) return hit;
  const from = coarse[coarse.indexOf(hit) - 1]! + 1;
  return first(Array.from({ length: hit - from + 1 }, (_, i) => from + i));
}

// ---- weak areas --------------------------------------------------------------------------------------------

export type SectionView = { system: string; examShare: number; mastery: number; coverage: number };

/**
 * Exam sections (systems) below WEAK share-weighted mastery (unstudied leaves count 0), the ones costing most
 * exam share first: examShare x (1 - mastery).
 */
export function weakSections(leaves: readonly ReadinessLeaf[]): SectionView[] {
  const by = new Map<string, { share: number; weighted: number; covered: number }>();
  for (const leaf of leaves) {
    const s = by.get(leaf.system) ?? { share: 0, weighted: 0, covered: 0 };
    s.share += leaf.share;
    s.weighted += leaf.share * (leaf.studied ? leaf.score : 0);
    if (leaf.studied) s.covered += leaf.share;
    by.set(leaf.system, s);
  }
  return [...by.entries()]
    .map(([system, s]) => ({
      system,
      examShare: s.share,
      mastery: s.share > 0 ? s.weighted / s.share : 0,
      coverage: s.share > 0 ? s.covered / s.share : 0,
    }))
    .filter((s) => s.mastery < WEAK)
    .sort(
      (a, b) =>
        b.examShare * (1 - b.mastery) - a.examShare * (1 - a.mastery) || (a.system < b.system ? -1 : 1),
    );
}
