/**
 * Per student + topic mastery, updated one event at a time.
 *
 * Score (seed design, "Mastery Progression Dashboard"):
 *   0.30 first-attempt accuracy + 0.20 overall accuracy + 0.30 retrieval strength + 0.20 material completion
 *
 * The state is plain JSON (nulls, no undefined, no Dates) and every update is a pure function of
 * (previous state, event), so a processor that replays its input rebuilds the same state.
 *
 * Events older than the last applied one (late or reordered delivery):
 * - counts and material progress always apply;
 * - the recent-outcome window is kept sorted by event time, so it does not depend on arrival order;
 * - material completion keeps the value with the latest event time, whatever the arrival order;
 * - the schedulers advance only for attempts at or after their lastReviewAt (a review cannot be
 *   inserted into a schedule after the fact). Processors that need arrival-order independence for the
 *   schedule too must buffer attempts until the watermark passes and apply them in event-time order.
 * Duplicate delivery is filtered upstream by event_id; this module counts what it is given.
 */

import { fsrsRecallProbability, fsrsReview, ratingFromQuality } from './fsrs.ts';
import type { FsrsRecall, FsrsState } from './fsrs.ts';
import { qualityFromAttempt, sm2RecallProbability, sm2Review } from './sm2.ts';
import type { AttemptForQuality, Sm2Options, Sm2Recall, Sm2State } from './sm2.ts';
import { clamp01, wilsonInterval, Z_95 } from './stats.ts';
import { emptyLearnerState, LEARNER_PARAMS, updateLearner } from './learner-model.ts';
import { dailyReview, type DailyFsrsState } from './fsrs-daily.ts';
import type { LearnerParams, LearnerState } from './learner-model.ts';

export const MASTERY_WEIGHTS = {
  firstAttemptAccuracy: 0.3,
  overallAccuracy: 0.2,
  retrievalStrength: 0.3,
  materialCompletion: 0.2,
} as const;

/** Outcomes in the "recent accuracy" window. */
export const RECENT_WINDOW = 10;
/** The trend compares the last RECENT_WINDOW outcomes with up to RECENT_WINDOW before them. */
export const OUTCOME_HISTORY = RECENT_WINDOW * 2;
export const TREND_MIN_EARLIER = 5;
/** Accuracy change between the two windows that counts as a real change (10 outcomes each). */
export const TREND_THRESHOLD = 0.15;

export type RetrievalScheduler = 'sm2' | 'fsrs';
/**
 * FSRS predicts recall at reviews better than SM-2 on held-out simulated cohorts (`npm run eval`: log loss 0.793
 * vs 0.950, AUC 0.546 vs 0.507 on eval-holdout-2025), so it is the default; MASTERY_SCHEDULER=sm2 switches the
 * processor back. Neither beats a constant there; the learner model v2 (learner-model.ts) predicts answers.
 */
export const DEFAULT_RETRIEVAL_SCHEDULER: RetrievalScheduler = 'fsrs';

export type MasteryTrend = 'improving' | 'stable' | 'declining' | 'insufficient_data';

export interface OutcomeRecord {
  at: number;
  correct: boolean;
}

export interface MasteryState {
  attempts: number;
  correct: number;
  firstAttemptTotal: number;
  firstAttemptCorrect: number;
  /** The newest OUTCOME_HISTORY outcomes, ascending by (at, incorrect before correct). */
  recentOutcomes: OutcomeRecord[];
  materialCompletion: number;
  materialCompletionAt: number | null;
  sm2: Sm2State | null;
  fsrs: FsrsState | null;
  /** Learner model v2 (learner-model.ts); absent in rows written before it. */
  learner?: LearnerState | null;
  /**
   * FSRS-6 once per topic per study day with default weights (fsrs-daily.ts): the review schedule the eval chose
   * (REVIEW_SCHEDULE); absent in rows written before it.
   */
  fsrsDaily?: DailyFsrsState | null;
  lastEventAt: number | null;
}

/** An answer as the mastery model takes it: the item's difficulty (logits) resolved when it was decoded. */
export interface ModelAttempt extends AttemptForQuality {
  itemB?: number;
}

export interface MasteryAttempt extends ModelAttempt {
  occurredAt: number;
}

