import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import type { AuditSink } from '../../../services/analytics-api/audit.ts';
import {
  createVerifier,
  signToken,
  type Role,
  type TokenVerifier,
} from '../../../services/analytics-api/auth.ts';
import {
  assignEducator,
  revokeTokens,
  withServerChecks,
  type ServerChecksOptions,
} from '../../../services/analytics-api/server-checks.ts';

/**
 * Issue 18, finding 12, against PostgreSQL, wired as main.ts wires the API (withServerChecks around the verifier):
 * - an educator's `cohorts` claim is no longer trusted alone: a cohort in the token but not assigned on the server
 *   is refused (before the fix the token alone opened it);
 * - a token revoked with `token revoke` (by jti, or every token of a subject) is refused before it expires.
 * The cache bound is 0 here; the API default (API_SERVER_CHECKS_CACHE_MS) is 5 s. The last tests check the bound
 * itself and its price: students cost no PostgreSQL query while the process's revocation list is fresh.
 */
const SECRET = 'server-checks-secret-0123456789abcdef';
const noAudit: AuditSink = {
  record: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};

let iso: IsolatedEnv;
let pg: Pool;
let ch: ClickHouseClient;
let app: ReturnType<typeof createApiApp>;

const sign = (sub: string, role: Role, cohorts?: string[], nowSec?: number) =>
  signToken(
    { sub, role, cohorts },
    { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api', nowSec },
  );
const jtiOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

/** The verifier main.ts builds: the signature, then the server checks against `pool`. */
const checks = (pool: Pool, opts: ServerChecksOptions) =>
  withServerChecks(
    createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    pool,
    opts,
  );

const apiApp = (verify: TokenVerifier) =>
  createApiApp({
    pg,
    ch,
    redis: null,
    log: createLogger('test', 'silent'),
    registry: new Registry(),
    audit: noAudit,
    verify,
    cacheTtlSec: 0,
    cacheTimeoutMs: 500,
    kAnonymity: 10,
  });

/** The real pool, `before` called ahead of each query (to count them, or to throw as a PostgreSQL outage would). */
const beforeQuery = (pool: Pool, before: () => void): Pool =>
  new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: unknown[]) => {
        before();
        return (target.query as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });

