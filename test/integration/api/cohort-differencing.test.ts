/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../../services/analytics-api/auth.ts';
import { lastCompleteWindow, windowOf, type CalendarWindow } from '../../../services/analytics/windows.ts';
import { createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, startService, stopServices, type StartedService } from '../../support/process.ts';
import { chTime } from '../../support/seeded-data.ts';

/**
 * Differencing attacks on cohort v2 against the real API process (its own PostgreSQL role, ClickHouse, no response
 * cache: API_CACHE_TTL_SEC=0, so what holds is the frozen releases, not a cache), on a cohort with one planted
 * student P whose figures are distinctive (every answer correct, 97-minute sessions, the only student active on
 * odd days). Each attack collects the answers an attacker can get and tries to recover a figure of P; the
 * assertions say it cannot, and that the data were such that an unprotected API would have given P away.
 */

const K = 10;
const DAY = 86_400_000;
const SECRET = 'cohort-differencing-secret-0123456789abcdef';
const BASE = Array.from({ length: 12 }, (_, i) => `base${String(i).padStart(2, '0')}`);
const P = 'planted';
/** Students active only in one week inside the month (every day of it). */
const E = Array.from({ length: 11 }, (_, i) => `wk${String(i).padStart(2, '0')}`);
const GRACE = 24 * 3_600_000;

const iso = isolatedEnv('cohortdiff');
let pg: Pool;
let ch: ClickHouseClient;
let api: StartedService;
let t1: string;
let t2: string;
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);
const iso10 = (ms: number) => new Date(ms).toISOString().slice(0, 10);

type Answer = { user: string; at: number; topic: string; correct: boolean };
const answers: Answer[] = [];
const sessions: Array<{ user: string; at: number; minutes: number }> = [];
let month: CalendarWindow;
let week: CalendarWindow;
let quarter: CalendarWindow;
/** The first ISO week wholly inside `month`. */
let innerWeek: CalendarWindow;

