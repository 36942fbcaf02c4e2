import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applySessionEvent,
  focusScore,
  mergeSessions,
  sessionFromTimeline,
  summarizeSession,
} from '../../../services/domain/sessions.ts';
import type {
  SessionEvent,
  SessionEventType,
  SessionOptions,
  SessionState,
} from '../../../services/domain/sessions.ts';

const T0 = Date.UTC(2025, 0, 1, 9);
const MINUTE = 60_000;
const OPEN: SessionOptions = {};

function event(type: SessionEventType, minutes: number, extra: Partial<SessionEvent> = {}): SessionEvent {
  return { type, occurredAt: T0 + minutes * MINUTE, sessionId: 's1', ...extra };
}

function run(events: SessionEvent[], options: SessionOptions = OPEN): SessionState {
  let state: SessionState | undefined;
  for (const e of events) state = applySessionEvent(state, e, options).state;
  if (state === undefined) throw new Error('no events applied');
  return state;
}

describe('session accounting', () => {
  it('counts a continuous session as fully active and tallies what happened in it', () => {
    const state = run([
      event('session_start', 0),
      event('question_answered', 1, { correct: true }),
      event('question_answered', 2, { correct: false }),
      event('material_open', 3),
      event('note', 4),
      event('highlight', 4.5),
      event('ai_coach', 5),
      event('material_close', 8),
      event('session_end', 10),
    ]);
    expect(state).toMatchObject({
      startedAt: T0,
      endedAt: T0 + 10 * MINUTE,
      activeMs: 10 * MINUTE,
      idleMs: 0,
      pauseCount: 0,
      focusScore: 1,
      questionsAnswered: 2,
      questionsCorrect: 1,
      materialsOpened: 1,
      notes: 1,
      highlights: 1,
      aiCoachInteractions: 1,
    });
  });

  it('counts a gap longer than 5 minutes without events as idle in full', () => {
    const state = run([
      event('session_start', 0),
      event('activity', 1),
      event('activity', 20),
      event('session_end', 21),
    ]);
    expect(state.activeMs).toBe(2 * MINUTE);
    expect(state.idleMs).toBe(19 * MINUTE);
  });

  it('counts a gap of exactly 5 minutes as active, and honours a custom idle gap', () => {
    const events = [event('session_start', 0), event('activity', 5), event('session_end', 6)];
    expect(run(events).idleMs).toBe(0);
    expect(run(events, { idleGapMs: 2 * MINUTE }).idleMs).toBe(5 * MINUTE);
  });

  it('counts paused time as idle and penalises focus by pause frequency', () => {
    const state = run([
      event('session_start', 0),
      event('activity', 4),
      event('session_pause', 5),
      event('session_resume', 15),
      event('activity', 19),
      event('session_end', 20),
    ]);
    expect(state).toMatchObject({ activeMs: 10 * MINUTE, idleMs: 10 * MINUTE, pauseCount: 1 });
    // active share 1/2, 1 pause in 20 minutes = 3 per hour -> 0.5 / (1 + 3/10)
    expect(state.focusScore).toBeCloseTo(0.5 / 1.3, 12);
  });

  it('counts a repeated pause while already paused once', () => {
    const state = run([
      event('session_start', 0),
      event('session_pause', 1),
      event('session_pause', 2),
      event('session_resume', 3),
    ]);
    expect(state.pauseCount).toBe(1);
  });

  it('treats activity during a pause as an implicit resume', () => {
    const state = run([
      event('session_start', 0),
      event('session_pause', 1),
      event('question_answered', 3),
      event('activity', 5),
    ]);
    expect(state).toMatchObject({ activeMs: 3 * MINUTE, idleMs: 2 * MINUTE, paused: false });
  });

  it('starts at the first event when no session_start was sent', () => {
    const state = run([event('material_open', 2), event('activity', 4)]);
    expect(state.startedAt).toBe(T0 + 2 * MINUTE);
    expect(state.activeMs).toBe(2 * MINUTE);
  });

  it('has focus = active share / (1 + pauses per hour / 10), undefined for a zero-length session', () => {
    expect(focusScore(30 * MINUTE, 60 * MINUTE, 10)).toBeCloseTo(0.25, 12);
    expect(focusScore(0, 0, 0)).toBeNull();
    expect(run([event('session_start', 0)]).focusScore).toBeNull();
  });
});

