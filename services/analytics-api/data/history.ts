import type { RowReader } from '../../shared/clickhouse.ts';
import { join, raw, sql } from '../../shared/sql.ts';

/**
 * Reads of the ClickHouse rollups (clickhouse/002_rollups.sql, index granularity from 003) for one student. Every
 * value is validated by the route's zod schema first and rendered by services/shared/sql.ts (ClickHouse 18.16 has
 * no query parameters). Days are UTC dates 'YYYY-MM-DD'; the rollups are keyed by (user_id, day|hour), so each
 * query reads one student's contiguous key range: with the 256-row granules of 003 that is one or two granules
 * per monthly part (about 1,000 rows for a year of daily rows, against 34,000 with 8,192-row granules).
 * `PREWHERE user_id = ...` is explicit because ClickHouse never moves primary-key conditions to PREWHERE by
 * itself: without it every aggregate-state column of the matching granules is deserialized before filtering.
 * Every query ends with PER_STUDENT (see there). 64-bit integers arrive as strings in JSONEachRow and are
 * converted here.
 */

/**
 * A per-student read touches a few hundred rows: one thread does it faster than the default max_threads (one
 * stream per core, then a merge of their partial aggregates), measured 4.3 ms against 8 ms server time for a
 * daily_user_stats read on the 2-core bench host, and leaves the other core to concurrent requests.
 */
export const PER_STUDENT = 'SETTINGS max_threads = 1';

export type WindowStats = {
  studyMinutes: number;
  activeMinutes: number;
  sessions: number;
  questions: number;
  correct: number;
  accuracy: number | null;
  firstAttempts: number;
  firstAttemptCorrect: number;
  materials: number;
};

export type DayActivity = {
  day: string;
  events: number;
  questions: number;
  correct: number;
  activeMs: number;
  studyMs: number;
};

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Study figures for today, the last 7 and the last 30 days (windows end today, inclusive; distinct sessions and
 * materials exact across days), and the days with any activity in the last 365 days (for streaks): one query.
 * The inner query merges each day's states (uniqExactMergeState keeps them mergeable), the outer one merges the
 * days of each window.
 */
export async function studySummary(
  ch: RowReader,
  user: string,
  today: string,
): Promise<{ today: WindowStats; last7Days: WindowStats; last30Days: WindowStats; activeDays: string[] }> {
  const windows = [
    ['t', 0],
    ['w', 6],
    ['m', 29],
  ] as const;
  const cols = windows
    .map(([name, back]) => {
      const cond = sql`day >= subtractDays(toDate(${today}), ${back})`.text;
      return [
        `sumIf(study_ms, ${cond}) AS ${name}_study_ms`,
        `sumIf(active_ms, ${cond}) AS ${name}_active_ms`,
        `uniqExactMergeIf(sessions, ${cond}) AS ${name}_sessions`,
        `sumIf(questions, ${cond}) AS ${name}_questions`,
        `sumIf(correct, ${cond}) AS ${name}_correct`,
        `sumIf(first_attempts, ${cond}) AS ${name}_first_attempts`,
        `sumIf(first_attempt_correct, ${cond}) AS ${name}_first_attempt_correct`,
        `uniqExactMergeIf(materials, ${cond}) AS ${name}_materials`,
      ].join(',\n  ');
    })
    .join(',\n  ');
  const inner =
    sql`SELECT day, sumMerge(events) AS events, sumMerge(study_ms) AS study_ms, sumMerge(active_ms) AS active_ms,
      uniqExactMergeState(sessions) AS sessions, sumMerge(questions) AS questions, sumMerge(correct) AS correct,
      sumMerge(first_attempts) AS first_attempts, sumMerge(first_attempt_correct) AS first_attempt_correct,
      uniqExactMergeState(materials) AS materials
    FROM daily_user_stats
    PREWHERE user_id = ${user}
    WHERE day >= subtractDays(toDate(${today}), 364) AND day <= toDate(${today})
    GROUP BY day`.text;
  const query = `SELECT\n  ${cols},\n  groupArrayIf(toString(day), events > 0) AS active_days\nFROM (${inner})\n${PER_STUDENT}`;
  const [row = {}] = await ch.rows<Record<string, unknown>>(query);
  const pick = (p: string): WindowStats => {
    const questions = num(row[`${p}_questions`]);
    const correct = num(row[`${p}_correct`]);
    return {
      studyMinutes: round1(num(row[`${p}_study_ms`]) / 60_000),
      activeMinutes: round1(num(row[`${p}_active_ms`]) / 60_000),
      sessions: num(row[`${p}_sessions`]),
      questions,
      correct,
      accuracy: questions > 0 ? correct / questions : null,
      firstAttempts: num(row[`${p}_first_attempts`]),
      firstAttemptCorrect: num(row[`${p}_first_attempt_correct`]),
      materials: num(row[`${p}_materials`]),
    };
  };
  const activeDays = Array.isArray(row.active_days) ? (row.active_days as unknown[]).map(String) : [];
  return { today: pick('t'), last7Days: pick('w'), last30Days: pick('m'), activeDays };
}

