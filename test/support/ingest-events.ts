import { randomUUID } from 'node:crypto';

/** Realistic valid events of each family for ingest tests and the benchmark (HTTP contract shape). */
export function studyEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    family: 'study-events',
    event_id: randomUUID(),
    user_id: 'stu_000123',
    occurred_at: Date.now() - 1000,
    event_type: 'SESSION_START',
    session_id: 'sess-7f3a',
    topic_ids: ['cardio.hf'],
    client: { platform: 'WEB', app_version: '3.2.1' },
    ...overrides,
  };
}

export function questionAttempt(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    family: 'question-attempts',
    event_id: randomUUID(),
    user_id: 'stu_000123',
    occurred_at: new Date(Date.now() - 2000).toISOString(),
    session_id: 'sess-7f3a',
    question_id: 'q-88412',
    topic_ids: ['cardio.hf', 'pharm.diuretics'],
    selected_answer: 'C',
    is_correct: true,
    attempt_number: 1,
    time_to_answer_ms: 48_211,
    confidence: 4,
    difficulty: 0.62,
    exam_section: 'step1',
    mode: 'TUTOR',
    client: { platform: 'IOS', app_version: '3.2.1' },
    ...overrides,
  };
}

export function materialInteraction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    family: 'material-interactions',
    event_id: randomUUID(),
    user_id: 'stu_000456',
    occurred_at: Date.now() - 3000,
    session_id: 'sess-11aa',
    material_id: 'mat-first-aid-cardio',
    material_type: 'TEXTBOOK',
    topic_ids: ['cardio.hf'],
    interaction_type: 'READ_PROGRESS',
    progress: 0.42,
    active_ms: 93_000,
    client: { platform: 'ANDROID', app_version: '3.2.0' },
    ...overrides,
  };
}

/** A realistic mix: 50% question attempts, 30% material interactions, 20% study events, spread over users. */
export function realisticEvent(i: number, now = Date.now()): Record<string, unknown> {
  const user = `stu_${String(i % 5000).padStart(6, '0')}`;
  const occurred_at = now - (i % 60_000);
  const r = i % 10;
  if (r < 5) return questionAttempt({ user_id: user, occurred_at, question_id: `q-${i % 20_000}` });
  if (r < 8) return materialInteraction({ user_id: user, occurred_at, progress: (i % 100) / 100 });
  return studyEvent({ user_id: user, occurred_at, event_type: r === 8 ? 'SESSION_START' : 'SESSION_END' });
}
