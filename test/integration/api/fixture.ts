import type { Redis } from 'ioredis';
import { KEYS as SESSION_KEYS } from '../../../services/stream/sessions/store.ts';
import type { ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import type { Pool } from '../../../services/shared/postgres.ts';
import { chTime, rand } from '../../support/seeded-data.ts';

/**
 * Known data for the API tests, inserted directly into the isolated PostgreSQL schema and ClickHouse database
 * (raw tables; the rollups fill through their materialized views). Every expected value in the tests is computed
 * from these arrays, independently of the API's code.
 */

export const NOW = Date.parse('2026-03-15T12:00:00Z'); // a Sunday
export const TODAY = '2026-03-15';
const DAY = 86_400_000;
const HOUR = 3_600_000;

export const ALICE = 's00';
export const BOB = 's01';
export const BIG = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);
export const SMALL = ['x1', 'x2', 'x3'];

export type Attempt = {
  user: string;
  at: number;
  session: string;
  topic: string;
  correct: boolean;
  attempt: number;
  ms: number;
};
export type StudyEvent = {
  user: string;
  at: number;
  session: string;
  type: string;
  durationMs: number | null;
  material: string;
};
export type Material = {
  user: string;
  at: number;
  session: string;
  material: string;
  topic: string;
  kind: string;
  activeMs: number;
};

export type Fixture = {
  leaves: [string, string, string];
  parent: string;
  attempts: Attempt[];
  studyEvents: StudyEvent[];
  materials: Material[];
};

export function buildFixture(leaves: [string, string, string], parent: string): Fixture {
  const attempts: Attempt[] = [];
  const studyEvents: StudyEvent[] = [];
  const materials: Material[] = [];
  const [t1, t2, t3] = leaves;
  // Alice: activity on days 0, 1, 2, 5, 10 and 40 before today; sessions of known length.
  const aliceDays = [0, 1, 2, 5, 10, 40];
  aliceDays.forEach((back, di) => {
    const start = NOW - back * DAY - 3 * HOUR + di * 60_000; // 09:00 UTC (+ di minutes)
    const session = `alice-sess-${back}`;
    studyEvents.push({
      user: ALICE,
      at: start,
      session,
      type: 'SESSION_START',
      durationMs: null,
      material: '',
    });
    for (let q = 0; q < 4 + di; q++) {
      attempts.push({
        user: ALICE,
        at: start + (q + 1) * 60_000,
        session,
        topic: q % 3 === 0 ? t1 : q % 3 === 1 ? t2 : t3,
        correct: (q + di) % 3 !== 0,
        attempt: q % 4 === 3 ? 2 : 1,
        ms: 20_000 + q * 1000,
      });
    }
    materials.push({
      user: ALICE,
      at: start + 30 * 60_000,
      session,
      material: `m-${di % 2}`,
      topic: t1,
      kind: di % 2 ? 'NOTE' : 'PROGRESS',
      activeMs: 120_000,
    });
    const durationMs = (25 + di * 10) * 60_000;
    studyEvents.push({
      user: ALICE,
      at: start + durationMs,
      session,
      type: 'SESSION_END',
      durationMs,
      material: '',
    });
  });
  // A live session today (not finalized) for the live-session lookup.
  studyEvents.push({
    user: ALICE,
    at: NOW - 10 * 60_000,
    session: 'alice-live',
    type: 'SESSION_START',
    durationMs: null,
    material: '',
  });
  // The rest of the big cohort: answers on t1 (all 12 students) and t2 (only 5 students: below k).
  const r = rand(42);
  for (const user of BIG.slice(1)) {
    const n = 5 + Math.floor(r() * 20);
    const skill = r();
    for (let q = 0; q < n; q++) {
      const back = Math.floor(r() * 20);
      attempts.push({
        user,
        at: NOW - back * DAY - Math.floor(r() * 10) * HOUR,
        session: `${user}-sess-${back}`,
        topic: user < 's06' && q % 2 === 1 ? t2 : t1,
        correct: r() < skill,
        attempt: 1,
        ms: 10_000 + Math.floor(r() * 50_000),
      });
    }
  }
  for (const user of SMALL) {
    attempts.push({
      user,
      at: NOW - DAY,
      session: `${user}-s`,
      topic: t1,
      correct: true,
      attempt: 1,
      ms: 5000,
    });
  }
  return { leaves, parent, attempts, studyEvents, materials };
}

