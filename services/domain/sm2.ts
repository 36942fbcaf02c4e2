/**
 * SM-2 spaced repetition (P. A. Wozniak, "Optimization of learning", 1990, SuperMemo 2 algorithm),
 * as named in the seed design (analytics-architecture.md, "Retrieval Strength & Forgetting Curves").
 *
 * Intervals: the first successful repetition schedules 1 day, the second 6 days, every later one
 * previous interval x multiplier. A quality below 3 resets repetitions and schedules 1 day.
 *
 * Multiplier: the classic easiness factor EF (default), not the seed's memoryless
 * `1.3 + (quality - 3) * 0.2`. The seed's multiplier depends only on the latest answer, so a topic
 * failed ten times and then answered well once grows as fast as one never failed; EF accumulates
 * the item's history (each lapse lowers it, floor 1.3), which is what SM-2 uses it for. The seed
 * variant stays available (`multiplier: 'seed_quality'`) so the two can be compared on held-out data.
 *
 * EF is updated after every graded repetition, failures included (step 5 of the published
 * algorithm applies to each repetition; step 6 restarts the intervals but keeps that EF).
 */

import { clamp } from './stats.ts';

export const DAY_MS = 86_400_000;
export const SM2_INITIAL_EASINESS = 2.5;
export const SM2_MIN_EASINESS = 1.3;
/** Recall probability assumed at the moment a review falls due (see sm2RecallProbability). */
export const SM2_RECALL_AT_DUE = 0.9;
/** Expected time per board-style question when the item carries none (USMLE allows ~90 s each). */
export const DEFAULT_EXPECTED_TIME_MS = 90_000;

export interface Sm2State {
  repetitions: number;
  intervalDays: number;
  easiness: number;
  dueAt: number;
  lastReviewAt: number;
}

export type Sm2Multiplier = 'easiness_factor' | 'seed_quality';

export interface Sm2Options {
  multiplier?: Sm2Multiplier;
}

/** SM-2 easiness update: EF' = EF + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02)), never below 1.3. */
export function nextEasiness(easiness: number, quality: number): number {
  const q = normalizeQuality(quality);
  const updated = easiness + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02));
  return Math.max(SM2_MIN_EASINESS, updated);
}

/** The seed's per-answer multiplier: 1.3 + (quality - 3) * 0.2 (1.3, 1.5, 1.7 for q = 3, 4, 5). */
export function seedQualityMultiplier(quality: number): number {
  return 1.3 + (normalizeQuality(quality) - 3) * 0.2;
}

/**
 * Applies one graded review. A review older than the state's last review cannot be placed in the
 * schedule after the fact, so the state is returned unchanged (deterministic for replays).
 */
export function sm2Review(
  state: Sm2State | undefined,
  quality: number,
  reviewedAtMs: number,
  options: Sm2Options = {},
): Sm2State {
  if (state !== undefined && reviewedAtMs < state.lastReviewAt) return state;
  const q = normalizeQuality(quality);
  const previous = state ?? { repetitions: 0, intervalDays: 0, easiness: SM2_INITIAL_EASINESS };
  const easiness = nextEasiness(previous.easiness, q);

  let repetitions: number;
  let intervalDays: number;
  if (q < 3) {
    repetitions = 0;
    intervalDays = 1;
  } else {
    repetitions = previous.repetitions + 1;
    if (repetitions === 1) intervalDays = 1;
    else if (repetitions === 2) intervalDays = 6;
    else if (options.multiplier === 'seed_quality') {
      // The seed truncates (Python int()).
      intervalDays = Math.floor(previous.intervalDays * seedQualityMultiplier(q));
    } else {
      // Wozniak: "If interval is a fraction, round it up to the nearest integer."
      // Uses the EF already updated by this answer, so the answer just given shapes the next interval.
      intervalDays = Math.ceil(previous.intervalDays * easiness - 1e-9);
    }
  }
  return {
    repetitions,
    intervalDays,
    easiness,
    dueAt: reviewedAtMs + intervalDays * DAY_MS,
    lastReviewAt: reviewedAtMs,
  };
}

/**
 * Memory stability S (days) implied by an SM-2 interval under exponential forgetting R = exp(-t / S),
 * choosing S so that R = 0.9 exactly when the review falls due (t = interval). SM-2 itself has no
 * recall model; 0.9 is the retention target conventionally assumed at the due date (it is FSRS's
 * default request_retention too), which makes the two schedulers' probabilities comparable.
 */
export function sm2Stability(intervalDays: number): number {
  return intervalDays / -Math.log(SM2_RECALL_AT_DUE);
}

/** What SM-2's recall curve reads of its state (all a read model needs to decay recall at request time). */
export type Sm2Recall = Pick<Sm2State, 'intervalDays' | 'lastReviewAt'>;

/** Probability of recall at atMs; 1 at (or before) the last review, 0.9 at the due date. */
export function sm2RecallProbability(state: Sm2Recall | undefined, atMs: number): number {
  if (state === undefined || state.intervalDays <= 0) return 0;
  const elapsedDays = Math.max(0, atMs - state.lastReviewAt) / DAY_MS;
  return Math.exp(-elapsedDays / sm2Stability(state.intervalDays));
}

export interface AttemptForQuality {
  correct: boolean;
  responseTimeMs?: number;
  expectedTimeMs?: number;
  /** Self-reported confidence in [0, 1]. */
  confidence?: number;
  /** 1 for the first try at a question, 2+ for retries. */
  attemptNumber: number;
  /** False when the student skipped or the question timed out. Default true. */
  answered?: boolean;
}

export const FAST_RESPONSE_RATIO = 0.5;
export const SLOW_RESPONSE_RATIO = 1.5;
export const LOW_CONFIDENCE_BELOW = 0.5;

/**
 * Maps an answer to SM-2's 0-5 quality scale, using SM-2's own wording for each grade:
 *   0 "complete blackout"       no answer or timeout
 *   5 "perfect response"        correct, first try, at most half the expected time, not low confidence
 *   4 "after a hesitation"      correct, first try, normal time, not low confidence
 *   3 "serious difficulty"      correct but slow (> 1.5x expected), low confidence (< 0.5), or only on a retry
 *   2 "seemed easy to recall"   incorrect while the student was at least moderately confident (>= 0.5)
 *   1 "incorrect"               incorrect otherwise
 * A wrong retry is deliberately not a 2: failing again after feedback is no sign the answer was near.
 * Response time is compared with expectedTimeMs (default 90 s); a missing time counts as normal.
 */
export function qualityFromAttempt(attempt: AttemptForQuality): number {
  if (attempt.answered === false) return 0;
  const confident = attempt.confidence === undefined || attempt.confidence >= LOW_CONFIDENCE_BELOW;
  if (!attempt.correct) return confident && attempt.confidence !== undefined ? 2 : 1;
  const expected =
    attempt.expectedTimeMs !== undefined && attempt.expectedTimeMs > 0
      ? attempt.expectedTimeMs
      : DEFAULT_EXPECTED_TIME_MS;
  const ratio =
    attempt.responseTimeMs !== undefined &&
    Number.isFinite(attempt.responseTimeMs) &&
    attempt.responseTimeMs > 0
      ? attempt.responseTimeMs / expected
      : 1;
  if (!confident || attempt.attemptNumber > 1 || ratio > SLOW_RESPONSE_RATIO) return 3;
  return ratio <= FAST_RESPONSE_RATIO ? 5 : 4;
}

function normalizeQuality(quality: number): number {
  if (!Number.isFinite(quality)) throw new RangeError(`quality must be a number in 0..5, got ${quality}`);
  return clamp(Math.round(quality), 0, 5);
}
