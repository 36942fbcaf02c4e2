import { Lru } from '../shared/lru.ts';
import type { Pool } from '../shared/postgres.ts';
import { PgTokenRevocations } from '../shared/token-revocations.ts';
import { AuthError, type Principal, type TokenVerifier } from './auth.ts';

/**
 * What a valid signature cannot tell (issue 18, finding 12): whether the token was revoked since it was minted
 * (postgres/092 token_revocations, `studystream token revoke`), and whether the educator still teaches the cohorts
 * the token lists (postgres/091 educator_cohorts, `studystream educators`). Wraps a TokenVerifier: the signature is
 * checked first, then these two facts from PostgreSQL.
 *
 * `cacheMs` (API_SERVER_CHECKS_CACHE_MS) is the documented bound after which a revocation or an unassignment takes
 * effect on every API process:
 * - revocations: each process holds the whole list of unexpired API-token revocations and reloads it with one query
 *   per bound (shared/token-revocations.ts), so a request costs no query while the list is fresh, however many
 *   students ask; when PostgreSQL cannot answer past the bound, the check throws and the request fails as on any
 *   PostgreSQL error (fails closed);
 * - an educator's assigned cohorts: looked up per educator and cached in this process for at most the bound (one
 *   query per educator per bound; students and admins cause none).
 */

type Assigned = { cohorts: Set<string>; loadedAt: number };

export type ServerChecksOptions = { cacheMs: number; maxSubjects?: number; now?: () => number };

export function withServerChecks(verify: TokenVerifier, pg: Pool, opts: ServerChecksOptions): TokenVerifier {
  const now = opts.now ?? Date.now;
  const revocations = new PgTokenRevocations(pg, 'api', opts.cacheMs, now);
  const assigned = new Lru<string, Assigned>(opts.maxSubjects ?? 10_000);

  async function cohortsOf(educator: string): Promise<Set<string>> {
    const hit = assigned.get(educator);
    if (hit && now() - hit.loadedAt < opts.cacheMs) return hit.cohorts;
    const loadedAt = now();
    const { rows } = await pg.query<{ cohort_id: string }>(
      'SELECT cohort_id FROM educator_cohorts WHERE educator_id = $1',
      [educator],
    );
    const cohorts = new Set(rows.map((r) => r.cohort_id));
    assigned.set(educator, { cohorts, loadedAt });
    return cohorts;
  }

  return async (token) => {
    const principal: Principal = await verify(token);
    const revoked = await revocations.revocation({
      subject: principal.sub,
      jti: principal.jti,
      iat: principal.iat,
    });
    if (revoked === 'token') throw new AuthError('token_revoked', 'the token has been revoked');
    if (revoked === 'subject')
      throw new AuthError('token_revoked', "the subject's tokens issued before the revocation are revoked");
    if (principal.role === 'educator') {
      const cohorts = await cohortsOf(principal.sub);
      return { ...principal, cohorts: principal.cohorts.filter((c) => cohorts.has(c)) };
    }
    return principal;
  };
}

/**
 * Revokes one token (jti) or every token of the subject issued until now; returns the row's id. `kind`: the analytics
 * API's tokens (default) or the per-student ingest tokens (postgres/097, checked by ingest with shared/token-revocations.ts);
 * `maxTtlSec` is the longest lifetime of that kind of token (JWT_MAX_TTL_SEC, INGEST_TOKEN_MAX_TTL_SEC).
 */
export async function revokeTokens(
  pg: Pool,
  subject: string,
  opts: { jti?: string; reason?: string; maxTtlSec: number; kind?: 'api' | 'ingest' },
): Promise<number> {
  const { rows } = await pg.query<{ id: string }>(
    `INSERT INTO token_revocations (subject, jti, expires_at, reason, kind)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5) RETURNING id`,
    [subject, opts.jti ?? null, opts.maxTtlSec + 60, opts.reason ?? '', opts.kind ?? 'api'],
  );
  return Number(rows[0]!.id);
}

/** Assigns (or unassigns) an educator to a cohort; returns whether a row changed. */
export async function assignEducator(
  pg: Pool,
  educator: string,
  cohort: string,
  assign: boolean,
): Promise<boolean> {
  const result = assign
    ? await pg.query(
        'INSERT INTO educator_cohorts (educator_id, cohort_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [educator, cohort],
      )
    : await pg.query('DELETE FROM educator_cohorts WHERE educator_id = $1 AND cohort_id = $2', [
        educator,
        cohort,
      ]);
  return (result.rowCount ?? 0) > 0;
}

export async function listAssignments(
  pg: Pool,
  educator?: string,
): Promise<Array<{ educator_id: string; cohort_id: string }>> {
  const { rows } = await pg.query<{ educator_id: string; cohort_id: string }>(
    `SELECT educator_id, cohort_id FROM educator_cohorts WHERE $1::text IS NULL OR educator_id = $1
      ORDER BY educator_id, cohort_id`,
    [educator ?? null],
  );
  return rows;
}
