import {
  LEARNER_PARAMS,
  pooledLearner,
  predictLearner,
  systemOf,
  type LearnerState,
} from '../../domain/learner-model.ts';
import type { LearnerNowState } from '../../stream/index.ts';
import { round } from '../compute.ts';
import type { StudentPool } from '../data/learner.ts';
import { masteryNow, type MasteryRow } from '../data/mastery.ts';
import type { MasteryListRow } from '../data/mastery-list.ts';

/**
 * The one builder of a mastery entry (the list's entries, the topic view's `mastery`) and the learner model's
 * figures in it, predicted at request time.
 */

/** The fields of a mastery list entry, in response order (`topicId` is always sent). */
export const MASTERY_FIELDS = [
  'topicId',
  'name',
  'level',
  'parentId',
  'boardWeight',
  'score',
  'interval',
  'trend',
  'attempts',
  'correct',
  'accuracy',
  'firstAttemptAccuracy',
  'recentAccuracy',
  'retrievalStrength',
  'materialCompletion',
  'pCorrect',
  'pCorrectNow',
  'asOf',
  'now',
  'nextReviewAt',
  'scheduler',
] as const;
export type MasteryField = (typeof MASTERY_FIELDS)[number];

/** The API shape of the learner model's probability (null before the row has one). */
export function pCorrectView(
  p: unknown,
  lower: unknown,
  upper: unknown,
): { value: number; lower: number; upper: number; level: number } | null {
  if (p == null) return null;
  return {
    value: round(Number(p)) as number,
    lower: round(Number(lower)) as number,
    upper: round(Number(upper)) as number,
    level: 0.95,
  };
}

/**
 * The learner model's P(correct) on a question of average difficulty at `nowMs` (forgetting since the last event),
 * with the student's and the topic's organ system's pooled prior when `pooling` is given (what the eval scores).
 */
export function pCorrectNow(
  l: LearnerNowState,
  nowMs: number,
  pooling?: { topicId: string; pool: StudentPool },
): { value: number; lower: number; upper: number; level: number } | null {
  let state: LearnerState = { ...l, n: 0 };
  if (pooling)
    state = pooledLearner(
      state,
      pooling.pool.student,
      pooling.pool.systems.get(systemOf(pooling.topicId)) ?? { g: 0, i: 0 },
    );
  const p = predictLearner(state, nowMs, LEARNER_PARAMS.itemPriorMean, l.materialAt);
  return pCorrectView(p.p, p.lower, p.upper);
}

/**
 * pCorrect (as of the row's last event) and pCorrectNow of a row: a leaf with a learner state is predicted with the
 * student's pooled prior (as the eval scores it, the pool as of the request); otherwise (parents, rows written
 * before the learner model) the stored column as of asOf, and no pCorrectNow.
 */
export function learnerFields(
  learner: LearnerNowState | null,
  stored: ReturnType<typeof pCorrectView>,
  topicId: string,
  asOfMs: number | null,
  nowMs: number,
  pool: StudentPool | undefined,
): { pCorrect: ReturnType<typeof pCorrectView>; pCorrectNow: ReturnType<typeof pCorrectView> } {
  if (learner === null) return { pCorrect: stored, pCorrectNow: null };
  const pooling = pool === undefined ? undefined : { topicId, pool };
  return {
    pCorrect: pool === undefined || asOfMs === null ? stored : pCorrectNow(learner, asOfMs, pooling),
    pCorrectNow: pCorrectNow(learner, nowMs, pooling),
  };
}

/**
 * The one builder of a mastery entry (the list's entries, the topic view's `mastery`): a row's figures at `now`.
 * `current` is masteryNow's result (recall decayed to `now`), computed by the caller from what it read.
 */
export function masteryEntry(r: MasteryListRow, now: number, pool?: StudentPool) {
  // Built apart and copied field by field, not spread into the literal below (a spread in mid-literal costs the
  // list ~0.1 ms per request); asOf parsed only for a row with a learner state (the only reader of it).
  const learner = learnerFields(
    r.learner,
    r.pCorrect ? pCorrectView(r.pCorrect.p, r.pCorrect.lower, r.pCorrect.upper) : null,
    r.topicId,
    r.learner === null || r.asOf === null ? null : Date.parse(r.asOf),
    now,
    pool,
  );
  return {
    topicId: r.topicId,
    name: r.name,
    level: r.level,
    parentId: r.parentId,
    boardWeight: r.boardWeight,
    score: round(r.score),
    interval: { lower: round(r.lower), upper: round(r.upper), level: 0.95 },
    trend: r.trend,
    attempts: r.attempts,
    correct: r.correct,
    accuracy: round(r.accuracy),
    firstAttemptAccuracy: round(r.firstAttemptAccuracy),
    recentAccuracy: round(r.recentAccuracy),
    retrievalStrength: round(r.retrievalStrength),
    materialCompletion: round(r.materialCompletion),
    pCorrect: learner.pCorrect,
    pCorrectNow: learner.pCorrectNow,
    asOf: r.asOf,
    now: r.current
      ? { retrievalStrength: round(r.current.retrievalStrength), score: round(r.current.score) }
      : null,
    nextReviewAt: r.nextReviewAt,
    scheduler: r.level === 2 ? r.scheduler : null,
  } satisfies Record<MasteryField, unknown>;
}

/** The API shape of one full mastery row (its recall inputs read) at `now`. */
export function masteryView(r: MasteryRow, now: number, pool?: StudentPool) {
  return masteryEntry({ ...r, current: masteryNow(r, now) }, now, pool);
}
