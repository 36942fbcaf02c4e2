import type { Redis } from 'ioredis';
import type { SessionState } from '../../domain/sessions.ts';
import { withTimeout } from '../cache.ts';

/**
 * The student's live (not yet finalized) study session, read from the sessions processor's Redis state
 * (services/stream/sessions/store.ts): `sessions:user:<user_id>` is a sorted set of the student's live session ids
 * (scored by last event, maintained by the processor's commit script together with the live keys, expiring a day
 * after the student's last write) and `sessions:live:<session_id>` = JSON {v, userId, p, finalizeAt, state}.
 * Every request, cached or not, reads the index (one round trip; most students have no live session and stop
 * there) and then the newest sessions' states (one MGET), so the live session is never stale and no store is
 * scanned. Best effort: Redis down or slow gives `available: false`, never an error.
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

export const liveSessionKey = (sessionId: string) => `sessions:live:${sessionId}`;
export const userIndexKey = (userId: string) => `sessions:user:${userId}`;
/** Live sessions read per request at most (newest first); a student rarely has more than one. */
const MAX_LIVE = 5;

type Stored = { userId?: unknown; state?: Partial<SessionState> };

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

/** The student's newest live session: the index (one ZREVRANGE), then their states (one MGET) if any. */
export async function liveSession(redis: Redis | null, user: string, timeoutMs: number): Promise<LiveLookup> {
  if (!redis || redis.status !== 'ready') return { available: false, session: null };
  try {
    const ids = await withTimeout(redis.zrevrange(userIndexKey(user), 0, MAX_LIVE - 1), timeoutMs);
    if (ids.length === 0) return { available: true, session: null };
    const values = await withTimeout(redis.mget(...ids.map(liveSessionKey)), timeoutMs);
    let best: LiveSessionView | null = null;
    values.forEach((text, i) => {
      if (text === null) return;
      let stored: Stored;
      try {
        stored = JSON.parse(text) as Stored;
      } catch {
        return;
      }
      if (stored.userId !== user || !stored.state) return;
      const view = toLiveView(ids[i]!, stored.state);
      if (!best || view.lastEventAt > best.lastEventAt) best = view;
    });
    return { available: true, session: best };
  } catch {
    return { available: false, session: null };
  }
}
