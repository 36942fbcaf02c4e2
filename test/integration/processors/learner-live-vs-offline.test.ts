/**
 * Issue 15: the live mastery processor (real Kafka, registry, PostgreSQL, Redis) stores, per student and leaf topic,
 * the same learner-model probability as the eval's offline replay of the same events (services/eval/evaluate.ts
 * finalLearnerPredictions, a path independent of the processor's row step), with a question-bank calibration
 * stored in item_calibration before the processor starts (so the processor is shown to use it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { cohort, produce, runEnv, startInProcess, waitCaughtUp } from './support.ts';
import { loadConfig } from '../../../services/shared/config.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { decodeEvents } from '../../../services/eval/cohorts.ts';
import { finalLearnerPredictions } from '../../../services/eval/evaluate.ts';
import { saveItemCalibration } from '../../../services/stream/mastery/items.ts';
import {
  difficultyToLogit,
  LEARNER_PARAMS,
  pooledLearner,
  predictLearner,
  systemOf,
  type LearnerState,
} from '../../../services/domain/learner-model.ts';
import { learnerPool, type StudentPool } from '../../../services/analytics-api/data/learner.ts';
import { learnerFields } from '../../../services/analytics-api/views/mastery-entry.ts';

describe('learner model: live processor equals the offline eval', () => {
  let iso: IsolatedEnv;
  let stored: Array<{
    key: string;
    p: number;
    lower: number;
    upper: number;
    state: LearnerState & { materialAt: number | null };
    asOf: number;
  }>;
  const pools = new Map<string, StudentPool>();
  let expected: Map<string, { p: number; lower: number; upper: number }>;
  let inputs: ReturnType<typeof decodeEvents> = [];
  let calibration = new Map<string, number>();
  const asCohort = () => ({
    spec: { seed: '23', students: 10, days: 5, noise: 'clean' as const, role: 'holdout' as const },
    inputs,
    truth: new Map(),
    students: [],
    delivered: 0,
  });

  beforeAll(async () => {
    iso = isolatedEnv('learner_live');
    await provision(iso, { postgres: true, kafka: true });
    const events = cohort(23, 10, 5);
    inputs = decodeEvents(events);
    // A calibration for every other question, shifted off the difficulty field so that using it shows.
    const questions = new Map<string, number>();
    for (const i of inputs)
      if (i.kind === 'attempt' && i.questionId !== null && i.difficulty !== null)
        questions.set(i.questionId, i.difficulty);
    calibration = new Map(
      [...questions]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .filter((_, k) => k % 2 === 0)
        .map(([id, d]) => [id, difficultyToLogit(d) + 0.5]),
    );
    const env = runEnv(iso, iso, 'learner');
    const pool = createPgPool(loadConfig(env));
    try {
      await saveItemCalibration(
        pool,
        [...calibration].map(([questionId, difficulty]) => ({
          questionId,
          difficulty,
          priorLogit: null,
          answers: 1,
        })),
      );
    } finally {
      await pool.end();
    }
    await produce(iso.cfg, events);
    const run = await startInProcess(env);
    await waitCaughtUp(env);
    await run.stop();
    expected = finalLearnerPredictions(asCohort(), { items: calibration, useField: true });
    const read = createPgPool(loadConfig(env));
    try {
      const { rows } = await read.query<{
        user_id: string;
        topic_id: string;
        p_correct: number;
        p_correct_lower: number;
        p_correct_upper: number;
        learner_state: LearnerState & { materialAt: number | null };
        as_of: number;
      }>(
        `SELECT user_id, topic_id, p_correct, p_correct_lower, p_correct_upper, learner_state,
           (extract(epoch FROM as_of) * 1000)::float8 AS as_of
         FROM topic_mastery WHERE topic_level = 2`,
      );
      stored = rows.map((r) => ({
        key: `${r.user_id}|${r.topic_id}`,
        p: r.p_correct,
        lower: r.p_correct_lower,
        upper: r.p_correct_upper,
        state: r.learner_state,
        asOf: r.as_of,
      }));
      // The API's read of each student's pooling sums.
      for (const user of new Set(rows.map((r) => r.user_id))) pools.set(user, await learnerPool(read, user));
    } finally {
      await read.end();
    }
  });

  afterAll(async () => {
    if (iso) await teardown(iso).catch(() => {});
  });

  it('stores a probability for every leaf row, equal to the offline replay', () => {
    expect(calibration.size).toBeGreaterThan(10);
    expect(stored.length).toBeGreaterThan(20);
    expect(stored.length).toBe(expected.size);
    for (const row of stored) {
      const e = expected.get(row.key);
      expect(e, row.key).toBeDefined();
      expect(row.p).toBeCloseTo(e!.p, 12);
      expect(row.lower).toBeCloseTo(e!.lower, 12);
      expect(row.upper).toBeCloseTo(e!.upper, 12);
      expect(row.p).toBeGreaterThan(0);
      expect(row.p).toBeLessThan(1);
    }
  });

  it('the pooled prediction from the stored states (what the API serves) equals the offline pooled replay', () => {
    const pooled = finalLearnerPredictions(
      asCohort(),
      { items: calibration, useField: true },
      LEARNER_PARAMS,
      true,
    );
    expect(pooled.size).toBe(stored.length);
    let moved = 0;
    for (const row of stored) {
      const [user, topic] = row.key.split('|') as [string, string];
      const pool = pools.get(user) as StudentPool;
      const state = pooledLearner(
        row.state,
        pool.student,
        pool.systems.get(systemOf(topic)) ?? { g: 0, i: 0 },
      );
      const p = predictLearner(state, row.asOf, LEARNER_PARAMS.itemPriorMean, row.state.materialAt);
      const e = pooled.get(row.key);
      expect(e, row.key).toBeDefined();
      expect(p.p).toBeCloseTo(e!.p, 10);
      expect(p.lower).toBeCloseTo(e!.lower, 10);
      expect(p.upper).toBeCloseTo(e!.upper, 10);
      expect(p.p).toBeGreaterThan(0);
      expect(p.p).toBeLessThan(1);
      // The API's fields: the same value (rounded to 3 decimals), and pooling changes the stored row's value.
      const api = learnerFields(row.state, null, topic, row.asOf, row.asOf, pool);
      expect(api.pCorrect?.value).toBeCloseTo(e!.p, 3);
      if (Math.abs(e!.p - row.p) > 1e-6) moved++;
    }
    expect(moved).toBeGreaterThan(stored.length / 2);
  });

  it('the processor used the stored calibration: the replay without it differs on many rows', () => {
    const without = finalLearnerPredictions(asCohort(), { items: new Map(), useField: true });
    const differing = stored.filter((r) => Math.abs((without.get(r.key)?.p ?? NaN) - r.p) > 1e-6);
    expect(differing.length).toBeGreaterThan(stored.length / 4);
  });
});
