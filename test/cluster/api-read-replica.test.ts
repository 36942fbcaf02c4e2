/**
 * The analytics API on the cluster profile reads from the PostgreSQL standby (PG_READ_URL) where staleness is
 * acceptable and from the primary (DATABASE_URL) where it is not. An API process runs with both URLs; the
 * standby's WAL replay is paused (pg_wal_replay_pause, so it lags by construction), and then:
 *  - a finished session written to the primary is absent from /api/analytics/sessions (a `reads: 'replica'`
 *    route) while replay is paused, and present once replay resumes: the route reads the standby;
 *  - a token revocation written to the primary is enforced at once (401 token_revoked) although the standby has
 *    not seen it: the server checks read the primary;
 *  - the API's connections are on the standby under application_name studystream-api-replica, on the primary
 *    under studystream-api (pg_stat_activity of each server);
 *  - the cache does not keep the stale answer: the processors' invalidation (published while the standby lags)
 *    is applied a second time API_REPLICA_SETTLE_MS later, so the answer cached from the lagging standby is
 *    replaced by the primary's state once replay resumes, with the 5-minute cache TTL on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { signToken } from '../../services/analytics-api/auth.ts';
import { revokeTokens } from '../../services/analytics-api/server-checks.ts';
import { invalidationChannel, invalidationMessages } from '../../services/shared/invalidation.ts';
import { createPgPool, type Pool } from '../../services/shared/postgres.ts';
import { isolatedEnv, provision, teardown } from '../support/isolated.ts';
import { freePort, stopServices, type StartedService } from '../support/process.ts';
import { ROOT, startLogged, until } from './support.ts';

const USER = 'stu_replica_001';
const SETTLE_MS = 1500;

describe('cluster: the API reads the replica where staleness is acceptable, the primary where not', () => {
  const iso = isolatedEnv('readrep');
  let api: StartedService | undefined;
  let primary: Pool | undefined;
  let standby: Pool | undefined;
  let paused = false;
  afterAll(async () => {
    if (paused) await standby?.query('SELECT pg_wal_replay_resume()').catch(() => {});
    if (api) await stopServices([api]);
    await primary?.end();
    await standby?.end();
    await teardown(iso).catch(() => {});
  });

  it('sessions from the standby (stale while it lags), revocations from the primary (at once)', async () => {
    const readUrl = process.env.PG_READ_URL!;
    expect(readUrl).toBeTruthy();
    expect(readUrl).not.toBe(iso.cfg.DATABASE_URL);
    await provision(iso, { postgres: true });
    primary = createPgPool(iso.cfg);
    standby = createPgPool({ ...iso.cfg, DATABASE_URL: readUrl });
    const db = { primary, standby };
    const port = await freePort();
    const secret = iso.env.JWT_SECRET!;
    api = await startLogged(
      iso,
      'api',
      `${ROOT}services/analytics-api/main.ts`,
      {
        ...iso.env,
        API_PORT: String(port),
        PG_READ_URL: readUrl,
        API_SERVER_CHECKS_CACHE_MS: '0',
        API_CACHE_TTL_SEC: '300',
        API_REPLICA_SETTLE_MS: String(SETTLE_MS),
        LOG_LEVEL: 'warn',
      },
      `http://127.0.0.1:${port}`,
    );
    const token = () =>
      signToken(
        { sub: USER, role: 'student' },
        { secret, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
      );
    const sessions = async (t: string) => {
      const res = await fetch(`${api!.url}/api/analytics/sessions?limit=10`, {
        headers: { authorization: `Bearer ${t}` },
      });
      const body = (await res.json()) as { recent?: Array<{ sessionId: string }>; error?: { code: string } };
      return { status: res.status, body, ids: (body.recent ?? []).map((s) => s.sessionId) };
    };
    const insertSession = (id: string) =>
      db.primary.query(
        `INSERT INTO study_sessions (session_id, user_id, started_at, ended_at, end_reason, duration_ms, active_ms,
           idle_ms, pause_count, questions_answered, questions_correct, materials_opened, notes, highlights,
           ai_coach_interactions, event_count)
         VALUES ($1, $2, now() - interval '20 minutes', now(), 'ended', 1200000, 1000000, 200000, 0, 4, 3, 0, 0, 0,
           0, 4)`,
        [id, USER],
      );
    const standbyHas = async (id: string) =>
      (await db.standby.query(`SELECT count(*)::int AS n FROM study_sessions WHERE session_id = $1`, [id]))
        .rows[0].n === 1;

    // Before the lag: a session on the primary reaches the standby and the API.
    await insertSession('s-before');
    await until('the standby to replay s-before', () => standbyHas('s-before'), 30_000);
    const t1 = await token();
    expect((await sessions(t1)).ids).toEqual(['s-before']);

    // The standby stops replaying: it lags the primary from here on.
    await db.standby.query('SELECT pg_wal_replay_pause()');
    paused = true;
    await insertSession('s-during');
    // What the processors do after a commit: announce the student's change (services/shared/invalidation.ts).
    const redis = new Redis(iso.cfg.REDIS_URL);
    try {
      for (const m of invalidationMessages([USER]))
        await redis.publish(invalidationChannel(iso.cfg.REDIS_KEY_PREFIX), m);
    } finally {
      redis.disconnect();
    }
    await new Promise((r) => setTimeout(r, 300)); // the first version change applied
    const stale = await sessions(t1);
    expect(stale.status).toBe(200);
    // Stale: the replica route does not see the primary's row.
    expect(stale.ids).toEqual(['s-before']);
    expect(await standbyHas('s-during')).toBe(false);

    // Where the API's connections are: the replica pool on the standby, the primary pool on the primary.
    const appNames = async (pool: Pool) =>
      (
        await pool.query<{ name: string }>(
          `SELECT DISTINCT application_name AS name FROM pg_stat_activity
            WHERE application_name LIKE 'studystream-api%' AND pid <> pg_backend_pid() ORDER BY 1`,
        )
      ).rows.map((r) => r.name);
    expect(await appNames(db.standby)).toEqual(['studystream-api-replica']);
    expect(await appNames(db.primary)).toContain('studystream-api');
    expect(await appNames(db.primary)).not.toContain('studystream-api-replica');

    // Stale-sensitive: a revocation on the primary is enforced at once, although the standby has not replayed it.
    await revokeTokens(db.primary, USER, { maxTtlSec: 600, reason: 'replica test' });
    expect(
      (await db.standby.query(`SELECT count(*)::int AS n FROM token_revocations WHERE subject = $1`, [USER]))
        .rows[0].n,
    ).toBe(0);
    const revoked = await sessions(t1);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error?.code).toBe('token_revoked');

    // Replay resumes; after the settle delay the stale cached answer is unreachable and the route sees the row.
    await db.standby.query('SELECT pg_wal_replay_resume()');
    paused = false;
    await until('the standby to replay s-during', () => standbyHas('s-during'), 30_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS + 500));
    await new Promise((r) => setTimeout(r, 1000)); // a new token's iat must follow the revocation's second
    const fresh = await sessions(await token());
    expect(fresh.status).toBe(200);
    expect(fresh.ids.sort()).toEqual(['s-before', 's-during']);
  }, 240_000);
});
