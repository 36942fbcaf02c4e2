import type { Redis } from 'ioredis';
import type { SessionState } from '../../domain/sessions.ts';
import { readLiveSessions } from '../../stream/index.ts';
import { withTimeout } from '../cache.ts';

/**
 * The student's live (not yet written) study session, read through the sessions processor's read model
 * (readLiveSessions in services/stream/sessions/store.ts: a per-student index of live sessions, then their states).
 * Every request, cached or not, reads it (one round trip when the student has no live session, two otherwise), so
 * the live session is never stale and no store is scanned. Best effort: Redis down or slow gives
 * `available: false`, never an error.
 */
export type LiveSessionView = {
  sessionId: string;
  status: 'active' | 'paused' | 'ended';
  startedAt: string;
  lastEventAt: string;
  endedAt: string | null;
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

export type LiveLookup = { available: boolean; session: LiveSessionView | null };

/** Live sessions read per request at most (newest first); a student rarely has more than one. */
const MAX_LIVE = 5;

export function toLiveView(sessionId: string, s: Partial<SessionState>): LiveSessionView {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const t = (v: unknown) => new Date(n(v)).toISOString();
  return {
    sessionId,
    status: s.endedAt != null ? 'ended' : s.paused ? 'paused' : 'active',
    startedAt: t(s.startedAt),
    lastEventAt: t(s.lastEventAt),
    endedAt: s.endedAt != null ? t(s.endedAt) : null,
    activeMs: n(s.activeMs),
    idleMs: n(s.idleMs),
    pauseCount: n(s.pauseCount),
    focusScore: typeof s.focusScore === 'number' ? s.focusScore : null,
    questionsAnswered: n(s.questionsAnswered),
    questionsCorrect: n(s.questionsCorrect),
    materialsOpened: n(s.materialsOpened),
    notes: n(s.notes),
    highlights: n(s.highlights),
    aiCoachInteractions: n(s.aiCoachInteractions),
  };
}

/** The student's newest live session. */
export async function liveSession(redis: Redis | null, user: string, timeoutMs: number): Promise<LiveLookup> {
  if (!redis || redis.status !== 'ready') return { available: false, session: null };
  try {
    const sessions = await withTimeout(readLiveSessions(redis, user, MAX_LIVE), timeoutMs);
    let best: LiveSessionView | null = null;
    for (const s of sessions) {
      const view = toLiveView(s.sessionId, s.state);
      if (!best || view.lastEventAt > best.lastEventAt) best = view;
    }
    return { available: true, session: best };
  } catch {
    return { available: false, session: null };
  }
}
