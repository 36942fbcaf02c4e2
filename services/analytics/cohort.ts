import { chQuery, type ClickHouseClient } from '../shared/clickhouse.ts';
import { z } from 'zod';
import { defineEnv, envInt } from '../shared/config.ts';
import { join, raw, sql, type SqlFragment } from '../shared/sql.ts';

/**
 * Cohort comparisons over the ClickHouse rollups (clickhouse/002_rollups.sql), computed in ClickHouse
 * (quantilesExact and rank counts; 18.16 has no window functions). k-anonymity: a group of fewer than k students
 * (COHORT_MIN_K, default 10) never yields a figure: the result is { status: 'insufficient_cohort' }. Per-topic
 * figures are suppressed topic by topic when fewer than k students stand behind them.
 */

export const cohortEnv = defineEnv(
  'analytics-cohort',
  {
    COHORT_MIN_K: {
      default: '10',
      doc: 'smallest group of students any cohort figure is computed over (k-anonymity): the API, jobs and analytics all use it (API_K_ANONYMITY is accepted as a deprecated alias)',
    },
    COHORT_RELEASE_GRACE_HOURS: {
      default: '24',
      doc: 'hours after a calendar window ends before its cohort figures are released and frozen (late events from offline devices arrive first)',
    },
  },
  {
    COHORT_MIN_K: envInt('COHORT_MIN_K').pipe(z.number().int().min(2)),
    COHORT_RELEASE_GRACE_HOURS: envInt('COHORT_RELEASE_GRACE_HOURS'),
  },
);

/**
 * The one k-anonymity threshold (COHORT_MIN_K). API_K_ANONYMITY, the API's former name for it, is still accepted
 * when COHORT_MIN_K is not set (deprecated).
 */
export function kAnonymity(env: NodeJS.ProcessEnv = process.env): number {
  const resolved =
    env.COHORT_MIN_K === undefined && env.API_K_ANONYMITY !== undefined
      ? { ...env, COHORT_MIN_K: env.API_K_ANONYMITY }
      : env;
  return cohortEnv.load(resolved).COHORT_MIN_K;
}

export type Cohort = {
  /** The students of the cohort; undefined means every student with activity in the window. */
  userIds?: readonly string[];
  /** First and last day of the window (UTC, inclusive). */
  from: Date;
  to: Date;
};

export type CohortResult<T> =
  | { status: 'ok'; cohortSize: number; value: T }
  | { status: 'insufficient_cohort'; cohortSize: number; minK: number };

export type Quantiles = { p10: number; p25: number; p50: number; p75: number; p90: number };
/** A student's value, its percentile (0-100: share of the cohort below, ties counted half) and the distribution. */
export type Standing = {
  value: number | null;
  percentile: number | null;
  quantiles: Quantiles;
  students: number;
};
export type StudentStanding = {
  accuracy: Standing;
  studyMinutesPerWeek: Standing;
  questionsPerWeek: Standing;
};

export type CohortOptions = { minK?: number };

const QUANTILE_LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9] as const;

function minKOf(opts: CohortOptions): number {
  const k = opts.minK ?? kAnonymity();
  if (!Number.isInteger(k) || k < 1) throw new Error('minK must be a positive integer');
  return k;
}

function day(d: Date): SqlFragment {
  if (!Number.isFinite(d.getTime())) throw new Error('invalid date');
  return sql`toDate(${d.toISOString().slice(0, 10)})`;
}

function userFilter(cohort: Cohort): SqlFragment {
  if (cohort.userIds === undefined) return raw('1');
  if (cohort.userIds.length === 0) return raw('0');
  return sql`user_id IN (${join(
    cohort.userIds.map((u) => sql`${u}`),
    ', ',
  )})`;
}

function weeks(cohort: Cohort): number {
  const days = Math.floor((cohort.to.getTime() - cohort.from.getTime()) / 86_400_000) + 1;
  if (days < 1) throw new Error('cohort window must end on or after its start');
  return days / 7;
}

