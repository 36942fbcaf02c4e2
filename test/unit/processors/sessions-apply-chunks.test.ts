/**
 * The sessions processor applies a batch in chunks, yielding to the event loop between them (applyInChunks): the
 * result must be that of one applyEvents call, for any batch (sessions live, written and new, duplicates, students
 * sharing session ids, batches longer than a chunk).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decoded } from '../../../services/stream/runtime/types.ts';
import type { SessionInput } from '../../../services/stream/sessions/decode.ts';
import { APPLY_CHUNK, applyInChunks } from '../../../services/stream/sessions/processor.ts';
import { applyEvents, type StepContext } from '../../../services/stream/sessions/step.ts';
import { applySessionEvent, type SessionState } from '../../../services/domain/sessions.ts';

const T0 = Date.UTC(2026, 0, 5, 8);
const TYPES = [
  'session_start',
  'question_answered',
  'note',
  'session_pause',
  'session_resume',
  'session_end',
] as const;
const o = { graceMs: 600_000, inactivityTimeoutMs: 1_800_000, idleGapMs: 300_000, quietMs: 0 };

type Ev = {
  user: number;
  session: number;
  type: (typeof TYPES)[number];
  minute: number;
  id: number;
  correct: boolean;
};
const eventArb: fc.Arbitrary<Ev> = fc.record({
  user: fc.integer({ min: 0, max: 3 }),
  session: fc.integer({ min: 0, max: 4 }),
  type: fc.constantFrom(...TYPES),
  minute: fc.integer({ min: 0, max: 600 }),
  id: fc.integer({ min: 0, max: 3000 }),
  correct: fc.boolean(),
});

function items(list: Ev[]): Decoded<SessionInput>[] {
  return list.map((e, i) => ({
    record: {
      topic: 't',
      partition: e.user % 2,
      offset: String(i),
      key: null,
      value: null,
      headers: {},
      timestamp: '0',
    },
    value: {
      eventId: `ev-${e.id}`,
      userId: `u${e.user}`,
      sessionId: `s${e.session}`,
      type: e.type,
      occurredAt: T0 + e.minute * 60_000,
      correct: e.type === 'question_answered' ? e.correct : undefined,
    } as SessionInput,
  }));
}

/** A context with some sessions already written (amended by the batch). */
function context(written: Ev[]): StepContext {
  const map = new Map<string, SessionState>();
  for (const { value } of items(written)) {
    const key = `${value.userId}:${value.sessionId}`;
    const r = applySessionEvent(
      map.get(key),
      { ...value, eventId: `w-${value.eventId}` },
      { idleGapMs: o.idleGapMs },
    );
    map.set(key, r.state);
  }
  return { live: new Map(), written: map, options: o, now: T0 };
}

describe('sessions: applyInChunks equals applyEvents', () => {
  it('gives the same context and outcome for any batch, including batches longer than a chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { maxLength: 3 * APPLY_CHUNK }),
        fc.array(eventArb, { maxLength: 20 }),
        async (list, written) => {
          const batch = items(list);
          const a = context(written);
          const b = context(written);
          const one = applyEvents(a, batch);
          const chunked = await applyInChunks(b, batch);
          expect(chunked.applied).toBe(one.applied);
          expect(chunked.duplicates).toBe(one.duplicates);
          expect([...chunked.changed].sort()).toEqual([...one.changed].sort());
          expect([...chunked.amended].sort()).toEqual([...one.amended].sort());
          expect(b.live).toEqual(a.live);
          expect(b.written).toEqual(a.written);
        },
      ),
      { numRuns: 60 },
    );
  });
});
