/**
 * A decode asks SubjectKeys for the student behind a record's user_id; when its erasure check has expired it
 * refreshes it from PostgreSQL first. A refresh slower than SUBJECT_CACHE_MS (PostgreSQL restarting, a loaded host)
 * used to leave the check expired again, and the live student came out as erased: the record was dropped and its
 * position committed (the cluster profile's PostgreSQL restart test: one answer missing from mastery, one from a
 * session). Here the clock moves 5 s per reading, so every refresh is "slower" than the 1 s cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { ERASED_USER_ID, eraseSubject, SubjectKeys } from '../../../services/shared/subjects.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';

describe('subject keys with a refresh slower than the cache', () => {
  const iso = isolatedEnv('subjslow');
  let pool: Pool;
  beforeAll(async () => {
    await provision(iso, { postgres: true });
    pool = createPgPool(iso.cfg);
  });
  afterAll(async () => {
    await pool?.end();
    await teardown(iso);
  });

  it('a live student stays live, an erased one stays erased', async () => {
    let t = 0;
    const keys = new SubjectKeys(pool, { cacheMs: 1000, now: () => (t += 5000) });
    expect(await keys.userOf('stu_live_01')).toBe('stu_live_01');
    await eraseSubject(pool, 'stu_gone_01');
    expect(await keys.userOf('stu_gone_01')).toBe(ERASED_USER_ID);
    expect(await keys.userOf('stu_live_01')).toBe('stu_live_01');
  });
});
