/**
 * The sessions processor's output (study_sessions rows, late_events rows, live sessions) must not depend on how
 * the three input topics were interleaved or where batches were cut: a restart after a crash re-reads the topics
 * with other fetch boundaries, so any dependence shows up as a differing row after kills
 * (test/integration/processors/kill-and-restart.test.ts). Here the pure steps run over the same per-partition logs
 * in many random interleavings and batchings, with client re-sends and offline (late) deliveries, and timestamps on
 * a coarse grid so that exact-boundary coincidences (an event at a session's end, a watermark at end + lateness)
 * happen often.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SessionEventType } from '../../../services/domain/sessions.ts';
import { Rng } from '../../../services/simulator/prng.ts';
import type { Decoded } from '../../../services/stream/runtime/types.ts';
import type { SessionInput } from '../../../services/stream/sessions/decode.ts';
import { outranks, type LateEvent } from '../../../services/stream/mastery/late-events.ts';
import {
  applyEvents,
  closeDue,
  partitionWatermark,
  type FinalizedRow,
  type LiveSession,
} from '../../../services/stream/sessions/step.ts';

const MIN = 60_000;
const o = { allowedLatenessMs: 10 * MIN, inactivityTimeoutMs: 30 * MIN, idleGapMs: 5 * MIN };
const TOPICS = ['se', 'qa', 'mi'] as const;
const PARTITIONS = 2;
const T0 = Date.UTC(2025, 0, 6, 8);

type Draw = () => number;
const seeded = (seed: number): Draw => {
  const r = new Rng(seed);
  return () => r.next();
};
const pick = <T>(rng: Draw, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;

function topicOf(type: SessionEventType): (typeof TOPICS)[number] {
  if (type === 'question_answered') return 'qa';
  if (type === 'note' || type === 'highlight' || type === 'material_open') return 'mi';
  return 'se';
}

/** Per (topic, partition): the log in offset order, as a producer with re-sends and offline syncs writes it. */
function scenario(seed: number): Map<string, SessionInput[]> {
  const rng = seeded(seed);
  const logs = new Map<string, Array<{ sortAt: number; v: SessionInput }>>();
  let n = 0;
  for (let u = 0; u < 4; u++) {
    const userId = `u${u}`;
    const p = u % PARTITIONS;
    let at = T0 + Math.floor(rng() * 20) * MIN;
    const sessions = 1 + Math.floor(rng() * 3);
    for (let s = 0; s < sessions; s++) {
      const sessionId = `${userId}-s${s}`;
      const types: SessionEventType[] = ['session_start'];
      const body = 2 + Math.floor(rng() * 6);
      for (let i = 0; i < body; i++)
        types.push(pick(rng, ['question_answered', 'question_answered', 'note', 'activity', 'highlight']));
      if (rng() < 0.7) types.push('session_end');
      for (const type of types) {
        const v: SessionInput = {
          eventId: `e${n++}`,
          userId,
          sessionId,
          occurredAt: at,
          type,
          ...(type === 'question_answered' ? { correct: rng() < 0.6 } : {}),
        };
        // Delivery time: usually at once; sometimes an offline sync much later.
        const offline = rng() < 0.08;
        const delivery = at + (offline ? (10 + Math.floor(rng() * 60)) * MIN : Math.floor(rng() * 3) * MIN);
        const key = `${topicOf(type)}|${p}`;
        const log = logs.get(key) ?? [];
        log.push({ sortAt: delivery, v });
        // A client re-send of the same event, a little or a lot later.
        if (rng() < 0.12) log.push({ sortAt: delivery + pick(rng, [1, 5, 15, 45, 90]) * MIN, v: { ...v } });
        logs.set(key, log);
        // Coarse grid: many events share a minute, and gaps often equal the lateness or the timeout exactly.
        at += pick(rng, [0, 1, 1, 2, 5, 10, 10, 30]) * MIN;
      }
      at += pick(rng, [0, 10, 30, 40, 60]) * MIN;
    }
  }
  const out = new Map<string, SessionInput[]>();
  for (const [key, log] of logs)
    out.set(
      key,
      log.sort((a, b) => a.sortAt - b.sortAt).map((x) => x.v),
    );
  return out;
}

/**
 * One processing run: batches drawn from the logs in a random order (each log's order kept, fetches return runs of
 * one partition's records), of random sizes. With `crashes`, some batches die after their PostgreSQL write and
 * before the Redis commit: their rows stay, the live state and positions fall back to the last commit, and the
 * restart draws other batches from there (what kill -9 does to the processor).
 */
