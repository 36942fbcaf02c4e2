import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import { PgAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken } from '../../../services/analytics-api/auth.ts';

/**
 * Issue 18, finding 11, against PostgreSQL: refused requests are audited (400, 401, 403), the audit key is generated
 * by the server (the client's X-Request-Id is kept apart), and the API's role (studystream_api, migration 070)
 * reads but cannot update or delete audit rows, even when granted DELETE by mistake (the append-only trigger).
 */
const SECRET = 'audit-hardening-secret-audit-hardening';
const log = createLogger('test', 'silent');
let iso: IsolatedEnv;
let owner: Pool;
let api: Pool;
let ch: ClickHouseClient;
let audit: PgAuditLog;
let app: ReturnType<typeof createApiApp>;

beforeAll(async () => {
  iso = isolatedEnv('audit');
  await provision(iso, { postgres: true });
  owner = createPgPool(iso.cfg);
  api = createPgPool(iso.cfg, { role: 'studystream_api' });
  ch = createClickHouse(iso.cfg);
  audit = new PgAuditLog(api, { flushMs: 50, batchRows: 1000, maxBuffer: 1000 }, new Registry(), log);
  app = createApiApp({
    pg: api,
    ch,
    redis: null,
    log,
    registry: new Registry(),
    audit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 0,
    cacheTimeoutMs: 100,
    kAnonymity: 10,
  });
});

afterAll(async () => {
  await audit?.close();
  await api?.end();
  await owner?.end();
  await ch?.close();
  if (iso) await teardown(iso);
});

const rowsFor = async (clientIds: string[]) =>
  (
    await owner.query(
      `SELECT request_id, client_request_id, actor_id, actor_role, route, subject_user_id, status
       FROM audit_log WHERE client_request_id = ANY($1) ORDER BY client_request_id`,
      [clientIds],
    )
  ).rows;

describe('audit of refused requests, server request ids', () => {
  it('401, 400 and 403 are audited under a server-generated id', async () => {
    const student = await signToken(
      { sub: 'stu-1', role: 'student' },
      { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
    );
    const none = await app.request('/api/analytics/reviews', { headers: { 'X-Request-Id': 'c-401' } });
    expect(none.status).toBe(401);
    const serverId = none.headers.get('X-Request-Id');
    expect(serverId).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers.get('X-Client-Request-Id')).toBe('c-401');
    const bad = await app.request('/api/analytics/reviews?days=zzz', {
      headers: { Authorization: `Bearer ${student}`, 'X-Request-Id': 'c-400' },
    });
    expect(bad.status).toBe(400);
    const other = await app.request('/api/analytics/reviews?user=stu-2', {
      headers: { Authorization: `Bearer ${student}`, 'X-Request-Id': 'c-403' },
    });
    expect(other.status).toBe(403);
    await audit.flush();
    const rows = await rowsFor(['c-400', 'c-401', 'c-403']);
    expect(rows.map((r) => [r.client_request_id, r.actor_id, r.actor_role, r.status])).toEqual([
      ['c-400', 'stu-1', 'student', 400],
      ['c-401', '-', 'anonymous', 401],
      ['c-403', 'stu-1', 'student', 403],
    ]);
    expect(rows.find((r) => r.client_request_id === 'c-401')!.request_id).toBe(serverId);
    for (const r of rows) expect(r.request_id).not.toBe(r.client_request_id);
  });

  it('a client cannot choose the audit key', async () => {
    const res = await app.request('/api/analytics/reviews', { headers: { 'X-Request-Id': 'fixed-id' } });
    const res2 = await app.request('/api/analytics/reviews', { headers: { 'X-Request-Id': 'fixed-id' } });
    expect(res.headers.get('X-Request-Id')).not.toBe('fixed-id');
    expect(res.headers.get('X-Request-Id')).not.toBe(res2.headers.get('X-Request-Id'));
  });
});

describe("the API's database role", () => {
  it('reads the serving tables and inserts audit rows, but cannot update or delete them', async () => {
    expect((await api.query('SELECT count(*)::int AS n FROM topics')).rows[0].n).toBeGreaterThan(0);
    expect((await api.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBeGreaterThan(0);
    await expect(api.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied/);
    await expect(api.query(`UPDATE audit_log SET status = 200`)).rejects.toThrow(/permission denied/);
    await expect(api.query('TRUNCATE audit_log')).rejects.toThrow(/permission denied/);
    await expect(api.query(`DELETE FROM topic_mastery`)).rejects.toThrow(/permission denied/);
  });

  it('even granted DELETE by mistake, a role other than the owner cannot rewrite the audit log (trigger)', async () => {
    await owner.query('GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO studystream_api');
    await expect(api.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(api.query(`UPDATE audit_log SET status = 200`)).rejects.toThrow(/append-only/);
    await expect(api.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await owner.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBeGreaterThan(0);
  });
});
