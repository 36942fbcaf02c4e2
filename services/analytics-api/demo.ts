import type { Pool } from '../shared/postgres.ts';
import { signToken } from './auth.ts';
import type { ApiConfig } from './config.ts';

/**
 * What `npm start` prints about the API: a demo student's token (and an educator's when a cohort exists) with
 * example curl commands. Local HS256 tokens only; with JWT_JWKS_URL set, tokens come from the identity provider
 * and nothing is minted.
 */
export async function demoHints(
  cfg: Pick<
    ApiConfig,
    'JWT_SECRET' | 'JWT_JWKS_URL' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'HTTP_HOST' | 'API_PORT' | 'API_DEMO_USER'
  >,
  pg?: Pool,
  ttlSec = 12 * 3600,
): Promise<string[]> {
  const base = `http://${cfg.HTTP_HOST}:${cfg.API_PORT}`;
  if (cfg.JWT_JWKS_URL) {
    return [`analytics API: ${base}/docs (tokens from the identity provider at ${cfg.JWT_JWKS_URL})`];
  }
  let user = cfg.API_DEMO_USER;
  let cohort: string | null = null;
  if (pg) {
    if (!user) {
      const { rows } = await pg
        .query<{ user_id: string }>(
          `SELECT user_id FROM topic_mastery WHERE topic_level = 2 GROUP BY user_id ORDER BY sum(attempts) DESC, user_id LIMIT 1`,
        )
        .catch(() => ({ rows: [] as Array<{ user_id: string }> }));
      user = rows[0]?.user_id ?? '';
    }
    const { rows } = await pg
      .query<{ id: string }>('SELECT id FROM cohorts ORDER BY id LIMIT 1')
      .catch(() => ({ rows: [] as Array<{ id: string }> }));
    cohort = rows[0]?.id ?? null;
    if (cohort)
      await pg
        .query(
          'INSERT INTO educator_cohorts (educator_id, cohort_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          ['demo-educator', cohort],
        )
        .catch(() => undefined); // the printed educator command then answers 403
  }
  if (!user) user = 'demo-student';
  const sign = (sub: string, role: 'student' | 'educator', cohorts?: string[]) =>
    signToken(
      { sub, role, cohorts },
      { secret: cfg.JWT_SECRET, ttlSec, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
    );
  const token = await sign(user, 'student');
  const lines = [
    `analytics API: ${base}  (OpenAPI ${base}/openapi.json, Swagger UI ${base}/docs)`,
    `demo student ${user}, token valid ${Math.round(ttlSec / 3600)} h (new ones: studystream token --user ID --role student):`,
    `  export TOKEN=${token}`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${base}/api/analytics/dashboard`,
    `  curl -s -H "Authorization: Bearer $TOKEN" '${base}/api/analytics/mastery?level=0'`,
    `  curl -s -H "Authorization: Bearer $TOKEN" '${base}/api/analytics/reviews?days=14'`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${base}/api/analytics/study-patterns`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${base}/api/analytics/percentiles`,
  ];
  if (cohort) {
    const educator = await sign('demo-educator', 'educator', [cohort]);
    lines.push(
      `demo educator of cohort ${cohort}:`,
      `  curl -s -H "Authorization: Bearer ${educator}" ${base}/api/analytics/cohorts/${cohort}/topics`,
    );
  }
  return lines;
}
