import type { RowReader } from '../../shared/clickhouse.ts';
import { join, raw, sql } from '../../shared/sql.ts';
import { addDays } from '../compute.ts';
import {
  fallbackOf,
  localHeatmap,
  type HourCell,
  type LocalFallback,
  type ZonedHourCell,
} from '../../domain/localtime.ts';
import type { StoredAnswer, StoredNote } from '../../domain/insights.ts';

/**
 * Reads of the ClickHouse per-student rollups for one student: the plain-number tables of
 * clickhouse/004_plain_user_rollups.sql (daily_user_sums, daily_user_topic_sums, hourly_user_sums,
 * daily_user_distinct; same figures as the AggregateFunction rollups of 002, which ClickHouse 18.16 reads at a cost
 * per -Merge aggregate). Every value is validated by the route's zod schema first and rendered by
 * services/shared/sql.ts (ClickHouse 18.16 has no query parameters). Days are UTC dates 'YYYY-MM-DD'; the tables
 * are keyed by (user_id, day|hour) with 256-row granules, so each query reads one student's contiguous key range
 * (one or two granules per monthly part). `PREWHERE user_id = ...` is explicit because ClickHouse never moves
 * primary-key conditions to PREWHERE by itself. Merges are eventual (SummingMergeTree, ReplacingMergeTree), so
 * every read aggregates: sum() ... GROUP BY, or one row per distinct value. Few expressions per query: 18.16's
 * cost grows with the aggregates and columns of a query more than with its rows, so the windows of the dashboard
 * are added up here from per-day rows. Every query ends with PER_STUDENT (see there). 64-bit integers arrive as
 * strings in JSONEachRow and are converted here (exact: every figure is far below 2^53).
 */

/**
 * A per-student read touches a few hundred rows: one thread does it faster than the default max_threads (one
 * stream per core, then a merge of their partial aggregates), measured 4.3 ms against 8 ms server time for a
 * daily_user_stats read on the 2-core bench host, and leaves the other core to concurrent requests. The
 * uncompressed block cache (uncompressed_cache_size, 1 GiB in the local stack) keeps the decompressed blocks of
 * recently read students: a read of a few granules otherwise decompresses whole 64 KiB blocks of every column
 * (measured on the bench dataset: 7-column daily read 7 -> 4 ms, memory 5.4 -> 2.1-2.3 MB).
 */
export const PER_STUDENT = 'SETTINGS max_threads = 1, use_uncompressed_cache = 1';

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
 * materials exact across days), and the days with any activity in the last 365 days (for streaks). Two small
 * queries run together: the sums per day of the last 365 days (active days are those with events > 0; the windows
 * are added up here) and, per distinct session and material id of the last 30 days, the last day it was seen (a
 * window counts the ids seen on or after its first day). Measured against splitting off the year's active days
 * into a `day`-only query (three queries): two cost less server time on the bench dataset (90 days of history).
 */
export async function studySummary(
  ch: RowReader,
  user: string,
  today: string,
): Promise<{ today: WindowStats; last7Days: WindowStats; last30Days: WindowStats; activeDays: string[] }> {
  const [days, ids] = await Promise.all([
    ch.rows<Record<string, unknown>>(
      sql`SELECT toString(day) AS d, sum(events) AS events, sum(study_ms) AS study_ms, sum(active_ms) AS active_ms,
            sum(questions) AS questions, sum(correct) AS correct, sum(first_attempts) AS first_attempts,
            sum(first_attempt_correct) AS first_attempt_correct
          FROM daily_user_sums
          PREWHERE user_id = ${user}
          WHERE day >= subtractDays(toDate(${today}), 364) AND day <= toDate(${today})
          GROUP BY day
          ${raw(PER_STUDENT)}`.text,
    ),
    ch.rows<{ kind: string; last: string }>(
      sql`SELECT kind, toString(max(day)) AS last
          FROM daily_user_distinct
          PREWHERE user_id = ${user}
          WHERE day >= subtractDays(toDate(${today}), 29) AND day <= toDate(${today})
          GROUP BY kind, value
          ${raw(PER_STUDENT)}`.text,
    ),
  ]);
  const window = (back: number): WindowStats => {
    const first = addDays(today, -back);
    let studyMs = 0;
    let activeMs = 0;
    let questions = 0;
    let correct = 0;
    let firstAttempts = 0;
    let firstAttemptCorrect = 0;
    for (const r of days) {
      if (String(r.d) < first) continue;
      studyMs += num(r.study_ms);
      activeMs += num(r.active_ms);
      questions += num(r.questions);
      correct += num(r.correct);
      firstAttempts += num(r.first_attempts);
      firstAttemptCorrect += num(r.first_attempt_correct);
    }
    let sessions = 0;
    let materials = 0;
    for (const r of ids) {
      if (r.last < first) continue;
      if (r.kind === 'session') sessions += 1;
      else if (r.kind === 'material') materials += 1;
    }
    return {
      studyMinutes: round1(studyMs / 60_000),
      activeMinutes: round1(activeMs / 60_000),
      sessions,
      questions,
      correct,
      accuracy: questions > 0 ? correct / questions : null,
      firstAttempts,
      firstAttemptCorrect,
      materials,
    };
  };
  return {
    today: window(0),
    last7Days: window(6),
    last30Days: window(29),
    activeDays: days.filter((r) => num(r.events) > 0).map((r) => String(r.d)),
  };
}

