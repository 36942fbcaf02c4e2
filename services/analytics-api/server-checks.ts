import { Lru } from '../shared/lru.ts';
import type { Pool } from '../shared/postgres.ts';
import { AuthError, type Principal, type TokenVerifier } from './auth.ts';

/**
 * What a valid signature cannot tell (issue 18, finding 12): whether the token was revoked since it was minted
 * (postgres/092 token_revocations, `studystream token revoke`), and whether the educator still teaches the cohorts
 * the token lists (postgres/091 educator_cohorts, `studystream educators`). Wraps a TokenVerifier: the signature is
 * checked first, then these two facts from PostgreSQL.
 *
 * Both are cached per subject in this process for at most `cacheMs` (API_SERVER_CHECKS_CACHE_MS): that is the
 * documented bound after which a revocation or an unassignment takes effect on every API process. A subject's
 * lookup is one query (both tables), so a busy subject costs one query per bound, not one per request.
 */

type Facts = {
  /** Tokens issued at or before this (epoch s) are revoked; -Infinity when none is. */
  revokedBefore: number;
  revokedJtis: Set<string>;
  /** The cohorts assigned to this subject as an educator. */
  cohorts: Set<string>;
  loadedAt: number;
};

export type ServerChecksOptions = { cacheMs: number; maxSubjects?: number; now?: () => number };

export function withServerChecks(verify: TokenVerifier, pg: Pool, opts: ServerChecksOptions): TokenVerifier {
  const now = opts.now ?? Date.now;
  const cache = new Lru<string, Facts>(opts.maxSubjects ?? 10_000);

  async function facts(sub: string, educator: boolean): Promise<Facts> {
    const hit = cache.get(sub);
    if (hit && now() - hit.loadedAt < opts.cacheMs) return hit;
    const { rows } = await pg.query<{
      kind: 'r' | 'c';
      jti: string | null;
      at: number | null;
      cohort: string | null;
    }>(
      `SELECT 'r' AS kind, jti, extract(epoch FROM revoked_at)::float8 AS at, NULL AS cohort
         FROM token_revocations WHERE subject = $1 AND kind = 'api' AND expires_at > now()
       UNION ALL
       SELECT 'c', NULL, NULL, cohort_id FROM educator_cohorts WHERE educator_id = $1 AND $2`,
      [sub, educator],
    );
    const f: Facts = {
      revokedBefore: -Infinity,
      revokedJtis: new Set(),
      cohorts: new Set(),
      loadedAt: now(),
    };
    for (const r of rows) {
      if (r.kind === 'c') f.cohorts.add(r.cohort!);
      else if (r.jti !== null) f.revokedJtis.add(r.jti);
      else f.revokedBefore = Math.max(f.revokedBefore, r.at!);
    }
    cache.set(sub, f);
    return f;
  }

  return async (token) => {
    const principal: Principal = await verify(token);
    const f = await facts(principal.sub, principal.role === 'educator');
    if (principal.jti !== undefined && f.revokedJtis.has(principal.jti))
      throw new AuthError('token_revoked', 'the token has been revoked');
    // Revocation times have sub-second precision, iat whole seconds: a token of the same second is revoked too.
    if (f.revokedBefore !== -Infinity && (principal.iat ?? -Infinity) <= Math.floor(f.revokedBefore))
      throw new AuthError('token_revoked', "the subject's tokens issued before the revocation are revoked");
    if (principal.role === 'educator')
      return { ...principal, cohorts: principal.cohorts.filter((c) => f.cohorts.has(c)) };
    return principal;
  };
}

/**
 * Revokes one token (jti) or every token of the subject issued until now; returns the row's id. `kind`: the analytics
 * API's tokens (default) or the per-student ingest tokens (postgres/097, checked by ingest's token-revocations.ts);
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
