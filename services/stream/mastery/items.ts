/**
 * Item difficulties for the learner model: the question-bank calibration (item_calibration in PostgreSQL, written
 * by the calibration step) and the mapping of a decoded input to the row step's event.
 */
import { resolveItemDifficulty } from '../../domain/learner-model.ts';
import type { MasteryInput } from './decode.ts';
import type { TopicEvent } from '../../domain/topic-mastery.ts';
import type { Pool, PoolClient } from '../../shared/postgres.ts';

/** Question id -> calibrated difficulty (logits). */
export type ItemCalibration = ReadonlyMap<string, number>;
export const EMPTY_CALIBRATION: ItemCalibration = new Map();

/**
 * The row event of a decoded input. An answer carries its item's difficulty, resolved now (calibration, else the
 * event's difficulty field, else the bank mean), so a later rebuild of the row uses the same value.
 */
export function toTopicEvent(v: MasteryInput, items: ItemCalibration = EMPTY_CALIBRATION): TopicEvent {
  return v.kind === 'attempt'
    ? {
        at: v.occurredAt,
        id: v.eventId,
        answer: {
          ...v.attempt,
          itemB: resolveItemDifficulty(
            v.questionId === null ? undefined : items.get(v.questionId),
            v.difficulty,
          ),
        },
      }
    : { at: v.occurredAt, id: v.eventId, material: { materialId: v.materialId, progress: v.progress } };
}

/** The stored calibration (question id -> difficulty in logits). */
export async function loadItemCalibration(pool: Pool | PoolClient): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ question_id: string; difficulty: number }>(
    'SELECT question_id, difficulty FROM item_calibration',
  );
  return new Map(rows.map((r) => [r.question_id, r.difficulty]));
}

export type CalibratedItem = {
  questionId: string;
  difficulty: number;
  priorLogit: number | null;
  answers: number;
};

/** Replaces the stored calibration's rows for these items (upsert; items not listed keep their row). */
export async function saveItemCalibration(
  pool: Pool | PoolClient,
  items: readonly CalibratedItem[],
): Promise<void> {
  if (items.length === 0) return;
  await pool.query(
    `INSERT INTO item_calibration (question_id, difficulty, prior_logit, answers, calibrated_at)
     SELECT question_id, difficulty, prior_logit, answers, now()
     FROM jsonb_to_recordset($1::jsonb) AS r(question_id text, difficulty float8, prior_logit float8, answers int)
     ON CONFLICT (question_id) DO UPDATE SET difficulty = EXCLUDED.difficulty, prior_logit = EXCLUDED.prior_logit,
       answers = EXCLUDED.answers, calibrated_at = EXCLUDED.calibrated_at`,
    [
      JSON.stringify(
        items.map((i) => ({
          question_id: i.questionId,
          difficulty: i.difficulty,
          prior_logit: i.priorLogit,
          answers: i.answers,
        })),
      ),
    ],
  );
}
