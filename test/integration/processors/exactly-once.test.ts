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

  beforeAll(async () => {
    once = await fresh('eo_once', true);
    await produce(once.cfg, cohort(11, 15, 6));
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
