import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import type { AuditSink } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';
import {
  assignEducator,
  revokeTokens,
  withServerChecks,
} from '../../../services/analytics-api/server-checks.ts';

/**
 * Issue 18, finding 12, against PostgreSQL, wired as main.ts wires the API (withServerChecks around the verifier):
 * - an educator's `cohorts` claim is no longer trusted alone: a cohort in the token but not assigned on the server
 *   is refused (before the fix the token alone opened it);
 * - a token revoked with `token revoke` (by jti, or every token of a subject) is refused before it expires.
 * The cache bound is 0 here; the API default (API_SERVER_CHECKS_CACHE_MS) is 5 s.
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

async function get(path: string, token: string) {
  const res = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

beforeAll(async () => {
  iso = isolatedEnv('srvchecks');
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('c-mine', 'Mine'), ('c-other', 'Other')`);
  app = createApiApp({
    pg,
    ch,
    redis: null,
    log: createLogger('test', 'silent'),
    registry: new Registry(),
    audit: noAudit,
    verify: withServerChecks(
      createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
      pg,
      { cacheMs: 0 },
    ),
    cacheTtlSec: 0,
    cacheTimeoutMs: 500,
    kAnonymity: 10,
  });
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
    const verify = withServerChecks(
      createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
      pg,
      { cacheMs: 5_000, now: () => clock },
    );
    const t = await sign('stu-c', 'student');
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-c' });
    await revokeTokens(pg, 'stu-c', { jti: jtiOf(t), maxTtlSec: 600 });
    clock += 4_999;
    await expect(verify(t)).resolves.toMatchObject({ sub: 'stu-c' }); // within the documented bound
    clock += 2;
    await expect(verify(t)).rejects.toMatchObject({ code: 'token_revoked' });
  });
});
