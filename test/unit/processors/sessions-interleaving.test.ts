/**
 * The sessions processor's output must not depend on how the three input topics, the students of a partition, or
 * batches were interleaved, nor on when the processing clock closed a session, nor on crashes: a session's row is a
 * function of its student's events with its id, and nothing is set aside. Here the pure steps run over per-partition
 * logs that mix several students in arbitrary cross-student order, with client re-sends, offline phones syncing
 * whole sessions hours later, clock-skewed devices, and session ids shared by different students; in random
 * batchings, random processing clocks and sweeps, and (second property) crashes between the PostgreSQL write and the
 * Redis commit. At the end every session is closed, and the rows must equal each other and an independent
 * computation from the logs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applySessionEvent,
  sessionFromTimeline,
  type SessionEventType,
  type SessionState,
} from '../../../services/domain/sessions.ts';
import { Rng } from '../../../services/simulator/prng.ts';
import type { Decoded } from '../../../services/stream/runtime/types.ts';
import type { SessionInput } from '../../../services/stream/sessions/decode.ts';
import {
  amendedRows,
  applyEvents,
  closableAt,
  closeDue,
  sessionKey,
  toRow,
  type LiveSession,
  type SessionRow,
  type StepContext,
} from '../../../services/stream/sessions/step.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const o = { graceMs: 10 * MIN, inactivityTimeoutMs: 30 * MIN, idleGapMs: 5 * MIN, quietMs: 20 * MIN };
const PARTITIONS = 2;
const T0 = Date.UTC(2025, 0, 6, 8);

type Draw = () => number;
const seeded = (seed: number): Draw => {
  const r = new Rng(seed);
  return () => r.next();
};
const pick = <T>(rng: Draw, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;

function topicOf(type: SessionEventType): 'se' | 'qa' | 'mi' {
  if (type === 'question_answered') return 'qa';
  if (type === 'note' || type === 'highlight' || type === 'material_open') return 'mi';
  return 'se';
}

/**
 * Per (topic, partition): the log in offset order. Six students on two partitions; session ids `s0`, `s1`, ... are
 * shared between students (scoping); a third of the students are offline phones that deliver whole sessions hours
 * later; some devices' clocks are skewed by hours; 12% of events are re-sent.
 */
