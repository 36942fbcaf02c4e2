/**
 * Study sessions in per-student event time. A session is exactly the set of one student's events that carry its
 * session_id (a session id is scoped to its student: another student's events with the same id are another
 * session). Every figure is derived from that set alone, so the same events give the same session in any arrival
 * order, batching, replay or rebuild, and an event that arrives after its session was written amends it.
 *
 * The state keeps the events as a timeline sorted by (occurredAt, kind, eventId) and derives every figure from it.
 * A late event is therefore inserted where it happened and splits the gap it falls into. A session holds at most a
 * few hundred events, so recomputing on each event is cheap. Nothing is discarded: an event after SESSION_END still
 * belongs to the session (the app said so by its session_id) and extends it; SESSION_END only sets the end reason.
 *
 * Time accounting over consecutive timeline events (first to last):
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
/** @public */
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
  /** Time of the first session_end when one was received, else null (the end reason, not the end). */
  endedAt: number | null;
  /** The session's last event: its end. */
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
  idleGapMs?: number;
}

export type SessionApplyResult =
  | { outcome: 'applied'; state: SessionState }
  | { outcome: 'duplicate'; state: SessionState; event: SessionEvent }
  | { outcome: 'wrong_session'; state: SessionState; event: SessionEvent };

export function applySessionEvent(
  state: SessionState | undefined,
  event: SessionEvent,
  options: SessionOptions = {},
): SessionApplyResult {
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
  return {
    outcome: 'applied',
    state: summarize(event.sessionId, timeline, options.idleGapMs ?? DEFAULT_IDLE_GAP_MS),
  };
}

/** The state of a stored timeline (a closed session's row), to amend it with events that arrive later. */
export function sessionFromTimeline(
  sessionId: string,
  timeline: readonly TimelineEntry[],
  idleGapMs = DEFAULT_IDLE_GAP_MS,
): SessionState | undefined {
  if (timeline.length === 0) return undefined;
  return summarize(sessionId, [...timeline].sort(compareEntries), idleGapMs);
}

/**
 * Union of two states of one session (by eventId): what a crash can leave is a live copy in one store and a
 * written row in another, each with events the other lacks; the session is all of them.
 */
export function mergeSessions(
  a: SessionState,
  b: SessionState,
  idleGapMs = DEFAULT_IDLE_GAP_MS,
): SessionState {
  const ids = new Set(a.timeline.map((t) => t.eventId));
  const extra = b.timeline.filter((t) => t.eventId === null || !ids.has(t.eventId));
  if (extra.length === 0) return a;
  let timeline = a.timeline;
  for (const e of extra) timeline = insertEntry(timeline, e);
  return summarize(a.sessionId, timeline, idleGapMs);
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

/** The finished session: from its first to its last event; 'ended' when a session_end was received. */
export function summarizeSession(state: SessionState): SessionSummary {
  const endedAt = state.lastEventAt;
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

export function compareEntries(a: TimelineEntry, b: TimelineEntry): number {
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

  for (const entry of timeline) {
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

  const last = timeline[timeline.length - 1] as TimelineEntry;
  const lastEventAt = last.occurredAt;
  return {
    sessionId,
    timeline,
    startedAt: first.occurredAt,
    endedAt,
    lastEventAt,
    paused,
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
