import { describe, expect, it } from 'vitest';
import type { Decoded } from '../../../services/stream/runtime/types.ts';
import type { SessionInput } from '../../../services/stream/sessions/decode.ts';
import { toSessionInput } from '../../../services/stream/sessions/decode.ts';
import {
  amendedRows,
  applyEvents,
  closableAt,
  closeDue,
  finalizeAt,
  sessionKey,
  type LiveSession,
  type StepContext,
} from '../../../services/stream/sessions/step.ts';
import type { SessionState } from '../../../services/domain/sessions.ts';

const o = { graceMs: 600_000, inactivityTimeoutMs: 1_800_000, idleGapMs: 300_000, quietMs: 0 };
const T0 = Date.UTC(2025, 0, 6, 8);
const MIN = 60_000;
let offset = 0;
function item(
  topic: string,
  value: Partial<SessionInput> & Pick<SessionInput, 'type' | 'occurredAt'>,
): Decoded<SessionInput> {
  return {
    record: {
      topic,
      partition: 0,
      offset: String(offset++),
      key: null,
      value: null,
      headers: {},
      timestamp: '0',
    },
    value: { eventId: `ev-${offset}`, userId: 'u1', sessionId: 's1', ...value },
  };
}

function session(): Decoded<SessionInput>[] {
  return [
    item('se', { type: 'session_start', occurredAt: T0 }),
    item('qa', { type: 'question_answered', occurredAt: T0 + MIN, correct: true }),
    item('mi', { type: 'note', occurredAt: T0 + 2 * MIN }),
    item('se', { type: 'session_pause', occurredAt: T0 + 3 * MIN }),
    item('se', { type: 'session_resume', occurredAt: T0 + 8 * MIN }),
    item('qa', { type: 'question_answered', occurredAt: T0 + 9 * MIN, correct: false }),
    item('se', { type: 'session_end', occurredAt: T0 + 10 * MIN }),
  ];
}

function context(): StepContext {
  return {
    live: new Map<string, LiveSession>(),
    written: new Map<string, SessionState>(),
    options: o,
    now: 0,
  };
}

