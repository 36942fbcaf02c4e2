import type { Pool } from '../../shared/postgres.ts';
import { systemOf, type PoolSums } from '../../domain/learner-model.ts';
import { learnerPoolSums, type LearnerNowState } from '../../stream/index.ts';
import { prepared } from './statements.ts';

/**
 * A student's learner-model pooling sums (learner_state pg, pi over their leaf rows): in total and per organ
 * system (services/domain/learner-model.ts pooledLearner). Two ways to the same floats: learnerPool, one grouped
 * read of the student's leaf rows through the mastery processor's projection of learner_state
 * (services/stream/mastery/read-model.ts), or poolOfLeaves, from rows already read that hold every leaf of the
 * student (the full mastery list). They add a system's rows in different orders (the read in the order its plan
 * scans them, not fixed before either), so their sums may differ in the last bits (relative ~1e-16), which the API's
 * rounding does not show (test/integration/api/mastery-pool.test.ts). An ordered sum in the read would make them
 * bit-identical but costs the read 0.07-0.15 ms of server time (a sort per group), on the topic route's hot path.
 */
export type StudentPool = { student: PoolSums; systems: Map<string, PoolSums> };

function withTotal(systems: Map<string, PoolSums>): StudentPool {
  const pool: StudentPool = { student: { g: 0, i: 0 }, systems };
  for (const name of [...systems.keys()].sort()) {
    const sums = systems.get(name)!;
    pool.student.g += sums.g;
    pool.student.i += sums.i;
  }
  return pool;
}

export async function learnerPool(pg: Pool, user: string): Promise<StudentPool> {
  const { rows } = await prepared<unknown[]>(
    pg,
    `SELECT split_part(m.topic_id, '.', 1), ${learnerPoolSums('m')}
     FROM topic_mastery m WHERE m.user_id = $1 AND m.topic_level = 2 GROUP BY 1`,
    [user],
    'array',
  );
  return withTotal(new Map(rows.map((r) => [String(r[0]), { g: Number(r[1]), i: Number(r[2]) }])));
}

/**
 * The pooling sums of rows that hold every topic_mastery row of the student at level 2 (at least), in topic id
 * order (bytewise) within each level: what learnerPool would read, without the read.
 */
export function poolOfLeaves(
  rows: ReadonlyArray<{ topicId: string; level: number; learner: LearnerNowState | null }>,
): StudentPool {
  const systems = new Map<string, PoolSums>();
  for (const r of rows) {
    if (r.level !== 2) continue;
    const name = systemOf(r.topicId);
    let sums = systems.get(name);
    if (!sums) systems.set(name, (sums = { g: 0, i: 0 }));
    if (r.learner) {
      sums.g += r.learner.pg ?? 0;
      sums.i += r.learner.pi ?? 0;
    }
  }
  return withTotal(systems);
}
