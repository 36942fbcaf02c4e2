/**
 * Learner model v2: the probability that a student answers the next question on a topic correctly (pure).
 *
 *   P(correct) = c + (1 − c) · σ( (θ − m · (1 − R) − b) / √(1 + π·v/8) )
 *
 * - θ ~ N(μ, v): the student's ability on the topic (logits), a Gaussian posterior updated after every answer by
 *   one Laplace (extended Kalman) step, as in Elo with uncertainty (Glicko): μ ← μ + v'·g, v' = 1/(1/v + I),
 *   g the score and I the Fisher information of the answer. After each answer θ drifts by `drift` (learning from
 *   the explanation) and gains `processNoise` variance (ability is not fixed).
 * - b: the item's difficulty (logits), from the question-bank calibration (`fitItemDifficulties`, stored in
 *   PostgreSQL), else from the event's `difficulty` field (logit of the published 0..1 difficulty), else
 *   `itemPriorMean`. The item is resolved when the answer is decoded and travels with it, so a replay that meets
 *   a refreshed calibration still rebuilds the same state.
 * - c: guessing floor of a five-option single-best-answer question.
 * - Memory term m · (1 − R): R = 0.9^(Δt/S) since the topic's last exposure, an answer or material study (the
 *   caller passes the newest material time). S, the stability in days, grows after a correct answer by
 *   (1 + g0 + g1·(1 − R)) (more when retrieval was harder), shrinks by `lapse` after a wrong one. A topic never
 *   seen has recall `r0`.
 * - The prediction integrates θ over its posterior (probit approximation), so a topic with few answers is
 *   predicted near the cohort rate and the interval comes from (μ ± 1.96√v).
 *
 * The state is plain JSON and every update a pure function of (state, answer), applied in event-time order by
 * the caller (the mastery row keeps answers sorted; duplicates are filtered by event id upstream).
 *
 * Pooling (student and organ-system effects): θ of a topic = student ability + system effect + topic effect. Each
 * row also keeps two sums over its answers, the score `pg` and Fisher information `pi` of the answer at the
 * population logit (mu0 − b, no memory term): they do not depend on the order of the answers, so the sums over a
 * student's rows (all rows, and the rows of one organ system) are the same whatever order the rows were built in.
 * `pooledLearner` turns them into a prior for the topic, one Newton step from the population mean with normal
 * priors (student N(0, poolStudentVar), system N(0, poolSystemVar)), the topic's own answers excluded, and swaps
 * it for the row's flat prior N(mu0, v0): the row's posterior precision minus the prior's is the topic's own
 * evidence. A topic with no answers is predicted from the student's other topics, one with many mostly from its
 * own.
 */

export interface LearnerParams {
  guess: number;
  /** Prior ability on a topic not yet answered: N(mu0, v0). */
  mu0: number;
  v0: number;
  drift: number;
  processNoise: number;
  memoryWeight: number;
  /** Recall of a topic with no exposure seen; initial stability (days); stability dynamics. */
  r0: number;
  s0: number;
  g0: number;
  g1: number;
  lapse: number;
  sMin: number;
  sMax: number;
  /** Prior of an item with neither calibration nor difficulty field. */
  itemPriorMean: number;
  /** Material study resets the forgetting clock (false: answers only). */
  materialExposure: boolean;
  /** Pooling (see pooledLearner): prior variances of the student ability, system and topic effects; 0 = off. */
  poolStudentVar: number;
  poolSystemVar: number;
  poolTopicVar: number;
}

/**
 * Chosen by `npm run eval` (fitted on the training seeds, checked on the validation seeds; see
 * services/eval/README.md).
 */