export interface MaterialProgress {
  /** Share of the topic's materials completed, 0..1, as computed from material events. */
  completion: number;
  occurredAt: number;
}

export interface MasteryUpdateOptions {
  sm2?: Sm2Options;
  learner?: LearnerParams;
}

export function emptyMasteryState(): MasteryState {
  return {
    attempts: 0,
    correct: 0,
    firstAttemptTotal: 0,
    firstAttemptCorrect: 0,
    recentOutcomes: [],
    materialCompletion: 0,
    materialCompletionAt: null,
    sm2: null,
    fsrs: null,
    learner: null,
    fsrsDaily: null,
    lastEventAt: null,
  };
}

/** Applies one question attempt. An unanswered (skipped or timed-out) question counts as an incorrect attempt. */
export function applyAttempt(
  state: MasteryState | undefined,
  attempt: MasteryAttempt,
  options: MasteryUpdateOptions = {},
): MasteryState {
  const previous = state ?? emptyMasteryState();
  const correct = attempt.correct && attempt.answered !== false;
  const isFirstAttempt = attempt.attemptNumber <= 1;
  const quality = qualityFromAttempt(attempt);
  return {
    attempts: previous.attempts + 1,
    correct: previous.correct + (correct ? 1 : 0),
    firstAttemptTotal: previous.firstAttemptTotal + (isFirstAttempt ? 1 : 0),
    firstAttemptCorrect: previous.firstAttemptCorrect + (isFirstAttempt && correct ? 1 : 0),
    recentOutcomes: insertOutcome(previous.recentOutcomes, { at: attempt.occurredAt, correct }),
    materialCompletion: previous.materialCompletion,
    materialCompletionAt: previous.materialCompletionAt,
    sm2: advanceSm2(previous.sm2, quality, attempt.occurredAt, options.sm2),
    fsrs: fsrsReview(previous.fsrs ?? undefined, ratingFromQuality(quality), attempt.occurredAt),
    learner: advanceLearner(previous.learner ?? null, attempt, correct, options.learner),
    // dailyReview ignores answers of a day before its last review (the first answer of a day is the review).
    fsrsDaily: dailyReview(previous.fsrsDaily ?? null, attempt.occurredAt, correct),
    lastEventAt: maxTime(previous.lastEventAt, attempt.occurredAt),
  };
}

/**
 * The learner model takes answers in event-time order; like the schedulers, an answer older than its last one
 * (a late delivery past the row's fold point) is counted elsewhere but not applied.
 */
function advanceLearner(
  state: LearnerState | null,
  attempt: MasteryAttempt,
  correct: boolean,
  params: LearnerParams = LEARNER_PARAMS,
): LearnerState {
  const current = state ?? emptyLearnerState(params);
  if (current.lastAt !== null && attempt.occurredAt < current.lastAt) return current;
  return updateLearner(
    current,
    { at: attempt.occurredAt, correct, b: attempt.itemB ?? params.itemPriorMean },
    params,
  );
}

/**
 * Records the topic's material completion. The value with the latest event time wins (ties keep the
 * larger), so redelivered or reordered progress events converge to the same value.
 */
export function applyMaterialProgress(
  state: MasteryState | undefined,
  progress: MaterialProgress,
): MasteryState {
  const previous = state ?? emptyMasteryState();
  const completion = clamp01(Number.isFinite(progress.completion) ? progress.completion : 0);
  const lastEventAt = maxTime(previous.lastEventAt, progress.occurredAt);
  const at = previous.materialCompletionAt;
  const newer = at === null || progress.occurredAt > at;
  const tieAndLarger = at === progress.occurredAt && completion > previous.materialCompletion;
  if (!newer && !tieAndLarger) return { ...previous, lastEventAt };
  return {
    ...previous,
    materialCompletion: completion,
    materialCompletionAt: progress.occurredAt,
    lastEventAt,
  };
}

/**
 * SM-2 has no notion of an early review, and a topic gets many attempts per session: fed every
 * attempt, twenty correct answers in one evening would schedule the next review years away. So a
 * successful attempt before the due date restarts the forgetting clock (recall was just shown) but
 * keeps the interval; only a success at or after the due date earns the next, longer interval.
 * A failure always resets, as in SM-2. (FSRS needs no such rule: its stability gain already
 * shrinks when recall was still likely, and same-day reviews barely move it.)
 */
