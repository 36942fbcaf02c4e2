import { chQuery, type ClickHouseClient } from '../shared/clickhouse.ts';
import type { Pool } from '../shared/postgres.ts';
import { join, raw, sql, type SqlFragment } from '../shared/sql.ts';
import { windowWeeks, type CalendarWindow } from './windows.ts';
import { REVIEW_GRACE_DAYS } from '../domain/review-adherence.ts';

/**
 * Cohort v2: every per-student and per-topic figure of one population over one fixed calendar window, before any
 * release rule (release.ts decides what of it may be disclosed; releases.ts freezes it). Read from the plain
 * rollups (ClickHouse 004: daily_user_sums, daily_user_topic_sums; plain sum() ... GROUP BY, portable to 18.16)
 * and from topic_mastery_history (PostgreSQL: mastery as of the window's last day, first day of mastery).
 *
 * The population is the students with at least one event in the window, among `userIds` (a cohort's members) or
 * among everyone when `userIds` is undefined. Definitions (services/analytics/README.md):
 * - accuracy: correct / answered in the window (students with at least one answer);
 * - studyMinutesPerWeek: finished-session minutes (SESSION_END durations) / weeks of the window;
 * - questionsPerWeek: answers / weeks of the window;
 * - mastery: mean mastery score, as of the window's last day, over the leaf topics the student has studied by then;
 * - reviewAdherence: of the reviews the schedule asked for that fell due in the window, the share done on time
 *   (services/domain/review-adherence.ts; read from postgres/088 topic_reviews); students with at least one due;
 * - per topic: students who answered, answers, accuracy, first-attempt accuracy; students with at least
 *   STRUGGLE_MIN_ANSWERS answers and among them those below STRUGGLE_ACCURACY ("X% struggle");
 * - time to mastery per topic: for students whose mastery score first reached MASTERY_TARGET on a day of the
 *   window, days from their first day on the topic to that day (inclusive).
 */

export const STRUGGLE_MIN_ANSWERS = 5;
export const STRUGGLE_ACCURACY = 0.6;
export const MASTERY_TARGET = 0.8;

export const METRICS = [
  'accuracy',
  'studyMinutesPerWeek',
  'questionsPerWeek',
  'mastery',
  'reviewAdherence',
] as const;
export type MetricName = (typeof METRICS)[number];

/** Fixed histogram edges per metric (bins are merged until each holds k students, release.ts). */
export const HISTOGRAM_EDGES: Record<MetricName, number[]> = {
  accuracy: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  studyMinutesPerWeek: [0, 30, 60, 120, 180, 240, 300, 420, 600, 900, 1200],
  questionsPerWeek: [0, 10, 25, 50, 100, 150, 200, 300, 400, 600, 1000],
  mastery: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  reviewAdherence: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
};

export type StudentFigures = Record<MetricName, number | null>;

export type TopicFigures = {
  topicId: string;
  students: number;
  answers: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  /** Students with at least STRUGGLE_MIN_ANSWERS answers, and those of them below STRUGGLE_ACCURACY. */
  assessed: number;
  struggling: number;
  /** Days to mastery of the students who first reached it in the window. */
  masteryDays: number[];
};

export type CohortReport = {
  window: CalendarWindow;
  /** Active students, sorted. */
  population: string[];
  perStudent: Map<string, StudentFigures>;
  topics: TopicFigures[];
};

/** A topic nobody answered in the window (yet one somebody mastered in it). */
export function emptyTopic(topicId: string): TopicFigures {
  return {
    topicId,
    students: 0,
    answers: 0,
    correct: 0,
    firstAttempts: 0,
    firstAttemptCorrect: 0,
    assessed: 0,
    struggling: 0,
    masteryDays: [],
  };
}

/**
 * The dues of topic_reviews rows and the ones met, as SQL aggregates over the rows (grace: parameter $4); the same
 * rules as dueOutcome (services/domain/review-adherence.ts): a next review before due_day - grace makes the due
 * early (not counted), within due_day +/- grace on time, later late, none missing.
 */
const COUNTED_DUE = 'count(*) FILTER (WHERE next_day IS NULL OR next_day >= due_day - $4::int)';
const ON_TIME = 'count(*) FILTER (WHERE next_day >= due_day - $4::int AND next_day <= due_day + $4::int)';

function userFilter(userIds: readonly string[] | undefined): SqlFragment {
  if (userIds === undefined) return raw('1');
  if (userIds.length === 0) return raw('0');
  return sql`user_id IN (${join(
    userIds.map((u) => sql`${u}`),
    ', ',
  )})`;
}

const dayOf = (d: string) => sql`toDate(${d})`;