function run(logs: Map<string, SessionInput[]>, seed: number, crashes = false) {
  const rng = seeded(seed);
  const keys = [...logs.keys()];
  let committed = new Map(keys.map((k) => [k, 0]));
  let live = new Map<string, LiveSession>();
  let watermarks = new Map<string, number>();
  const sessions = new Map<string, FinalizedRow>();
  const late = new Map<string, LateEvent>();
  let crashCount = 0;
  for (;;) {
    const next = new Map(committed);
    const batch: Decoded<SessionInput>[] = [];
    const size = 1 + Math.floor(rng() * 25);
    while (batch.length < size) {
      const open = keys.filter((k) => (next.get(k) as number) < (logs.get(k) as SessionInput[]).length);
      if (open.length === 0) break;
      const key = pick(rng, open);
      const log = logs.get(key) as SessionInput[];
      const [topic, partition] = key.split('|') as [string, string];
      for (let n = 1 + Math.floor(rng() * 6); n > 0 && (next.get(key) as number) < log.length; n--) {
        const offset = next.get(key) as number;
        batch.push({
          record: {
            topic,
            partition: Number(partition),
            offset: String(offset),
            key: null,
            value: null,
            headers: {},
            timestamp: '0',
          },
          value: log[offset] as SessionInput,
        });
        next.set(key, offset + 1);
      }
    }
    if (batch.length === 0) break;
    const liveAfter = structuredClone(live);
    const watermarksAfter = new Map(watermarks);
    // What the store reads: closed sessions (study_sessions) for the batch's sessions that are not live.
    const closed = new Map<string, { endedAt: number }>();
    for (const { value } of batch) {
      const row = sessions.get(value.sessionId);
      if (row && !liveAfter.has(value.sessionId)) closed.set(value.sessionId, { endedAt: row.endedAt });
    }
    const applied = applyEvents({ live: liveAfter, closed, watermarks: watermarksAfter }, batch, o);
    const wmOf = (p: number) => partitionWatermark(watermarksAfter, TOPICS, p);
    // The due index holds every live session; closeDue decides.
    const { rows, afterEnd } = closeDue(liveAfter, [...applied.changed, ...liveAfter.keys()], wmOf, o);
    // The PostgreSQL writes: a closed session's row is upserted (a redone batch writes the same row again);
    // late_events keeps the preferred row.
    for (const r of rows) {
      const before = sessions.get(r.sessionId);
      if (before !== undefined) expect(r).toEqual(before);
      sessions.set(r.sessionId, r);
    }
    for (const l of [...applied.late, ...afterEnd]) {
      const stored = late.get(l.eventId);
      if (stored === undefined || outranks(l, stored)) late.set(l.eventId, l);
    }
    if (crashes && rng() < 0.3) {
      // Counted when the lost commit had closed sessions: the replay then meets their rows in study_sessions.
      if (rows.length > 0) crashCount++;
      continue;
    }
    live = liveAfter;
    watermarks = watermarksAfter;
    committed = next;
  }
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    crashCount,
    state: {
      sessions: sorted(sessions),
      late: sorted(late),
      live: sorted(live).map(([id, s]) => [id, s.state] as const),
    },
  };
}

describe('sessions processor steps, any interleaving and batching', () => {
  it('the scenario exercises late events, re-sends and sessions closed both ways', () => {
    let resends = 0;
    let lateRows = 0;
    let closedRows = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const logs = scenario(seed);
      const all = [...logs.values()].flat();
      resends += all.length - new Set(all.map((e) => e.eventId)).size;
      const { state } = run(logs, seed);
      lateRows += state.late.length;
      closedRows += state.sessions.length;
    }
    expect(resends).toBeGreaterThan(50);
    expect(lateRows).toBeGreaterThan(20);
    expect(closedRows).toBeGreaterThan(100);
  });

  it('gives identical sessions, late events and live state', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer(), fc.integer(), (scene, a, b) => {
        const logs = scenario(scene);
        expect(run(logs, b).state).toEqual(run(logs, a).state);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the same result when batches crash between the PostgreSQL write and the Redis commit', () => {
    let crashes = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer(), fc.integer(), (scene, a, b) => {
        const logs = scenario(scene);
        const crashed = run(logs, b, true);
        crashes += crashed.crashCount;
        expect(crashed.state).toEqual(run(logs, a).state);
      }),
      { numRuns: 500 },
    );
    expect(crashes).toBeGreaterThan(200);
  });
});
