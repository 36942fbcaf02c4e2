import type { Pool } from '../../shared/postgres.ts';
import { iso, numOrNull, prepared, type Raw } from './statements.ts';

/**
 * The written-sessions read model: a student's finished sessions (study_sessions, postgres/022_study_sessions.sql).
 * The live session is live.ts.
 */

export type SessionRow = {
  sessionId: string;
  startedAt: string;
  endedAt: string;
  endReason: string;
  durationMs: number;
  activeMs: number;
  idleMs: number;
  pauseCount: number;
  focusScore: number | null;
  questionsAnswered: number;
  questionsCorrect: number;
  materialsOpened: number;
  notes: number;
  highlights: number;
  aiCoachInteractions: number;
};

function toSession(r: Raw): SessionRow {
  return {
    sessionId: String(r.session_id),
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at)!,
    endReason: String(r.end_reason),
    durationMs: Number(r.duration_ms),
    activeMs: Number(r.active_ms),
    idleMs: Number(r.idle_ms),
    pauseCount: Number(r.pause_count),
    focusScore: numOrNull(r.focus_score),
    questionsAnswered: Number(r.questions_answered),
    questionsCorrect: Number(r.questions_correct),
    materialsOpened: Number(r.materials_opened),
    notes: Number(r.notes),
    highlights: Number(r.highlights),
    aiCoachInteractions: Number(r.ai_coach_interactions),
  };
}

const SESSION_COLUMNS = `session_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms, pause_count,
  focus_score, questions_answered, questions_correct, materials_opened, notes, highlights, ai_coach_interactions`;

export async function recentSessions(pg: Pool, user: string, limit: number): Promise<SessionRow[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${SESSION_COLUMNS} FROM study_sessions WHERE user_id = $1 ORDER BY started_at DESC, session_id LIMIT $2`,
    [user, limit],
  );
  return rows.map(toSession);
}

export async function sessionsSince(pg: Pool, user: string, fromMs: number): Promise<SessionRow[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${SESSION_COLUMNS} FROM study_sessions WHERE user_id = $1 AND started_at >= $2 ORDER BY started_at`,
    [user, new Date(fromMs)],
  );
  return rows.map(toSession);
}