/** Per-student figures over the window, as a subquery: user_id, questions, correct, acc, study_min_w, q_w. */
function perStudent(cohort: Cohort): SqlFragment {
  const w = weeks(cohort);
  return sql`SELECT user_id, q, c, if(q > 0, c / q, nan) AS acc, s / 60000 / ${w} AS study_min_w, q / ${w} AS q_w
    FROM (SELECT user_id, sumMerge(questions) AS q, sumMerge(correct) AS c, sumMerge(study_ms) AS s
          FROM daily_user_stats
          WHERE day >= ${day(cohort.from)} AND day <= ${day(cohort.to)} AND ${userFilter(cohort)}
          GROUP BY user_id)`;
}

const toQuantiles = (values: number[]): Quantiles => ({
  p10: values[0]!,
  p25: values[1]!,
  p50: values[2]!,
  p75: values[3]!,
  p90: values[4]!,
});

/** Number of students with activity in the window. */
export async function cohortSize(client: ClickHouseClient, cohort: Cohort): Promise<number> {
  const [r] = await chQuery<{ n: string }>(
    client,
    sql`SELECT count() AS n FROM (${perStudent(cohort)})`.text,
  );
  return Number(r?.n ?? 0);
}

/** Where one student stands in the cohort on accuracy, study time per week and questions per week. */
export async function studentStanding(
  client: ClickHouseClient,
  userId: string,
  cohort: Cohort,
  opts: CohortOptions = {},
): Promise<CohortResult<StudentStanding>> {
  const minK = minKOf(opts);
  const me = await chQuery<{ acc: number | null; study_min_w: number; q_w: number; q: string }>(
    client,
    sql`SELECT acc, study_min_w, q_w, q FROM (${perStudent({ ...cohort, userIds: [userId] })})`.text,
  );
  const mine = me[0];
  const value = {
    acc: mine && Number(mine.q) > 0 ? Number(mine.acc) : null,
    study: mine ? Number(mine.study_min_w) : 0,
    q: mine ? Number(mine.q_w) : 0,
  };
  const levels = raw(QUANTILE_LEVELS.join(', '));
  const rank = (col: string, v: number | null) =>
    v === null ? raw('0') : sql`countIf(${raw(col)} < ${v}) + countIf(${raw(col)} = ${v}) / 2`;
  const [r] = await chQuery<Record<string, unknown>>(
    client,
    sql`SELECT count() AS n, countIf(q > 0) AS n_acc,
        quantilesExactIf(${levels})(acc, q > 0) AS acc_q, quantilesExact(${levels})(study_min_w) AS study_q,
        quantilesExact(${levels})(q_w) AS q_q,
        ${rank('if(q > 0, acc, -1)', value.acc)} AS acc_below, ${rank('study_min_w', value.study)} AS study_below,
        ${rank('q_w', value.q)} AS q_below
      FROM (${perStudent(cohort)})`.text,
  );
  const n = Number(r?.n ?? 0);
  if (n < minK) return { status: 'insufficient_cohort', cohortSize: n, minK };
  const nAcc = Number(r!.n_acc);
  const accBelow = Number(r!.acc_below) - (n - nAcc); // students without questions sit at -1, below everyone
  const pct = (below: number, total: number) => Math.round((1000 * below) / total) / 10;
  return {
    status: 'ok',
    cohortSize: n,
    value: {
      accuracy:
        nAcc < minK
          ? {
              value: value.acc,
              percentile: null,
              quantiles: toQuantiles([NaN, NaN, NaN, NaN, NaN]),
              students: nAcc,
            }
          : {
              value: value.acc,
              percentile: value.acc === null ? null : pct(accBelow, nAcc),
              quantiles: toQuantiles((r!.acc_q as number[]).map(Number)),
              students: nAcc,
            },
      studyMinutesPerWeek: {
        value: value.study,
        percentile: pct(Number(r!.study_below), n),
        quantiles: toQuantiles((r!.study_q as number[]).map(Number)),
        students: n,
      },
      questionsPerWeek: {
        value: value.q,
        percentile: pct(Number(r!.q_below), n),
        quantiles: toQuantiles((r!.q_q as number[]).map(Number)),
        students: n,
      },
    },
  };
}

