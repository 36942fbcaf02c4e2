/**
 * Item difficulties for the learner model: the question-bank calibration (item_calibration in PostgreSQL, written
 * by the calibration step) and the mapping of a decoded input to the row step's event.
 */
import { resolveItemDifficulty } from '../../domain/learner-model.ts';
import type { MasteryInput } from './decode.ts';
import type { RowEvent } from './row.ts';

/** Question id -> calibrated difficulty (logits). */
export type ItemCalibration = ReadonlyMap<string, number>;
export const EMPTY_CALIBRATION: ItemCalibration = new Map();

/**
 * The row event of a decoded input. An answer carries its item's difficulty, resolved now (calibration, else the
 * event's difficulty field, else the bank mean), so a later rebuild of the row uses the same value.
 */
export function toRowEvent(v: MasteryInput, items: ItemCalibration = EMPTY_CALIBRATION): RowEvent {
  return v.kind === 'attempt'
    ? {
        at: v.occurredAt,
        id: v.eventId,
        a: {
          ...v.attempt,
          itemB: resolveItemDifficulty(
            v.questionId === null ? undefined : items.get(v.questionId),
            v.difficulty,
          ),
        },
      }
    : { at: v.occurredAt, id: v.eventId, m: { id: v.materialId, p: v.progress } };
}
