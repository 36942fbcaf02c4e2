import type { Pool } from '../../shared/postgres.ts';
import type { PoolSums } from '../../domain/learner-model.ts';
import { learnerPoolSums } from '../../stream/index.ts';
import { prepared } from './statements.ts';

/**
 * A student's learner-model pooling sums (learner_state pg, pi over their leaf rows): in total and per organ
 * system (services/domain/learner-model.ts pooledLearner). One grouped read of the student's leaf rows, through the
 * mastery processor's projection of learner_state (services/stream/mastery/read-model.ts).
 */
export type StudentPool = { student: PoolSums; systems: Map<string, PoolSums> };

export async function learnerPool(pg: Pool, user: string): Promise<StudentPool> {
  const { rows } = await prepared<unknown[]>(
    pg,
    `SELECT split_part(m.topic_id, '.', 1), ${learnerPoolSums('m')}
     FROM topic_mastery m WHERE m.user_id = $1 AND m.topic_level = 2 GROUP BY 1 ORDER BY 1`,
    [user],
    'array',
  );
  const pool: StudentPool = { student: { g: 0, i: 0 }, systems: new Map() };
  for (const r of rows) {
    const sums = { g: Number(r[1]), i: Number(r[2]) };
    pool.systems.set(String(r[0]), sums);
    pool.student.g += sums.g;
    pool.student.i += sums.i;
  }
  return pool;
}
