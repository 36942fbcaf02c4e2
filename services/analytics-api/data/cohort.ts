import { chQuery, type ClickHouseClient } from '../../shared/clickhouse.ts';
import { join, sql, type SqlFragment } from '../../shared/sql.ts';
import { kAnonymous } from '../../domain/kanon.ts';
import { percentileRank } from '../../domain/stats.ts';

/**
 * Cohort figures from the ClickHouse rollups, k-anonymous: a group (cohort, topic, metric population) of fewer
 * than k students never yields a figure. Members come from PostgreSQL (cohort_members); the list is rendered as
 * an IN tuple of escaped literals so the (user_id, ...) primary key prunes the scan. `members = null` means every
 * student with activity in the window.
 */

const num = (v: unknown): number => (v == null ? 0 : Number(v));

function memberFilter(members: readonly string[] | null): SqlFragment {
  if (members === null) return sql`1`;
  if (members.length === 0) return sql`0`;
  return sql`user_id IN (${join(
    members.map((m) => sql`${m}`),
    ', ',
  )})`;
}

export type MetricPercentile = {
  value: number | null;
  percentile: number | null;
  population: number;
  cohortMedian: number | null;
  suppressed: boolean;
};

export type StudentPercentiles = {
  cohortSize: number;
  weeks: number;
  accuracy: MetricPercentile;
  studyMinutesPerWeek: MetricPercentile;
  questionsPerWeek: MetricPercentile;
};

/**
 * The student's percentile rank (mean-rank definition, 0..100) within the cohort for accuracy (students with at
 * least one answer), active study minutes per week and questions per week, over [from, to]. Students without any
 * activity in the window are part of the population with 0 for the per-week metrics only when they are members.
 */
export async function studentPercentiles(
  ch: ClickHouseClient,
  opts: { user: string; members: readonly string[] | null; from: string; to: string; k: number },
): Promise<StudentPercentiles> {
  const rows = await chQuery<Record<string, unknown>>(
    ch,
    sql`SELECT user_id, sumMerge(questions) AS q, sumMerge(correct) AS c, sumMerge(active_ms) AS a
        FROM daily_user_stats
        PREWHERE ${memberFilter(opts.members)}
        WHERE day >= toDate(${opts.from}) AND day <= toDate(${opts.to})
        GROUP BY user_id`.text,
  );
  const weeks =
    (Date.parse(`${opts.to}T00:00:00Z`) - Date.parse(`${opts.from}T00:00:00Z`)) / 604_800_000 + 1 / 7;
  const stats = new Map(rows.map((r) => [String(r.user_id), { q: num(r.q), c: num(r.c), a: num(r.a) }]));
  // Members with no activity in the window still belong to the cohort (0 minutes, 0 questions).
  if (opts.members !== null)
    for (const m of opts.members) if (!stats.has(m)) stats.set(m, { q: 0, c: 0, a: 0 });
  const all = [...stats.entries()];
  const metric = (pick: (s: { q: number; c: number; a: number }) => number | null): MetricPercentile => {
    const values = all.map(([, s]) => pick(s)).filter((v): v is number => v !== null);
    const mine = stats.has(opts.user) ? pick(stats.get(opts.user)!) : null;
    if (!kAnonymous(values.length, opts.k)) {
      return {
        value: mine,
        percentile: null,
        population: values.length,
        cohortMedian: null,
        suppressed: true,
      };
    }
    const sorted = values.sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const med = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return {
      value: mine,
      percentile: mine === null ? null : (percentileRank(mine, sorted) ?? null),
      population: sorted.length,
      cohortMedian: med,
      suppressed: false,
    };
  };
  return {
    cohortSize: all.length,
    weeks,
    accuracy: metric((s) => (s.q > 0 ? s.c / s.q : null)),
    studyMinutesPerWeek: metric((s) => s.a / 60_000 / weeks),
    questionsPerWeek: metric((s) => s.q / weeks),
  };
}

export type TopicDifficulty = {
  topicId: string;
  students: number;
  questions: number;
  accuracy: number;
  firstAttemptAccuracy: number | null;
  /** Share of the topic's students with at least 5 answers and accuracy below 50%. */
  strugglingShare: number;
};

/** Per-topic difficulty across the cohort's members (hardest first); topics with fewer than k students are withheld. */
export async function topicDifficulty(
  ch: ClickHouseClient,
  opts: { members: readonly string[]; from: string; to: string; k: number; limit: number },
): Promise<{ topics: TopicDifficulty[]; withheld: number }> {
  const rows = await chQuery<Record<string, unknown>>(
    ch,
    sql`SELECT topic_id, count() AS students, sum(q) AS questions, sum(c) AS correct, sum(fa) AS first_attempts,
          sum(fac) AS first_attempt_correct, countIf(q >= 5 AND c < q * 0.5) AS struggling
        FROM (
          SELECT topic_id, user_id, sumMerge(questions) AS q, sumMerge(correct) AS c,
                 sumMerge(first_attempts) AS fa, sumMerge(first_attempt_correct) AS fac
          FROM daily_user_topic_stats
          PREWHERE ${memberFilter(opts.members)}
        WHERE day >= toDate(${opts.from}) AND day <= toDate(${opts.to})
          GROUP BY topic_id, user_id
          HAVING q > 0
        )
        GROUP BY topic_id`.text,
  );
  const all = rows.map((r) => ({
    topicId: String(r.topic_id),
    students: num(r.students),
    questions: num(r.questions),
    accuracy: num(r.correct) / num(r.questions),
    firstAttemptAccuracy:
      num(r.first_attempts) > 0 ? num(r.first_attempt_correct) / num(r.first_attempts) : null,
    strugglingShare: num(r.struggling) / num(r.students),
  }));
  const shown = all.filter((t) => kAnonymous(t.students, opts.k));
  shown.sort((a, b) => a.accuracy - b.accuracy || a.topicId.localeCompare(b.topicId));
  return { topics: shown.slice(0, opts.limit), withheld: all.length - shown.length };
}