function advanceSm2(
  state: Sm2State | null,
  quality: number,
  atMs: number,
  options: Sm2Options | undefined,
): Sm2State {
  if (state === null) return sm2Review(undefined, quality, atMs, options);
  if (atMs < state.lastReviewAt) return state;
  if (quality >= 3 && atMs < state.dueAt) {
    return { ...state, lastReviewAt: atMs, dueAt: atMs + (state.dueAt - state.lastReviewAt) };
  }
  return sm2Review(state, quality, atMs, options);
}

export interface MasteryComponents {
  firstAttemptAccuracy: number;
  overallAccuracy: number;
  retrievalStrength: number;
  materialCompletion: number;
}

export interface MasterySnapshot {
  score: number;
  /** 95% interval on the score, see masteryInterval. */
  lower: number;
  upper: number;
  components: MasteryComponents;
  /** Accuracy over the last RECENT_WINDOW outcomes; null before any attempt. */
  recentAccuracy: number | null;
  trend: MasteryTrend;
  nextReviewAt: number | null;
}

export interface MasteryQueryOptions {
  scheduler?: RetrievalScheduler;
}

export function masteryScore(components: MasteryComponents): number {
  return clamp01(
    MASTERY_WEIGHTS.firstAttemptAccuracy * components.firstAttemptAccuracy +
      MASTERY_WEIGHTS.overallAccuracy * components.overallAccuracy +
      MASTERY_WEIGHTS.retrievalStrength * components.retrievalStrength +
      MASTERY_WEIGHTS.materialCompletion * components.materialCompletion,
  );
}

/** Retrieval strength at atMs: the chosen scheduler's predicted probability of recall. */
export function retrievalStrength(
  state: MasteryState,
  atMs: number,
  scheduler: RetrievalScheduler = DEFAULT_RETRIEVAL_SCHEDULER,
): number {
  return scheduler === 'fsrs'
    ? fsrsRecallProbability(state.fsrs ?? undefined, atMs)
    : sm2RecallProbability(state.sm2 ?? undefined, atMs);
}

/**
 * The recall inputs of the scheduler that owns a topic's schedule: what its recall curve reads of its state. Read
 * models carry this instead of a whole (or a partial, cast) scheduler state; recallAt evaluates it.
 */
export type SchedulerRecall =
  { scheduler: 'sm2'; state: Sm2Recall } | { scheduler: 'fsrs'; state: FsrsRecall };

/** The probability of recall at atMs of a topic's scheduler (retrievalStrength for stored recall inputs). */
export function recallAt(recall: SchedulerRecall, atMs: number): number {
  return recall.scheduler === 'sm2'
    ? sm2RecallProbability(recall.state, atMs)
    : fsrsRecallProbability(recall.state, atMs);
}

/** Mastery as of atMs (retrieval strength decays with time, so the score depends on when it is asked). */
export function computeMastery(
  state: MasteryState,
  atMs: number,
  options: MasteryQueryOptions = {},
): MasterySnapshot {
  const scheduler = options.scheduler ?? DEFAULT_RETRIEVAL_SCHEDULER;
  const components: MasteryComponents = {
    firstAttemptAccuracy: ratio(state.firstAttemptCorrect, state.firstAttemptTotal),
    overallAccuracy: ratio(state.correct, state.attempts),
    retrievalStrength: retrievalStrength(state, atMs, scheduler),
    materialCompletion: state.materialCompletion,
  };
  const score = masteryScore(components);
  const { lower, upper } = masteryInterval(state, components, score);
  const recent = state.recentOutcomes.slice(-RECENT_WINDOW);
  const nextReview = scheduler === 'fsrs' ? state.fsrs : state.sm2;
  return {
    score,
    lower,
    upper,
    components,
    recentAccuracy: recent.length === 0 ? null : recent.filter((o) => o.correct).length / recent.length,
    trend: masteryTrend(state.recentOutcomes),
    nextReviewAt: nextReview === null ? null : nextReview.dueAt,
  };
}

