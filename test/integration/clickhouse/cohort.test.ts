import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { strugglingShare, studentStanding, topicDifficulty } from '../../../services/analytics/cohort.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { writeAttempts } from './support.ts';

/** 12 students: student i answers 10 cardio questions with i correct (capped at 10) and 2 renal questions. */
describe('cohort queries', () => {
  const iso = isolatedEnv('cohort');
  let ch: ClickHouseClient;
  const day = Date.UTC(2025, 2, 3, 9);
  const window = { from: new Date(Date.UTC(2025, 2, 1)), to: new Date(Date.UTC(2025, 2, 14)) };
  const users = Array.from({ length: 12 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  beforeAll(async () => {
    await provision(iso, { clickhouse: true });
    ch = createClickHouse(iso.cfg);
    const attempts = users.flatMap((user, i) => [
      ...Array.from({ length: 10 }, (_, j) => ({
        user,
        at: day + j * 1000,
        correct: j < i,
        topics: ['cardio'],
      })),
      ...Array.from({ length: 2 }, (_, j) => ({
        user,
        at: day + 60_000 + j,
        correct: true,
        topics: ['renal'],
      })),
    ]);
    await writeAttempts(ch, attempts);
  });
  afterAll(async () => {
    await ch?.close();
    await teardown(iso);
  });

  it('places a student within the cohort, with quantiles computed in ClickHouse', async () => {
    const r = await studentStanding(ch, 'u05', window, { minK: 10 });
    if (r.status !== 'ok') throw new Error('expected a figure');
    expect(r.cohortSize).toBe(12);
    // u05 has 7/12 correct; accuracies are (min(i,10)+2)/12: 5 students below, u05 alone at its value.
    expect(r.value.accuracy.value).toBeCloseTo(7 / 12);
    expect(r.value.accuracy.percentile).toBeCloseTo((100 * 5.5) / 12, 1);
    expect(r.value.questionsPerWeek.value).toBeCloseTo(12 / 2);
    expect(r.value.questionsPerWeek.percentile).toBe(50); // everyone ties
    expect(r.value.accuracy.quantiles.p50).toBeGreaterThan(0.4);
  });

  it('refuses groups below k, whatever is asked', async () => {
    const small = { ...window, userIds: users.slice(0, 9) };
    expect(await studentStanding(ch, 'u01', small, { minK: 10 })).toEqual({
      status: 'insufficient_cohort',
      cohortSize: 9,
      minK: 10,
    });
    expect(await topicDifficulty(ch, small, { minK: 10 })).toMatchObject({ status: 'insufficient_cohort' });
    expect(await strugglingShare(ch, small, { minK: 10 })).toMatchObject({ status: 'insufficient_cohort' });
    expect((await studentStanding(ch, 'u01', window, { minK: 13 })).status).toBe('insufficient_cohort');
  });

  it('ranks topics by difficulty and reports the share of struggling students', async () => {
    const d = await topicDifficulty(ch, window, { minK: 10 });
    if (d.status !== 'ok') throw new Error('expected a figure');
    expect(d.value.topics.map((t) => t.topicId)).toEqual(['cardio', 'renal']);
    expect(d.value.topics[0]!.attempts).toBe(120);
    const s = await strugglingShare(ch, window, { minK: 10, threshold: 0.6, minAttempts: 5 });
    if (s.status !== 'ok') throw new Error('expected a figure');
    // renal has only 2 attempts per student (below minAttempts): no eligible students, suppressed.
    expect(s.value.topics).toEqual([{ topicId: 'cardio', students: 12, struggling: 6, share: 0.5 }]);
    expect(s.value.suppressedTopics).toBe(0);
  });
});
