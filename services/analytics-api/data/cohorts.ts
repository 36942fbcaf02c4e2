import type { Pool } from '../../shared/postgres.ts';
import { prepared, type Raw } from './statements.ts';

/** Cohort reads: memberships (cohorts, cohort_members) and per-leaf mastery sums over a cohort's members. */

export async function cohortsOf(pg: Pool, user: string): Promise<string[]> {
  const { rows } = await prepared<{ cohort_id: string }>(
    pg,
    'SELECT cohort_id FROM cohort_members WHERE user_id = $1 ORDER BY cohort_id',
    [user],
  );
  return rows.map((r) => r.cohort_id);
}

export async function cohortExists(pg: Pool, cohort: string): Promise<boolean> {
  const { rows } = await prepared(pg, 'SELECT 1 FROM cohorts WHERE id = $1', [cohort]);
  return rows.length > 0;
}

export async function cohortMembers(pg: Pool, cohort: string): Promise<string[] | null> {
  const { rows } = await prepared<{ user_id: string | null }>(
    pg,
    `SELECT m.user_id FROM cohorts c LEFT JOIN cohort_members m ON m.cohort_id = c.id WHERE c.id = $1 ORDER BY m.user_id`,
    [cohort],
  );
  if (rows.length === 0) return null;
  return rows.map((r) => r.user_id).filter((u): u is string => u !== null);
}

export type CohortLeafSums = {
  studied: number;
  scoreSum: number;
  below: number;
  recentSum: number;
  recentN: number;
};

/** Per leaf topic over `members`: students with a row, sum of mastery, rows below 0.8, recent accuracy sums. */
export async function cohortLeafMastery(pg: Pool, members: string[]): Promise<Map<string, CohortLeafSums>> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT topic_id, count(*)::float8 AS n, sum(mastery_score) AS s, count(*) FILTER (WHERE mastery_score < 0.8)::float8 AS b,
            sum(recent_accuracy) AS rs, count(recent_accuracy)::float8 AS rn
     FROM topic_mastery WHERE user_id = ANY($1::text[]) AND topic_level = 2 GROUP BY topic_id`,
    [members],
  );
  return new Map(
    rows.map((r) => [
      String(r.topic_id),
      {
        studied: Number(r.n),
        scoreSum: Number(r.s),
        below: Number(r.b),
        recentSum: Number(r.rs ?? 0),
        recentN: Number(r.rn),
      },
    ]),
  );
}
