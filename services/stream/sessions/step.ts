/**
 * The sessions processor's pure steps: apply a batch's events to their sessions, then close the sessions whose
 * time has come. No I/O here: the adapter (store.ts) reads the sessions a step needs (live ones from Redis, written
 * ones from PostgreSQL), these functions compute, the adapter writes PostgreSQL and then commits Redis atomically.
 * The design (what closes a session, late events, quiet students) is in README.md beside this file.
 *
 * - A session is keyed by (student, session_id) and is the set of that student's events carrying the id: its row
 *   is a pure function of that set (services/domain/sessions.ts), whatever the arrival order across students,
 *   topics and partitions.
 * - An event of a live session is added to it; an event of a session already written amends the row (version =
 *   number of distinct events, so a rewrite is idempotent and never goes back); an event of neither opens one.
 * - A live session is written and leaves the live state once the clock is strictly past its finalizeAt (its last
 *   event, plus the inactivity timeout when no SESSION_END was seen, plus a grace for stragglers) and no record has
 *   changed it for `quietMs` of processing time. The clock is the later of the processing time and the student's
 *   own event time, so a quiet student's session closes in bounded wall-clock time, and a backlog or replay writes
 *   each session once after it has read its events (not once per batch that carried some of them).
 */
import {
  applySessionEvent,
  mergeSessions,
  summarizeSession,
  type SessionState,
  type SessionSummary,
  type TimelineEntry,
} from '../../domain/sessions.ts';
import type { Decoded } from '../runtime/types.ts';
import type { SessionInput } from './decode.ts';

/**
 * A live session: `v` is the Redis version (bumped on every write), `p` the partition of its student, `touchedAt`
 * the processing time of its last change.
 */
export type LiveSession = {
  v: number;
  userId: string;
  p: number;
  finalizeAt: number;
  touchedAt: number;
  state: SessionState;
};

/** A written (closed) session: one study_sessions row. */
export type SessionRow = SessionSummary & {
  userId: string;
  eventCount: number;
  /** Distinct events in the session: grows with every amendment, equal for equal content. */
  version: number;
  timeline: TimelineEntry[];
};

export type SessionOptions = {
  graceMs: number;
  inactivityTimeoutMs: number;
  idleGapMs: number;
  /** Processing time without a change before a due session is written. */
  quietMs: number;
};

/** The session's key, scoped to its student (user ids never contain ':'). */
export const sessionKey = (userId: string, sessionId: string): string => `${userId}:${sessionId}`;

export function splitSessionKey(key: string): { userId: string; sessionId: string } {
  const i = key.indexOf(':');
  return { userId: key.slice(0, i), sessionId: key.slice(i + 1) };
}

export function finalizeAt(state: SessionState, o: SessionOptions): number {
  return state.lastEventAt + (state.endedAt === null ? o.inactivityTimeoutMs : 0) + o.graceMs;
}

/** The processing time from which the session may be written (its score in the due index). */
export function closableAt(s: LiveSession, o: SessionOptions): number {
  return Math.max(s.finalizeAt, s.touchedAt + o.quietMs);
}

export function toRow(userId: string, state: SessionState): SessionRow {
  return {
    ...summarizeSession(state),
    userId,
    eventCount: state.timeline.length,
    version: state.timeline.length,
    timeline: state.timeline,
  };
}

export type StepContext = {
  /** Live sessions read for this step (by sessionKey); updated in place. */
  live: Map<string, LiveSession>;
  /** Written sessions read for this step (by sessionKey); amended rows are updated in place. */
  written: Map<string, SessionState>;
  options: SessionOptions;
  /** Processing time of the step. */
  now: number;
};

export type ApplyOutcome = {
  /** Live sessions opened or changed. */
  changed: Set<string>;
  /** Written sessions amended by an event that arrived after they closed. */
  amended: Set<string>;
  duplicates: number;
  applied: number;
};

/** Applies admitted records in batch order. */
export function applyEvents(ctx: StepContext, items: ReadonlyArray<Decoded<SessionInput>>): ApplyOutcome {
  const out: ApplyOutcome = { changed: new Set(), amended: new Set(), duplicates: 0, applied: 0 };
  const o = ctx.options;
  for (const { record, value } of items) {
    const key = sessionKey(value.userId, value.sessionId);
    const live = ctx.live.get(key);
    const written = live === undefined ? ctx.written.get(key) : undefined;
    const result = applySessionEvent(
      live?.state ?? written,
      {
        type: value.type,
        occurredAt: value.occurredAt,
        sessionId: value.sessionId,
        eventId: value.eventId,
        correct: value.correct,
      },
      { idleGapMs: o.idleGapMs },
    );
    if (result.outcome !== 'applied') {
      out.duplicates++;
      continue;
    }
    out.applied++;
    if (live === undefined && written !== undefined) {
      ctx.written.set(key, result.state);
      out.amended.add(key);
      continue;
    }
    ctx.live.set(key, {
      v: live?.v ?? 0,
      userId: value.userId,
      p: live?.p ?? record.partition,
      finalizeAt: finalizeAt(result.state, o),
      touchedAt: ctx.now,
      state: result.state,
    });
    out.changed.add(key);
  }
  return out;
}

/**
 * Closes the candidate live sessions that are due at `clock` (strictly past finalizeAt; the student's own latest
 * event counts as a clock too) and quiet (unchanged for quietMs of processing time at `clock`). A session that also
 * has a written row (a close whose Redis commit was lost) is merged with it, so a row never loses an event. Returns
 * the rows and removes the sessions from `ctx.live`.
 */
export function closeDue(ctx: StepContext, candidates: Iterable<string>, clock: number): SessionRow[] {
  const studentClock = new Map<string, number>();
  for (const s of ctx.live.values())
    studentClock.set(s.userId, Math.max(studentClock.get(s.userId) ?? -Infinity, s.state.lastEventAt));
  const rows: SessionRow[] = [];
  for (const key of [...new Set(candidates)].sort()) {
    const s = ctx.live.get(key);
    if (s === undefined) continue;
    const at = Math.max(clock, studentClock.get(s.userId) ?? -Infinity);
    if (!(at > s.finalizeAt) || clock < s.touchedAt + ctx.options.quietMs) continue;
    const stored = ctx.written.get(key);
    const state = stored === undefined ? s.state : mergeSessions(s.state, stored, ctx.options.idleGapMs);
    ctx.written.set(key, state);
    rows.push(toRow(s.userId, state));
    ctx.live.delete(key);
  }
  return rows;
}

/** The rows of amended written sessions. */
export function amendedRows(ctx: StepContext, amended: Iterable<string>): SessionRow[] {
  return [...amended]
    .sort()
    .map((key) => toRow(splitSessionKey(key).userId, ctx.written.get(key) as SessionState));
}
