/**
 * The read model of live (not yet written) study sessions, published by their writer (store.ts owns the Redis keys
 * and the stored JSON; readers such as the analytics API use only this module). A read is the student's
 * per-student index of live sessions (one ZREVRANGE), then their states (one MGET when there is any): no store is
 * scanned.
 */
import type { Redis } from 'ioredis';
import type { SessionState } from '../../domain/sessions.ts';
import { sessionKey } from './step.ts';
import { KEYS, parseLive } from './store.ts';

/** A live session's figures so far, as a reader sees them (times in epoch ms; the domain's SessionState names). */
export type LiveSessionRead = Pick<
  SessionState,
  | 'sessionId'
  | 'startedAt'
  | 'lastEventAt'
  | 'endedAt'
  | 'activeMs'
  | 'idleMs'
  | 'pauseCount'
  | 'focusScore'
  | 'questionsAnswered'
  | 'questionsCorrect'
  | 'materialsOpened'
  | 'notes'
  | 'highlights'
  | 'aiCoachInteractions'
> & { status: 'active' | 'paused' | 'ended' };

/** Live sessions read per request at most (newest first); a student rarely has more than one. */
const MAX_LIVE = 5;

/** A count or time of a stored state; a field the stored JSON lacks (or holds no number in) reads as 0. */
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function toRead(sessionId: string, s: Record<string, unknown>): LiveSessionRead {
  return {
    sessionId,
    status: s.endedAt != null ? 'ended' : s.paused ? 'paused' : 'active',
    startedAt: n(s.startedAt),
    lastEventAt: n(s.lastEventAt),
    endedAt: s.endedAt != null ? n(s.endedAt) : null,
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

/** The student's newest live session (by its last event), or null when they have none. */
export async function newestLiveSession(redis: Redis, userId: string): Promise<LiveSessionRead | null> {
  const ids = await redis.zrevrange(KEYS.user(userId), 0, MAX_LIVE - 1);
  if (ids.length === 0) return null;
  const values = await redis.mget(...ids.map((id) => KEYS.live(sessionKey(userId, id))));
  let best: LiveSessionRead | null = null;
  for (let i = 0; i < ids.length; i++) {
    const s = parseLive(values[i] ?? null);
    if (!s || s.userId !== userId) continue;
    const read = toRead(ids[i]!, s.state as unknown as Record<string, unknown>);
    if (!best || read.lastEventAt > best.lastEventAt) best = read;
  }
  return best;
}
