/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
/**
 * Review adherence end to end on the real servers: answers of a cohort go through Kafka (every one twice, in a
 * shuffled order, so most arrive long after later ones: far past the mastery processor's allowed lateness) into
 * the mastery processor, which keeps topic_reviews (postgres/088); the raw history is in ClickHouse. Checked against
 * a computation written here from the answers alone (first answer per day, the FSRS-6 daily schedule, the due
 * rules): the stored reviews, each student's adherence in the last complete month as the real API process
 * answers it (value, percentile, population, quantiles, histogram), the educator view of the same release, the
 * history-based backfill and reconcile's comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../services/analytics-api/auth.ts';
import { lastCompleteWindow, type CalendarWindow } from '../../../services/analytics/windows.ts';
import { releaseHistogram, releaseQuantiles } from '../../../services/analytics/release.ts';
import { contributorCounts } from '../../../services/analytics/cohort-report.ts';
import { dailyInterval, dailyReview, type DailyFsrsState } from '../../../services/domain/fsrs-daily.ts';
import { REVIEW_SCHEDULE } from '../../../services/domain/learner-model.ts';
import { backfillReviewDays } from '../../../services/datatools/review-days.ts';
import { compareReviewDays } from '../../../services/datatools/review-days.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import type { SimEvent } from '../../../services/simulator/types.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';
import { rand } from '../../support/seeded-data.ts';
import { chTime } from '../../support/seeded-data.ts';
import { produce, runEnv, startInProcess, waitCaughtUp } from '../processors/support.ts';

const K = 5;
const DAY = 86_400_000;
const GRACE_MS = 24 * 3_600_000;
const SECRET = 'review-adherence-secret-0123456789abcdef';
const STUDENTS = Array.from({ length: 16 }, (_, i) => `adh${String(i).padStart(2, '0')}`);
const COHORT = 'cohort-adh';

type Answer = { id: string; user: string; topic: string; at: number; correct: boolean };

const iso = isolatedEnv('adherence');
let pg: Pool;
let ch: ClickHouseClient;
let api: StartedService;
let month: CalendarWindow;
let topics: string[];
const answers: Answer[] = [];
const day = (ms: number) => Math.floor(ms / DAY);
const dayOfIso = (d: string) => day(Date.parse(`${d}T00:00:00Z`));
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** Written here from the definition: per topic the first answer of each day, the schedule, the dues. */
function expectedReviews(user: string, topic: string) {
  const firsts = new Map<number, Answer>();
  for (const a of answers) {
    if (a.user !== user || a.topic !== topic) continue;
    const held = firsts.get(day(a.at));
    if (!held || a.at < held.at || (a.at === held.at && a.id < held.id)) firsts.set(day(a.at), a);
  }
  const days = [...firsts.keys()].sort((x, y) => x - y);
  let state: DailyFsrsState | null = null;
  return days.map((d, i) => {
    const a = firsts.get(d)!;
    state = dailyReview(state, a.at, a.correct);
    const dueAt = Math.round(state.lastAt + dailyInterval(state, REVIEW_SCHEDULE.targetRetention) * DAY);
    return { day: d, id: a.id, correct: a.correct, dueDay: day(dueAt), nextDay: days[i + 1] ?? null };
  });
}

/** Dues in the window (not early: next review at most a day before the due day) and those met within a day. */
function expectedAdherence(user: string, w: CalendarWindow): { due: number; onTime: number } {
  let due = 0;
  let onTime = 0;
  for (const t of topics)
    for (const r of expectedReviews(user, t)) {
      if (r.dueDay < dayOfIso(w.from) || r.dueDay > dayOfIso(w.to)) continue;
      if (r.nextDay !== null && r.nextDay < r.dueDay - 1) continue;
      due++;
      if (r.nextDay !== null && r.nextDay <= r.dueDay + 1) onTime++;
    }
  return { due, onTime };
}

function record(a: Answer): SimEvent {
  return {
    family: 'question-attempts',
    record: {
      event_id: a.id,
      user_id: a.user,
      occurred_at: a.at,
      received_at: a.at + 50,
      schema_version: 1,
      session_id: `${a.user}-${day(a.at)}`,
      question_id: `q-${a.id.slice(-6)}`,
      topic_ids: [a.topic],
      selected_answer: 'A',
      is_correct: a.correct,
      attempt_number: 1,
      time_to_answer_ms: 20_000,
      confidence: null,
      difficulty: null,
      exam_section: null,
      mode: 'TUTOR',
      client: null,
    },
  };
}

/**
 * Per student and topic, reviews planned against the schedule: the next study day on time (due day +/- 1), late,
 * early, or none; a later answer of the same day sometimes (not a review).
 */
