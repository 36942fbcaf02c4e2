import type { SessionEventType } from '../../domain/sessions.ts';
import type { EventFamily } from '../../shared/kafka.ts';
import { dlq, drop, ok, type StepResult } from '../runtime/step.ts';
import { isFiniteNumber, isString } from '../stateful/wire.ts';

/** What the sessions processor needs from one event of any family. */
export type SessionInput = {
  eventId: string;
  userId: string;
  sessionId: string;
  occurredAt: number;
  type: SessionEventType;
  correct?: boolean;
};

const STUDY_EVENT_TYPES: Record<string, SessionEventType> = {
  SESSION_START: 'session_start',
  SESSION_PAUSE: 'session_pause',
  SESSION_RESUME: 'session_resume',
  SESSION_END: 'session_end',
  MATERIAL_OPEN: 'material_open',
  MATERIAL_CLOSE: 'material_close',
  AI_COACH_QUERY: 'ai_coach',
};

const MATERIAL_TYPES: Record<string, SessionEventType> = { NOTE: 'note', HIGHLIGHT: 'highlight' };

/**
 * Validate step: an Avro record of any family to a SessionInput. Events outside a session (no session_id) are
 * dropped with a reason; every other event of a session counts at least as activity (it keeps the session
 * active and extends it).
 */
export function toSessionInput(family: EventFamily, v: Record<string, unknown>): StepResult<SessionInput> {
  if (!isString(v.event_id) || !isString(v.user_id) || !isFiniteNumber(v.occurred_at))
    return dlq('invalid_envelope', new Error('event_id, user_id and occurred_at are required'));
  if (!isString(v.session_id)) return drop('no_session');
  const base = { eventId: v.event_id, userId: v.user_id, sessionId: v.session_id, occurredAt: v.occurred_at };
  if (family === 'study-events')
    return ok({ ...base, type: STUDY_EVENT_TYPES[String(v.event_type)] ?? 'activity' });
  if (family === 'question-attempts') {
    if (typeof v.is_correct !== 'boolean') return dlq('invalid_attempt', new Error('is_correct is required'));
    return ok({ ...base, type: 'question_answered', correct: v.is_correct });
  }
  return ok({ ...base, type: MATERIAL_TYPES[String(v.interaction_type)] ?? 'activity' });
}
