import type { Redis } from 'ioredis';
import type { RowReader } from '../../shared/clickhouse.ts';
import { raw, sql } from '../../shared/sql.ts';
import type { SessionState } from '../../domain/sessions.ts';
import { withTimeout } from '../cache.ts';
import { PER_STUDENT } from './history.ts';

/**
 * The student's live (not yet finalized) study session, read from the sessions processor's Redis state
 * (services/stream/sessions/store.ts: `sessions:live:<session_id>` = JSON {v, userId, p, finalizeAt, state}).
 * Those keys are per session, with no per-student index, so the candidate session ids come from the student's
 * study events of the last LIVE_LOOKBACK_HOURS in ClickHouse (a primary-key range read). The handler finds the
 * candidates (cached with its body, as `_internal.liveCandidates`); on every request, cached or not, one MGET reads
 * their live states, so the session figures themselves are never stale. A session that started after the body was
 * cached appears once the cache entry is invalidated (the mastery processor announces every answer) or expires.
 * Best effort: Redis down or slow gives `available: false`, never an error.
 */

export const LIVE_LOOKBACK_HOURS = 24;

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

/** Session ids of the student's events in the last hours, newest first. */
export async function recentSessionIds(ch: RowReader, user: string, nowMs: number): Promise<string[]> {
  const since = new Date(nowMs - LIVE_LOOKBACK_HOURS * 3_600_000);
  const rows = await ch.rows<{ session_id: string }>(
    sql`SELECT session_id FROM study_events
        PREWHERE user_id = ${user}
        WHERE occurred_at >= ${since} AND session_id != ''
        GROUP BY session_id ORDER BY max(occurred_at) DESC LIMIT 5
        ${raw(PER_STUDENT)}`.text,
  );
  return rows.map((r) => r.session_id);
}

/** The newest live session among candidate session ids (one MGET); `available: false` if Redis cannot answer. */
export async function liveSession(
  redis: Redis | null,
  candidates: readonly string[],
  user: string,
  timeoutMs: number,
): Promise<LiveLookup> {
  if (!redis || redis.status !== 'ready') return { available: false, session: null };
  if (candidates.length === 0) return { available: true, session: null };
  try {
    const values = await withTimeout(redis.mget(...candidates.map(liveSessionKey)), timeoutMs);
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
      const view = toLiveView(candidates[i]!, stored.state);
      if (!best || view.lastEventAt > best.lastEventAt) best = view;
    });
    return { available: true, session: best };
  } catch {
    return { available: false, session: null };
  }
}

/** `internal` as cached by a handler: the candidate ids, or nothing usable. */
export function candidatesOf(internal: unknown): string[] {
  const ids = (internal as { liveCandidates?: unknown } | undefined)?.liveCandidates;
  return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
}