function generate(now: number) {
  const random = rand(17);
  const last = day(now) - 1;
  let n = 0;
  const id = () => `00000000-0000-4000-a000-${String(++n).padStart(12, '0')}`;
  STUDENTS.forEach((user, si) => {
    const diligence = 0.15 + (si / STUDENTS.length) * 0.7;
    for (const topic of topics) {
      let d = dayOfIso(month.from) - 15 - Math.floor(random() * 60);
      let state: DailyFsrsState | null = null;
      for (let guard = 0; guard < 60 && d <= last; guard++) {
        const at = d * DAY + 9 * 3_600_000 + Math.floor(random() * 7_200_000);
        const correct = random() < 0.2;
        answers.push({ id: id(), user, topic, at, correct });
        if (random() < 0.3)
          answers.push({ id: id(), user, topic, at: at + 3 * 3_600_000, correct: random() < 0.5 });
        state = dailyReview(state, at, correct);
        const dueDay = day(state.lastAt + dailyInterval(state, REVIEW_SCHEDULE.targetRetention) * DAY);
        const u = random();
        if (u < diligence) d = dueDay - 1 + Math.floor(random() * 3);
        else if (u < diligence + 0.15) d = dueDay + 2 + Math.floor(random() * 8);
        else if (u < diligence + 0.25 && dueDay - 2 > d + 1)
          d = d + 1 + Math.floor(random() * (dueDay - 3 - d));
        else if (u < 0.97) d = dueDay + 2 + Math.floor(random() * 20);
        else break;
        d = Math.max(d, day(at) + 1);
      }
    }
  });
}