async function get(path: string, token: string) {
  const res = await fetch(`${api.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const tokenOf = (sub: string, role: 'student' | 'educator' | 'admin', cohorts?: string[]) =>
  signToken(
    { sub, role, cohorts },
    { secret: SECRET, ttlSec: 3600, issuer: 'studystream', audience: 'studystream-api' },
  );

/** P's exact figures over a window, as an attacker would want them. */
function plantedFigures(w: CalendarWindow) {
  const inW = (at: number) => iso10(at) >= w.from && iso10(at) <= w.to;
  const a = answers.filter((x) => x.user === P && inW(x.at));
  const s = sessions.filter((x) => x.user === P && inW(x.at));
  const weeks = (dayMs(w.to) - dayMs(w.from) + DAY) / (7 * DAY);
  return {
    t1Answers: a.filter((x) => x.topic === t1).length,
    accuracy: a.length ? a.filter((x) => x.correct).length / a.length : null,
    questionsPerWeek: a.length / weeks,
    studyMinutesPerWeek: s.reduce((t, x) => t + x.minutes, 0) / weeks,
  };
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const METRICS = ['accuracy', 'studyMinutesPerWeek', 'questionsPerWeek', 'mastery'] as const;

/**
 * The attacker's subtraction of two answers for the same window: every cell released in both must differ by 0 or
 * at least k students (so the difference describes no single student), and P's exact values must not appear.
 */
function assertNothingIsolated(a: Record<string, any>, b: Record<string, any>, w: CalendarWindow) {
  const fig = plantedFigures(w);
  let compared = 0;
  if (a.metrics && b.metrics) {
    for (const m of METRICS) {
      const ha = a.metrics[m]?.histogram as { from: number; to: number; students: number }[] | null;
      const hb = b.metrics[m]?.histogram as typeof ha;
      if (!ha || !hb) continue;
      compared++;
      const na = ha.reduce((s, x) => s + x.students, 0);
      const nb = hb.reduce((s, x) => s + x.students, 0);
      const d = Math.abs(na - nb);
      expect(d === 0 || d >= K, `${m} populations differ by ${d}`).toBe(true);
    }
  }
  if (a.topics && b.topics) {
    for (const ta of a.topics as any[]) {
      const tb = (b.topics as any[]).find((x) => x.topicId === ta.topicId);
      if (!tb) continue;
      compared++;
      const d = Math.abs(ta.students - tb.students);
      expect(d === 0 || d >= K, `${ta.topicId} students differ by ${d}`).toBe(true);
      if (ta.topicId === t1 && d > 0) expect(Math.abs(ta.questions - tb.questions)).not.toBe(fig.t1Answers);
      if (ta.struggling.assessed !== null && tb.struggling.assessed !== null) {
        const ds = Math.abs(ta.struggling.assessed - tb.struggling.assessed);
        expect(ds === 0 || ds >= K).toBe(true);
      }
      if (ta.timeToMastery.students !== null && tb.timeToMastery.students !== null) {
        const dm = Math.abs(ta.timeToMastery.students - tb.timeToMastery.students);
        expect(dm === 0 || dm >= K).toBe(true);
      }
    }
  }
  return compared;
}

/** No released quantile anywhere equals one of P's exact values. */
function assertNoPlantedValue(body: Record<string, any>, w: CalendarWindow) {
  const fig = plantedFigures(w);
  const exact = [fig.accuracy, fig.questionsPerWeek, fig.studyMinutesPerWeek]
    .filter((x) => x !== null)
    .map((x) => r4(x!));
  for (const m of METRICS) {
    const q = body.metrics?.[m]?.cohortQuantiles;
    if (!q) continue;
    for (const v of Object.values(q)) if (v !== null) expect(exact).not.toContain(v);
  }
}

beforeAll(async () => {
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  const { rows } = await pg.query<{ id: string }>(
    `SELECT id FROM topics WHERE level = 2 ORDER BY id LIMIT 2`,
  );
  [t1, t2] = [rows[0]!.id, rows[1]!.id];
  const now = Date.now();
  week = lastCompleteWindow('week', now, GRACE);
  month = lastCompleteWindow('month', now, GRACE);
  quarter = lastCompleteWindow('quarter', now, GRACE);
  innerWeek = windowOf('week', dayMs(month.from) + 6 * DAY);
  if (innerWeek.from < month.from) innerWeek = windowOf('week', dayMs(innerWeek.from) + 7 * DAY);
  // 200 days back from yesterday: base students on even days, P alone on odd days (so any one-day difference of
  // two answers is P's day).
  const yesterday = dayMs(iso10(now)) - DAY;
  for (let d = 0; d < 200; d++) {
    const day = yesterday - d * DAY;
    if (d % 2 === 0) {
      BASE.forEach((u, i) => {
        const n = 3 + ((i + d) % 4);
        for (let q = 0; q < n; q++) {
          answers.push({
            user: u,
            at: day + 9 * 3_600_000 + q * 60_000,
            topic: i < 5 && q === 0 ? t2 : t1,
            correct: (q + i + d) % 3 !== 0,
          });
        }
        sessions.push({ user: u, at: day + 10 * 3_600_000, minutes: 20 + i });
      });
    } else {
      for (let q = 0; q < 7; q++)
        answers.push({ user: P, at: day + 15 * 3_600_000 + q * 60_000, topic: t1, correct: true });
      sessions.push({ user: P, at: day + 16 * 3_600_000, minutes: 97 });
    }
  }
  for (let t = dayMs(innerWeek.from); t <= dayMs(innerWeek.to); t += DAY) {
    E.forEach((u, i) => {
      for (let q = 0; q < 4; q++) {
        answers.push({ user: u, at: t + 8 * 3_600_000 + q * 60_000, topic: t1, correct: (q + i) % 2 === 0 });
      }
      sessions.push({ user: u, at: t + 9 * 3_600_000, minutes: 30 + i });
    });
  }
  let n = 0;
  const id = () => `00000000-0000-4000-9000-${String(++n).padStart(12, '0')}`;
  await ch.insert({
    table: 'question_attempts',
    format: 'JSONEachRow',
    values: answers.map((a) => ({
      event_id: id(),
      user_id: a.user,
      occurred_at: chTime(a.at),
      received_at: chTime(a.at),
      schema_version: 1,
      session_id: `${a.user}-${iso10(a.at)}`,
      question_id: `q-${n}`,
      topic_ids: [a.topic],
      selected_answer: 'A',
      is_correct: a.correct ? 1 : 0,
      attempt_number: 1,
      time_to_answer_ms: 30_000,
    })),
  });
  await ch.insert({
    table: 'study_events',
    format: 'JSONEachRow',
    values: sessions.map((s) => ({
      event_id: id(),
      user_id: s.user,
      occurred_at: chTime(s.at),
      received_at: chTime(s.at),
      schema_version: 1,
      event_type: 'SESSION_END',
      session_id: `${s.user}-${iso10(s.at)}`,
      topic_ids: [],
      material_id: '',
      duration_ms: s.minutes * 60_000,
    })),
  });
  // Mastery history: every base student first reaches 0.8 on t1 in the month (time to mastery 6 + 2i days), P too.
  const hist: Array<[string, string, string, number]> = [];
  BASE.forEach((u, i) => {
    hist.push([u, t1, iso10(dayMs(month.from) - (5 + i) * DAY), 0.5]);
    hist.push([u, t1, iso10(dayMs(month.from) + i * DAY), 0.85]);
  });
  hist.push(
    [P, t1, iso10(dayMs(month.from) - 40 * DAY), 0.3],
    [P, t1, iso10(dayMs(month.from) + 3 * DAY), 0.95],
  );
  await pg.query(
    `INSERT INTO topic_mastery_history (user_id, topic_id, day, attempts, correct, accuracy, retrieval_strength,
       material_completion, mastery_score, mastery_lower, mastery_upper)
     SELECT u, t, d, 1, 1, 1, 0.9, 0, s, s, s FROM unnest($1::text[], $2::text[], $3::date[], $4::float8[]) AS x(u, t, d, s)`,
    [hist.map((h) => h[0]), hist.map((h) => h[1]), hist.map((h) => h[2]), hist.map((h) => h[3])],
  );
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('cohort-c', 'C')`);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'cohort-c', unnest($1::text[])`, [
    BASE,
  ]);
  const port = await freePort();
  api = await startService(
    'analytics-api',
    'services/analytics-api/main.ts',
    { ...iso.env, LOG_LEVEL: 'warn', API_PORT: String(port), JWT_SECRET: SECRET, API_CACHE_TTL_SEC: '0' },
    `http://127.0.0.1:${port}`,
  );
}, 120_000);