async function get(path: string, token: string, on = app) {
  const res = await on.request(path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

beforeAll(async () => {
  iso = isolatedEnv('srvchecks');
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('c-mine', 'Mine'), ('c-other', 'Other')`);
  app = apiApp(checks(pg, { cacheMs: 0 }));
});

afterAll(async () => {
  await ch?.close();
  await pg?.end();
  if (iso) await teardown(iso);
});

describe('server-side checks of API tokens', () => {
  it('an educator reads only cohorts assigned on the server, whatever the token claims (regression)', async () => {
    await assignEducator(pg, 'edu-1', 'c-mine', true);
    const token = await sign('edu-1', 'educator', ['c-mine', 'c-other']);
    const mine = await get('/api/analytics/cohorts/c-mine/topics', token);
    expect(mine.status).not.toBe(403);
    expect(mine.status).toBeLessThan(500);
    const other = await get('/api/analytics/cohorts/c-other/topics', token);
    expect(other.status).toBe(403);
    expect(other.body.error?.code).toBe('forbidden');

    // Unassigned: the same, still valid token loses the cohort.
    expect(await assignEducator(pg, 'edu-1', 'c-mine', false)).toBe(true);
    expect((await get('/api/analytics/cohorts/c-mine/topics', token)).status).toBe(403);
  });

  it('token revoke: one token by jti, then every token of the subject issued until then (regression)', async () => {
    const before = Math.floor(Date.now() / 1000) - 5;
    const a = await sign('stu-r', 'student', undefined, before);
    const b = await sign('stu-r', 'student', undefined, before);
    expect((await get('/api/analytics/dashboard', a)).status).toBeLessThan(500);
    expect((await get('/api/analytics/dashboard', a)).status).not.toBe(401);

    await revokeTokens(pg, 'stu-r', { jti: jtiOf(a), maxTtlSec: 600 });
    const refused = await get('/api/analytics/dashboard', a);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('token_revoked');
    expect((await get('/api/analytics/dashboard', b)).status).not.toBe(401);

    await revokeTokens(pg, 'stu-r', { maxTtlSec: 600 });
    expect((await get('/api/analytics/dashboard', b)).body.error?.code).toBe('token_revoked');
    // Another subject is untouched, and a token minted after the revocation works.
    expect(
      (await get('/api/analytics/dashboard', await sign('stu-s', 'student', undefined, before))).status,
    ).not.toBe(401);
    const after = await sign('stu-r', 'student', undefined, Math.floor(Date.now() / 1000) + 2);
    expect((await get('/api/analytics/dashboard', after)).status).not.toBe(401);
  });

  it('an ingest-token revocation of the student (token revoke --ingest) leaves their API tokens alone', async () => {
    const t = await sign('stu-i', 'student', undefined, Math.floor(Date.now() / 1000) - 5);
    await revokeTokens(pg, 'stu-i', { kind: 'ingest', maxTtlSec: 900 });
    expect((await get('/api/analytics/dashboard', t)).status).not.toBe(401);
  });

  it('the cache bound: a revocation takes effect once the cached facts are older than cacheMs', async () => {
    let clock = 1_000_000;
    const verify = checks(pg, { cacheMs: 5_000, now: () => clock });
    const t = await sign('stu-c', 'student');
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-c' });
    await revokeTokens(pg, 'stu-c', { jti: jtiOf(t), maxTtlSec: 600 });
    clock += 4_999;
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-c' }); // within the documented bound
    clock += 2;
    await expect(verify(t)).rejects.toMatchObject({ code: 'token_revoked' });
  });

  it('within the bound, requests of many students cost at most the one revocation-list load (regression)', async () => {
    let queries = 0;
    const counted = beforeQuery(pg, () => queries++);
    const verify = checks(counted, { cacheMs: 60_000 });
    const students = Array.from({ length: 40 }, (_, i) => `stu-n${i}`);
    const tokens = await Promise.all(students.map((s) => sign(s, 'student')));
    for (const t of tokens) await expect(verify(t)).resolves.toMatchObject({ role: 'student' });
    for (const t of tokens) await verify(t);
    // Before: one query per student whose facts were not cached (40 here).
    expect(queries).toBeLessThanOrEqual(1);
    expect(queries).toBeGreaterThan(0); // the list was loaded from this pool
  });

  it('within the bound: a revocation of every token of a subject and an unassignment take effect once it passes', async () => {
    let clock = 2_000_000;
    const verify = checks(pg, { cacheMs: 5_000, now: () => clock });
    const student = await sign('stu-w', 'student', undefined, Math.floor(Date.now() / 1000) - 5);
    await assignEducator(pg, 'edu-w', 'c-mine', true);
    await assignEducator(pg, 'edu-w', 'c-other', true);
    const educator = await sign('edu-w', 'educator', ['c-mine', 'c-other']);
    await expect(verify(student)).resolves.toMatchObject({ sub: 'stu-w' });
    await expect(verify(educator)).resolves.toMatchObject({ cohorts: ['c-mine', 'c-other'] });

    await revokeTokens(pg, 'stu-w', { maxTtlSec: 600 });
    await assignEducator(pg, 'edu-w', 'c-other', false);
    clock += 4_999;
    await expect(verify(student)).resolves.toMatchObject({ sub: 'stu-w' }); // within the documented bound
    await expect(verify(educator)).resolves.toMatchObject({ cohorts: ['c-mine', 'c-other'] });
    clock += 2;
    await expect(verify(student)).rejects.toMatchObject({
      code: 'token_revoked',
      message: "the subject's tokens issued before the revocation are revoked",
    });
    await expect(verify(educator)).resolves.toMatchObject({ cohorts: ['c-mine'] });
  });

  it('fails as before when PostgreSQL cannot answer past the bound', async () => {
    let clock = 3_000_000;
    let down = false;
    const flaky = beforeQuery(pg, () => {
      if (down) throw new Error('connection terminated');
    });
    const verify = checks(flaky, { cacheMs: 5_000, now: () => clock });
    const t = await sign('stu-d', 'student');
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-d' });
    down = true;
    clock += 4_000; // fresh: answered from the list (a background reload fails quietly)
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-d' });
    clock += 1_000;
    await expect(verify(t)).rejects.toThrow('connection terminated');
    // The request fails (500 internal_error, as on any PostgreSQL error), never answered without the check.
    const failed = await get('/api/analytics/dashboard', t, apiApp(verify));
    expect(failed.status).toBe(500);
    expect(failed.body.error?.code).toBe('internal_error');
  });
});