describe('sessions step', () => {
  it('keeps a session live until the clock is strictly past its end plus the grace, then writes it', () => {
    const ctx = context();
    const out = applyEvents(ctx, session());
    expect(out).toMatchObject({ applied: 7, duplicates: 0 });
    const key = sessionKey('u1', 's1');
    const live = ctx.live.get(key) as LiveSession;
    expect(live.finalizeAt).toBe(T0 + 10 * MIN + o.graceMs);
    expect(closeDue(ctx, out.changed, live.finalizeAt)).toEqual([]);
    const [row] = closeDue(ctx, out.changed, live.finalizeAt + 1);
    expect(row).toMatchObject({
      userId: 'u1',
      sessionId: 's1',
      endReason: 'ended',
      questionsAnswered: 2,
      questionsCorrect: 1,
      notes: 1,
      pauseCount: 1,
      eventCount: 7,
      version: 7,
      durationMs: 10 * MIN,
    });
    expect(ctx.live.size).toBe(0);
  });

  it('is due after the inactivity timeout without SESSION_END, by the processing clock or the student own clock', () => {
    const ctx = context();
    const first = applyEvents(ctx, session().slice(0, 3));
    const key = sessionKey('u1', 's1');
    const due = T0 + 2 * MIN + o.inactivityTimeoutMs + o.graceMs;
    expect((ctx.live.get(key) as LiveSession).finalizeAt).toBe(due);
    // The student's later session moves their own clock past it, whatever the processing clock says.
    const next = applyEvents(ctx, [
      item('se', { type: 'session_start', occurredAt: due + 1, sessionId: 's2' }),
    ]);
    const rows = closeDue(ctx, [...first.changed, ...next.changed], T0);
    expect(rows.map((r) => r.sessionId)).toEqual(['s1']);
    expect(rows[0]).toMatchObject({ endReason: 'inactivity_timeout', endedAt: T0 + 2 * MIN });
  });

  it('amends a written session with an event that arrives after it closed, raising its version', () => {
    const ctx = context();
    const out = applyEvents(ctx, session());
    const [row] = closeDue(ctx, out.changed, Infinity);
    const straggler = item('qa', { type: 'question_answered', occurredAt: T0 + 4 * MIN, correct: true });
    const late = applyEvents(ctx, [straggler]);
    expect(late).toMatchObject({
      applied: 1,
      changed: new Set(),
      amended: new Set([sessionKey('u1', 's1')]),
    });
    const [amended] = amendedRows(ctx, late.amended);
    expect(amended).toMatchObject({
      questionsAnswered: 3,
      questionsCorrect: 2,
      version: (row?.version ?? 0) + 1,
    });
    // The same event again (a re-send, a replay) changes nothing.
    const again = applyEvents(ctx, [straggler]);
    expect(again).toMatchObject({ applied: 0, duplicates: 1 });
  });

  it('merges a live copy with a written row of the same session (a close whose Redis commit was lost)', () => {
    const ctx = context();
    const all = session();
    applyEvents(ctx, all.slice(0, 5));
    const key = sessionKey('u1', 's1');
    // A written row with the whole session, and a live copy with its first five events.
    const full = context();
    const out = applyEvents(full, all);
    closeDue(full, out.changed, Infinity);
    ctx.written.set(key, full.written.get(key) as SessionState);
    const [row] = closeDue(ctx, [key], Infinity);
    expect(row).toMatchObject({ eventCount: 7, questionsAnswered: 2 });
  });

  it("scopes a session id to its student: another student's events with the same id are another session", () => {
    const ctx = context();
    const mine = session();
    const theirs = session().map((d) => ({
      ...d,
      value: { ...d.value, eventId: `x-${d.value.eventId}`, userId: 'u2' },
    }));
    const out = applyEvents(ctx, [...mine, ...theirs]);
    expect([...out.changed].sort()).toEqual([sessionKey('u1', 's1'), sessionKey('u2', 's1')]);
    const rows = closeDue(ctx, out.changed, Infinity);
    expect(rows.map((r) => [r.userId, r.sessionId, r.eventCount])).toEqual([
      ['u1', 's1', 7],
      ['u2', 's1', 7],
    ]);
  });

  it('waits until no record changed a due session for quietMs of processing time (a backlog writes it once)', () => {
    const quiet = { ...o, quietMs: 10_000 };
    const now = T0 + 86_400_000;
    const ctx: StepContext = { ...context(), options: quiet, now };
    const out = applyEvents(ctx, session());
    const key = sessionKey('u1', 's1');
    const live = ctx.live.get(key) as LiveSession;
    expect(live.touchedAt).toBe(now);
    expect(closableAt(live, quiet)).toBe(now + 10_000);
    // Long past its event-time deadline, but changed 9.999 s ago: stays live.
    expect(closeDue(ctx, out.changed, now + 9_999)).toEqual([]);
    expect(closeDue(ctx, out.changed, now + 10_000)).toHaveLength(1);
  });

  it('counts duplicates once', () => {
    const ctx = context();
    const all = session();
    const out = applyEvents(ctx, [...all, ...all]);
    expect(out).toMatchObject({ applied: 7, duplicates: 7 });
    expect(finalizeAt((ctx.live.get(sessionKey('u1', 's1')) as LiveSession).state, o)).toBe(
      T0 + 10 * MIN + o.graceMs,
    );
  });

  it('maps every family to session events and drops events outside a session', () => {
    const base = { event_id: 'e', user_id: 'u', occurred_at: 1, session_id: 's' };
    expect(toSessionInput('study-events', { ...base, event_type: 'AI_COACH_QUERY' })).toMatchObject({
      type: 'ok',
      value: { type: 'ai_coach' },
    });
    expect(toSessionInput('question-attempts', { ...base, is_correct: true })).toMatchObject({
      value: { type: 'question_answered', correct: true },
    });
    expect(toSessionInput('material-interactions', { ...base, interaction_type: 'HIGHLIGHT' })).toMatchObject(
      { value: { type: 'highlight' } },
    );
    expect(toSessionInput('study-events', { ...base, session_id: null })).toEqual({
      type: 'drop',
      reason: 'no_session',
    });
    expect(toSessionInput('study-events', { user_id: 'u' }).type).toBe('dlq');
  });
});
