import type { AttemptForQuality } from '../../domain/sm2.ts';
import { drop, dlq, ok, type StepResult } from '../runtime/step.ts';
import { isFiniteNumber, isString } from '../stateful/wire.ts';
import type { EventFamily } from '../../shared/kafka.ts';

/** What the mastery processor needs from one event. */
export type MasteryInput =
  | {
      kind: 'attempt';
      eventId: string;
      userId: string;
      occurredAt: number;
      topicIds: string[];
      attempt: AttemptForQuality;
      /** The question and its published difficulty (0..1), for the learner model's item difficulty. */
      questionId: string | null;
      difficulty: number | null;
    }
  | {
      kind: 'material';
      eventId: string;
      userId: string;
      occurredAt: number;
      topicIds: string[];
      materialId: string;
      progress: number;
      /** Active (reading, watching) time of the interaction, for the study read models; null when absent. */
      activeMs: number | null;
    };

/**
 * Validate step: an Avro record to a MasteryInput. Records the processor cannot use by design (material
 * events without progress) are dropped with a reason; records that break the contract are dead-lettered.
 * Topic ids must exist in the taxonomy (`isLeaf` answers for leaves; unknown ids are dead-lettered, answers on
 * parent topics are dropped: mastery of a parent is a roll-up of its leaves).
 */
export function toMasteryInput(
  family: EventFamily,
  v: Record<string, unknown>,
  topicKind: (id: string) => 'leaf' | 'parent' | undefined,
): StepResult<MasteryInput> {
  if (!isString(v.event_id) || !isString(v.user_id) || !isFiniteNumber(v.occurred_at))
    return dlq('invalid_envelope', new Error('event_id, user_id and occurred_at are required'));
  const topicIds = Array.isArray(v.topic_ids) ? [...new Set(v.topic_ids.filter(isString))] : [];
  const unknown = topicIds.filter((t) => topicKind(t) === undefined);
  if (unknown.length > 0) return dlq('unknown_topic', new Error(`unknown topic ids: ${unknown.join(', ')}`));
  const leaves = topicIds.filter((t) => topicKind(t) === 'leaf').sort();
  if (leaves.length === 0) return drop(topicIds.length === 0 ? 'no_topic' : 'parent_topic_only');
  const base = { eventId: v.event_id, userId: v.user_id, occurredAt: v.occurred_at, topicIds: leaves };
  if (family === 'question-attempts') {
    if (typeof v.is_correct !== 'boolean' || !isFiniteNumber(v.attempt_number))
      return dlq('invalid_attempt', new Error('is_correct and attempt_number are required'));
    const attempt: AttemptForQuality = {
      correct: v.is_correct,
      attemptNumber: v.attempt_number,
      answered: v.selected_answer !== null && v.selected_answer !== undefined,
    };
    if (isFiniteNumber(v.time_to_answer_ms)) attempt.responseTimeMs = v.time_to_answer_ms;
    // Confidence 1 (guess) .. 5 (certain) mapped onto [0, 1].
    if (isFiniteNumber(v.confidence)) attempt.confidence = (Math.min(5, Math.max(1, v.confidence)) - 1) / 4;
    return ok({
      kind: 'attempt',
      ...base,
      attempt,
      questionId: isString(v.question_id) ? v.question_id : null,
      difficulty: isFiniteNumber(v.difficulty) ? v.difficulty : null,
    });
  }
  if (family === 'material-interactions') {
    if (!isString(v.material_id)) return dlq('invalid_material', new Error('material_id is required'));
    if (!isFiniteNumber(v.progress)) return drop('no_progress');
    return ok({
      kind: 'material',
      ...base,
      materialId: v.material_id,
      progress: Math.min(1, Math.max(0, v.progress)),
      activeMs: isFiniteNumber(v.active_ms) ? v.active_ms : null,
    });
  }
  return drop('not_a_mastery_family');
}