/** Every figure of the population of `userIds` (undefined: everyone) over `window`. */
export async function computeCohortReport(
  ch: ClickHouseClient,
  pg: Pool,
  userIds: readonly string[] | undefined,
  window: CalendarWindow,
): Promise<CohortReport> {
  const range = sql`day >= ${dayOf(window.from)} AND day <= ${dayOf(window.to)}`;
  const students = await chQuery<{ user_id: string; q: string; c: string; s: string }>(
    ch,
    sql`SELECT user_id, sum(questions) AS q, sum(correct) AS c, sum(study_ms) AS s
      FROM daily_user_sums WHERE ${range} AND ${userFilter(userIds)}
      GROUP BY user_id HAVING sum(events) > 0 ORDER BY user_id`.text,
  );
  const population = students.map((r) => r.user_id);
  const weeks = windowWeeks(window);
  const perStudent = new Map<string, StudentFigures>();
  for (const r of students) {
    const q = Number(r.q);
    perStudent.set(r.user_id, {
      accuracy: q > 0 ? Number(r.c) / q : null,
      studyMinutesPerWeek: Number(r.s) / 60_000 / weeks,
      questionsPerWeek: q / weeks,
      mastery: null,
      reviewAdherence: null,
    });
  }
  if (population.length === 0) return { window, population, perStudent, topics: [] };

  const [topicRows, masteryRows, adherenceRows] = await Promise.all([
    chQuery<Record<string, string>>(
      ch,
      sql`SELECT topic_id, count() AS students, sum(q) AS answers, sum(c) AS correct, sum(fa) AS fa, sum(fac) AS fac,
          countIf(q >= ${STRUGGLE_MIN_ANSWERS}) AS assessed,
          countIf(q >= ${STRUGGLE_MIN_ANSWERS} AND c < q * ${STRUGGLE_ACCURACY}) AS struggling
        FROM (SELECT user_id, topic_id, sum(questions) AS q, sum(correct) AS c, sum(first_attempts) AS fa,
                     sum(first_attempt_correct) AS fac
              FROM daily_user_topic_sums WHERE ${range} AND ${userFilter(population)}
              GROUP BY user_id, topic_id HAVING q > 0)
        GROUP BY topic_id ORDER BY topic_id`.text,
    ),
    pg.query<{
      user_id: string;
      topic_id: string;
      score: number;
      first_day: string;
      mastered_day: string | null;
    }>(
      `SELECT user_id, topic_id, (array_agg(mastery_score ORDER BY day DESC))[1] AS score,
              to_char(min(day), 'YYYY-MM-DD') AS first_day,
              to_char(min(day) FILTER (WHERE mastery_score >= $3), 'YYYY-MM-DD') AS mastered_day
         FROM topic_mastery_history WHERE user_id = ANY($1::text[]) AND day <= $2::date
         GROUP BY user_id, topic_id`,
      [population, window.to, MASTERY_TARGET],
    ),
    pg.query<{ user_id: string; due: string; on_time: string }>(
      `SELECT user_id, ${COUNTED_DUE} AS due, ${ON_TIME} AS on_time FROM topic_reviews
        WHERE user_id = ANY($1::text[]) AND due_day >= $2::date AND due_day <= $3::date GROUP BY user_id`,
      [population, window.from, window.to, REVIEW_GRACE_DAYS],
    ),
  ]);
  for (const r of adherenceRows.rows) {
    const due = Number(r.due);
    if (due > 0) perStudent.get(r.user_id)!.reviewAdherence = Number(r.on_time) / due;
  }

  const masterySum = new Map<string, { sum: number; n: number }>();
  const masteryDays = new Map<string, number[]>();
  for (const r of masteryRows.rows) {
    const m = masterySum.get(r.user_id) ?? { sum: 0, n: 0 };
    m.sum += Number(r.score);
    m.n++;
    masterySum.set(r.user_id, m);
    if (r.mastered_day !== null && r.mastered_day >= window.from && r.mastered_day <= window.to) {
      const days = (Date.parse(r.mastered_day) - Date.parse(r.first_day)) / 86_400_000 + 1;
      const list = masteryDays.get(r.topic_id) ?? [];
      list.push(days);
      masteryDays.set(r.topic_id, list);
    }
  }
  for (const [u, m] of masterySum) perStudent.get(u)!.mastery = m.sum / m.n;

  const byTopic = new Map<string, TopicFigures>();
  for (const r of topicRows) {
    byTopic.set(r.topic_id!, {
      topicId: r.topic_id!,
      students: Number(r.students),
      answers: Number(r.answers),
      correct: Number(r.correct),
      firstAttempts: Number(r.fa),
      firstAttemptCorrect: Number(r.fac),
      assessed: Number(r.assessed),
      struggling: Number(r.struggling),
      masteryDays: [],
    });
  }
  for (const [t, days] of masteryDays) {
    const entry = byTopic.get(t) ?? emptyTopic(t);
    entry.masteryDays = days;
    byTopic.set(t, entry);
  }
  const topics = [...byTopic.values()].sort((a, b) =>
    a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0,
  );
  return { window, population, perStudent, topics };
}

/**
 * Contributing students per released cell (release.ts `differencingCells`): `population`, `metric:<name>`,
 * `topic:<id>` (answered), `struggle:<id>` (assessed), `mastery-time:<id>` (reached mastery in the window).
 */
