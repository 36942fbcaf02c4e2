import type { Pool } from '../../shared/postgres.ts';
import { numOrNull, prepared, type Raw } from './statements.ts';
import { topicIndex } from './taxonomy.ts';

/** The dashboard's mastery read model: a student's studied leaves aggregated by PostgreSQL. */

export type SummaryTopic = {
  topicId: string;
  name: string;
  score: number;
  trend: string | null;
  attempts: number;
  /** Learner model v2 P(correct) as of the row's last event (null on rows without one). */
  pCorrect: number | null;
};

/** The dashboard's mastery summary over the student's studied leaves, aggregated by PostgreSQL. */
export type MasterySummaryData = {
  /** Studied leaves per (band, trend): count, sum of scores, sum of attempts. */
  groups: Array<{
    band: 'mastered' | 'developing' | 'weak';
    trend: string | null;
    n: number;
    scoreSum: number;
    attempts: number;
    /** Sum of p_correct over the group's rows that have one, and how many have one. */
    pCorrectSum: number;
    pCorrectN: number;
  }>;
  /** The 3 lowest and the 3 highest scores (ties by topic id, bytewise). */
  weakest: SummaryTopic[];
  strongest: SummaryTopic[];
  /** Level-0 (system) roll-ups, by topic id. */
  systems: SummaryTopic[];
};

/**
 * What the dashboard's mastery summary needs, in one statement of at most ~35 rows: the studied leaves grouped by
 * band and trend, the 3 weakest and strongest, the level-0 roll-ups. (Returning every studied leaf, ~230 rows, cost
 * the driver more CPU than the rest of the request.) `mastered`/`developing` are the band thresholds of compute.ts.
 */
export async function masterySummaryData(
  pg: Pool,
  user: string,
  thresholds: { mastered: number; developing: number },
): Promise<MasterySummaryData> {
  const [index, { rows }] = await Promise.all([
    topicIndex(pg),
    prepared<Raw>(
      pg,
      `WITH l AS (
         SELECT topic_id, mastery_score, trend, attempts, p_correct FROM topic_mastery
         WHERE user_id = $1 AND topic_level = 2 AND attempts > 0)
       (SELECT 'g' AS k, NULL AS topic_id,
          CASE WHEN mastery_score >= $2 THEN 'mastered' WHEN mastery_score >= $3 THEN 'developing' ELSE 'weak' END
            AS band, trend, count(*)::float8 AS n, sum(mastery_score) AS score, sum(attempts)::float8 AS attempts,
          sum(p_correct) AS pc, count(p_correct)::float8 AS pcn
        FROM l GROUP BY 3, 4)
       UNION ALL
       (SELECT 'w', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
        FROM l ORDER BY mastery_score, topic_id COLLATE "C" LIMIT 3)
       UNION ALL
       (SELECT 's', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
        FROM l ORDER BY mastery_score DESC, topic_id COLLATE "C" DESC LIMIT 3)
       UNION ALL
       (SELECT 'y', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
        FROM topic_mastery WHERE user_id = $1 AND topic_level = 0 ORDER BY topic_id)`,
      [user, thresholds.mastered, thresholds.developing],
    ),
  ]);
  const out: MasterySummaryData = { groups: [], weakest: [], strongest: [], systems: [] };
  for (const r of rows) {
    const trend = (r.trend as string | null) ?? null;
    if (r.k === 'g') {
      out.groups.push({
        band: r.band as 'mastered' | 'developing' | 'weak',
        trend,
        n: Number(r.n),
        scoreSum: Number(r.score),
        attempts: Number(r.attempts),
        pCorrectSum: Number(r.pc ?? 0),
        pCorrectN: Number(r.pcn ?? 0),
      });
      continue;
    }
    const id = String(r.topic_id);
    const t = {
      topicId: id,
      name: index.byId.get(id)?.name ?? id,
      score: Number(r.score),
      trend,
      attempts: Number(r.attempts),
      pCorrect: numOrNull(r.pc),
    };
    (r.k === 'w' ? out.weakest : r.k === 's' ? out.strongest : out.systems).push(t);
  }
  return out;
}
