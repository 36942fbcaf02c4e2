/**
 * `rebuild --store mastery` on data with client re-sends (every event twice, at other offsets) and reordering
 * within the allowed lateness: the in-memory build applies each event once, exactly as the live processor's
 * processed_events claims do, so the rebuilt tables equal the live ones and the switch keeps them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  cohort,
  dumpState,
  duplicatedAndShuffled,
  firstDifference,
  produce,
  runEnv,
  startInProcess,
  waitCaughtUp,
} from '../processors/support.ts';
import { cli } from './support.ts';

let iso: IsolatedEnv;
let pool: Pool;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  iso = isolatedEnv('rbm');
  await provision(iso, { postgres: true, kafka: true });
  pool = createPgPool(iso.cfg);
  env = runEnv(iso, iso, 'live');
});

afterAll(async () => {
  await pool?.end();
  if (iso) await teardown(iso);
});

describe('rebuild --store mastery with client re-sends', () => {
  it('counts every event once and equals the live state', async () => {
    const events = duplicatedAndShuffled(cohort(29, 8, 5), 20 * 60_000);
    await produce(iso.cfg, events);
    const live = await startInProcess(env);
    try {
      await waitCaughtUp(env);
      const before = await dumpState(env);
      const claims = async () =>
        (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events')).rows[0]?.n;
      const claimsBefore = await claims();
      expect(claimsBefore).toBeGreaterThan(100);
      expect(before.topic_mastery?.length).toBeGreaterThan(50);

      const res = await cli(env, ['rebuild', '--store', 'mastery', '--confirm-drop-old', '--quiet'], 300_000);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/topic_mastery\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(res.stdout).toMatch(/topic_mastery_history\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(res.stdout).toMatch(/switched; old data dropped/);
      const after = await dumpState(env);
      expect(firstDifference(before, after)).toBeUndefined();
      expect(await claims()).toBe(claimsBefore);
    } finally {
      await live.stop();
    }
  });
});
