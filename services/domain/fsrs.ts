/**
 * FSRS scheduler (Free Spaced Repetition Scheduler, ts-fsrs v5 with its default FSRS-6 weights)
 * behind a plain, JSON-serialisable state so it can live in Postgres/Redis and be replayed.
 *
 * Settings and why:
 * - enable_fuzz false: fuzz draws a pseudo-random interval, and a replay must reproduce the schedule.
 * - enable_short_term false: we schedule a topic, not a flashcard. Many attempts on one topic land in
 *   the same session; with short-term steps each would be a 1-10 minute "learning step" review.
 *   Without them FSRS treats same-day reviews through its own same-day stability rule, which barely
 *   moves stability, so cramming twenty questions does not push the next review months out.
 * - request_retention 0.9 (ts-fsrs default): a review falls due when predicted recall drops to 0.9,
 *   the same target used to derive SM-2's recall curve in sm2.ts.
 */

import { createEmptyCard, fsrs, Rating, State } from 'ts-fsrs';
import type { Card, Grade } from 'ts-fsrs';
import { DAY_MS } from './sm2.ts';

export type FsrsRating = 'again' | 'hard' | 'good' | 'easy';
export type FsrsCardState = 'new' | 'learning' | 'review' | 'relearning';

export interface FsrsState {
  stability: number;
  difficulty: number;
  reps: number;
  lapses: number;
  state: FsrsCardState;
  dueAt: number;
  lastReviewAt: number;
  scheduledDays: number;
  learningSteps: number;
}

/** What the FSRS forgetting curve reads of a card (all a read model needs to decay recall at request time). */
export type FsrsRecall = Pick<FsrsState, 'stability' | 'lastReviewAt' | 'state'>;

export const FSRS_REQUEST_RETENTION = 0.9;

const scheduler = fsrs({
  enable_fuzz: false,
  enable_short_term: false,
  request_retention: FSRS_REQUEST_RETENTION,
});

const RATING_TO_GRADE: Record<FsrsRating, Grade> = {
  again: Rating.Again,
  hard: Rating.Hard,
  good: Rating.Good,
  easy: Rating.Easy,
};

const STATE_TO_NAME: Record<State, FsrsCardState> = {
  [State.New]: 'new',
  [State.Learning]: 'learning',
  [State.Review]: 'review',
  [State.Relearning]: 'relearning',
};

const NAME_TO_STATE: Record<FsrsCardState, State> = {
  new: State.New,
  learning: State.Learning,
  review: State.Review,
  relearning: State.Relearning,
};

/**
 * Maps SM-2 quality (0-5, see qualityFromAttempt in sm2.ts) to an FSRS rating, keeping both
 * schedulers' notion of a lapse identical: below 3 is a failure in SM-2, so it is Again here;
 * 3 ("serious difficulty") is Hard, 4 Good, 5 Easy.
 */
export function ratingFromQuality(quality: number): FsrsRating {
  if (quality < 3) return 'again';
  if (quality < 4) return 'hard';
  if (quality < 5) return 'good';
  return 'easy';
}

/** Plain correctness when no timing or confidence is available: correct is Good, wrong is Again. */
export function ratingFromCorrectness(correct: boolean): FsrsRating {
  return correct ? 'good' : 'again';
}

/**
 * Applies one rated review. A review older than the last one is ignored (state returned unchanged):
 * FSRS needs elapsed time since the previous review, which would be negative.
 */
export function fsrsReview(
  state: FsrsState | undefined,
  rating: FsrsRating,
  reviewedAtMs: number,
): FsrsState {
  if (state !== undefined && reviewedAtMs < state.lastReviewAt) return state;
  const card = state === undefined ? createEmptyCard(new Date(reviewedAtMs)) : toCard(state);
  const { card: next } = scheduler.next(card, new Date(reviewedAtMs), RATING_TO_GRADE[rating]);
  return fromCard(next, reviewedAtMs);
}

/**
 * Probability of recall at atMs from the FSRS forgetting curve R(t, S) with the scheduler's decay.
 * Elapsed time is fractional days (ts-fsrs get_retrievability truncates to whole days), so retrieval
 * strength decays smoothly within a day. A card never reviewed has 0.
 */
export function fsrsRecallProbability(state: FsrsRecall | undefined, atMs: number): number {
  if (state === undefined || state.state === 'new' || state.stability <= 0) return 0;
  const elapsedDays = Math.max(0, atMs - state.lastReviewAt) / DAY_MS;
  return scheduler.forgetting_curve(elapsedDays, state.stability);
}

function toCard(state: FsrsState): Card {
  return {
    due: new Date(state.dueAt),
    stability: state.stability,
    difficulty: state.difficulty,
    elapsed_days: 0,
    scheduled_days: state.scheduledDays,
    learning_steps: state.learningSteps,
    reps: state.reps,
    lapses: state.lapses,
    state: NAME_TO_STATE[state.state],
    last_review: new Date(state.lastReviewAt),
  };
}

function fromCard(card: Card, reviewedAtMs: number): FsrsState {
  return {
    stability: card.stability,
    difficulty: card.difficulty,
    reps: card.reps,
    lapses: card.lapses,
    state: STATE_TO_NAME[card.state],
    dueAt: card.due.getTime(),
    lastReviewAt: reviewedAtMs,
    scheduledDays: card.scheduled_days,
    learningSteps: card.learning_steps,
  };
}
