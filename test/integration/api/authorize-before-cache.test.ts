import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import type { AuditSink } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';

/**
 * Issue 18, finding 7: authorisation runs before the cache on every route. A student removed from a cohort is
 * refused at once, although their earlier answer is still cached (before the fix the membership check ran in the
 * handler, after the cache lookup, and the cached entry answered 200).
 */
const SECRET = 'authorize-before-cache-secret-0123456789';
const noAudit: AuditSink = {
  record: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};

let iso: IsolatedEnv;
let pg: Pool;
let ch: ClickHouseClient;
let redis: Redis;
let app: ReturnType<typeof createApiApp>;

const token = (sub: string, role: Role = 'student', cohorts?: string[]) =>
  signToken(
    { sub, role, cohorts },
    { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
  );

async function get(path: string, sub: string, role: Role = 'student', cohorts?: string[]) {
  const res = await app.request(path, {
    headers: { Authorization: `Bearer ${await token(sub, role, cohorts)}` },
  });
  return {
    status: res.status,
    cache: res.headers.get('X-Cache'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  iso = isolatedEnv('authz');
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  redis = createRedis(iso.cfg);
  await new Promise((resolve) => redis.once('ready', resolve));
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('c-a', 'A'), ('c-b', 'B')`);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) VALUES ('c-a', 'stu-1'), ('c-b', 'stu-1')`);
  app = createApiApp({
    pg,
    ch,
    redis,
    log: createLogger('test', 'silent'),
    registry: new Registry(),
    audit: noAudit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 300,
    cacheTimeoutMs: 500,
    kAnonymity: 10,
  });
});

afterAll(async () => {
  redis?.disconnect();
  await ch?.close();
  await pg?.end();
  if (iso) await teardown(iso);
});

describe('authorisation before the cache', () => {
  it('refuses a student removed from a cohort although the answer is cached', async () => {
    const first = await get('/api/analytics/percentiles?cohort=c-a', 'stu-1');
    expect(first.status).toBe(200);
    expect(first.cache).toBe('miss');
    expect((await get('/api/analytics/percentiles?cohort=c-a', 'stu-1')).cache).toBe('hit');

    await pg.query(`DELETE FROM cohort_members WHERE cohort_id = 'c-a' AND user_id = 'stu-1'`);
    const after = await get('/api/analytics/percentiles?cohort=c-a', 'stu-1');
    expect(after.status).toBe(403);
    expect(after.body).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('the default cohort follows the current membership, not a cached answer', async () => {
    await pg.query(
      `INSERT INTO cohort_members (cohort_id, user_id) VALUES ('c-a', 'stu-2'), ('c-b', 'stu-2')`,
    );
    const first = await get('/api/analytics/percentiles', 'stu-2');
    expect(first.body.cohort).toBe('c-a');
    await pg.query(`DELETE FROM cohort_members WHERE cohort_id = 'c-a' AND user_id = 'stu-2'`);
    const after = await get('/api/analytics/percentiles', 'stu-2');
    expect(after.status).toBe(200);
    expect(after.body.cohort).toBe('c-b');
  });
});

describe('authorisation before the cache, on every route', () => {
  it('a caller refused now is refused although the answer is cached (student and cohort routes)', async () => {
    const { rows } = await pg.query<{ id: string }>('SELECT id FROM topics ORDER BY id LIMIT 1');
    const topic = rows[0]!.id;
    let checked = 0;
    for (const spec of ROUTES.filter((r) => r.cache)) {
      const path = spec.path.replace(':topic', topic).replace(':cohort', 'c-b');
      if (spec.scope === 'student') {
        // The rightful caller fills the cache; the entry is keyed by the student.
        expect((await get(path, 'stu-1')).status, path).toBe(200);
        expect((await get(path, 'stu-1')).cache, path).toBe('hit');
        const named = `${path}${path.includes('?') ? '&' : '?'}user=stu-1`;
        const other = await get(named, 'stu-9');
        expect([other.status, other.body.error], path).toEqual([
          403,
          expect.objectContaining({ code: 'forbidden' }),
        ]);
        const educator = await get(named, 'edu-1', 'educator', ['c-b']);
        expect([educator.status, educator.body.error], path).toEqual([
          403,
          expect.objectContaining({ code: 'aggregates_only' }),
        ]);
      } else {
        // The cohort's entry is shared by every caller allowed to read it: an admin fills it.
        expect((await get(path, 'adm-1', 'admin')).status, path).toBe(200);
        expect((await get(path, 'edu-b', 'educator', ['c-b'])).cache, path).toBe('hit');
        const stranger = await get(path, 'edu-a', 'educator', ['c-a']);
        expect([stranger.status, stranger.body.error], path).toEqual([
          403,
          expect.objectContaining({ code: 'forbidden' }),
        ]);
        expect((await get(path, 'stu-1')).status, path).toBe(403);
      }
      checked++;
    }
    expect(checked).toBe(ROUTES.filter((r) => r.cache).length);
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});
