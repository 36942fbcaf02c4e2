/**
 * Study sessions windowed in event time (occurredAt), so a replay of the same events yields the same
 * sessions regardless of when or in which order (within the allowed lateness) they are processed.
 *
 * The state keeps the session's events as a timeline sorted by (occurredAt, kind, eventId) and
 * derives every figure from it. A late event is therefore inserted where it happened and splits the
 * gap it falls into, and the same set of events gives the same state in any arrival order. A
 * session holds at most a few hundred events, so recomputing on each event is cheap. The earliest
 * session_end closes the session: events after it are kept in the timeline (so arrival order cannot
 * change the state) but counted nowhere, and reported as 'after_end'.
 *
 * Time accounting over consecutive timeline events (start to end, or to the last event):
 * - a gap while paused (after session_pause, before session_resume) is idle;
 * - any other gap longer than idleGapMs (default 5 min) is idle in full: nothing shows when within
 *   the gap the student stopped, so none of it is claimed as study;
 * - every other gap is active.
 * An activity event while paused ends the pause (the resume was lost or never sent); it is not a pause.
 *
 * Focus score = activeShare / (1 + pausesPerHour / FOCUS_PAUSES_PER_HOUR_HALVING): the share of the
 * session spent active, halved at 10 pauses per hour of session time (the seed's "pause frequency,
 * distraction indicators"). Null for a zero-length session.
 */

export const DEFAULT_IDLE_GAP_MS = 5 * 60_000;
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 30 * 60_000;
export const FOCUS_PAUSES_PER_HOUR_HALVING = 10;
const HOUR_MS = 3_600_000;

export type SessionEventType =
  | 'session_start'
  | 'session_pause'
  | 'session_resume'
  | 'session_end'
  | 'question_answered'
  | 'material_open'
  | 'material_close'
  | 'note'
  | 'highlight'
  | 'ai_coach'
  | 'activity';

export interface SessionEvent {
  type: SessionEventType;
  occurredAt: number;
  sessionId: string;
  /** Idempotency key; a repeated eventId is reported as a duplicate and not applied twice. */
  eventId?: string;
  /** For question_answered. */
  correct?: boolean;
}

export interface TimelineEntry {
  type: SessionEventType;
  occurredAt: number;
  eventId: string | null;
  correct: boolean | null;
}

export interface SessionState {
  sessionId: string;
  timeline: TimelineEntry[];
  startedAt: number;
  /** Time of session_end when one was received, else null. */
  endedAt: number | null;
  lastEventAt: number;
  paused: boolean;
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
}

export interface SessionOptions {
  /** The processor's current event-time watermark. */
  watermarkMs: number;
  /** Events older than watermarkMs - allowedLatenessMs are too late to apply. Default 0. */
  allowedLatenessMs?: number;
  idleGapMs?: number;
}

/** An event older than the watermark minus the allowed lateness is too late to change a session. */
export function isTooLate(occurredAt: number, watermarkMs: number, allowedLatenessMs: number): boolean {
  return occurredAt < watermarkMs - allowedLatenessMs;
}

export type SessionApplyResult =
  | { outcome: 'applied'; state: SessionState }
  | { outcome: 'too_late'; state: SessionState | undefined; event: SessionEvent }
  | { outcome: 'duplicate'; state: SessionState; event: SessionEvent }
  /** Happened after the session's end: kept in the timeline (so arrival order cannot matter) but not counted. */
  | { outcome: 'after_end'; state: SessionState; event: SessionEvent }
  | { outcome: 'wrong_session'; state: SessionState; event: SessionEvent };

export function applySessionEvent(
  state: SessionState | undefined,
  event: SessionEvent,
  options: SessionOptions,
): SessionApplyResult {
  if (isTooLate(event.occurredAt, options.watermarkMs, options.allowedLatenessMs ?? 0))
    return { outcome: 'too_late', state, event };
  if (state !== undefined) {
    if (state.sessionId !== event.sessionId) return { outcome: 'wrong_session', state, event };
    if (event.eventId !== undefined && state.timeline.some((entry) => entry.eventId === event.eventId)) {
      return { outcome: 'duplicate', state, event };
    }
  }
  const entry: TimelineEntry = {
    type: event.type,
    occurredAt: event.occurredAt,
    eventId: event.eventId ?? null,
    correct: event.correct ?? null,
  };
  const timeline = insertEntry(state?.timeline ?? [], entry);
  const next = summarize(event.sessionId, timeline, options.idleGapMs ?? DEFAULT_IDLE_GAP_MS);
  if (next.endedAt !== null && event.occurredAt > next.endedAt)
    return { outcome: 'after_end', state: next, event };
  return { outcome: 'applied', state: next };
}

export interface FinalizeOptions {
  inactivityTimeoutMs?: number;
  allowedLatenessMs?: number;
}

/**
 * Whether the session can be closed, judged in event time so a replay closes it at the same point:
 * an ended session once the watermark has passed its end by the allowed lateness (late events may
 * still arrive until then); an open one once the watermark is inactivityTimeoutMs (default 30 min)
 * past its last event. The sessions processor does not use this: across three topics it closes only strictly
 * past that point (closeDue in services/stream/sessions/step.ts explains why).
 */
export function shouldFinalize(
  state: SessionState,
  watermarkMs: number,
  options: FinalizeOptions = {},
): boolean {
  if (state.endedAt !== null) return watermarkMs >= state.endedAt + (options.allowedLatenessMs ?? 0);
  return watermarkMs - state.lastEventAt >= (options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS);
}

export interface SessionSummary {
  sessionId: string;
  startedAt: number;
  endedAt: number;
  endReason: 'ended' | 'inactivity_timeout';
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
}