beforeAll(async () => {
  await provision(iso, { postgres: true, clickhouse: true, kafka: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  const { rows } = await pg.query<{ id: string }>(
    `SELECT id FROM topics WHERE level = 2 ORDER BY id LIMIT 6`,
  );
  topics = rows.map((r) => r.id);
  const now = Date.now();
  month = lastCompleteWindow('month', now, GRACE_MS);
  generate(now);
  // Kafka: every answer twice, shuffled (deterministically), so arrival order has nothing to do with event time.
  const random = rand(5);
  const events = answers
    .flatMap((a) => [record(a), record(a)])
    .map((e) => ({ e, key: random() }))
    .sort((x, y) => x.key - y.key)
    .map((x) => x.e);
  await produce(iso.cfg, events);
  const env = runEnv(iso, iso, 'adh');
  const run = await startInProcess(env);
  try {
    await waitCaughtUp(env);
  } finally {
    await run.stop();
  }
  // The raw history (the population of a release: students with an event in the window) as the sink writes it.
  await ch.insert({
    table: 'question_attempts',
    format: 'JSONEachRow',
    values: answers.map((a) => ({
      event_id: a.id,
      user_id: a.user,
      occurred_at: chTime(a.at),
      occurred_ms: a.at % 1000,
      received_at: chTime(a.at),
      schema_version: 1,
      session_id: `${a.user}-${day(a.at)}`,
      question_id: `q-${a.id.slice(-6)}`,
      topic_ids: [a.topic],
      selected_answer: 'A',
      is_correct: a.correct ? 1 : 0,
      attempt_number: 1,
      time_to_answer_ms: 20_000,
    })),
  });
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ($1, 'adherence')`, [COHORT]);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT $1, unnest($2::text[])`, [
    COHORT,
    STUDENTS,
  ]);
  const port = await freePort();
  api = await startService(
    'analytics-api',
    'services/analytics-api/main.ts',
    {
      ...iso.env,
      LOG_LEVEL: 'warn',
      API_PORT: String(port),
      JWT_SECRET: SECRET,
      API_CACHE_TTL_SEC: '0',
      COHORT_MIN_K: String(K),
    },
    `http://127.0.0.1:${port}`,
  );
}, 300_000);

afterAll(async () => {
  if (api) await stopServices([api]);
  await pg?.end();
  await ch?.close();
  await teardown(iso);
});

const tokenOf = (sub: string, role: 'student' | 'admin') =>
  signToken(
    { sub, role },
    { secret: SECRET, ttlSec: 3600, issuer: 'studystream', audience: 'studystream-api' },
  );

async function get(path: string, tokenPromise: Promise<string> | string) {
  const token = await tokenPromise;
  const res = await fetch(`${api.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function storedReviews() {
  const { rows } = await pg.query<Record<string, any>>(
    `SELECT user_id, topic_id, first_event_id AS id, correct, (day - DATE '1970-01-01') AS day,
            (due_day - DATE '1970-01-01') AS due_day, (next_day - DATE '1970-01-01') AS next_day
       FROM topic_reviews ORDER BY user_id, topic_id, day`,
  );
  return rows;
}

describe('review adherence through Kafka, PostgreSQL and the API', () => {
  it('stores each topic review with its due and next day, as computed from the answer set', async () => {
    const stored = await storedReviews();
    const expected = STUDENTS.flatMap((u) =>
      topics.flatMap((t) =>
        expectedReviews(u, t).map((r) => ({
          user_id: u,
          topic_id: t,
          id: r.id,
          correct: r.correct,
          day: r.day,
          due_day: r.dueDay,
          next_day: r.nextDay,
        })),
      ),
    );
    expect(expected.length).toBeGreaterThan(200);
    expect(stored).toEqual(expected);
  });

  it('the data hold every kind of due in the window, and students above and below each other', () => {
    const values = STUDENTS.map((u) => expectedAdherence(u, month));
    expect(values.filter((v) => v.due > 0).length).toBeGreaterThanOrEqual(2 * K);
    const shares = values.filter((v) => v.due > 0).map((v) => v.onTime / v.due);
    expect(new Set(shares.map(r4)).size).toBeGreaterThan(3);
  });

  it('answers each student their adherence and percentile over the last complete month, k-anonymously', async () => {
    // The population: students with an answer in the window; the metric's: those of them with a due in it.
    const active = STUDENTS.filter((u) =>
      answers.some(
        (a) => a.user === u && a.at >= Date.parse(month.from) && a.at < Date.parse(month.to) + DAY,
      ),
    );
    const values = new Map<string, number>();
    for (const u of active) {
      const e = expectedAdherence(u, month);
      if (e.due > 0) values.set(u, e.onTime / e.due);
    }
    const all = [...values.values()].sort((a, b) => a - b);
    expect(all.length).toBeGreaterThanOrEqual(K);
    let checked = 0;
    let distribution: any = null;
    for (const u of STUDENTS) {
      const r = await get(`/api/analytics/percentiles?window=month`, tokenOf(u, 'student'));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.window.period).toBe(month.period);
      const m = r.body.metrics.reviewAdherence;
      expect(m.suppressed).toBe(false);
      expect(m.population).toBe(all.length);
      expect(m.cohortQuantiles).toEqual(releaseQuantiles(all, K));
      expect(m.histogram).toEqual(
        releaseHistogram(all, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], K),
      );
      distribution = m;
      const v = values.get(u);
      expect(r.body.inRelease).toBe(active.includes(u));
      if (v === undefined) {
        expect(m.value).toBeNull();
        expect(m.percentile).toBeNull();
        continue;
      }
      const below = all.filter((x) => x < v).length;
      const ties = all.filter((x) => x === v).length;
      expect(m.value).toBe(r4(v));
      expect(m.percentile).toBe(Math.round((1000 * (below + ties / 2)) / all.length) / 10);
      checked++;
    }
    expect(checked).toBe(all.length);
    // The educator view of the same frozen release: the same distribution, no individual value.
    const d = await get(
      `/api/analytics/cohorts/${COHORT}/distributions?window=month`,
      tokenOf('root', 'admin'),
    );
    expect(d.status).toBe(200);
    expect(d.body.metrics.reviewAdherence.cohortQuantiles).toEqual(distribution.cohortQuantiles);
    expect(d.body.metrics.reviewAdherence.histogram).toEqual(distribution.histogram);
    expect(d.body.metrics.reviewAdherence).not.toHaveProperty('value');
  });

  it('counts, for the differencing check, the students whose adherence the differing days move', async () => {
    const isoDay = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);
    const from = dayOfIso(month.from);
    for (const [a, b] of [
      [from, from + 9],
      [from + 10, dayOfIso(month.to)],
      [from - 40, from - 1],
    ] as const) {
      const expected = STUDENTS.filter(
        (u) => expectedAdherence(u, { ...month, from: isoDay(a), to: isoDay(b) }).due > 0,
      );
      const counts = await contributorCounts(ch, pg, STUDENTS, [{ from: isoDay(a), to: isoDay(b) }]);
      expect(counts.get('metric:reviewAdherence'), `${isoDay(a)}..${isoDay(b)}`).toBe(expected.length);
    }
    // Two ranges at once count a student once.
    const both = STUDENTS.filter(
      (u) =>
        expectedAdherence(u, { ...month, from: isoDay(from), to: isoDay(from + 4) }).due > 0 ||
        expectedAdherence(u, { ...month, from: isoDay(from + 20), to: isoDay(from + 24) }).due > 0,
    );
    const counts = await contributorCounts(ch, pg, STUDENTS, [
      { from: isoDay(from), to: isoDay(from + 4) },
      { from: isoDay(from + 20), to: isoDay(from + 24) },
    ]);
    expect(counts.get('metric:reviewAdherence')).toBe(both.length);
    expect(both.length).toBeGreaterThan(0);
  });

  it('the history in ClickHouse implies the same rows: reconcile finds no difference, the backfill rewrites them equal', async () => {
    const before = await storedReviews();
    const cmp = await compareReviewDays(iso.cfg, pg);
    expect(cmp.examples).toEqual([]);
    expect(cmp.students).toBe(STUDENTS.length);
    const r = await backfillReviewDays(iso.cfg, pg, 'none');
    expect(r.reviews).toBe(before.length);
    expect(await storedReviews()).toEqual(before);
    // A changed row is found.
    await pg.query(`UPDATE topic_reviews SET next_day = NULL WHERE user_id = $1`, [STUDENTS[3]]);
    expect((await compareReviewDays(iso.cfg, pg)).differing).toBe(1);
  });
});
