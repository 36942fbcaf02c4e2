import type { Pool } from '../../shared/postgres.ts';
import { MASTERY_WEIGHTS, recallAt, type SchedulerRecall } from '../../domain/mastery.ts';
import { clamp01 } from '../../domain/stats.ts';
import {
  learnerColumns,
  learnerOfRow,
  recallColumns,
  recallOfRow,
  type LearnerNowState,
} from '../../stream/index.ts';
import { iso, ms, numOrNull, prepared, type Raw } from './statements.ts';
import { topicIndex, type Topic } from './taxonomy.ts';

/**
 * The mastery read model: full topic_mastery rows (postgres/021_topic_mastery.sql) of one student, for the topic
 * view, knowledge gaps and readiness; the figures at request time (masteryNow); the daily history. The JSON columns
 * are read through the mastery processor's projections (services/stream/mastery/read-model.ts). The list's lean
 * page is mastery-list.ts, the dashboard's summary mastery-summary.ts.
 */

export type MasteryRow = {
  topicId: string;
  name: string;
  level: number;
  parentId: string | null;
  boardWeight: number;
  attempts: number;
  correct: number;
  accuracy: number | null;
  firstAttemptAccuracy: number | null;
  recentAccuracy: number | null;
  /** Figures as of the row's last event (as_of). */
  score: number;
  lower: number;
  upper: number;
  retrievalStrength: number;
  materialCompletion: number;
  /** Learner model v2: P(correct) on a question of average difficulty as of asOf, 95% interval (null: none yet). */
  pCorrect: { p: number; lower: number; upper: number } | null;
  /** Leaves: the learner state (learner_state), to recompute P(correct) at request time. */
  learner: LearnerNowState | null;
  trend: string | null;
  nextReviewAt: string | null;
  asOf: string | null;
  scheduler: 'sm2' | 'fsrs';
  /** Leaves: what the scheduler's recall curve reads of its state (null: parents, rows without a review). */
  recall: SchedulerRecall | null;
};

/**
 * The columns the mastery views show (a full list is ~250 rows: every column costs the driver a parse per row).
 * Name, level, parent and board weight come from the in-memory taxonomy, not from a join.
 */
const MASTERY_COLUMNS = `m.topic_id, m.attempts, m.correct, m.accuracy, m.first_attempt_accuracy, m.recent_accuracy,
  m.mastery_score, m.mastery_lower, m.mastery_upper, m.retrieval_strength, m.material_completion, m.trend,
  m.p_correct, m.p_correct_lower, m.p_correct_upper, ${learnerColumns('m', true)},
  ${ms('m.next_review_at')} AS next_review_at, ${ms('m.as_of')} AS as_of, m.scheduler, ${recallColumns('m', true)}`;

function toMastery(r: Raw, topic: Topic): MasteryRow {
  return {
    topicId: topic.id,
    name: topic.name,
    level: topic.level,
    parentId: topic.parentId,
    boardWeight: topic.boardWeight,
    attempts: Number(r.attempts),
    correct: Number(r.correct),
    accuracy: numOrNull(r.accuracy),
    firstAttemptAccuracy: numOrNull(r.first_attempt_accuracy),
    recentAccuracy: numOrNull(r.recent_accuracy),
    score: Number(r.mastery_score),
    lower: Number(r.mastery_lower),
    upper: Number(r.mastery_upper),
    retrievalStrength: Number(r.retrieval_strength),
    materialCompletion: Number(r.material_completion),
    pCorrect:
      r.p_correct == null
        ? null
        : { p: Number(r.p_correct), lower: Number(r.p_correct_lower), upper: Number(r.p_correct_upper) },
    learner: learnerOfRow(r),
    trend: (r.trend as string | null) ?? null,
    nextReviewAt: iso(r.next_review_at),
    asOf: iso(r.as_of),
    scheduler: r.scheduler === 'sm2' ? 'sm2' : 'fsrs',
    recall: recallOfRow(r),
  };
}

/**
 * Retrieval strength decays after the last event; for a leaf row it is recomputed at `nowMs` from the
 * scheduler's recall inputs, and the score moved by the retrieval term's weight. Parent rows (no scheduler state)
 * keep their as-of figures (null).
 */
export function masteryNow(
  row: Pick<MasteryRow, 'score' | 'retrievalStrength' | 'recall'>,
  nowMs: number,
): { retrievalStrength: number; score: number } | null {
  return decayedMastery(row.score, row.retrievalStrength, row.recall, nowMs);
}

/** masteryNow of a row's figures (as of its last event) and recall inputs. */
export function decayedMastery(
  score: number,
  retrievalStrength: number,
  recall: SchedulerRecall | null,
  nowMs: number,
): { retrievalStrength: number; score: number } | null {
  if (recall === null) return null;
  const retrieval = recallAt(recall, nowMs);
  return {
    retrievalStrength: retrieval,
    score: clamp01(score + MASTERY_WEIGHTS.retrievalStrength * (retrieval - retrievalStrength)),
  };
}

export async function masteryRows(
  pg: Pool,
  user: string,
  filter: { level?: number; parent?: string; topics?: string[] } = {},
): Promise<MasteryRow[]> {
  const where = ['m.user_id = $1'];
  const values: unknown[] = [user];
  if (filter.level !== undefined) {
    values.push(filter.level);
    where.push(`m.topic_level = $${values.length}`);
  }
  let index = await topicIndex(pg);
  for (const topics of [
    filter.parent === undefined ? undefined : (index.children.get(filter.parent) ?? []).map((t) => t.id),
    filter.topics,
  ]) {
    if (topics === undefined) continue;
    values.push(topics);
    where.push(`m.topic_id = ANY($${values.length}::text[])`);
  }
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${MASTERY_COLUMNS} FROM topic_mastery m
     WHERE ${where.join(' AND ')} ORDER BY m.topic_level, m.topic_id`,
    values,
  );
  // topic_mastery references topics: an id missing from the index means the taxonomy changed since it was loaded.
  if (rows.some((r) => !index.byId.has(String(r.topic_id)))) index = await topicIndex(pg, Date.now(), true);
  return rows.flatMap((r) => {
    const topic = index.byId.get(String(r.topic_id));
    return topic ? [toMastery(r, topic)] : [];
  });
}

export type HistoryPoint = {
  day: string;
  attempts: number;
  correct: number;
  accuracy: number | null;
  score: number;
  lower: number;
  upper: number;
  retrievalStrength: number;
};

/** Daily end-of-day snapshots of one leaf topic since `from` (inclusive). */
export async function masteryHistory(
  pg: Pool,
  user: string,
  topic: string,
  from: string,
): Promise<HistoryPoint[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, attempts, correct, accuracy, mastery_score, mastery_lower, mastery_upper,
            retrieval_strength
     FROM topic_mastery_history WHERE user_id = $1 AND topic_id = $2 AND day >= $3::date ORDER BY day`,
    [user, topic, from],
  );
  return rows.map((r) => ({
    day: String(r.day),
    attempts: Number(r.attempts),
    correct: Number(r.correct),
    accuracy: numOrNull(r.accuracy),
    score: Number(r.mastery_score),
    lower: Number(r.mastery_lower),
    upper: Number(r.mastery_upper),
    retrievalStrength: Number(r.retrieval_strength),
  }));
}