/** One row per day with any activity in [from, to]. */
export async function dailyActivity(
  ch: RowReader,
  user: string,
  from: string,
  to: string,
): Promise<DayActivity[]> {
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT toString(day) AS d, sum(events) AS events, sum(questions) AS questions,
          sum(correct) AS correct, sum(active_ms) AS active_ms, sum(study_ms) AS study_ms
        FROM daily_user_sums
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

export type HeatmapCell = HourCell;

/**
 * Activity by ISO weekday (1 = Monday) and LOCAL hour since the local day `from` (inclusive), from
 * hourly_user_local_sums (clickhouse/020_event_time_zone.sql): events with a time zone at their own local hour,
 * events without one shifted by the student's most recent known offset, else left in UTC (services/domain/localtime.ts).
 */
export async function hourlyHeatmap(
  ch: RowReader,
  user: string,
  from: string,
): Promise<{ cells: HeatmapCell[]; fallback: LocalFallback; cellsWithoutZone: number }> {
  const [rows, latest] = await Promise.all([
    ch.rows<Record<string, unknown>>(
      sql`SELECT toDayOfWeek(local_hour) AS weekday, toHour(local_hour) AS hr, tz_known, sum(events) AS events,
            sum(questions) AS questions, sum(active_ms) AS active_ms
          FROM hourly_user_local_sums
          PREWHERE user_id = ${user}
          WHERE local_hour >= toDateTime(${from + ' 00:00:00'}, 'UTC')
          GROUP BY weekday, hr, tz_known ORDER BY weekday, hr, tz_known
          ${raw(PER_STUDENT)}`.text,
    ),
    ch.rows<Record<string, unknown>>(
      sql`SELECT argMax(utc_offset_min, local_hour) AS off, count() AS n
          FROM hourly_user_local_sums
          PREWHERE user_id = ${user}
          WHERE tz_known = 1
          ${raw(PER_STUDENT)}`.text,
    ),
  ]);
  const known = latest[0] && num(latest[0].n) > 0 ? num(latest[0].off) : null;
  const zoned: ZonedHourCell[] = rows.map((r) => ({
    weekday: num(r.weekday),
    hour: num(r.hr),
    tzKnown: num(r.tz_known) === 1,
    events: num(r.events),
    questions: num(r.questions),
    activeMs: num(r.active_ms),
  }));
  const fallback = fallbackOf(known);
  return {
    cells: localHeatmap(zoned, fallback),
    fallback,
    cellsWithoutZone: zoned.filter((c) => !c.tzKnown).length,
  };
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
    sql`SELECT toString(day) AS d, sum(questions) AS questions, sum(correct) AS correct,
          sum(first_attempts) AS first_attempts, sum(first_attempt_correct) AS first_attempt_correct
        FROM daily_user_topic_sums
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

/** Most answers read for the insights (the newest, within the window); a student's 90 days rarely hold more. */
export const INSIGHT_MAX_ANSWERS = 20_000;

/**
 * The answers of one student since the UTC day `from`, and per topic the first note/highlight and the first
 * other material interaction (all time), for the insights (services/domain/insights.ts). Answers come from
 * user_answers (clickhouse/030_user_answers.sql: question_attempts' columns the insights need, same key, 1,024-row
 * granules: a student's range reads about an eighth of the rows the raw table's 8,192-row granules cost), notes from
 * the raw material_interactions. Both ReplacingMergeTree keyed by user and time: one student's contiguous range;
 * duplicates not yet merged away are removed by event id in the domain function.
 */
export async function insightHistory(
  ch: RowReader,
  user: string,
  from: string,
): Promise<{ answers: StoredAnswer[]; notes: StoredNote[] }> {
  const since = sql`toDateTime(${from + ' 00:00:00'}, 'UTC')`;
  const [answers, notes] = await Promise.all([
    ch.rows<Record<string, unknown>>(
      sql`SELECT toString(event_id) AS id, toUInt32(occurred_at) AS t, occurred_ms AS ms, tz_known AS known,
            utc_offset_min AS off, is_correct AS ok, session_id AS s, topic_ids AS topics
          FROM user_answers
          PREWHERE user_id = ${user}
          WHERE occurred_at >= ${since}
          ORDER BY occurred_at DESC, occurred_ms DESC, id LIMIT ${INSIGHT_MAX_ANSWERS}
          ${raw(PER_STUDENT)}`.text,
    ),
    ch.rows<Record<string, unknown>>(
      sql`SELECT toUInt32(min(occurred_at)) AS t, arrayJoin(topic_ids) AS topic,
            interaction_type IN ('NOTE', 'HIGHLIGHT') AS note
          FROM material_interactions
          PREWHERE user_id = ${user}
          GROUP BY topic, note
          ${raw(PER_STUDENT)}`.text,
    ),
  ]);
  return {
    answers: answers.map((r) => ({
      eventId: String(r.id),
      at: num(r.t) * 1000 + num(r.ms),
      offsetMinutes: num(r.known) === 1 ? num(r.off) : null,
      correct: num(r.ok) === 1,
      sessionId: String(r.s ?? ''),
      topics: Array.isArray(r.topics) ? (r.topics as string[]) : [],
    })),
    notes: notes.map((r) => ({
      at: num(r.t) * 1000,
      topics: [String(r.topic)],
      kind: num(r.note) === 1 ? ('note' as const) : ('read' as const),
    })),
  };
}