/** One row per day with any activity in [from, to]. */
export async function dailyActivity(
  ch: RowReader,
  user: string,
  from: string,
  to: string,
): Promise<DayActivity[]> {
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT toString(day) AS d, sumMerge(events) AS events, sumMerge(questions) AS questions,
          sumMerge(correct) AS correct, sumMerge(active_ms) AS active_ms, sumMerge(study_ms) AS study_ms
        FROM daily_user_stats
        PREWHERE user_id = ${user}
    WHERE day >= toDate(${from}) AND day <= toDate(${to})
        GROUP BY day HAVING events > 0 ORDER BY day
        ${raw(PER_STUDENT)}`.text,
  );
  return rows.map((r) => ({
    day: String(r.d),
    events: num(r.events),
    questions: num(r.questions),
    correct: num(r.correct),
    activeMs: num(r.active_ms),
    studyMs: num(r.study_ms),
  }));
}

export type HeatmapCell = {
  weekday: number;
  hour: number;
  events: number;
  questions: number;
  activeMs: number;
};

/** Activity by ISO weekday (1 = Monday) and UTC hour since `from` (inclusive). */
export async function hourlyHeatmap(ch: RowReader, user: string, from: string): Promise<HeatmapCell[]> {
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT weekday, hr, sum(e) AS events, sum(q) AS questions, sum(a) AS active_ms FROM (
          SELECT hour, sumMerge(events) AS e, sumMerge(questions) AS q, sumMerge(active_ms) AS a
          FROM hourly_user_activity
          PREWHERE user_id = ${user}
    WHERE hour >= toDateTime(${from + ' 00:00:00'}, 'UTC')
          GROUP BY hour
        ) GROUP BY toDayOfWeek(hour) AS weekday, toHour(hour) AS hr ORDER BY weekday, hr
        ${raw(PER_STUDENT)}`.text,
  );
  return rows.map((r) => ({
    weekday: num(r.weekday),
    hour: num(r.hr),
    events: num(r.events),
    questions: num(r.questions),
    activeMs: num(r.active_ms),
  }));
}

export type TopicDay = {
  day: string;
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
};

/** Per-day answers of one student on a set of topics since `from`. */
export async function topicDaily(
  ch: RowReader,
  user: string,
  topics: string[],
  from: string,
): Promise<TopicDay[]> {
  if (topics.length === 0) return [];
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT toString(day) AS d, sumMerge(questions) AS questions, sumMerge(correct) AS correct,
          sumMerge(first_attempts) AS first_attempts, sumMerge(first_attempt_correct) AS first_attempt_correct
        FROM daily_user_topic_stats
        PREWHERE user_id = ${user}
        WHERE topic_id IN ${tuple(topics)} AND day >= toDate(${from})
        GROUP BY day HAVING questions > 0 ORDER BY day
        ${raw(PER_STUDENT)}`.text,
  );
  return rows.map((r) => ({
    day: String(r.d),
    questions: num(r.questions),
    correct: num(r.correct),
    firstAttempts: num(r.first_attempts),
    firstAttemptCorrect: num(r.first_attempt_correct),
  }));
}

/** `(v1, v2, ...)`: an IN list the primary key can use (has(array, column) is not used for index analysis). */
function tuple(values: readonly string[]) {
  return sql`(${join(
    values.map((v) => sql`${v}`),
    ', ',
  )})`;
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
