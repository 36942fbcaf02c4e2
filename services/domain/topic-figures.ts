/**
 * Pure derivation of topic_mastery columns: a leaf row from its MasteryState, a parent row from its children
 * (board-weight roll-up). Everything is computed as of an event time, never the wall clock.
 */
import {
  computeMastery,
  emptyMasteryState,
  masteryInterval,
  rollupToParent,
  type MasteryState,
  type RetrievalScheduler,
} from './mastery.ts';
import { dailyInterval } from './fsrs-daily.ts';
import {
  emptyLearnerState,
  LEARNER_PARAMS,
  learnerNextReviewAt,
  predictLearner,
  REVIEW_SCHEDULE,
  type LearnerState,
} from './learner-model.ts';

export type TopicFigures = {
  attempts: number;
  correct: number;
  firstAttemptTotal: number;
  firstAttemptCorrect: number;
  accuracy: number | null;
  firstAttemptAccuracy: number | null;
  recentAccuracy: number | null;
  retrievalStrength: number;
  stabilityDays: number | null;
  sm2State: unknown;
  fsrsState: unknown;
  nextReviewAt: number | null;
  materialCompletion: number;
  masteryScore: number;
  masteryLower: number;
  masteryUpper: number;
  /** Learner model v2: P(correct) on a question of average difficulty now (as of asOf), and its 95% interval. */
  pCorrect: number;
  pCorrectLower: number;
  pCorrectUpper: number;
  /** Leaves: the learner state and newest material time (learner_state), for request-time predictions. */
  learnerState: (LearnerState & { materialAt: number | null }) | null;
  trend: string | null;
  lastEventAt: number | null;
  asOf: number | null;
};

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** A leaf row's columns, as of `asOf` (default: the state's latest event). */
export function leafFigures(
  state: MasteryState,
  scheduler: RetrievalScheduler,
  asOf: number | null = state.lastEventAt,
): TopicFigures {
  const snap = computeMastery(state, asOf ?? 0, { scheduler });
  const model = learnerNow(state, asOf);
  return {
    attempts: state.attempts,
    correct: state.correct,
    firstAttemptTotal: state.firstAttemptTotal,
    firstAttemptCorrect: state.firstAttemptCorrect,
    accuracy: ratio(state.correct, state.attempts),
    firstAttemptAccuracy: ratio(state.firstAttemptCorrect, state.firstAttemptTotal),
    recentAccuracy: snap.recentAccuracy,
    retrievalStrength: snap.components.retrievalStrength,
    stabilityDays: state.fsrs?.stability ?? null,
    sm2State: state.sm2,
    fsrsState: state.fsrs,
    nextReviewAt: nextReviewAt(state, snap.nextReviewAt),
    materialCompletion: state.materialCompletion,
    masteryScore: snap.score,
    masteryLower: snap.lower,
    masteryUpper: snap.upper,
    pCorrect: model.p,
    pCorrectLower: model.lower,
    pCorrectUpper: model.upper,
    // Every leaf with an event has a state (material study only: the empty state), so readers can pool it.
    learnerState:
      state.lastEventAt === null
        ? null
        : { ...(state.learner ?? emptyLearnerState()), materialAt: state.materialCompletionAt },
    trend: snap.trend,
    lastEventAt: state.lastEventAt,
    asOf,
  };
}

/**
 * The learner model's prediction for a question of average difficulty (the bank mean) at `asOf` (the row's latest
 * event when null), material study counting as exposure.
 */
export function learnerNow(
  state: MasteryState,
  asOf: number | null = state.lastEventAt,
): { p: number; lower: number; upper: number } {
  const learner = state.learner ?? emptyLearnerState();
  const at = asOf ?? state.lastEventAt ?? learner.lastAt ?? 0;
  return predictLearner(learner, at, LEARNER_PARAMS.itemPriorMean, state.materialCompletionAt);
}

/**
 * The next review of a leaf: from the review scheduler chosen by the eval (REVIEW_SCHEDULE) at its target
 * retention; the seed scheduler's (MASTERY_SCHEDULER) when it says 'seed' or the row has no state for it yet
 * (rows written before it: until their next answer, or `rebuild --store mastery`).
 */
export function nextReviewAt(state: MasteryState, seedDueAt: number | null): number | null {
  const target = REVIEW_SCHEDULE.targetRetention;
  if (REVIEW_SCHEDULE.scheduler === 'fsrs6' && state.fsrsDaily)
    return state.fsrsDaily.lastAt + dailyInterval(state.fsrsDaily, target) * 86_400_000;
  if (REVIEW_SCHEDULE.scheduler === 'learner' && state.learner)
    return learnerNextReviewAt(state.learner, target);
  return seedDueAt;
}

/** A child with no row: never studied (score 0, the interval of an empty state). */
export function unstudiedFigures(): TopicFigures {
  const empty = emptyMasteryState();
  const components = {
    firstAttemptAccuracy: 0,
    overallAccuracy: 0,
    retrievalStrength: 0,
    materialCompletion: 0,
  };
  const { lower, upper } = masteryInterval(empty, components, 0);
  return {
    ...leafFigures(empty, 'fsrs'),
    masteryScore: 0,
    masteryLower: lower,
    masteryUpper: upper,
    trend: null,
  };
}

const minOf = (values: Array<number | null>): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
};
const maxOf = (values: Array<number | null>): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
};

/** A parent's row from all its children (in taxonomy order), weighted by board weight. */
export function parentFigures(
  children: ReadonlyArray<{ weight: number; columns: TopicFigures }>,
): TopicFigures {
  const roll = (pick: (c: TopicFigures) => number): number =>
    rollupToParent(children.map((c) => ({ score: pick(c.columns), weight: c.weight }))) ?? 0;
  const sum = (pick: (c: TopicFigures) => number): number =>
    children.reduce((s, c) => s + pick(c.columns), 0);
  const attempts = sum((c) => c.attempts);
  const correct = sum((c) => c.correct);
  const firstAttemptTotal = sum((c) => c.firstAttemptTotal);
  const firstAttemptCorrect = sum((c) => c.firstAttemptCorrect);
  return {
    attempts,
    correct,
    firstAttemptTotal,
    firstAttemptCorrect,
    accuracy: ratio(correct, attempts),
    firstAttemptAccuracy: ratio(firstAttemptCorrect, firstAttemptTotal),
    recentAccuracy: null,
    retrievalStrength: roll((c) => c.retrievalStrength),
    stabilityDays: null,
    sm2State: null,
    fsrsState: null,
    nextReviewAt: minOf(children.map((c) => c.columns.nextReviewAt)),
    materialCompletion: roll((c) => c.materialCompletion),
    masteryScore: roll((c) => c.masteryScore),
    masteryLower: roll((c) => c.masteryLower),
    masteryUpper: roll((c) => c.masteryUpper),
    pCorrect: roll((c) => c.pCorrect),
    pCorrectLower: roll((c) => c.pCorrectLower),
    pCorrectUpper: roll((c) => c.pCorrectUpper),
    learnerState: null,
    trend: null,
    lastEventAt: maxOf(children.map((c) => c.columns.lastEventAt)),
    asOf: maxOf(children.map((c) => c.columns.asOf)),
  };
}