export type TopicDifficulty = {
  topicId: string;
  students: number;
  attempts: number;
  accuracy: number;
  firstAttemptAccuracy: number | null;
  /** 1 - accuracy across the cohort: higher is harder. */
  difficulty: number;
};

/** Per-topic accuracy across the cohort's students; topics answered by fewer than k students are left out. */
export async function topicDifficulty(
  client: ClickHouseClient,
  cohort: Cohort,
  opts: CohortOptions = {},
): Promise<CohortResult<{ topics: TopicDifficulty[]; suppressedTopics: number }>> {
  const minK = minKOf(opts);
  const n = await cohortSize(client, cohort);
  if (n < minK) return { status: 'insufficient_cohort', cohortSize: n, minK };
  const rows = await chQuery<Record<string, string>>(
    client,
    sql`SELECT topic_id, uniqExact(user_id) AS students, sum(q) AS attempts, sum(c) AS correct, sum(fa) AS fa, sum(fac) AS fac
      FROM (SELECT user_id, topic_id, sumMerge(questions) AS q, sumMerge(correct) AS c,
                   sumMerge(first_attempts) AS fa, sumMerge(first_attempt_correct) AS fac
            FROM daily_user_topic_stats
            WHERE day >= ${day(cohort.from)} AND day <= ${day(cohort.to)} AND ${userFilter(cohort)}
            GROUP BY user_id, topic_id HAVING q > 0)
      GROUP BY topic_id ORDER BY topic_id`.text,
  );
  const topics = rows
    .filter((r) => Number(r.students) >= minK)
    .map((r) => {
      const accuracy = Number(r.correct) / Number(r.attempts);
      return {
        topicId: r.topic_id!,
        students: Number(r.students),
        attempts: Number(r.attempts),
        accuracy,
        firstAttemptAccuracy: Number(r.fa) > 0 ? Number(r.fac) / Number(r.fa) : null,
        difficulty: 1 - accuracy,
      };
    })
    .sort((a, b) => b.difficulty - a.difficulty);
  return { status: 'ok', cohortSize: n, value: { topics, suppressedTopics: rows.length - topics.length } };
}

export type TopicStruggle = { topicId: string; students: number; struggling: number; share: number };

/**
 * Share of students struggling per topic: among students with at least `minAttempts` answers on the topic, those
 * whose accuracy is below `threshold`. Topics with fewer than k such students are left out.
 */
export async function strugglingShare(
  client: ClickHouseClient,
  cohort: Cohort,
  opts: CohortOptions & { threshold?: number; minAttempts?: number } = {},
): Promise<CohortResult<{ topics: TopicStruggle[]; suppressedTopics: number }>> {
  const minK = minKOf(opts);
  const threshold = opts.threshold ?? 0.6;
  const minAttempts = opts.minAttempts ?? 5;
  const n = await cohortSize(client, cohort);
  if (n < minK) return { status: 'insufficient_cohort', cohortSize: n, minK };
  const rows = await chQuery<Record<string, string>>(
    client,
    sql`SELECT topic_id, count() AS students, countIf(c / q < ${threshold}) AS struggling
      FROM (SELECT user_id, topic_id, sumMerge(questions) AS q, sumMerge(correct) AS c
            FROM daily_user_topic_stats
            WHERE day >= ${day(cohort.from)} AND day <= ${day(cohort.to)} AND ${userFilter(cohort)}
            GROUP BY user_id, topic_id HAVING q >= ${minAttempts})
      GROUP BY topic_id ORDER BY topic_id`.text,
  );
  const topics = rows
    .filter((r) => Number(r.students) >= minK)
    .map((r) => ({
      topicId: r.topic_id!,
      students: Number(r.students),
      struggling: Number(r.struggling),
      share: Number(r.struggling) / Number(r.students),
    }))
    .sort((a, b) => b.share - a.share);
  return { status: 'ok', cohortSize: n, value: { topics, suppressedTopics: rows.length - topics.length } };
}