describe('late, duplicate and stray events', () => {
  it('places a late event where it happened, splitting the idle gap it falls into', () => {
    const onTime = run([event('session_start', 0), event('activity', 20)]);
    expect(onTime.idleMs).toBe(20 * MINUTE);
    const withTwoLate = run([
      ...onTime.timeline.map((e) => event(e.type, (e.occurredAt - T0) / MINUTE)),
      event('activity', 4),
      event('activity', 8),
    ]);
    expect(withTwoLate.activeMs).toBe(8 * MINUTE);
    expect(withTwoLate.idleMs).toBe(12 * MINUTE);
  });

  it("reports a repeated eventId as a 'duplicate' without counting it twice", () => {
    const state = run([
      event('session_start', 0, { eventId: 'a' }),
      event('question_answered', 1, { eventId: 'b', correct: true }),
    ]);
    const again = applySessionEvent(
      state,
      event('question_answered', 1, { eventId: 'b', correct: true }),
      OPEN,
    );
    expect(again.outcome).toBe('duplicate');
    expect(again.state?.questionsAnswered).toBe(1);
  });

  it("counts an event after the session's end in the session and extends it (nothing is set aside)", () => {
    const ended = run([event('session_start', 0), event('session_end', 4)]);
    const after = applySessionEvent(ended, event('question_answered', 6, { correct: true }), OPEN);
    expect(after.outcome).toBe('applied');
    expect(after.state).toMatchObject({
      questionsAnswered: 1,
      activeMs: 6 * MINUTE,
      endedAt: T0 + 4 * MINUTE,
      lastEventAt: T0 + 6 * MINUTE,
      paused: false,
    });
    expect(summarizeSession(after.state)).toMatchObject({ endReason: 'ended', endedAt: T0 + 6 * MINUTE });
  });

  it('keeps events after a long break in the session, the break counted as idle', () => {
    const state = run([event('session_start', 0), event('activity', 3), event('question_answered', 183)]);
    expect(state).toMatchObject({ activeMs: 3 * MINUTE, idleMs: 180 * MINUTE, questionsAnswered: 1 });
  });

  it('counts a late event from before the end even though the end arrived first', () => {
    const ended = run([event('session_start', 0), event('session_end', 10)]);
    const late = applySessionEvent(ended, event('question_answered', 9, { correct: true }), OPEN);
    expect(late.outcome).toBe('applied');
    expect(late.state?.questionsAnswered).toBe(1);
  });

  it("rejects an event of another session as 'wrong_session'", () => {
    const state = run([event('session_start', 0)]);
    expect(applySessionEvent(state, { ...event('activity', 1), sessionId: 's2' }, OPEN).outcome).toBe(
      'wrong_session',
    );
  });
});

describe('summaries and stored timelines', () => {
  it('summarizes a timed-out session as ending at its last event', () => {
    const summary = summarizeSession(
      run([event('session_start', 0), event('question_answered', 7, { correct: true })]),
    );
    expect(summary).toMatchObject({
      endReason: 'inactivity_timeout',
      endedAt: T0 + 7 * MINUTE,
      durationMs: 7 * MINUTE,
      activeMs: 0,
      idleMs: 7 * MINUTE,
      questionsCorrect: 1,
    });
  });

  it('summarizes an ended session with its end', () => {
    const summary = summarizeSession(run([event('session_start', 0), event('session_end', 3)]));
    expect(summary).toMatchObject({ endReason: 'ended', durationMs: 3 * MINUTE, activeMs: 3 * MINUTE });
  });

  it('rebuilds the state of a stored timeline, and nothing from an empty one', () => {
    const state = run([event('session_start', 0, { eventId: 'a' }), event('note', 2, { eventId: 'b' })]);
    expect(sessionFromTimeline('s1', [...state.timeline].reverse())).toEqual(state);
    expect(sessionFromTimeline('s1', [])).toBeUndefined();
  });
});

describe('session properties', () => {
  const types: SessionEventType[] = [
    'session_start',
    'session_pause',
    'session_resume',
    'session_end',
    'question_answered',
    'material_open',
    'material_close',
    'note',
    'highlight',
    'ai_coach',
    'activity',
  ];
  const eventsArb = fc
    .array(
      fc.record({
        type: fc.constantFrom(...types),
        minutes: fc.integer({ min: 0, max: 180 }),
        correct: fc.boolean(),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((list) => list.map((e, i) => event(e.type, e.minutes, { eventId: `e${i}`, correct: e.correct })));

  it('yields the same state for the same events in any arrival order (replays and reordering agree)', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer(), (events, seed) => {
        expect(run(shuffle(events, seed))).toEqual(run(events));
      }),
    );
  });

  it('splits the session span exactly into active and idle time, with focus in [0, 1]', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const state = run(events);
        expect(state.activeMs + state.idleMs).toBe(state.lastEventAt - state.startedAt);
        if (state.focusScore !== null) {
          expect(state.focusScore).toBeGreaterThanOrEqual(0);
          expect(state.focusScore).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('merges two partial states of a session into the state of their union', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer(), fc.integer({ min: 0, max: 40 }), (events, seed, cut) => {
        const shuffled = shuffle(events, seed);
        const overlap = Math.floor(cut / 2);
        const left = shuffled.slice(0, Math.max(1, cut));
        const right = shuffled.slice(Math.max(0, Math.min(cut, shuffled.length - 1) - overlap));
        expect(mergeSessions(run(left), run(right))).toEqual(run(events));
      }),
    );
  });

  it('is unchanged by redelivering every event', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const once = run(events);
        expect(run(events, OPEN)).toEqual(once);
        let state: SessionState = once;
        for (const e of events) state = applySessionEvent(state, e, OPEN).state as SessionState;
        expect(state).toEqual(once);
      }),
    );
  });
});

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const result = [...items];
  let random = seed >>> 0;
  for (let i = result.length - 1; i > 0; i--) {
    random = (Math.imul(random, 1_664_525) + 1_013_904_223) >>> 0;
    const j = random % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}