/**
 * 95% interval on the score. Both accuracies get a Wilson interval (n = first attempts, n = all
 * attempts); retrieval strength and material completion are model output and a measurement, taken as
 * exact. The bounds add the two accuracy bounds at their weights, which is conservative: the two
 * accuracies share data, and adding bounds is the worst case of perfect correlation. Wilson intervals
 * contain the observed proportion, so the interval contains the score.
 */
export function masteryInterval(
  state: MasteryState,
  components: MasteryComponents,
  score: number,
): { lower: number; upper: number } {
  const first = wilsonInterval(state.firstAttemptCorrect, state.firstAttemptTotal, Z_95);
  const overall = wilsonInterval(state.correct, state.attempts, Z_95);
  const fixed =
    MASTERY_WEIGHTS.retrievalStrength * components.retrievalStrength +
    MASTERY_WEIGHTS.materialCompletion * components.materialCompletion;
  const lower =
    fixed +
    MASTERY_WEIGHTS.firstAttemptAccuracy * first.lower +
    MASTERY_WEIGHTS.overallAccuracy * overall.lower;
  const upper =
    fixed +
    MASTERY_WEIGHTS.firstAttemptAccuracy * first.upper +
    MASTERY_WEIGHTS.overallAccuracy * overall.upper;
  // Guard against floating-point rounding putting the point a hair outside its own interval.
  return { lower: clamp01(Math.min(lower, score)), upper: clamp01(Math.max(upper, score)) };
}

/**
 * Trend: accuracy of the last RECENT_WINDOW (10) outcomes against up to 10 before them. Needs a full
 * recent window and at least TREND_MIN_EARLIER (5) earlier outcomes; a change of at least
 * TREND_THRESHOLD (15 points) is improving/declining, anything smaller is stable. With 10 answers a
 * change below 15 points is within one or two lucky guesses, so calling it a trend would be noise.
 */
export function masteryTrend(outcomes: readonly OutcomeRecord[]): MasteryTrend {
  const recent = outcomes.slice(-RECENT_WINDOW);
  const earlier = outcomes.slice(-OUTCOME_HISTORY, -RECENT_WINDOW);
  if (recent.length < RECENT_WINDOW || earlier.length < TREND_MIN_EARLIER) return 'insufficient_data';
  const difference = accuracyOf(recent) - accuracyOf(earlier);
  // Small epsilon so that an exact 15-point change is not lost to floating-point rounding.
  if (difference >= TREND_THRESHOLD - 1e-9) return 'improving';
  if (difference <= -TREND_THRESHOLD + 1e-9) return 'declining';
  return 'stable';
}

/**
 * Parent topic score as the board-exam-weighted mean of its children. Children with weight 0 do
 * not count; if every weight is 0 the plain mean is used; no children gives null.
 */
export function rollupToParent(children: readonly { score: number; weight: number }[]): number | null {
  if (children.length === 0) return null;
  // Weights are scaled by the largest so tiny weights cannot underflow the products.
  const maxWeight = Math.max(0, ...children.map((child) => child.weight));
  let weightSum = 0;
  let weighted = 0;
  for (const child of children) {
    const weight = maxWeight > 0 ? Math.max(0, child.weight) / maxWeight : 0;
    weightSum += weight;
    weighted += weight * child.score;
  }
  if (weightSum > 0) return clamp01(weighted / weightSum);
  return clamp01(children.reduce((sum, child) => sum + child.score, 0) / children.length);
}

function insertOutcome(outcomes: readonly OutcomeRecord[], outcome: OutcomeRecord): OutcomeRecord[] {
  const next = [...outcomes];
  let index = next.length;
  while (index > 0 && compareOutcomes(next[index - 1] as OutcomeRecord, outcome) > 0) index--;
  next.splice(index, 0, outcome);
  return next.length > OUTCOME_HISTORY ? next.slice(next.length - OUTCOME_HISTORY) : next;
}

function compareOutcomes(a: OutcomeRecord, b: OutcomeRecord): number {
  if (a.at !== b.at) return a.at - b.at;
  return Number(a.correct) - Number(b.correct);
}

function accuracyOf(outcomes: readonly OutcomeRecord[]): number {
  return outcomes.filter((o) => o.correct).length / outcomes.length;
}

function ratio(successes: number, total: number): number {
  return total > 0 ? successes / total : 0;
}

function maxTime(previous: number | null, at: number): number {
  return previous === null ? at : Math.max(previous, at);
}