afterAll(async () => {
  if (api) await stopServices([api]);
  await pg?.end();
  await ch?.close();
  await teardown(iso);
});

describe('differencing attacks on cohort v2 (planted student, real API process)', () => {
  it('overlapping windows: every `days` value 1-365 maps to one of three fixed periods; no one-day difference exists', async () => {
    const educator = await tokenOf('teach', 'educator', ['cohort-c', 'cohort-d']);
    const student = await tokenOf(BASE[0]!, 'student');
    const byDays = new Map<number, Record<string, any>>();
    for (let days = 1; days <= 365; days++) {
      const r = await get(`/api/analytics/cohorts/cohort-c/topics?days=${days}`, educator);
      expect(r.status).toBe(200);
      byDays.set(days, r.body);
    }
    const periods = new Set([...byDays.values()].map((b) => `${b.window.kind}:${b.window.period}`));
    expect(periods).toEqual(
      new Set([`week:${week.period}`, `month:${month.period}`, `quarter:${quarter.period}`]),
    );
    // The old attack: answers for days = N and N + 1 differ by exactly one day of data. Here they are the same answer
    // unless the window kind changes, and then the two windows differ by whole weeks or months, never one day.
    let recovered = 0;
    for (let days = 1; days < 365; days++) {
      const a = byDays.get(days)!;
      const b = byDays.get(days + 1)!;
      if (a.window.period === b.window.period) {
        expect(b.topics).toEqual(a.topics);
        continue;
      }
      // Days in exactly one of the two windows: whole weeks or months, never a single day.
      const daysOf = (w: { from: string; to: string }) => {
        const out = new Set<string>();
        for (let t = dayMs(w.from); t <= dayMs(w.to); t += DAY) out.add(iso10(t));
        return out;
      };
      const da = daysOf(a.window);
      const db = daysOf(b.window);
      const onlyOne = [...da].filter((x) => !db.has(x)).length + [...db].filter((x) => !da.has(x)).length;
      expect(onlyOne).toBeGreaterThanOrEqual(7);
      const ta = (a.topics as any[]).find((t) => t.topicId === t1);
      const tb = (b.topics as any[]).find((t) => t.topicId === t1);
      // P answers 7 questions on t1 on each of its days: a one-day difference would be exactly 7.
      if (ta && tb && Math.abs(ta.questions - tb.questions) === 7) recovered++;
    }
    expect(recovered).toBe(0);
    // The student view through `days` gives the same windows.
    const s = await get('/api/analytics/percentiles?days=3', student);
    expect(s.body.window.period).toBe(week.period);
  });

  it('membership change: adding P to the cohort after its release changes no answer; P gets no figure from it', async () => {
    const educator = await tokenOf('teach', 'educator', ['cohort-c', 'cohort-d']);
    const student = await tokenOf(BASE[0]!, 'student');
    const before = {
      topics: await get(`/api/analytics/cohorts/cohort-c/topics?window=month`, educator),
      dist: await get(`/api/analytics/cohorts/cohort-c/distributions?window=month`, educator),
      pct: await get(`/api/analytics/percentiles?window=month&cohort=cohort-c`, student),
    };
    expect(before.topics.body.suppressed).toBe(false);
    expect(before.topics.body.cohortSize).toBe(BASE.length);
    const base = before.topics.body.topics.find((t: any) => t.topicId === t1);
    expect(base.timeToMastery.students).toBe(BASE.length); // released: every base student reached mastery in the month
    assertNoPlantedValue(before.pct.body, month);
    await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) VALUES ('cohort-c', $1)`, [P]);
    // Late events for a base student inside the released month arrive too.
    await ch.insert({
      table: 'question_attempts',
      format: 'JSONEachRow',
      values: [
        {
          event_id: '00000000-0000-4000-9999-000000000001',
          user_id: BASE[3],
          occurred_at: chTime(dayMs(month.from) + 12 * 3_600_000),
          received_at: chTime(Date.now()),
          schema_version: 1,
          session_id: 'late',
          question_id: 'late',
          topic_ids: [t1],
          selected_answer: 'A',
          is_correct: 1,
          attempt_number: 1,
          time_to_answer_ms: 1000,
        },
      ],
    });
    const after = {
      topics: await get(`/api/analytics/cohorts/cohort-c/topics?window=month`, educator),
      dist: await get(`/api/analytics/cohorts/cohort-c/distributions?window=month`, educator),
      pct: await get(`/api/analytics/percentiles?window=month&cohort=cohort-c`, student),
    };
    expect(after.topics.body.topics).toEqual(before.topics.body.topics);
    expect(after.dist.body.metrics).toEqual(before.dist.body.metrics);
    expect(after.pct.body.metrics).toEqual(before.pct.body.metrics);
    expect(after.topics.body.releasedAt).toBe(before.topics.body.releasedAt);
    expect(assertNothingIsolated(before.topics.body, after.topics.body, month)).toBeGreaterThan(0);
    // P, now a member, reads the cohort: the frozen release has no row for P, so no percentile to probe with.
    const planted = await get(
      `/api/analytics/percentiles?window=month&cohort=cohort-c`,
      await tokenOf(P, 'student'),
    );
    expect(planted.status).toBe(200);
    expect(planted.body.inRelease).toBe(false);
    for (const m of METRICS) expect(planted.body.metrics[m].percentile).toBeNull();
  });

  it('two cohorts one student apart, every endpoint and window: the second release withholds what would isolate P', async () => {
    await pg.query(`INSERT INTO cohorts (id, name) VALUES ('cohort-d', 'D')`);
    await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'cohort-d', unnest($1::text[])`, [
      [...BASE, P],
    ]);
    const educator = await tokenOf('teach', 'educator', ['cohort-c', 'cohort-d']);
    const admin = await tokenOf('root', 'admin');
    const student = await tokenOf(BASE[0]!, 'student');
    let compared = 0;
    for (const w of [week, month, quarter]) {
      const q = `window=${w.kind}`;
      // C first where not yet released (week, quarter), then D.
      const c = {
        topics: await get(`/api/analytics/cohorts/cohort-c/topics?${q}`, educator),
        dist: await get(`/api/analytics/cohorts/cohort-c/distributions?${q}`, educator),
        pct: await get(`/api/analytics/percentiles?${q}&cohort=cohort-c`, student),
        own: await get(`/api/analytics/cohort-topics?${q}&cohort=cohort-c`, student),
      };
      const d = {
        topics: await get(`/api/analytics/cohorts/cohort-d/topics?${q}`, educator),
        dist: await get(`/api/analytics/cohorts/cohort-d/distributions?${q}`, educator),
        pct: await get(`/api/analytics/percentiles?${q}&cohort=cohort-d&user=${BASE[0]}`, admin),
        own: await get(`/api/analytics/cohort-topics?${q}&cohort=cohort-d&user=${BASE[0]}`, admin),
      };
      // Without the differencing check D (13 active students >= k) would be released in full.
      expect(c.topics.body.suppressed).toBe(false);
      expect(d.topics.body).toMatchObject({ suppressed: true, cohortSize: null, topics: [] });
      for (const m of METRICS) expect(d.dist.body.metrics[m].histogram).toBeNull();
      for (const x of [c.topics, c.dist, c.pct, c.own, d.topics, d.dist, d.pct, d.own])
        expect(x.status).toBe(200);
      // Every pairing of the two cohorts' answers, across endpoints.
      for (const a of [c.topics, c.dist, c.pct, c.own]) {
        for (const b of [d.topics, d.dist, d.pct, d.own])
          compared += assertNothingIsolated(a.body, b.body, w);
      }
      for (const x of [c.pct, d.pct, c.dist, d.dist]) assertNoPlantedValue(x.body, w);
    }
    expect(compared).toBe(0); // nothing was released in both: D withheld everything that differs by P alone
  });

  it('nested windows: a week inside a month cannot be subtracted to isolate the one student active outside it', async () => {
    await pg.query(`INSERT INTO cohorts (id, name) VALUES ('cohort-e', 'E')`);
    await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'cohort-e', unnest($1::text[])`, [
      [...E, P],
    ]);
    const educator = await tokenOf('teach', 'educator', ['cohort-e']);
    const wk = await get(
      `/api/analytics/cohorts/cohort-e/topics?window=week&period=${innerWeek.period}`,
      educator,
    );
    expect(wk.status).toBe(200);
    expect(wk.body.window.period).toBe(innerWeek.period);
    const inWeek = (wk.body.topics as any[]).find((t) => t.topicId === t1);
    expect(inWeek.students).toBe(E.length + 1); // the week students and P
    const mo = await get(
      `/api/analytics/cohorts/cohort-e/topics?window=month&period=${month.period}`,
      educator,
    );
    const dist = await get(
      `/api/analytics/cohorts/cohort-e/distributions?window=month&period=${month.period}`,
      educator,
    );
    // The same 12 students are active in both, and only P outside the week: month minus week would be P's answers
    // on t1 and would move P alone in every histogram. Those cells are withheld; the population size is not secret.
    expect(mo.body.cohortSize).toBe(E.length + 1);
    const inMonth = (mo.body.topics as any[]).find((t) => t.topicId === t1);
    expect(inMonth).toBeUndefined();
    expect(mo.body.withheldTopics).toBeGreaterThanOrEqual(1);
    for (const m of ['accuracy', 'studyMinutesPerWeek', 'questionsPerWeek'])
      expect(dist.body.metrics[m]).toMatchObject({ histogram: null, withheld: 'differencing' });
    expect(plantedFigures(month).t1Answers - plantedFigures(innerWeek).t1Answers).toBeGreaterThan(0);
  });

  it('everyone versus a cohort: a student with no cohort sees the all-students release, checked the same way', async () => {
    const loner = await tokenOf('no-cohort-student', 'student');
    const educator = await tokenOf('teach', 'educator', ['cohort-c', 'cohort-d']);
    for (const w of [week, month, quarter]) {
      const all = await get(`/api/analytics/cohort-topics?window=${w.kind}`, loner);
      expect(all.status).toBe(200);
      expect(all.body.cohort).toBeNull();
      const c = await get(`/api/analytics/cohorts/cohort-c/topics?window=${w.kind}`, educator);
      assertNothingIsolated(all.body, c.body, w);
    }
  });
});