export const LEARNER_PARAMS: LearnerParams = {
  guess: 0.2,
  mu0: -0.4,
  v0: 0.364,
  drift: 0.025,
  processNoise: 0.00141,
  memoryWeight: 1.3,
  r0: 0.05,
  s0: 1,
  g0: 0.15,
  g1: 0.0441,
  lapse: 0.7,
  sMin: 0.25,
  sMax: 365,
  itemPriorMean: -0.2,
  materialExposure: true,
  poolStudentVar: 0.429,
  poolSystemVar: 0.169,
  poolTopicVar: 0.177,
};

/**
 * The review schedule the mastery processor writes (next_review_at) and the API's reviews read, chosen by
 * `npm run eval` on the validation seeds (services/eval/README.md): per scheduler the highest target retention
 * that keeps a student's median review load within the eval's budget, then the best recall at review among those
 * the processor runs. 'fsrs6': FSRS-6 once per topic per study day, default weights (fsrs-daily.ts); 'learner':
 * the learner model's memory term; 'seed': MASTERY_SCHEDULER's own due date (SM-2 or the seed's FSRS).
 */
export const REVIEW_SCHEDULE: { scheduler: 'learner' | 'fsrs6' | 'seed'; targetRetention: number } = {
  scheduler: 'fsrs6',
  targetRetention: 0.5,
};

export interface LearnerState {
  mu: number;
  v: number;
  n: number;
  /** Stability (days) and time of the last answer (null: none yet). */
  s: number;
  lastAt: number | null;
  /**
   * Pooling sums over the row's answers: score and information at the population logit (absent in states written
   * before pooling: 0).
   */
  pg?: number;
  pi?: number;
}

/** A student's pooling sums (over all rows, or the rows of one organ system): see pooledLearner. */
export interface PoolSums {
  g: number;
  i: number;
}

export interface LearnerAnswer {
  at: number;
  correct: boolean;
  /** Item difficulty (logits), already resolved (see resolveItemDifficulty). */
  b: number;
}

export interface LearnerPrediction {
  p: number;
  lower: number;
  upper: number;
  recall: number;
}

const DAY_MS = 86_400_000;
const Z95 = 1.959963984540054;
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const EPS = 1e-9;

export function emptyLearnerState(p: LearnerParams = LEARNER_PARAMS): LearnerState {
  return { mu: p.mu0, v: p.v0, n: 0, s: p.s0, lastAt: null, pg: 0, pi: 0 };
}

/** Logit of the bank's published difficulty (0 easy .. 1 hard), clamped away from 0 and 1. */
export function difficultyToLogit(difficulty: number): number {
  const d = Math.min(0.99, Math.max(0.01, difficulty));
  return Math.log(d / (1 - d));
}

/** The item's b: calibration first, then the event's difficulty field, then the prior mean. */
export function resolveItemDifficulty(
  calibrated: number | undefined,
  difficulty: number | null | undefined,
  p: LearnerParams = LEARNER_PARAMS,
): number {
  if (calibrated !== undefined && Number.isFinite(calibrated)) return calibrated;
  if (typeof difficulty === 'number' && Number.isFinite(difficulty)) return difficultyToLogit(difficulty);
  return p.itemPriorMean;
}

/** Recall of the topic at `at` given the last exposure (answer or, if enabled, material study before `at`). */
export function learnerRecall(
  s: LearnerState,
  at: number,
  materialAt: number | null = null,
  p: LearnerParams = LEARNER_PARAMS,
): number {
  let last = s.lastAt;
  if (p.materialExposure && materialAt !== null && materialAt <= at)
    last = last === null ? materialAt : Math.max(last, materialAt);
  if (last === null) return p.r0;
  const days = Math.max(0, at - last) / DAY_MS;
  return Math.pow(0.9, days / Math.max(p.sMin, s.s));
}

const probability = (z: number, v: number, c: number): number => c + (1 - c) * sigmoid(z * spreadFactor(v));

