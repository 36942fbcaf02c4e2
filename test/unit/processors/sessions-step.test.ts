import { describe, expect, it } from 'vitest';
import type { Decoded } from '../../../services/stream/runtime/types.ts';
import type { SessionInput } from '../../../services/stream/sessions/decode.ts';
import { toSessionInput } from '../../../services/stream/sessions/decode.ts';
import {
  applyEvents,
  closeDue,
  partitionWatermark,
  wmField,
  type LiveSession,
} from '../../../services/stream/sessions/step.ts';

const o = { allowedLatenessMs: 600_000, inactivityTimeoutMs: 1_800_000, idleGapMs: 300_000 };
const T0 = Date.UTC(2025, 0, 6, 8);
const MIN = 60_000;
const TOPICS = ['se', 'qa', 'mi'];
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

function process(items: Decoded<SessionInput>[], later: Decoded<SessionInput>[] = []) {
  const ctx = {
    live: new Map<string, LiveSession>(),
    closed: new Map(),
    watermarks: new Map<string, number>(),
  };
  const out = applyEvents(ctx, [...items, ...later], o);
  const closed = closeDue(ctx.live, out.changed, (p) => partitionWatermark(ctx.watermarks, TOPICS, p), o);
  return { ctx, out, closed };
}

describe('sessions step', () => {
  it('windows a session in event time and closes it once every topic is past its end by the lateness', () => {
    const far = T0 + 10 * MIN + o.allowedLatenessMs * 2;
    const after = ['se', 'qa', 'mi'].map((t) =>
      item(t, { type: 'activity', occurredAt: far, sessionId: `other-${t}` }),
    );
    const { closed } = process(session(), after);
    expect(closed.rows).toHaveLength(1);
    const row = closed.rows[0];
    expect(row).toMatchObject({ sessionId: 's1', endReason: 'ended', durationMs: 10 * MIN, pauseCount: 1 });
    expect(row?.questionsAnswered).toBe(2);
    expect(row?.questionsCorrect).toBe(1);
    expect(row?.notes).toBe(1);
    expect((row?.activeMs ?? 0) + (row?.idleMs ?? 0)).toBe(10 * MIN);
  });

  it('stays open while one topic has not reached the close time (interleaving cannot close it early)', () => {
    const far = T0 + 10 * MIN + o.allowedLatenessMs * 2;
    const after = ['se', 'qa'].map((t) =>
      item(t, { type: 'activity', occurredAt: far, sessionId: `other-${t}` }),
    );
    const { closed, ctx } = process(session(), after);
    expect(closed.rows).toHaveLength(0);
    expect(partitionWatermark(ctx.watermarks, TOPICS, 0)).toBe(T0 + 2 * MIN);
  });

  it('duplicates are ignored and events later than the lateness are reported, per topic watermark', () => {
    const events = session();
    const dup = { ...events[1], record: { ...events[1]!.record, offset: '999' } } as Decoded<SessionInput>;
    const tooLate = item('se', { type: 'activity', occurredAt: T0 + 10 * MIN - o.allowedLatenessMs - 1 });
    const { out, ctx } = process(events, [dup, tooLate]);
    expect(out.duplicates).toBe(1);
    expect(out.late.map((l) => l.reason)).toEqual(['too_late']);
    expect(ctx.watermarks.get(wmField('se', 0))).toBe(T0 + 10 * MIN);
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