/**
 * A session ends at its first inactivity gap: events at least `inactivityTimeoutMs` after the previous one (and
 * before any session_end) belong to no session. Deciding this from the whole timeline at close time, rather than
 * when each event arrives, makes the result independent of how the event topics were interleaved.
 */
export function splitAtInactivity(
  state: SessionState,
  inactivityTimeoutMs: number,
  idleGapMs = DEFAULT_IDLE_GAP_MS,
): { state: SessionState; overflow: TimelineEntry[] } {
  const timeline = state.timeline;
  for (let i = 1; i < timeline.length; i++) {
    const previous = timeline[i - 1] as TimelineEntry;
    if (previous.type === 'session_end') break;
    if ((timeline[i] as TimelineEntry).occurredAt - previous.occurredAt >= inactivityTimeoutMs) {
      return {
        state: summarize(state.sessionId, timeline.slice(0, i), idleGapMs),
        overflow: timeline.slice(i),
      };
    }
  }
  return { state, overflow: [] };
}

/** The finished session; a session without session_end ends at its last event. */
export function summarizeSession(state: SessionState): SessionSummary {
  const endedAt = state.endedAt ?? state.lastEventAt;
  return {
    sessionId: state.sessionId,
    startedAt: state.startedAt,
    endedAt,
    endReason: state.endedAt === null ? 'inactivity_timeout' : 'ended',
    durationMs: endedAt - state.startedAt,
    activeMs: state.activeMs,
    idleMs: state.idleMs,
    pauseCount: state.pauseCount,
    focusScore: state.focusScore,
    questionsAnswered: state.questionsAnswered,
    questionsCorrect: state.questionsCorrect,
    materialsOpened: state.materialsOpened,
    notes: state.notes,
    highlights: state.highlights,
    aiCoachInteractions: state.aiCoachInteractions,
  };
}

export function focusScore(activeMs: number, totalMs: number, pauseCount: number): number | null {
  if (totalMs <= 0) return null;
  const pausesPerHour = pauseCount / (totalMs / HOUR_MS);
  return activeMs / totalMs / (1 + pausesPerHour / FOCUS_PAUSES_PER_HOUR_HALVING);
}

// Same-instant events are ordered so that a session opens before anything happens in it and closes last.
const KIND_ORDER: Record<SessionEventType, number> = {
  session_start: 0,
  session_resume: 1,
  question_answered: 2,
  material_open: 2,
  material_close: 2,
  note: 2,
  highlight: 2,
  ai_coach: 2,
  activity: 2,
  session_pause: 3,
  session_end: 4,
};

function compareEntries(a: TimelineEntry, b: TimelineEntry): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt - b.occurredAt;
  if (KIND_ORDER[a.type] !== KIND_ORDER[b.type]) return KIND_ORDER[a.type] - KIND_ORDER[b.type];
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  const aId = a.eventId ?? '';
  const bId = b.eventId ?? '';
  if (aId !== bId) return aId < bId ? -1 : 1;
  return Number(a.correct ?? -1) - Number(b.correct ?? -1);
}

function insertEntry(timeline: readonly TimelineEntry[], entry: TimelineEntry): TimelineEntry[] {
  const next = [...timeline];
  let index = next.length;
  while (index > 0 && compareEntries(next[index - 1] as TimelineEntry, entry) > 0) index--;
  next.splice(index, 0, entry);
  return next;
}

function summarize(sessionId: string, timeline: TimelineEntry[], idleGapMs: number): SessionState {
  const first = timeline[0] as TimelineEntry;
  const end = timeline.find((entry) => entry.type === 'session_end');
  const endedAt = end === undefined ? null : end.occurredAt;
  // Entries after the first end (accepted before that end arrived late) do not extend the session.
  const inSession = endedAt === null ? timeline : timeline.filter((entry) => entry.occurredAt <= endedAt);

  let activeMs = 0;
  let idleMs = 0;
  let paused = false;
  let pauseCount = 0;
  let questionsAnswered = 0;
  let questionsCorrect = 0;
  let materialsOpened = 0;
  let notes = 0;
  let highlights = 0;
  let aiCoachInteractions = 0;
  let previousAt = first.occurredAt;

  for (const entry of inSession) {
    const gap = entry.occurredAt - previousAt;
    if (paused || gap > idleGapMs) idleMs += gap;
    else activeMs += gap;
    previousAt = entry.occurredAt;

    switch (entry.type) {
      case 'session_pause':
        if (!paused) pauseCount++;
        paused = true;
        break;
      case 'session_resume':
      case 'session_start':
      case 'session_end':
        paused = false;
        break;
      case 'question_answered':
        paused = false;
        questionsAnswered++;
        if (entry.correct === true) questionsCorrect++;
        break;
      case 'material_open':
        paused = false;
        materialsOpened++;
        break;
      case 'note':
        paused = false;
        notes++;
        break;
      case 'highlight':
        paused = false;
        highlights++;
        break;
      case 'ai_coach':
        paused = false;
        aiCoachInteractions++;
        break;
      case 'material_close':
      case 'activity':
        paused = false;
        break;
    }
  }

  const lastEventAt = (inSession[inSession.length - 1] as TimelineEntry).occurredAt;
  return {
    sessionId,
    timeline,
    startedAt: first.occurredAt,
    endedAt,
    lastEventAt,
    paused: endedAt === null && paused,
    activeMs,
    idleMs,
    pauseCount,
    focusScore: focusScore(activeMs, activeMs + idleMs, pauseCount),
    questionsAnswered,
    questionsCorrect,
    materialsOpened,
    notes,
    highlights,
    aiCoachInteractions,
  };
}