export async function loadClickHouse(ch: ClickHouseClient, f: Fixture): Promise<void> {
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  await ch.insert({
    table: 'question_attempts',
    format: 'JSONEachRow',
    values: f.attempts.map((a) => ({
      event_id: id(),
      user_id: a.user,
      occurred_at: chTime(a.at),
      received_at: chTime(a.at),
      schema_version: 1,
      session_id: a.session,
      question_id: `q-${n}`,
      topic_ids: [a.topic],
      selected_answer: 'A',
      is_correct: a.correct ? 1 : 0,
      attempt_number: a.attempt,
      time_to_answer_ms: a.ms,
    })),
  });
  await ch.insert({
    table: 'study_events',
    format: 'JSONEachRow',
    values: f.studyEvents.map((e) => ({
      event_id: id(),
      user_id: e.user,
      occurred_at: chTime(e.at),
      received_at: chTime(e.at),
      schema_version: 1,
      event_type: e.type,
      session_id: e.session,
      topic_ids: [],
      material_id: e.material,
      duration_ms: e.durationMs,
    })),
  });
  await ch.insert({
    table: 'material_interactions',
    format: 'JSONEachRow',
    values: f.materials.map((m) => ({
      event_id: id(),
      user_id: m.user,
      occurred_at: chTime(m.at),
      received_at: chTime(m.at),
      schema_version: 1,
      session_id: m.session,
      material_id: m.material,
      material_type: 'ARTICLE',
      topic_ids: [m.topic],
      interaction_type: m.kind,
      active_ms: m.activeMs,
    })),
  });
}

export type MasteryFixtureRow = {
  topic: string;
  level: number;
  attempts: number;
  correct: number;
  score: number;
  lower: number;
  upper: number;
  trend: string | null;
  nextReviewAt: number | null;
  retrieval: number;
};

export function masteryFixture(f: Fixture): MasteryFixtureRow[] {
  const [t1, t2, t3] = f.leaves;
  return [
    {
      topic: t1,
      level: 2,
      attempts: 12,
      correct: 10,
      score: 0.82,
      lower: 0.7,
      upper: 0.9,
      trend: 'improving',
      nextReviewAt: NOW - 2 * HOUR,
      retrieval: 0.9,
    },
    {
      topic: t2,
      level: 2,
      attempts: 10,
      correct: 5,
      score: 0.55,
      lower: 0.4,
      upper: 0.7,
      trend: 'stable',
      nextReviewAt: NOW + 3 * DAY,
      retrieval: 0.6,
    },
    {
      topic: t3,
      level: 2,
      attempts: 8,
      correct: 2,
      score: 0.31,
      lower: 0.2,
      upper: 0.45,
      trend: 'declining',
      nextReviewAt: NOW - 5 * DAY,
      retrieval: 0.3,
    },
    {
      topic: f.parent,
      level: 1,
      attempts: 30,
      correct: 17,
      score: 0.5,
      lower: 0.4,
      upper: 0.62,
      trend: null,
      nextReviewAt: NOW - 5 * DAY,
      retrieval: 0.5,
    },
  ];
}

/** The learner model's probability stored on a fixture row (any value in (0, 1) distinct per row will do). */
export const pCorrectOf = (score: number): number => Math.round((0.3 + score / 2) * 10_000) / 10_000;

/** The learner state stored on a fixture leaf (last answer a day before NOW, so forgetting shows at NOW). */
export const learnerStateOf = (score: number) => ({
  mu: score,
  v: 0.3,
  n: 10,
  s: 2,
  lastAt: NOW - 86_400_000,
  materialAt: null,
});