export function cellCounts(report: CohortReport): Map<string, number> {
  const out = new Map<string, number>([['population', report.population.length]]);
  for (const m of METRICS) {
    let n = 0;
    for (const s of report.perStudent.values()) if (s[m] !== null) n++;
    out.set(`metric:${m}`, n);
  }
  for (const t of report.topics) {
    out.set(`topic:${t.topicId}`, t.students);
    out.set(`struggle:${t.topicId}`, t.assessed);
    out.set(`mastery-time:${t.topicId}`, t.masteryDays.length);
  }
  return out;
}

export type DayRange = { from: string; to: string };

/** Days of `a` not in `b` (at most two ranges). */
function minus(a: DayRange, b: DayRange): DayRange[] {
  const day = 86_400_000;
  const shift = (d: string, n: number) =>
    new Date(Date.parse(`${d}T00:00:00Z`) + n * day).toISOString().slice(0, 10);
  if (b.to < a.from || b.from > a.to) return [a];
  const out: DayRange[] = [];
  if (a.from < b.from) out.push({ from: a.from, to: shift(b.from, -1) });
  if (a.to > b.to) out.push({ from: shift(b.to, 1), to: a.to });
  return out;
}

/** The days in exactly one of the two windows. */
export function symmetricDifference(a: DayRange, b: DayRange): DayRange[] {
  return [...minus(a, b), ...minus(b, a)];
}

/**
 * How many of `userIds` contribute to each cell (see cellCounts) through their data on the days of `ranges`: the
 * students whose part in a cell two releases could differ by. `population: false` leaves the population cell out
 * (students present in both populations, whose activity differs but not their membership).
 */
export async function contributorCounts(
  ch: ClickHouseClient,
  pg: Pool,
  userIds: readonly string[],
  ranges: readonly DayRange[],
  opts: { population: boolean } = { population: true },
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (userIds.length === 0 || ranges.length === 0) return out;
  const inRanges = join(
    ranges.map((r) => sql`(day >= ${dayOf(r.from)} AND day <= ${dayOf(r.to)})`),
    ' OR ',
  );
  const [students, topics, history, adherence] = await Promise.all([
    chQuery<{ n: string; answered: string }>(
      ch,
      sql`SELECT count() AS n, countIf(q > 0) AS answered
        FROM (SELECT user_id, sum(questions) AS q FROM daily_user_sums WHERE (${inRanges}) AND ${userFilter(userIds)}
              GROUP BY user_id HAVING sum(events) > 0)`.text,
    ),
    chQuery<{ topic_id: string; n: string }>(
      ch,
      sql`SELECT topic_id, uniqExact(user_id) AS n FROM daily_user_topic_sums
        WHERE (${inRanges}) AND ${userFilter(userIds)} AND questions > 0 GROUP BY topic_id`.text,
    ),
    pg.query<{ topic_id: string | null; n: string }>(
      `SELECT NULL AS topic_id, count(DISTINCT user_id) AS n FROM topic_mastery_history
        WHERE user_id = ANY($1::text[]) AND day = ANY($2::date[])
       UNION ALL
       SELECT topic_id, count(*) AS n FROM (
         SELECT user_id, topic_id, min(day) FILTER (WHERE mastery_score >= $3) AS mastered
           FROM topic_mastery_history WHERE user_id = ANY($1::text[]) GROUP BY user_id, topic_id) x
        WHERE mastered = ANY($2::date[]) GROUP BY topic_id`,
      [userIds, expandDays(ranges), MASTERY_TARGET],
    ),
    // Students whose adherence the days of `ranges` move: a counted due on one of those days.
    pg.query<{ n: string }>(
      `SELECT count(DISTINCT user_id) AS n FROM topic_reviews
        WHERE user_id = ANY($1::text[]) AND due_day = ANY($2::date[])
          AND (next_day IS NULL OR next_day >= due_day - $3::int)`,
      [userIds, expandDays(ranges), REVIEW_GRACE_DAYS],
    ),
  ]);
  out.set('metric:reviewAdherence', Number(adherence.rows[0]?.n ?? 0));
  const n = Number(students[0]?.n ?? 0);
  if (opts.population) out.set('population', n);
  out.set('metric:studyMinutesPerWeek', n);
  out.set('metric:questionsPerWeek', n);
  out.set('metric:accuracy', Number(students[0]?.answered ?? 0));
  for (const t of topics) {
    out.set(`topic:${t.topic_id}`, Number(t.n));
    out.set(`struggle:${t.topic_id}`, Number(t.n));
  }
  for (const h of history.rows) {
    if (h.topic_id === null) out.set('metric:mastery', Number(h.n));
    else out.set(`mastery-time:${h.topic_id}`, Number(h.n));
  }
  return out;
}

function expandDays(ranges: readonly DayRange[]): string[] {
  const out: string[] = [];
  for (const r of ranges) {
    for (let t = Date.parse(`${r.from}T00:00:00Z`); t <= Date.parse(`${r.to}T00:00:00Z`); t += 86_400_000) {
      out.push(new Date(t).toISOString().slice(0, 10));
    }
  }
  return out;
}

/** Adds `b`'s counts into `a`. */
export function addCounts(a: Map<string, number>, b: ReadonlyMap<string, number>): Map<string, number> {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
  return a;
}