/** P(correct) on an item of difficulty `b` at `at`, with a 95% interval from the ability posterior. */
export function predictLearner(
  s: LearnerState,
  at: number,
  b: number,
  materialAt: number | null = null,
  p: LearnerParams = LEARNER_PARAMS,
): LearnerPrediction {
  const recall = learnerRecall(s, at, materialAt, p);
  const z = s.mu - p.memoryWeight * (1 - recall) - b;
  const sd = Math.sqrt(s.v);
  return {
    p: clampOpen(probability(z, s.v, p.guess)),
    lower: clampOpen(p.guess + (1 - p.guess) * sigmoid(z - Z95 * sd)),
    upper: clampOpen(p.guess + (1 - p.guess) * sigmoid(z + Z95 * sd)),
    recall,
  };
}

const clampOpen = (x: number): number => Math.min(1 - EPS, Math.max(EPS, x));

/**
 * Score g and Fisher information I of one answer with respect to θ at logit z (no posterior spread), for
 * P = c + (1 − c)σ(z).
 */
export function answerScore(z: number, correct: boolean, c: number): { g: number; info: number } {
  const sg = sigmoid(z);
  const pr = clampOpen(c + (1 - c) * sg);
  const dp = (1 - c) * sg * (1 - sg);
  const g = correct ? dp / pr : -dp / (1 - pr);
  return { g, info: (dp * dp) / (pr * (1 - pr)) };
}

/**
 * Days after the last exposure until the memory term's recall 0.9^(Δt/S) falls to `target` (the learner model's
 * review interval at that target retention).
 */
export function learnerIntervalDays(
  s: LearnerState,
  target: number,
  p: LearnerParams = LEARNER_PARAMS,
): number {
  return (Math.max(p.sMin, s.s) * Math.log(target)) / Math.log(0.9);
}

/**
 * The memory term's due date at a target retention (ms): the last answer plus learnerIntervalDays; null before
 * any answer. What the mastery processor writes as next_review_at (REVIEW_SCHEDULE).
 */
export function learnerNextReviewAt(
  s: LearnerState,
  target: number,
  p: LearnerParams = LEARNER_PARAMS,
): number | null {
  return s.lastAt === null ? null : s.lastAt + learnerIntervalDays(s, target, p) * DAY_MS;
}

/** Posterior spread factor of the probit approximation. */
export function spreadFactor(v: number): number {
  return 1 / Math.sqrt(1 + (Math.PI * v) / 8);
}

/** The state after one answer (applied in event-time order). */
export function updateLearner(
  s: LearnerState,
  a: LearnerAnswer,
  p: LearnerParams = LEARNER_PARAMS,
): LearnerState {
  const recall = learnerRecall(s, a.at, null, p);
  const z = s.mu - p.memoryWeight * (1 - recall) - a.b;
  const k = spreadFactor(s.v);
  const { g, info } = answerScore(k * z, a.correct, p.guess);
  const v1 = 1 / (1 / s.v + k * k * info);
  const mu = s.mu + v1 * k * g + p.drift;
  const stability = a.correct
    ? Math.min(p.sMax, s.s * (1 + p.g0 + p.g1 * (1 - recall)))
    : Math.max(p.sMin, s.s * p.lapse);
  const pop = answerScore(p.mu0 - a.b, a.correct, p.guess);
  return {
    mu,
    v: v1 + p.processNoise,
    n: s.n + 1,
    s: stability,
    lastAt: s.lastAt === null ? a.at : Math.max(s.lastAt, a.at),
    pg: (s.pg ?? 0) + pop.g,
    pi: (s.pi ?? 0) + pop.info,
  };
}

/** The row's own pooling sums (0 for a state written before pooling). */
export function rowSums(s: LearnerState): PoolSums {
  return { g: s.pg ?? 0, i: s.pi ?? 0 };
}

/** Whether pooling is on (every prior variance positive). */
export const poolingOn = (p: LearnerParams): boolean =>
  p.poolStudentVar > 0 && p.poolSystemVar > 0 && p.poolTopicVar > 0;

