import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUserFromPostgres } from '../../../services/datatools/delete-user.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('deluser');
let pool: Pool;

async function seed(user: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await pool.query(
      `INSERT INTO study_sessions (session_id, user_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms,
         pause_count, questions_answered, questions_correct, materials_opened, notes, highlights, ai_coach_interactions,
         event_count)
       VALUES ($1, $2, now(), now(), 'ended', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)`,
      [`${user}-s${i}`, user],
    );
    await pool.query(
      `INSERT INTO late_events (processor, event_id, user_id, occurred_at, reason, handling)
       VALUES ('sessions', $1, $2, now(), 'too_late', 'recorded_only')`,
      [`${user}-e${i}`, user],
    );
  }
  await pool.query(`INSERT INTO cohorts (id, name) VALUES ('c1', 'c1') ON CONFLICT DO NOTHING`);
  await pool.query(`INSERT INTO cohort_members (cohort_id, user_id) VALUES ('c1', $1)`, [user]);
  // A frozen cohort release holding the student's own standing (postgres/085).
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO cohort_releases (scope, window_kind, period, window_from, window_to, k, body)
     VALUES ('cohort:c1', 'month', '2026-02', '2026-02-01', '2026-02-28', 10, '{}')
     ON CONFLICT (scope, window_kind, period, k) DO UPDATE SET k = EXCLUDED.k RETURNING id`,
  );
  await pool.query(
    `INSERT INTO cohort_release_members (release_id, user_id, standing) VALUES ($1, $2, '{}')`,
    [rows[0]!.id, user],
  );
}

const PG_USER_TABLES = [
  'topic_mastery_history',
  'topic_mastery',
  'student_study_days',
  'student_materials',
  'study_sessions',
  'late_events',
  'cohort_members',
  'cohort_release_members',
  'knowledge_gaps',
  'user_learning_metrics',
];

async function rowsOf(user: string): Promise<number> {
  let total = 0;
  for (const table of PG_USER_TABLES)
    total += (await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [user])).rows[0]
      .n;
  return total;
}

describe('delete-user in PostgreSQL', () => {
  beforeAll(async () => {
    await provision(iso, { postgres: true });
    pool = createPgPool(iso.cfg);
    await seed('stu_a', 3);
    await seed('stu_b', 2);
  });
  afterAll(async () => {
    await pool.end();
    await teardown(iso);
  });

  it('removes exactly one student and reports what it removed', async () => {
    expect(await rowsOf('stu_a')).toBe(8);
    const report = await deleteUserFromPostgres(pool, 'stu_a');
    // Every table with a user_id column is found (the audit log is kept); these are the ones seeded here.
    const bySchema = Object.fromEntries(
      report.map((r) => [r.table.replace(`${iso.cfg.PG_SCHEMA}.`, ''), r.deleted]),
    );
    expect(bySchema).not.toHaveProperty('audit_log');
    expect(bySchema).toMatchObject({
      topic_mastery_history: 0,
      topic_mastery: 0,
      student_study_days: 0,
      student_materials: 0,
      study_sessions: 3,
      late_events: 3,
      cohort_members: 1,
      cohort_release_members: 1,
      knowledge_gaps: 0,
      user_learning_metrics: 0,
    });
    expect(await rowsOf('stu_a')).toBe(0);
    expect(await rowsOf('stu_b')).toBe(6);
  });
});