function scenario(seed: number): Map<string, SessionInput[]> {
  const rng = seeded(seed);
  const logs = new Map<string, Array<{ sortAt: number; v: SessionInput }>>();
  let n = 0;
  for (let u = 0; u < 6; u++) {
    const userId = `u${u}`;
    const p = u % PARTITIONS;
    const offline = rng() < 0.35;
    const skew = rng() < 0.3 ? pick(rng, [-3, -1, 2, 5]) * HOUR : 0;
    let at = T0 + Math.floor(rng() * 40) * MIN;
    const sessions = 1 + Math.floor(rng() * 3);
    for (let s = 0; s < sessions; s++) {
      const sessionId = `s${s}`;
      const types: SessionEventType[] = rng() < 0.9 ? ['session_start'] : [];
      const body = 1 + Math.floor(rng() * 7);
      for (let i = 0; i < body; i++)
        types.push(
          pick(rng, [
            'question_answered',
            'question_answered',
            'note',
            'activity',
            'highlight',
            'session_pause',
          ]),
        );
      if (rng() < 0.6) types.push('session_end');
      // Sometimes the app keeps sending under the same id after its end or after a long break.
      if (rng() < 0.15) types.push('question_answered');
      const syncAt = at + (offline ? (2 + Math.floor(rng() * 20)) * HOUR : 0);
      for (const type of types) {
        const v: SessionInput = {
          eventId: `e${n++}`,
          userId,
          sessionId,
          occurredAt: at + skew,
          type,
          ...(type === 'question_answered' ? { correct: rng() < 0.6 } : {}),
        };
        const delivery = offline ? syncAt + Math.floor(rng() * 3) * MIN : at + Math.floor(rng() * 3) * MIN;
        const key = `${topicOf(type)}|${p}`;
        const log = logs.get(key) ?? [];
        log.push({ sortAt: delivery, v });
        if (rng() < 0.12)
          log.push({ sortAt: delivery + pick(rng, [1, 5, 15, 45, 90, 600]) * MIN, v: { ...v } });
        logs.set(key, log);
        at += pick(rng, [0, 1, 1, 2, 5, 10, 10, 30, 45]) * MIN;
      }
      at += pick(rng, [0, 10, 30, 40, 60, 300]) * MIN;
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

/** Independent of the processor: each (student, session id)'s distinct events, summarized once. */
function expectedRows(logs: Map<string, SessionInput[]>): Array<[string, SessionRow]> {
  const states = new Map<string, SessionState>();
  for (const log of logs.values())
    for (const v of log) {
      const key = sessionKey(v.userId, v.sessionId);
      const r = applySessionEvent(states.get(key), v, { idleGapMs: o.idleGapMs });
      if (r.outcome === 'applied') states.set(key, r.state);
    }
  return [...states]
    .map(([k, s]) => [k, toRow(k.split(':')[0] as string, s)] as [string, SessionRow])
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * One processing run, with the stores simulated as the adapters use them: committed live sessions and positions
 * (Redis), rows (PostgreSQL, upserts that never lower a version). Each step reads the batch's sessions and the due
 * ones, applies, closes at a processing clock that moves forward by random amounts, writes rows, then commits;
 * with `crashes`, some steps die after the row write (the restart re-reads from the last commit).
 */
function run(logs: Map<string, SessionInput[]>, seed: number, crashes = false) {
  const rng = seeded(seed);
  const keys = [...logs.keys()];
  let committed = new Map(keys.map((k) => [k, 0]));
  let live = new Map<string, LiveSession>();
  const rows = new Map<string, SessionRow>();
  let now = T0;
  let crashCount = 0;
  let amendments = 0;
  const write = (r: SessionRow) => {
    const key = sessionKey(r.userId, r.sessionId);
    const stored = rows.get(key);
    // One writer: a rewrite is a larger version or the same timeline (the store would refuse anything else as a
    // conflict with another writer), and it never loses an event.
    if (stored !== undefined) {
      expect(
        r.version > stored.version || JSON.stringify(r.timeline) === JSON.stringify(stored.timeline),
      ).toBe(true);
      expect(r.timeline.map((t) => t.eventId)).toEqual(
        expect.arrayContaining(stored.timeline.map((t) => t.eventId)),
      );
    }
    rows.set(key, r);
  };
  const step = (batch: Decoded<SessionInput>[], clock: number): { ok: boolean } => {
    const itemKeys = batch.map((d) => sessionKey(d.value.userId, d.value.sessionId));
    const due = [...live].filter(([, s]) => closableAt(s, o) < clock).map(([k]) => k);
    const read = new Set([...itemKeys, ...due]);
    const ctx: StepContext = { live: new Map(), written: new Map(), options: o, now: clock };
    for (const k of read) {
      const s = live.get(k);
      if (s) ctx.live.set(k, structuredClone(s));
      const r = rows.get(k);
      if (r) ctx.written.set(k, sessionFromTimeline(r.sessionId, r.timeline, o.idleGapMs) as SessionState);
    }
    const applied = applyEvents(ctx, batch);
    const closed = closeDue(ctx, [...applied.changed, ...due], clock);
    const amended = amendedRows(ctx, applied.amended);
    amendments += amended.length;
    for (const r of [...closed, ...amended]) write(r);
    if (crashes && rng() < 0.3) {
      if (closed.length > 0) crashCount++;
      return { ok: false };
    }
    const nextLive = new Map(live);
    for (const k of read) nextLive.delete(k);
    for (const [k, s] of ctx.live) nextLive.set(k, s);
    live = nextLive;
    return { ok: true };
  };
  for (;;) {
    const next = new Map(committed);
    const batch: Decoded<SessionInput>[] = [];
    const size = rng() < 0.1 ? 0 : 1 + Math.floor(rng() * 25);
    while (batch.length < size) {
      const open = keys.filter((k) => (next.get(k) as number) < (logs.get(k) as SessionInput[]).length);
      if (open.length === 0) break;
      const key = pick(rng, open);
      const log = logs.get(key) as SessionInput[];
      const [topic, partition] = key.split('|') as [string, string];
      for (let n = 1 + Math.floor(rng() * 6); n > 0 && (next.get(key) as number) < log.length; n--) {
        const offset = next.get(key) as number;
        const record = { topic, partition: Number(partition), offset: String(offset) };
        batch.push({
          record: { ...record, key: null, value: null, headers: {}, timestamp: '0' },
          value: log[offset] as SessionInput,
        });
        next.set(key, offset + 1);
      }
    }
    const done = keys.every((k) => (committed.get(k) as number) >= (logs.get(k) as SessionInput[]).length);
    if (done && batch.length === 0) break;
    now += pick(rng, [0, 0, 1, 5, 20, 60, 180]) * MIN;
    if (step(batch, now).ok) committed = next;
  }
  // Time passes: every live session closes (a sweep with the clock past everything).
  while (live.size > 0) step([], Infinity);
  const sorted = [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { crashCount, amendments, rows: sorted };
}

describe('sessions processor steps, any interleaving, batching, clock and crash', () => {
  it('the scenario exercises re-sends, offline students, amendments and shared session ids', () => {
    let resends = 0;
    let amendments = 0;
    let shared = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const logs = scenario(seed);
      const all = [...logs.values()].flat();
      resends += all.length - new Set(all.map((e) => e.eventId)).size;
      const { amendments: a, rows } = run(logs, seed);
      amendments += a;
      const ids = rows.map(([, r]) => r.sessionId);
      shared += ids.length - new Set(ids).size;
    }
    expect(resends).toBeGreaterThan(100);
    expect(amendments).toBeGreaterThan(50);
    expect(shared).toBeGreaterThan(100);
  });

  it('writes every session exactly as computed from its events, whatever the interleaving and clock', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer(), (scene, a) => {
        const logs = scenario(scene);
        expect(run(logs, a).rows).toEqual(expectedRows(logs));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same result when steps crash between the PostgreSQL write and the Redis commit', () => {
    let crashes = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer(), fc.integer(), (scene, a, b) => {
        const logs = scenario(scene);
        const crashed = run(logs, b, true);
        crashes += crashed.crashCount;
        expect(crashed.rows).toEqual(run(logs, a).rows);
        expect(crashed.rows).toEqual(expectedRows(logs));
      }),
      // The counterexample found in CI by the previous design's version of this property (a session live in one
      // run and not in the other) stays as a fixed case.
      { numRuns: 300, examples: [[1513670272, 0, 2134283585]] },
    );
    expect(crashes).toBeGreaterThan(100);
  });
});
