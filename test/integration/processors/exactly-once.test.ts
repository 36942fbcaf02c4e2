/**
 * Exactly-once, shown on real Kafka, registry, PostgreSQL and Redis: the same events processed once, with every
 * event delivered twice and reordered within the allowed lateness, and replayed from offset 0 into fresh tables
 * all give identical topic_mastery, topic_mastery_history, study_sessions, late_events and live Redis sessions.
 * Two instances of each processor in one consumer group give the same state as one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  cohort,
  dumpState,
  firstDifference,
  duplicatedAndShuffled,
  LATENESS_MS,
  produce,
  runEnv,
  startInProcess,
  summary,
  waitCaughtUp,
  type StateDump,
} from './support.ts';

describe('stateful processors are exactly-once', () => {
  const isos: IsolatedEnv[] = [];
  const fresh = async (label: string, kafka: boolean) => {
    const iso = isolatedEnv(label);
    isos.push(iso);
    await provision(iso, { postgres: true, kafka });
    return iso;
  };
  let once: IsolatedEnv;
  let baseline: StateDump;
  const events = cohort(11, 15, 6);

  beforeAll(async () => {
    once = await fresh('eo_once', true);
    await produce(once.cfg, events);
    const env = runEnv(once, once, 'a');
    const run = await startInProcess(env);
    await waitCaughtUp(env);
    await run.stop();
    baseline = await dumpState(env);
  });

  afterAll(async () => {
    for (const iso of isos) await teardown(iso).catch(() => {});
  });

  it('produces sessions, mastery rows with roll-ups, and history', () => {
    const s = summary(baseline);
    expect(s.topic_mastery).toBeGreaterThan(50);
    expect(s.study_sessions).toBeGreaterThan(20);
    expect(s.topic_mastery_history).toBeGreaterThan(10);
    const levels = new Set(
      (baseline.topic_mastery as Array<{ topic_level: number }>).map((r) => r.topic_level),
    );
    expect([...levels].sort()).toEqual([0, 1, 2]);
  });

  it('keeps the per-student read models equal to the sums of the produced answers and material progress', () => {
    // Independently from the simulator's records: every answer and every material event with a progress value
    // (the simulator tags leaf topics only) per student and UTC day; the highest progress per material.
    const days = new Map<string, number[]>();
    const materials = new Map<string, { topics: string[]; progress: number }>();
    for (const { family, record: r } of events) {
      if (family === 'study-events') continue;
      if (family === 'material-interactions' && typeof r.progress !== 'number') continue;
      const k = `${r.user_id as string}|${new Date(r.occurred_at as number).toISOString().slice(0, 10)}`;
      const d = days.get(k) ?? [0, 0, 0, 0, 0, 0, 0];
      d[0]!++;
      if (family === 'question-attempts') {
        d[1]!++;
        if (r.is_correct) d[2]!++;
        if (r.attempt_number === 1) d[3]!++;
        if (r.attempt_number === 1 && r.is_correct) d[4]!++;
        d[5]! += (r.time_to_answer_ms as number | null) ?? 0;
      } else {
        d[6]! += (r.active_ms as number | null) ?? 0;
        const mk = `${r.user_id as string}|${r.material_id as string}`;
        const m = materials.get(mk);
        const p = r.progress as number;
        if (!m || p > m.progress)
          materials.set(mk, { topics: [...(r.topic_ids as string[])].sort(), progress: p });
      }
      days.set(k, d);
    }
    const stored = baseline.student_study_days as Array<Record<string, unknown>>;
    expect(stored.length).toBe(days.size);
    for (const row of stored) {
      const d = days.get(`${row.user_id as string}|${row.day as string}`);
      expect(d, `${row.user_id as string} ${row.day as string}`).toBeDefined();
      expect([
        row.events,
        row.questions,
        row.correct,
        row.first_attempts,
        row.first_attempt_correct,
        row.answer_ms,
        row.material_active_ms,
      ]).toEqual(d);
    }
    const mats = baseline.student_materials as Array<Record<string, unknown>>;
    expect(mats.length).toBe(materials.size);
    for (const row of mats) {
      const m = materials.get(`${row.user_id as string}|${row.material_id as string}`);
      expect({ topics: row.topic_ids, progress: row.progress }).toEqual(m);
    }
    expect(mats.length).toBeGreaterThan(10);
  });

  it('every event duplicated and shuffled within the allowed lateness gives the same state', async () => {
    const iso = await fresh('eo_dup', true);
    await produce(iso.cfg, duplicatedAndShuffled(cohort(11, 15, 6), LATENESS_MS / 4));
    const env = runEnv(iso, iso, 'a');
    const run = await startInProcess(env);
    await waitCaughtUp(env);
    await run.stop();
    const state = await dumpState(env);
    expect(firstDifference(state, baseline)).toBeUndefined();
    expect(state).toEqual(baseline);
  });

  it('a replay from offset 0 into fresh tables gives the same state', async () => {
    const iso = await fresh('eo_replay', false);
    const env = runEnv(iso, once, 'replay');
    const run = await startInProcess(env);
    await waitCaughtUp(env);
    await run.stop();
    const state = await dumpState(env);
    expect(firstDifference(state, baseline)).toBeUndefined();
    expect(state).toEqual(baseline);
  });

  it('two instances in one consumer group give the same state as one', async () => {
    const iso = await fresh('eo_two', false);
    const env = runEnv(iso, once, 'two');
    const [a, b] = await Promise.all([startInProcess(env), startInProcess(env)]);
    await waitCaughtUp(env);
    await Promise.all([a.stop(), b.stop()]);
    const state = await dumpState(env);
    expect(firstDifference(state, baseline)).toBeUndefined();
    expect(state).toEqual(baseline);
  });
});
