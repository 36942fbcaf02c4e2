/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  createClickHouse,
  createClickHouseReader,
  type ClickHouseClient,
} from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import { PgAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';
import {
  startInvalidationListener,
  type InvalidationListener,
} from '../../../services/analytics-api/invalidation.ts';
import { percentileRank } from '../../../services/domain/stats.ts';
import { pCorrectNow } from '../../../services/analytics-api/views/mastery-entry.ts';
import {
  ALICE,
  BIG,
  BOB,
  loadApiFixture,
  masteryFixture,
  NOW,
  learnerStateOf,
  pCorrectOf,
  TODAY,
  type Fixture,
} from './fixture.ts';

/**
 * The analytics API against real PostgreSQL, ClickHouse and Redis, on known data (fixture.ts). Every expected
 * value below is computed from the fixture's raw arrays, not by the API's code.
 */

const SECRET = 'integration-secret-integration-secret';
const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const addDays = (day: string, n: number) => dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const r1 = (x: number) => Math.round(x * 10) / 10;

let iso: IsolatedEnv;
let pg: Pool;
let ch: ClickHouseClient;
let chRows: ReturnType<typeof createClickHouseReader>;
let redis: Redis;
let listener: InvalidationListener;
let audit: PgAuditLog;
let app: ReturnType<typeof createApiApp>;
let f: Fixture;

const token = (sub: string, role: Role, cohorts?: string[]) =>
  signToken(
    { sub, role, cohorts },
    { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
  );

async function get(path: string, as: string | Promise<string>) {
  const res = await app.request(path, { headers: { Authorization: `Bearer ${await as}` } });
  return {
    status: res.status,
    cache: res.headers.get('X-Cache'),
    body: (await res.json()) as Record<string, any>,
  };
}

beforeAll(async () => {
  iso = isolatedEnv('api');
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  chRows = createClickHouseReader(iso.cfg);
  redis = createRedis(iso.cfg);
  await new Promise((resolve) => redis.once('ready', resolve));
  f = await loadApiFixture(pg, ch, redis);
  const log = createLogger('test', process.env.TEST_API_LOG ?? 'silent');
  const registry = new Registry();
  audit = new PgAuditLog(pg, { flushMs: 100, batchRows: 1000, maxBuffer: 10_000 }, registry, log);
  listener = startInvalidationListener({
    redisUrl: iso.cfg.REDIS_URL,
    keyPrefix: iso.cfg.REDIS_KEY_PREFIX,
    redis,
    registry,
    log,
  });
  app = createApiApp({
    pg,
    ch,
    chRows,
    redis,
    log,
    registry,
    audit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 300,
    cacheTimeoutMs: 200,
    kAnonymity: 10,
    now: () => NOW,
  });
});

afterAll(async () => {
  await audit?.close();
  await listener?.close();
  redis?.disconnect();
  await ch?.close();
  chRows?.close();
  await pg?.end();
  if (iso) await teardown(iso);
});

/** Alice's raw rows in [from, to] (UTC days). */
function aliceIn(from: string, to = TODAY) {
  const inWin = (at: number) => dayOf(at) >= from && dayOf(at) <= to;
  return {
    attempts: f.attempts.filter((a) => a.user === ALICE && inWin(a.at)),
    studyEvents: f.studyEvents.filter((e) => e.user === ALICE && inWin(e.at)),
    materials: f.materials.filter((m) => m.user === ALICE && inWin(m.at)),
  };
}

function expectedWindow(from: string) {
  const w = aliceIn(from);
  const questions = w.attempts.length;
  const correct = w.attempts.filter((a) => a.correct).length;
  const sessions = new Set(
    [...w.attempts, ...w.studyEvents, ...w.materials].map((x) => x.session).filter(Boolean),
  );
  return {
    studyMinutes: r1(
      w.studyEvents.reduce((s, e) => s + (e.type === 'SESSION_END' ? e.durationMs! : 0), 0) / 60_000,
    ),
    activeMinutes: r1(
      (w.attempts.reduce((s, a) => s + a.ms, 0) + w.materials.reduce((s, m) => s + m.activeMs, 0)) / 60_000,
    ),
    sessions: sessions.size,
    questions,
    correct,
    accuracy: questions > 0 ? correct / questions : null,
    firstAttempts: w.attempts.filter((a) => a.attempt === 1).length,
    firstAttemptCorrect: w.attempts.filter((a) => a.attempt === 1 && a.correct).length,
    materials: new Set([
      ...w.materials.map((m) => m.material),
      ...w.studyEvents.map((e) => e.material).filter(Boolean),
    ]).size,
  };
}

describe('student endpoints return values matching an independent computation', () => {
  it('dashboard', async () => {
    const r = await get('/api/analytics/dashboard', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    expect(r.body.study.today).toEqual(expectedWindow(TODAY));
    expect(r.body.study.last7Days).toEqual(expectedWindow(addDays(TODAY, -6)));
    expect(r.body.study.last30Days).toEqual(expectedWindow(addDays(TODAY, -29)));
    expect(r.body.streak).toEqual({ current: 3, longest: 3, lastActiveDay: TODAY });
    const rows = masteryFixture(f);
    const leaves = rows.filter((x) => x.level === 2);
    expect(r.body.mastery.topicsStudied).toBe(3);
    expect(r.body.mastery.averageScore).toBe(r4(leaves.reduce((s, x) => s + x.score, 0) / 3));
    expect(r.body.mastery.averagePCorrect).toBe(r4(leaves.reduce((s, x) => s + pCorrectOf(x.score), 0) / 3));
    expect(r.body.mastery.weakest[0].pCorrect).toBe(
      pCorrectOf(leaves.find((x) => x.topic === f.leaves[2])!.score),
    );
    expect(r.body.mastery.bands).toEqual({ mastered: 1, developing: 1, weak: 1 });
    expect(r.body.mastery.trends).toMatchObject({ improving: 1, stable: 1, declining: 1 });
    expect(r.body.mastery.weakest[0].topicId).toBe(f.leaves[2]);
    expect(r.body.mastery.strongest[0].topicId).toBe(f.leaves[0]);
    const dueNow = leaves.filter((x) => x.nextReviewAt! <= NOW).length;
    const dueWeek = leaves.filter((x) => x.nextReviewAt! > NOW && x.nextReviewAt! <= NOW + 7 * DAY).length;
    expect(r.body.reviews.dueNow).toBe(dueNow);
    expect(r.body.reviews.dueNext7Days).toBe(dueWeek);
    expect(r.body.liveSession).toMatchObject({
      sessionId: 'alice-live',
      status: 'active',
      questionsAnswered: 2,
    });
    expect(r.body.liveSessionAvailable).toBe(true);
  });

  it('mastery list and one topic', async () => {
    const list = await get('/api/analytics/mastery', token(ALICE, 'student'));
    expect(list.status).toBe(200);
    const byId = new Map((list.body.topics as any[]).map((t) => [t.topicId, t]));
    for (const x of masteryFixture(f)) {
      const t = byId.get(x.topic);
      expect(t, x.topic).toBeDefined();
      expect(t.score).toBe(x.score);
      expect(t.interval).toEqual({ lower: x.lower, upper: x.upper, level: 0.95 });
      const p = pCorrectOf(x.score);
      if (x.level === 2) {
        // A leaf with a learner state is predicted with the student's pooled prior; the fixture's states carry no
        // pooling sums, so the pool is empty and only the pooled prior's variance differs from the flat one.
        const state = learnerStateOf(x.score);
        const pooling = { topicId: x.topic, pool: { student: { g: 0, i: 0 }, systems: new Map() } };
        expect(t.pCorrect).toEqual(pCorrectNow(state, Date.parse(t.asOf), pooling));
        expect(t.pCorrectNow).toEqual(pCorrectNow(state, NOW, pooling));
        // a day of forgetting: lower than right after the last answer
        expect(t.pCorrectNow.value).toBeLessThan(pCorrectNow(state, state.lastAt!, pooling)!.value);
      } else {
        expect(t.pCorrect).toEqual({ value: p, lower: r4(p - 0.1), upper: r4(p + 0.1), level: 0.95 });
        expect(t.pCorrectNow).toBeNull();
      }
      expect(t.trend).toBe(x.trend);
      expect(t.attempts).toBe(x.attempts);
      expect(t.accuracy).toBe(r4(x.correct / x.attempts));
      expect(t.nextReviewAt).toBe(x.nextReviewAt === null ? null : new Date(x.nextReviewAt).toISOString());
    }
    expect(byId.size).toBe(4);
    const leavesOnly = await get('/api/analytics/mastery?level=2', token(ALICE, 'student'));
    expect((leavesOnly.body.topics as any[]).map((t) => t.topicId).sort()).toEqual([...f.leaves].sort());

    const one = await get(`/api/analytics/mastery/${f.leaves[0]}?days=30`, token(ALICE, 'student'));
    expect(one.status).toBe(200);
    expect(one.body.mastery.score).toBe(0.82);
    expect(one.body.nextReviewAt).toBe(new Date(NOW - 2 * 3_600_000).toISOString());
    expect((one.body.history as any[]).map((h) => h.day)).toEqual(
      [5, 4, 3, 2, 1].map((b) => addDays(TODAY, -b)),
    );
    expect(one.body.history[4].score).toBe(r4(0.8 - 0.05));
    const t1Days = new Map<string, { q: number; c: number }>();
    for (const a of aliceIn(addDays(TODAY, -29)).attempts.filter((a) => a.topic === f.leaves[0])) {
      const d = t1Days.get(dayOf(a.at)) ?? { q: 0, c: 0 };
      d.q++;
      d.c += a.correct ? 1 : 0;
      t1Days.set(dayOf(a.at), d);
    }
    expect((one.body.daily as any[]).map((d) => [d.day, d.questions, d.correct])).toEqual(
      [...t1Days.entries()].sort().map(([day, d]) => [day, d.q, d.c]),
    );

    const parent = await get(`/api/analytics/mastery/${f.parent}`, token(ALICE, 'student'));
    const studied = (parent.body.subTopics as any[])
      .filter((s) => s.studied)
      .map((s) => s.topicId)
      .sort();
    expect(studied).toEqual([...f.leaves].sort());
    expect(parent.body.subTopics.length).toBeGreaterThanOrEqual(4);
    // The list builds its entries from a lean row (masteryListPage), one topic through masteryView: same values.
    for (const [id, entry] of byId) {
      // (?days=30: the cache test below needs its own path to start uncached.)
      const single = await get(`/api/analytics/mastery/${id}?days=30`, token(ALICE, 'student'));
      expect(entry, id).toEqual(single.body.mastery);
    }

    expect((await get('/api/analytics/mastery/no.such.topic', token(ALICE, 'student'))).status).toBe(404);
  });

  it('mastery list pages: every row exactly once in one stable order, fields, bad parameters 400', async () => {
    // A student with 40 rows over the three levels: leaves alternate SM-2 and FSRS state, some leaves have none.
    const PAGER = 'pager';
    const { rows: topics } = await pg.query<{ id: string; level: number }>(
      `SELECT id, level FROM topics WHERE level = 0 OR id IN (
         SELECT id FROM topics WHERE level > 0 ORDER BY md5(id) LIMIT 37) ORDER BY level, id COLLATE "C"`,
    );
    const picked = topics.slice(0, 40);
    const expected = picked.map((t, i) => {
      const leaf = t.level === 2;
      const scheduler = leaf && i % 2 === 0 ? 'sm2' : 'fsrs';
      const withState = leaf && i % 5 !== 0;
      return {
        ...t,
        score: r4(0.2 + (i % 7) / 10),
        retrieval: 1,
        attempts: i + 1,
        scheduler,
        intervalDays: 1 + (i % 4),
        lastReviewAt: NOW - (1 + (i % 3)) * DAY,
        sm2: withState && scheduler === 'sm2',
        fsrs: withState && scheduler === 'fsrs',
      };
    });
    for (const e of expected) {
      await pg.query(
        `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, mastery_score, retrieval_strength,
           scheduler, sm2_state, fsrs_state, as_of)
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10)`,
        [
          PAGER,
          e.id,
          e.level,
          e.attempts,
          e.score,
          e.retrieval,
          e.scheduler,
          e.sm2
            ? {
                repetitions: 1,
                intervalDays: e.intervalDays,
                easiness: 2.5,
                dueAt: 0,
                lastReviewAt: e.lastReviewAt,
              }
            : null,
          e.fsrs
            ? {
                // FSRS stability is the interval at which recall falls to 90 %: now is exactly that far out.
                stability: (NOW - e.lastReviewAt) / DAY,
                difficulty: 5,
                reps: 1,
                lapses: 0,
                state: 'review',
                dueAt: 0,
                scheduledDays: 1,
                learningSteps: 0,
                lastReviewAt: e.lastReviewAt,
              }
            : null,
          new Date(NOW - DAY),
        ],
      );
    }
    const admin = token('root', 'admin');
    const full = await get(`/api/analytics/mastery?user=${PAGER}`, admin);
    expect(full.status).toBe(200);
    expect(full.body.nextCursor).toBeNull();
    // One order: level, then topic id bytewise.
    expect((full.body.topics as any[]).map((t) => t.topicId)).toEqual(expected.map((e) => e.id));
    for (const [i, t] of (full.body.topics as any[]).entries()) {
      const e = expected[i]!;
      expect(t.score).toBe(e.score);
      expect(t.attempts).toBe(e.attempts);
      expect(t.level).toBe(e.level);
      expect(t.scheduler).toBe(e.level === 2 ? e.scheduler : null);
      if (e.sm2) {
        // SM-2 recall 0.9 at the due date (exponential in between); the score moves by 0.30 x the change in recall.
        const recall = 0.9 ** ((NOW - e.lastReviewAt) / DAY / e.intervalDays);
        expect(t.now).toEqual({
          retrievalStrength: r4(recall),
          score: r4(Math.min(1, Math.max(0, e.score + 0.3 * (recall - e.retrieval)))),
        });
      } else if (e.fsrs) {
        expect(t.now).toEqual({
          retrievalStrength: 0.9,
          score: r4(Math.min(1, Math.max(0, e.score + 0.3 * (0.9 - e.retrieval)))),
        });
      } else {
        expect(t.now).toBeNull();
      }
    }

    for (const limit of [1, 3, 7, 40]) {
      const seen: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `user=${PAGER}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await get(`/api/analytics/mastery?${q}`, admin);
        expect(page.status, q).toBe(200);
        expect(page.body.topics.length).toBeLessThanOrEqual(limit);
        seen.push(...page.body.topics);
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 100);
      expect(pages).toBe(Math.ceil(expected.length / limit));
      // The pages, concatenated, are the full list: every row once, same order, same values.
      expect(seen).toEqual(full.body.topics);
    }
    const leaves = await get(`/api/analytics/mastery?user=${PAGER}&level=2&limit=4`, admin);
    expect((leaves.body.topics as any[]).map((t) => t.topicId)).toEqual(
      expected
        .filter((e) => e.level === 2)
        .slice(0, 4)
        .map((e) => e.id),
    );

    const trimmed = await get(`/api/analytics/mastery?user=${PAGER}&fields=score,now,name&limit=5`, admin);
    expect(trimmed.status).toBe(200);
    expect(trimmed.body.topics).toEqual(
      (full.body.topics as any[])
        .slice(0, 5)
        .map((t) => ({ topicId: t.topicId, name: t.name, score: t.score, now: t.now })),
    );
    const idsOnly = await get(`/api/analytics/mastery?user=${PAGER}&fields=topicId`, admin);
    expect(idsOnly.body.topics).toEqual(expected.map((e) => ({ topicId: e.id })));

    for (const bad of [
      'limit=0',
      'limit=1001',
      'limit=ten',
      'cursor=%25%25',
      'cursor=abc',
      'cursor=9:cardio',
      'cursor=1:Not%20A%20Topic',
      `cursor=${Buffer.from('1:cardio').toString('base64url')}`,
      'fields=score,password',
      'fields=',
      'fields=score&fields=name',
    ]) {
      const r = await get(`/api/analytics/mastery?user=${PAGER}&${bad}`, admin);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code, bad).toBe('invalid_parameter');
    }
  });

  it('review schedule', async () => {
    const r = await get('/api/analytics/reviews?days=7', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    expect(r.body.due.count).toBe(2);
    expect((r.body.due.topics as any[]).map((t) => t.topicId)).toEqual([f.leaves[2], f.leaves[0]]); // overdue first
    expect(r.body.upcoming.count).toBe(1);
    expect(r.body.upcoming.topics[0].topicId).toBe(f.leaves[1]);
    expect(r.body.calendar).toHaveLength(7);
    expect(r.body.calendar[0]).toEqual({ day: TODAY, count: 2 });
    expect(r.body.calendar[3]).toEqual({ day: addDays(TODAY, 3), count: 1 });
    expect((r.body.calendar as any[]).reduce((s, d) => s + d.count, 0)).toBe(3);
  });

  it('study patterns', async () => {
    const r = await get('/api/analytics/study-patterns', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    const w = aliceIn(addDays(TODAY, -89));
    const cells = new Map<string, { events: number; questions: number; activeMs: number }>();
    const add = (at: number, q: number, ms: number) => {
      const d = new Date(at);
      const key = `${((d.getUTCDay() + 6) % 7) + 1}-${d.getUTCHours()}`;
      const c = cells.get(key) ?? { events: 0, questions: 0, activeMs: 0 };
      c.events++;
      c.questions += q;
      c.activeMs += ms;
      cells.set(key, c);
    };
    for (const a of w.attempts) add(a.at, 1, a.ms);
    for (const e of w.studyEvents) add(e.at, 0, 0);
    for (const m of w.materials) add(m.at, 0, m.activeMs);
    // the fixture's events carry no time zone and the student never sent one: the UTC fallback
    expect(r.body.localTime).toEqual({
      fallbackFor: 'events without a time zone',
      fallbackOffsetMinutes: 0,
      fallbackSource: 'utc',
    });
    const got = new Map((r.body.heatmap as any[]).map((c) => [`${c.weekday}-${c.hour}`, c]));
    expect(got.size).toBe(cells.size);
    for (const [key, c] of cells) {
      expect(got.get(key), key).toMatchObject({
        events: c.events,
        questions: c.questions,
        activeMinutes: r1(c.activeMs / 60_000),
      });
    }
    const durations = f.studyEvents
      .filter((e) => e.user === ALICE && e.type === 'SESSION_END')
      .map((e) => e.durationMs! / 60_000);
    expect(r.body.sessionLengths.sessions).toBe(durations.length);
    expect(r.body.sessionLengths.medianMinutes).toBe(50);
    expect((r.body.sessionLengths.buckets as any[]).map((b) => b.count)).toEqual([0, 1, 1, 2, 2, 0, 0]);
    const questions = w.attempts.length;
    const activeMs =
      w.attempts.reduce((s, a) => s + a.ms, 0) + w.materials.reduce((s, m) => s + m.activeMs, 0);
    expect(r.body.efficiency.questions).toBe(questions);
    expect(r.body.efficiency.accuracy).toBe(r4(w.attempts.filter((a) => a.correct).length / questions));
    expect(r.body.efficiency.questionsPerActiveHour).toBe(
      Math.round((questions / (activeMs / 3_600_000)) * 100) / 100,
    );
    expect(r.body.efficiency.meanFocusScore).toBe(0.7);
    expect(r.body.efficiency.activeShare).toBeCloseTo(0.8, 3);
    const weeks = r.body.velocity.weeks as any[];
    expect(weeks.reduce((s, x) => s + x.questions, 0)).toBe(questions);
    expect(weeks.at(-1).week).toBe('2026-03-09');
  });

  it('insights: every candidate with its numbers, nothing stated on too little data; own data only', async () => {
    const r = await get('/api/analytics/insights', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    const w = aliceIn(addDays(TODAY, -89));
    expect(r.body.answers).toBe(w.attempts.length);
    const list = r.body.insights as any[];
    expect(list.map((i) => i.kind)).toEqual([
      'best-time-of-day',
      'ideal-session-length',
      'break-fatigue',
      'notes-recall',
      'consistency',
    ]);
    for (const i of list) {
      expect(i.status).not.toBe('stated');
      expect(i.sentence).toMatch(/^Not enough evidence yet/);
      expect(i.group.answers + i.comparison.answers).toBeLessThanOrEqual(w.attempts.length);
    }
    const tod = list.find((i) => i.kind === 'best-time-of-day');
    expect(tod.group.answers + tod.comparison.answers).toBe(w.attempts.length);
    expect((await get(`/api/analytics/insights?user=${BOB}`, token(ALICE, 'student'))).status).toBe(403);
    expect(
      (await get(`/api/analytics/insights?user=${ALICE}`, token('teach', 'educator', ['big']))).status,
    ).toBe(403);
    expect((await get(`/api/analytics/insights?user=${BOB}`, token('root', 'admin'))).status).toBe(200);
  });

  it('sessions: recent finished ones newest first, and the live one', async () => {
    const r = await get('/api/analytics/sessions?limit=3', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    expect((r.body.recent as any[]).map((s) => s.sessionId)).toEqual([
      'alice-sess-0',
      'alice-sess-1',
      'alice-sess-2',
    ]);
    expect(r.body.recent[0].durationMs).toBe(25 * 60_000);
    expect(r.body.live.sessionId).toBe('alice-live');
  });
});

describe('cohorts and k-anonymity', () => {
  // Fixed windows: NOW is Sunday 2026-03-15 12:00, so the last complete ISO week (plus the 24 h grace) is
  // 2026-W10, Monday 03-02 to Sunday 03-08.
  const from = '2026-03-02';
  const to = '2026-03-08';
  const inWin = (at: number) => dayOf(at) >= from && dayOf(at) <= to;

  it('gives the student percentiles within a cohort of at least k, over a fixed calendar window', async () => {
    const r = await get('/api/analytics/percentiles?window=week', token(ALICE, 'student'));
    expect(r.status).toBe(200);
    expect(r.body.cohort).toBe('big');
    expect(r.body.window).toEqual({ kind: 'week', period: '2026-W10', from, to });
    // The cohort module's definitions: students with activity in the window; study time = finished sessions
    // (SESSION_END durations); percentile = share below + half the ties, rounded to 0.1.
    const weeks = 1;
    const per = BIG.map((u) => {
      const a = f.attempts.filter((x) => x.user === u && inWin(x.at));
      const ends = f.studyEvents.filter((x) => x.user === u && inWin(x.at) && x.type === 'SESSION_END');
      const active =
        a.length > 0 ||
        f.studyEvents.some((x) => x.user === u && inWin(x.at)) ||
        f.materials.some((x) => x.user === u && inWin(x.at));
      return {
        u,
        q: a.length,
        c: a.filter((x) => x.correct).length,
        study: ends.reduce((s, e) => s + e.durationMs!, 0),
        active,
      };
    }).filter((p) => p.active);
    expect(per.length).toBeGreaterThanOrEqual(10); // the fixture puts the whole cohort in this week
    const mine = per.find((p) => p.u === ALICE)!;
    const pct = (v: number, all: number[]) =>
      Math.round(
        percentileRank(
          v,
          [...all].sort((x, y) => x - y),
        )! * 10,
      ) / 10;
    const acc = per.filter((p) => p.q > 0).map((p) => p.c / p.q);
    expect(r.body.inRelease).toBe(true);
    expect(r.body.metrics.accuracy.value).toBe(r4(mine.c / mine.q));
    expect(r.body.metrics.accuracy.percentile).toBe(pct(mine.c / mine.q, acc));
    expect(r.body.metrics.questionsPerWeek.percentile).toBe(
      pct(
        mine.q / weeks,
        per.map((p) => p.q / weeks),
      ),
    );
    expect(r.body.metrics.studyMinutesPerWeek.value).toBe(r4(mine.study / 60_000 / weeks));
    expect(r.body.metrics.studyMinutesPerWeek.percentile).toBe(
      pct(
        mine.study / 60_000 / weeks,
        per.map((p) => p.study / 60_000 / weeks),
      ),
    );
    expect(r.body.metrics.questionsPerWeek.population).toBe(per.length);
    // Released quantiles: the median is the mean of the k middle order statistics; p10/p90 need ~5k students.
    const qs = per.map((p) => p.q / weeks).sort((x, y) => x - y);
    const lo = Math.round(0.5 * (qs.length - 1) - 4.5);
    const mean = qs.slice(lo, lo + 10).reduce((a, b) => a + b, 0) / 10;
    expect(Math.abs(r.body.metrics.questionsPerWeek.cohortQuantiles.p50 - mean)).toBeLessThan(0.01);
    expect(r.body.metrics.questionsPerWeek.cohortQuantiles.p90).toBeNull();
    // The histogram covers the population with bins of at least k students; `bin` is the student's.
    const h = r.body.metrics.questionsPerWeek.histogram as { from: number; to: number; students: number }[];
    expect(h.reduce((a, b) => a + b.students, 0)).toBe(per.length);
    for (const b of h) expect(b.students).toBeGreaterThanOrEqual(10);
    expect(r.body.metrics.questionsPerWeek.bin).toBeTypeOf('number');
    // The same answer again, from the frozen release (also via the legacy `days`, which maps to the week).
    const again = await get('/api/analytics/percentiles?days=7', token(ALICE, 'student'));
    expect(again.body.metrics).toEqual(r.body.metrics);
    expect(again.body.releasedAt).toBe(r.body.releasedAt);
  });

  it('refuses windows that are not fixed, complete periods with machine-readable reasons', async () => {
    const bad = await get('/api/analytics/percentiles?window=week&days=30', token(ALICE, 'student'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('window_conflict');
    expect((await get('/api/analytics/percentiles?days=0', token(ALICE, 'student'))).body.error.code).toBe(
      'invalid_parameter',
    );
    const current = await get(
      '/api/analytics/percentiles?window=week&period=2026-W11',
      token(ALICE, 'student'),
    );
    expect(current.status).toBe(400);
    expect(current.body.error).toMatchObject({
      code: 'period_not_complete',
      details: { lastComplete: '2026-W10' },
    });
    const wrong = await get(
      '/api/analytics/percentiles?window=month&period=2026-W09',
      token(ALICE, 'student'),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('invalid_period');
  });

  it('gives no percentile in a cohort below k', async () => {
    const r = await get('/api/analytics/percentiles?window=week', token('x1', 'student'));
    expect(r.status).toBe(200);
    expect(r.body.cohort).toBe('small');
    expect(r.body.suppressed).toBe(true);
    for (const m of Object.values(r.body.metrics) as any[]) {
      expect(m.percentile).toBeNull();
      expect(m.suppressed).toBe(true);
      expect(m.population).toBeNull();
      expect(m.cohortQuantiles).toBeNull();
      expect(m.histogram).toBeNull();
    }
    // A cohort the student is not in is refused.
    expect((await get('/api/analytics/percentiles?cohort=big', token('x1', 'student'))).status).toBe(403);
  });

  it('gives educators topic difficulty of their cohort, topics below k withheld, no individual rows', async () => {
    const r = await get('/api/analytics/cohorts/big/topics?window=week', token('teach', 'educator', ['big']));
    expect(r.status).toBe(200);
    const perTopic = new Map<string, Map<string, { q: number; c: number }>>();
    for (const a of f.attempts.filter((x) => BIG.includes(x.user) && inWin(x.at))) {
      const t = perTopic.get(a.topic) ?? new Map();
      const s = t.get(a.user) ?? { q: 0, c: 0 };
      s.q++;
      s.c += a.correct ? 1 : 0;
      t.set(a.user, s);
      perTopic.set(a.topic, t);
    }
    const shown = [...perTopic.entries()].filter(([, users]) => users.size >= 10);
    expect(shown.length).toBeGreaterThan(0);
    expect((r.body.topics as any[]).map((t) => t.topicId)).toEqual(shown.map(([t]) => t));
    expect(r.body.withheldTopics).toBe(perTopic.size - shown.length);
    const [topic, users] = shown[0]!;
    const q = [...users.values()].reduce((s, x) => s + x.q, 0);
    const c = [...users.values()].reduce((s, x) => s + x.c, 0);
    const withFive = [...users.values()].filter((x) => x.q >= 5);
    const struggling = withFive.filter((x) => x.c / x.q < 0.6).length;
    const sideOk = (n: number) => n === 0 || n >= 10;
    expect(r.body.topics[0]).toMatchObject({
      topicId: topic,
      students: users.size,
      questions: q,
      accuracy: r4(c / q),
      difficulty: r4(1 - c / q),
      strugglingShare:
        withFive.length >= 10 && sideOk(struggling) && sideOk(withFive.length - struggling)
          ? r4(struggling / withFive.length)
          : null,
    });
    const text = JSON.stringify(r.body);
    for (const u of BIG) expect(text).not.toContain(`"${u}"`);

    const small = await get(
      '/api/analytics/cohorts/small/topics?window=week',
      token('teach2', 'educator', ['small']),
    );
    expect(small.status).toBe(200);
    expect(small.body).toMatchObject({ suppressed: true, cohortSize: null, topics: [] });
    expect(
      (await get('/api/analytics/cohorts/big/topics', token('teach2', 'educator', ['small']))).status,
    ).toBe(403);
    expect((await get('/api/analytics/cohorts/nope/topics', token('root', 'admin'))).status).toBe(404);
  });

  it("gives educators the cohort's distributions and the student the cohort's topics, the same frozen figures", async () => {
    const d = await get(
      '/api/analytics/cohorts/big/distributions?window=week',
      token('teach', 'educator', ['big']),
    );
    expect(d.status).toBe(200);
    const p = await get('/api/analytics/percentiles?window=week', token(ALICE, 'student'));
    for (const m of ['accuracy', 'studyMinutesPerWeek', 'questionsPerWeek', 'mastery']) {
      expect(d.body.metrics[m].histogram).toEqual(p.body.metrics[m].histogram);
      expect(d.body.metrics[m].cohortQuantiles).toEqual(p.body.metrics[m].cohortQuantiles);
      expect(d.body.metrics[m]).not.toHaveProperty('value');
    }
    const e = await get('/api/analytics/cohorts/big/topics?window=week', token('teach', 'educator', ['big']));
    const s = await get('/api/analytics/cohort-topics?window=week', token(ALICE, 'student'));
    expect(s.status).toBe(200);
    expect(s.body.topics).toEqual(e.body.topics);
    expect(s.body.weakPoints).toEqual(e.body.weakPoints);
    expect((await get('/api/analytics/cohort-topics?cohort=small', token(ALICE, 'student'))).status).toBe(
      403,
    );
  });
});

describe('access control on real data', () => {
  it('student A reading B gets 403; admin may; educator gets no individual rows', async () => {
    expect((await get(`/api/analytics/mastery?user=${BOB}`, token(ALICE, 'student'))).status).toBe(403);
    const admin = await get(`/api/analytics/mastery?user=${BOB}`, token('root', 'admin'));
    expect(admin.status).toBe(200);
    expect((admin.body.topics as any[]).length).toBe(1);
    expect(
      (await get(`/api/analytics/dashboard?user=${ALICE}`, token('teach', 'educator', ['big']))).status,
    ).toBe(403);
  });

  it('refuses missing, expired and forged tokens with 401', async () => {
    expect((await app.request('/api/analytics/dashboard')).status).toBe(401);
    const expired = await signToken(
      { sub: ALICE, role: 'student' },
      {
        secret: SECRET,
        ttlSec: 10,
        nowSec: Math.floor(Date.now() / 1000) - 100,
        issuer: 'studystream',
        audience: 'studystream-api',
      },
    );
    expect((await get('/api/analytics/dashboard', expired)).status).toBe(401);
    const forged = await signToken(
      { sub: ALICE, role: 'admin' },
      {
        secret: 'guessed-secret-guessed-secret-guessed',
        ttlSec: 600,
        issuer: 'studystream',
        audience: 'studystream-api',
      },
    );
    expect((await get('/api/analytics/dashboard', forged)).status).toBe(401);
  });

  it('valid but odd identifiers are harmless (no 5xx, no data of others)', async () => {
    const admin = token('root', 'admin');
    for (const u of ['OR-1-1', '--', '_', 'a--b', 'DROP_TABLE_topics', '1']) {
      const r = await get(`/api/analytics/dashboard?user=${u}`, admin);
      expect(r.status, u).toBe(200);
      expect(r.body.mastery.topicsStudied).toBe(0);
    }
    expect((await get('/api/analytics/mastery/drop.table.topics', admin)).status).toBe(404);
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), async (u) => {
        const r = await get(`/api/analytics/mastery?user=${u}`, admin);
        expect(r.status).toBe(200);
      }),
      { numRuns: 40 },
    );
  });
});

describe('cache', () => {
  it('serves a hit, and a refreshed value after the processor announces a change', async () => {
    const path = `/api/analytics/mastery/${f.leaves[1]}`;
    const first = await get(path, token(ALICE, 'student'));
    const second = await get(path, token(ALICE, 'student'));
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.body.mastery.score).toBe(0.55);
    // A new answer: the mastery processor updates the row and publishes the user id (services/stream/mastery).
    await pg.query(
      'UPDATE topic_mastery SET mastery_score = 0.61, attempts = attempts + 1 WHERE user_id = $1 AND topic_id = $2',
      [ALICE, f.leaves[1]],
    );
    expect((await get(path, token(ALICE, 'student'))).body.mastery.score).toBe(0.55); // still cached
    const publisher = new Redis(iso.cfg.REDIS_URL);
    await publisher.publish(`${iso.cfg.REDIS_KEY_PREFIX}invalidate`, ALICE);
    publisher.disconnect();
    let refreshed: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 50; i++) {
      refreshed = await get(path, token(ALICE, 'student'));
      if (refreshed.cache === 'miss') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(refreshed!.cache).toBe('miss');
    expect(refreshed!.body.mastery.score).toBe(0.61);
    expect(refreshed!.body.mastery.attempts).toBe(11);
  });

  it('answers uncached when Redis is unreachable', async () => {
    const dead = createRedis({
      REDIS_URL: 'redis://127.0.0.1:1/0',
      REDIS_KEY_PREFIX: iso.cfg.REDIS_KEY_PREFIX,
    });
    dead.on('error', () => undefined);
    const noRedis = createApiApp({
      pg,
      ch,
      redis: dead,
      log: createLogger('test', 'silent'),
      registry: new Registry(),
      audit,
      verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
      cacheTtlSec: 300,
      cacheTimeoutMs: 50,
      kAnonymity: 10,
      now: () => NOW,
    });
    const started = performance.now();
    const res = await noRedis.request('/api/analytics/dashboard', {
      headers: { Authorization: `Bearer ${await token(ALICE, 'student')}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Cache')).toBe('bypass');
    const body = (await res.json()) as Record<string, any>;
    expect(body.liveSessionAvailable).toBe(false);
    expect(body.mastery.topicsStudied).toBe(3);
    expect(performance.now() - started).toBeLessThan(2000);
    dead.disconnect();
  });
});

describe('the lean ClickHouse reader of the per-student reads', () => {
  it('returns the rows of a query, and throws with the server message for bad SQL or a failure mid-stream', async () => {
    expect(
      await chRows.rows('SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 3'),
    ).toEqual([
      { n: '0', s: '0' },
      { n: '1', s: '1' },
      { n: '2', s: '2' },
    ]);
    expect(await chRows.rows('SELECT 1 AS x WHERE 0')).toEqual([]);
    await expect(chRows.rows('SELECT no_such_column FROM daily_user_stats')).rejects.toThrow(
      /Missing columns|Unknown identifier/,
    );
    // throwIf fails after the first blocks were sent: the server appends the exception to a 200 response.
    await expect(
      chRows.rows(
        'SELECT throwIf(number = 200000) AS t FROM system.numbers LIMIT 300000 SETTINGS max_block_size = 1000',
      ),
    ).rejects.toThrow(/^ClickHouse: .*throwIf/);
    // Idle sockets are retired and reused sockets closed by the server are retried: still answers after a pause.
    await new Promise((r) => setTimeout(r, 3500));
    expect(await chRows.rows('SELECT 7 AS x')).toEqual([{ x: 7 }]);
  });
});

describe('audit log', () => {
  it('records who read which student, through which route, with the request id', async () => {
    const res = await app.request('/api/analytics/reviews', {
      headers: { Authorization: `Bearer ${await token(ALICE, 'student')}`, 'X-Request-Id': 'req-audit-1' },
    });
    expect(res.status).toBe(200);
    await app.request(`/api/analytics/reviews?user=${BOB}`, {
      headers: { Authorization: `Bearer ${await token(ALICE, 'student')}`, 'X-Request-Id': 'req-audit-2' },
    });
    await audit.flush();
    const { rows } = await pg.query(
      `SELECT client_request_id AS request_id, actor_id, actor_role, route, subject_user_id, status FROM audit_log
       WHERE client_request_id IN ('req-audit-1', 'req-audit-2') ORDER BY client_request_id`,
    );
    expect(rows).toEqual([
      {
        request_id: 'req-audit-1',
        actor_id: ALICE,
        actor_role: 'student',
        route: '/api/analytics/reviews',
        subject_user_id: ALICE,
        status: 200,
      },
      {
        request_id: 'req-audit-2',
        actor_id: ALICE,
        actor_role: 'student',
        route: '/api/analytics/reviews',
        subject_user_id: BOB,
        status: 403,
      },
    ]);
    const { rows: cohortRows } = await pg.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE cohort_id = 'big'`,
    );
    expect(cohortRows[0].n).toBeGreaterThan(0);
  });
});