export async function loadPostgres(pg: Pool, f: Fixture): Promise<void> {
  for (const r of masteryFixture(f)) {
    await pg.query(
      `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, first_attempt_total, first_attempt_correct,
         accuracy, first_attempt_accuracy, recent_accuracy, retrieval_strength, scheduler, next_review_at,
         material_completion, mastery_score, mastery_lower, mastery_upper, trend, last_event_at, as_of,
         p_correct, p_correct_lower, p_correct_upper, learner_state)
       VALUES ($1, $2, $3, $4::int, $5::int, $4::int, $5::int, $5::float / $4::float, $5::float / $4::float, 0.5, $6, 'fsrs', $7,
         0.25, $8, $9, $10, $11, $12, $12, $13::float8, $13::float8 - 0.1, $13::float8 + 0.1, $14::jsonb)`,
      [
        ALICE,
        r.topic,
        r.level,
        r.attempts,
        r.correct,
        r.retrieval,
        r.nextReviewAt === null ? null : new Date(r.nextReviewAt),
        r.score,
        r.lower,
        r.upper,
        r.trend,
        new Date(NOW - DAY),
        pCorrectOf(r.score),
        r.level === 2 ? JSON.stringify(learnerStateOf(r.score)) : null,
      ],
    );
  }
  // Bob has one row (used by the cross-student checks).
  await pg.query(
    `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, mastery_score) VALUES ($1, $2, 2, 3, 3, 0.9)`,
    [BOB, f.leaves[0]],
  );
  for (let back = 1; back <= 5; back++) {
    await pg.query(
      `INSERT INTO topic_mastery_history (user_id, topic_id, day, attempts, correct, accuracy, retrieval_strength,
         material_completion, mastery_score, mastery_lower, mastery_upper)
       VALUES ($1, $2, $3::date, $4::int, $5::int, $5::float / $4::float, 0.8, 0.2, $6::float, $6::float - 0.1, $6::float + 0.1)`,
      [
        ALICE,
        f.leaves[0],
        new Date(NOW - back * DAY).toISOString().slice(0, 10),
        10 - back,
        8 - back,
        0.8 - back * 0.05,
      ],
    );
  }
  // Finished sessions: the ended ones of the fixture.
  const ends = f.studyEvents.filter((e) => e.type === 'SESSION_END');
  for (const e of ends) {
    const duration = e.durationMs!;
    await pg.query(
      `INSERT INTO study_sessions (session_id, user_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms,
         pause_count, focus_score, questions_answered, questions_correct, materials_opened, notes, highlights,
         ai_coach_interactions, event_count)
       VALUES ($1, $2, $3, $4, 'ended', $5::bigint, $6::bigint, $5::bigint - $6::bigint, 1, 0.7, 4, 3, 1, 0, 0, 0, 10)`,
      [e.session, e.user, new Date(e.at - duration), new Date(e.at), duration, Math.round(duration * 0.8)],
    );
  }
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('big', 'Big cohort'), ('small', 'Small cohort')`);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'big', unnest($1::text[])`, [BIG]);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'small', unnest($1::text[])`, [
    SMALL,
  ]);
}

/** Alice's live session as the sessions processor keeps it in Redis (state and per-student index). */
export async function loadLiveSession(redis: Redis, focusScore = 1): Promise<void> {
  await redis.set(
    SESSION_KEYS.live(`${ALICE}:alice-live`),
    JSON.stringify({
      v: 1,
      userId: ALICE,
      p: 0,
      finalizeAt: NOW + DAY,
      state: {
        sessionId: 'alice-live',
        timeline: [],
        startedAt: NOW - 600_000,
        endedAt: null,
        lastEventAt: NOW - 300_000,
        paused: false,
        activeMs: 300_000,
        idleMs: 0,
        pauseCount: 0,
        focusScore,
        questionsAnswered: 2,
        questionsCorrect: 1,
        materialsOpened: 0,
        notes: 0,
        highlights: 0,
        aiCoachInteractions: 0,
      },
    }),
  );
  // The sessions processor's per-student index of live sessions (services/stream/sessions/store.ts).
  await redis.zadd(SESSION_KEYS.user(ALICE), NOW - 300_000, 'alice-live');
}

/**
 * The whole fixture in one namespace: three leaf topics under one parent of the loaded taxonomy (one with at least
 * four leaves), the PostgreSQL and ClickHouse rows and Alice's live session.
 */
export async function loadApiFixture(pg: Pool, ch: ClickHouseClient, redis: Redis): Promise<Fixture> {
  const { rows } = await pg.query<{ id: string; parent_id: string }>(
    `SELECT id, parent_id FROM topics WHERE level = 2 AND parent_id = (
       SELECT parent_id FROM topics WHERE level = 2 GROUP BY parent_id HAVING count(*) >= 4 ORDER BY parent_id LIMIT 1)
     ORDER BY id LIMIT 3`,
  );
  const f = buildFixture([rows[0]!.id, rows[1]!.id, rows[2]!.id], rows[0]!.parent_id);
  await loadPostgres(pg, f);
  await loadClickHouse(ch, f);
  await loadLiveSession(redis);
  return f;
}
