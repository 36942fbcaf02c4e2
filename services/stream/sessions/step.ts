/**
 * The sessions processor's pure steps over one batch: apply events to live sessions (event-time windowing from
 * services/domain/sessions.ts), then close the sessions whose time has come. No I/O here: the adapter (store.ts)
 * reads a snapshot, these functions compute, the adapter writes PostgreSQL and then swaps Redis atomically.
 *
 * Watermarks are kept per topic-partition (max occurred_at seen, in that partition's order) so whether an event
 * is late depends only on its own partition's log, never on how the three topics were interleaved. A session is
 * closed when EVERY topic's watermark of its partition is strictly past finalizeAt = (end, or last event + inactivity
 * timeout) + allowed lateness: then any event still to come on any topic is either late or after the session's
 * end/timeout, so closing earlier or later in processing order cannot change the session.
 */
import { applySessionEvent, isTooLate, splitAtInactivity, summarizeSession } from '../../domain/sessions.ts';
import type { SessionState, SessionSummary } from '../../domain/sessions.ts';
import type { LateEvent } from '../mastery/late-events.ts';
import type { Decoded } from '../runtime/types.ts';
import type { SessionInput } from './decode.ts';

export type LiveSession = { v: number; userId: string; p: number; finalizeAt: number; state: SessionState };
export type FinalizedRow = SessionSummary & { userId: string; eventCount: number };

export type SessionOptions = { allowedLatenessMs: number; inactivityTimeoutMs: number; idleGapMs: number };

export const wmField = (topic: string, partition: number): string => `${topic}|${partition}`;

export function finalizeAt(state: SessionState, o: SessionOptions): number {
  return (state.endedAt ?? state.lastEventAt + o.inactivityTimeoutMs) + o.allowedLatenessMs;
}

export type ApplyContext = {
  live: Map<string, LiveSession>;
  /** Sessions already in study_sessions (closed), with their end. */
  closed: Map<string, { endedAt: number }>;
  /** Watermark per wmField; updated in place. */
  watermarks: Map<string, number>;
};

export type ApplyOutcome = { changed: Set<string>; late: LateEvent[]; duplicates: number; applied: number };

/** Applies admitted records in batch order. Mutates ctx.live and ctx.watermarks. */
export function applyEvents(
  ctx: ApplyContext,
  items: ReadonlyArray<Decoded<SessionInput>>,
  o: SessionOptions,
): ApplyOutcome {
  const out: ApplyOutcome = { changed: new Set(), late: [], duplicates: 0, applied: 0 };
  for (const { record, value } of items) {
    const field = wmField(record.topic, record.partition);
    const watermark = ctx.watermarks.get(field);
    ctx.watermarks.set(field, Math.max(watermark ?? value.occurredAt, value.occurredAt));
    // Too late is decided first, from the event's own partition alone: a re-send arriving after the lateness
    // must get the same row whether its session is still live (and the copy a duplicate) or already closed
    // (where the timeline that would reveal the duplicate is gone), which depends on the other topics' progress.
    if (isTooLate(value.occurredAt, watermark ?? -Infinity, o.allowedLatenessMs)) {
      out.late.push({
        eventId: value.eventId,
        userId: value.userId,
        sessionId: value.sessionId,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        occurredAt: value.occurredAt,
        watermarkAt: watermark ?? null,
        reason: 'too_late',
        handling: 'recorded_only',
      });
      continue;
    }
    const live = ctx.live.get(value.sessionId);
    if (live?.state.timeline.some((t) => t.eventId === value.eventId)) {
      out.duplicates++;
      continue;
    }
    const closed = ctx.closed.get(value.sessionId);
    // A session closes only once every topic's watermark is strictly past its finalizeAt, so an event that is not
    // too late for a committed close happened after the session's end: recorded, never applied. An event at or
    // before the end can only meet a close whose Redis commit never happened (a crash between the PostgreSQL
    // write and the commit): the session is rebuilt from its replayed events and closed again, to the same row.
    if (live === undefined && closed !== undefined && value.occurredAt > closed.endedAt) {
      out.late.push(afterEndRow(value.userId, value.sessionId, value.eventId, value.occurredAt));
      continue;
    }
    const result = applySessionEvent(
      live?.state,
      {
        type: value.type,
        occurredAt: value.occurredAt,
        sessionId: value.sessionId,
        eventId: value.eventId,
        correct: value.correct,
      },
      { watermarkMs: watermark ?? -Infinity, allowedLatenessMs: o.allowedLatenessMs, idleGapMs: o.idleGapMs },
    );
    // ('too_late' cannot happen here: decided above against the same watermark.)
    if (
      result.outcome === 'too_late' ||
      result.outcome === 'duplicate' ||
      result.outcome === 'wrong_session'
    ) {
      out.duplicates++;
      continue;
    }
    ctx.live.set(value.sessionId, {
      v: live?.v ?? 0,
      userId: live?.userId ?? value.userId,
      p: live?.p ?? record.partition,
      finalizeAt: finalizeAt(result.state, o),
      state: result.state,
    });
    out.changed.add(value.sessionId);
    out.applied++;
  }
  return out;
}

/** Minimum over the processor's topics of a partition's watermark (-Infinity while a topic saw nothing). */
export function partitionWatermark(
  watermarks: Map<string, number>,
  topics: readonly string[],
  p: number,
): number {
  let min = Infinity;
  for (const t of topics) min = Math.min(min, watermarks.get(wmField(t, p)) ?? -Infinity);
  return min;
}

/**
 * Closes the given live sessions that are due: returns their study_sessions rows and, as late events, the
 * events that happened after their end (kept out of every figure; never silently lost).
 */
export function closeDue(
  live: Map<string, LiveSession>,
  candidates: Iterable<string>,
  wmOf: (p: number) => number,
  o: SessionOptions,
): { rows: FinalizedRow[]; afterEnd: LateEvent[] } {
  const rows: FinalizedRow[] = [];
  const afterEnd: LateEvent[] = [];
  for (const id of [...new Set(candidates)].sort()) {
    const s = live.get(id);
    if (s === undefined) continue;
    // Strictly past finalizeAt (the domain rule shifted by the lateness, see the module comment): at exactly
    // finalizeAt an event at the session's very end is still allowed on some topic, and it must count in the
    // session whichever topic's progress closes it.
    if (!(wmOf(s.p) > finalizeAt(s.state, o))) continue;
    const { state, overflow } = splitAtInactivity(s.state, o.inactivityTimeoutMs, o.idleGapMs);
    const summary = summarizeSession(state);
    const inSession = state.timeline.filter((t) => t.occurredAt <= summary.endedAt);
    rows.push({ ...summary, userId: s.userId, eventCount: inSession.length });
    for (const t of [...state.timeline, ...overflow])
      if (t.occurredAt > summary.endedAt && t.eventId !== null)
        afterEnd.push(afterEndRow(s.userId, id, t.eventId, t.occurredAt));
    live.delete(id);
  }
  return { rows, afterEnd };
}

/** An event after its session's end: same row whether found at close time or arriving after the close. */
export function afterEndRow(
  userId: string,
  sessionId: string,
  eventId: string,
  occurredAt: number,
): LateEvent {
  return {
    eventId,
    userId,
    sessionId,
    topic: null,
    partition: null,
    offset: null,
    occurredAt,
    watermarkAt: null,
    reason: 'after_session_end',
    handling: 'recorded_only',
  };
}
