import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applySessionEvent,
  splitAtInactivity,
  summarizeSession,
  type SessionEvent,
  type SessionState,
} from '../../../services/domain/sessions.ts';

const MIN = 60_000;
const TIMEOUT = 30 * MIN;

function build(events: SessionEvent[]): SessionState {
  let state: SessionState | undefined;
  for (const event of events) {
    const result = applySessionEvent(state, event, { watermarkMs: -Infinity });
    if (result.outcome === 'applied') state = result.state;
  }
  return state!;
}

const at = (minutes: number, type: SessionEvent['type'], id: string): SessionEvent => ({
  type,
  occurredAt: Date.UTC(2026, 10, 2, 8) + minutes * MIN,
  sessionId: 's1',
  eventId: id,
  correct: type === 'question_answered' ? true : undefined,
});

describe('splitAtInactivity', () => {
  it('ends a session at its first gap of at least the inactivity timeout', () => {
    const events = [
      at(0, 'session_start', 'a'),
      at(10, 'question_answered', 'b'),
      at(20, 'question_answered', 'c'),
      at(55, 'question_answered', 'd'),
      at(56, 'question_answered', 'e'),
    ];
    const { state, overflow } = splitAtInactivity(build(events), TIMEOUT);
    expect(state.timeline.map((t) => t.eventId)).toEqual(['a', 'b', 'c']);
    expect(overflow.map((t) => t.eventId)).toEqual(['d', 'e']);
    const summary = summarizeSession(state);
    expect(summary.endReason).toBe('inactivity_timeout');
    expect(summary.endedAt).toBe(events[2]!.occurredAt);
    expect(summary.questionsAnswered).toBe(2);
  });

  it('leaves a session without such a gap, or whose explicit end comes first, unchanged', () => {
    const steady = build([
      at(0, 'session_start', 'a'),
      at(29, 'question_answered', 'b'),
      at(58, 'activity', 'c'),
    ]);
    expect(splitAtInactivity(steady, TIMEOUT)).toEqual({ state: steady, overflow: [] });
    const ended = build([at(0, 'session_start', 'a'), at(5, 'session_end', 'b'), at(60, 'activity', 'c')]);
    expect(splitAtInactivity(ended, TIMEOUT)).toEqual({ state: ended, overflow: [] });
  });

  it('gives the same session whatever the arrival order of its events', () => {
    const minutes = fc.uniqueArray(fc.integer({ min: 1, max: 240 }), { minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(minutes, fc.integer(), (offsets, seed) => {
        const events = [
          at(0, 'session_start', 'start'),
          ...offsets.map((m) => at(m, 'question_answered', `q${m}`)),
        ];
        const shuffled = [...events].sort(
          (x, y) => ((hash(x.eventId!) ^ seed) >>> 0) - ((hash(y.eventId!) ^ seed) >>> 0),
        );
        const inOrder = splitAtInactivity(build(events), TIMEOUT);
        const anyOrder = splitAtInactivity(build(shuffled), TIMEOUT);
        expect(summarizeSession(anyOrder.state)).toEqual(summarizeSession(inOrder.state));
        expect(anyOrder.overflow).toEqual(inOrder.overflow);
      }),
      { numRuns: 300 },
    );
  });
});

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}