/**
 * The topic's ability posterior with the flat prior N(mu0, v0) replaced by the pooled one: `student` and `system`
 * are the student's sums over all their rows and over the rows of this topic's organ system, this row included
 * (it is subtracted here). Returns the state unchanged when pooling is off.
 */
export function pooledLearner(
  s: LearnerState,
  student: PoolSums,
  system: PoolSums,
  p: LearnerParams = LEARNER_PARAMS,
): LearnerState {
  if (!poolingOn(p)) return s;
  const own = rowSums(s);
  const gS = student.g - own.g;
  const iS = Math.max(0, student.i - own.i);
  const gY = system.g - own.g;
  const iY = Math.max(0, system.i - own.i);
  const precS = iS + 1 / p.poolStudentVar;
  const dStudent = gS / precS;
  const precY = iY + 1 / p.poolSystemVar;
  const dSystem = (gY - dStudent * iY) / precY;
  const priorMean = p.mu0 + dStudent + dSystem;
  const priorVar = p.poolTopicVar + 1 / precS + 1 / precY;
  // The topic's own evidence (information form): posterior precision and precision-mean less the flat prior's.
  // Process noise can leave the precision below the prior's after uninformative answers: then only the shift
  // of the mean (drift) is carried over.
  const evidence = 1 / s.v - 1 / p.v0;
  if (!(evidence > 1e-9)) return { ...s, mu: priorMean + (s.mu - p.mu0), v: priorVar };
  const v = 1 / (1 / priorVar + evidence);
  const mu = v * (priorMean / priorVar + s.mu / s.v - p.mu0 / p.v0);
  return { ...s, mu, v };
}

/** Adds a row's sums to (sign 1) or removes them from (sign −1) a running total, in place. */
export function addSums(total: PoolSums, s: LearnerState | null | undefined, sign: 1 | -1): void {
  if (!s) return;
  total.g += sign * (s.pg ?? 0);
  total.i += sign * (s.pi ?? 0);
}

/**
 * The organ system of a leaf topic: the first segment of its slug (`<system>.<area>.<topic>`, the taxonomy's
 * stable identifiers; services/domain-data/taxonomy.ts).
 */
export function systemOf(topicId: string): string {
  const i = topicId.indexOf('.');
  return i < 0 ? topicId : topicId.slice(0, i);
}

/** One observation for the item calibration: the model's logit without the item, and the outcome. */
export interface ItemObservation {
  item: string;
  /** μ − m(1 − R) before the answer. */
  z: number;
  /** Posterior spread factor 1/√(1 + π·v/8) (the logit is k·(z − b)). */
  k: number;
  correct: boolean;
}

/**
 * Question-bank calibration: per item, the maximum a posteriori difficulty b given the cohort's answers, with a
 * normal prior N(prior(item), priorSd²) (the event's difficulty field when present, else the bank mean). A few
 * Newton steps on Σ log P(y | z − b) − (b − b0)²/(2·priorSd²), which is concave in b.
 */
export function fitItemDifficulties(
  observations: readonly ItemObservation[],
  prior: (item: string) => number,
  priorSd: number,
  guess: number = LEARNER_PARAMS.guess,
  steps = 6,
): Map<string, { b: number; n: number }> {
  const byItem = new Map<string, ItemObservation[]>();
  for (const o of observations) {
    let list = byItem.get(o.item);
    if (!list) byItem.set(o.item, (list = []));
    list.push(o);
  }
  const out = new Map<string, { b: number; n: number }>();
  const precision = 1 / (priorSd * priorSd);
  for (const [item, list] of [...byItem].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const b0 = prior(item);
    let b = b0;
    for (let k = 0; k < steps; k++) {
      let grad = -(b - b0) * precision;
      let hess = precision;
      for (const o of list) {
        const { g, info } = answerScore(o.k * (o.z - b), o.correct, guess);
        grad -= o.k * g;
        hess += o.k * o.k * info;
      }
      b += grad / hess;
    }
    out.set(item, { b, n: list.length });
  }
  return out;
}
