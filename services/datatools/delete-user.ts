import type { Pool } from '../shared/postgres.ts';
import { withTransaction } from '../shared/postgres.ts';

/**
 * The PostgreSQL tables holding a student's derived state. The audit log is kept on purpose: it records who read
 * the data, which the deletion itself must not erase.
 */
export const PG_USER_TABLES = [
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
] as const;

export type PgDeletionReport = { table: string; deleted: number }[];

/** Removes one user's rows from every PostgreSQL state table in one transaction and reports the counts. */
export async function deleteUserFromPostgres(pool: Pool, userId: string): Promise<PgDeletionReport> {
  if (userId.length === 0) throw new Error('user id must not be empty');
  return withTransaction(pool, async (client) => {
    const report: PgDeletionReport = [];
    for (const table of PG_USER_TABLES) {
      const result = await client.query(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
      report.push({ table, deleted: result.rowCount ?? 0 });
    }
    return report;
  });
}
