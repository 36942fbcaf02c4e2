import type { Redis } from 'ioredis';
import { newestLiveSession, type LiveSessionRead } from '../../stream/index.ts';
import { withTimeout } from '../cache.ts';

/**
 * The student's live (not yet written) study session, read through the sessions processor's read model
 * (newestLiveSession, services/stream/sessions/live-read-model.ts). Every request, cached or not, reads it (one
 * round trip when the student has no live session, two otherwise), so the live session is never stale and no store
 * is scanned. Best effort: Redis down or slow gives `available: false`, never an error.
 */
export type LiveSessionView = Omit<LiveSessionRead, 'startedAt' | 'lastEventAt' | 'endedAt'> & {
  startedAt: string;
  lastEventAt: string;
  endedAt: string | null;
};

export type LiveLookup = { available: boolean; session: LiveSessionView | null };

const iso = (ms: number): string => new Date(ms).toISOString();

/** The API shape of a live session: times as ISO 8601 text. */
function toLiveView(s: LiveSessionRead): LiveSessionView {
  return {
    ...s,
    startedAt: iso(s.startedAt),
    lastEventAt: iso(s.lastEventAt),
    endedAt: s.endedAt === null ? null : iso(s.endedAt),
  };
}

/** The student's newest live session. */
export async function liveSession(redis: Redis | null, user: string, timeoutMs: number): Promise<LiveLookup> {
  if (!redis || redis.status !== 'ready') return { available: false, session: null };
  try {
    const session = await withTimeout(newestLiveSession(redis, user), timeoutMs);
    return { available: true, session: session === null ? null : toLiveView(session) };
  } catch {
    return { available: false, session: null };
  }
}
