/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { chTime } from '../../support/seeded-data.ts';
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
import { MemoryAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';
import { RandomForestRegression } from 'ml-random-forest';
import { LEARNER_PARAMS } from '../../../services/domain/learner-model.ts';
import {
  ALL_FEATURES,
  modelOf,
  predictWithIntervals,
  type Features,
  type ReadinessArtifact,
} from '../../../services/domain/readiness.ts';
import { READINESS_MODEL_FILE } from '../../../services/readiness/artifact.ts';
import { backfillStudyReads } from '../../../services/datatools/study-reads.ts';

/**
 * Expected practice questions until P(correct) on an average item reaches 0.8, along the mean path of the learner
 * model written out from its documented update (services/domain/learner-model.ts): recall 0.9^(days/S) since the
 * last answer or material study, probit spread 1/sqrt(1 + pi v / 8), variance update by the answer's Fisher
 * information, mean +drift per answer (expected score 0), recall 1 after the first answer.
 */
function meanPathQuestions(
  l: { mu: number; v: number; s: number; lastAt: number | null; materialAt: number | null } | null,
): number {
  // The model's fitted constants are data (the eval refits them); the expected-path algorithm below is this test's own.
  const L = LEARNER_PARAMS;
  const P = {
    guess: L.guess,
    mu0: L.mu0,
    v0: L.v0,
    drift: L.drift,
    noise: L.processNoise,
    m: L.memoryWeight,
    r0: L.r0,
    s0: L.s0,
    sMin: L.sMin,
    b: L.itemPriorMean,
  };
  const st = l ?? { mu: P.mu0, v: P.v0, s: P.s0, lastAt: null, materialAt: null };
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const spread = (v: number) => 1 / Math.sqrt(1 + (Math.PI * v) / 8);
  const last =
    st.lastAt === null
      ? st.materialAt
      : st.materialAt === null
        ? st.lastAt
        : Math.max(st.lastAt, st.materialAt);
  const recall = last === null ? P.r0 : Math.pow(0.9, (NOW - last) / DAY / Math.max(P.sMin, st.s));
  let z = st.mu - P.m * (1 - recall) - P.b;
  if (P.guess + (1 - P.guess) * sig(z * spread(st.v)) >= 0.8) return 0;
  let mu = st.mu;
  let v = st.v;
  for (let n = 1; n <= 1000; n++) {
    const k = spread(v);
    const sg = sig(k * z);
    const pr = P.guess + (1 - P.guess) * sg;
    const dp = (1 - P.guess) * sg * (1 - sg);
    v = 1 / (1 / v + (k * k * dp * dp) / (pr * (1 - pr))) + P.noise;
    mu += P.drift;
    z = mu - P.b;
    if (P.guess + (1 - P.guess) * sig(z * spread(v)) >= 0.8) return n;
  }
  return 1000;
}

/**
 * Knowledge gaps and exam readiness against real PostgreSQL, ClickHouse and Redis on known data. The expected gap
 * ranking is recomputed here from the raw taxonomy tables with its own code (weights rescaled, prerequisite impact
 * by enumerating every chain, the seed formula), not with services/domain/gaps.ts.
 */

const SECRET = 'integration-secret-integration-secret';
const NOW = Date.parse('2026-03-15T12:00:00Z');
const DAY = 86_400_000;
const STUDENT = 'gap-student';
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

let iso: IsolatedEnv;
let pg: Pool;
let ch: ClickHouseClient;
let chRows: ReturnType<typeof createClickHouseReader>;
let redis: Redis;
let app: ReturnType<typeof createApiApp>;
let audit: MemoryAuditLog;
let leaves: Array<{ id: string; w: number; system: string }>;
let edges: Array<{ f: string; t: string; s: number }>;
let studied: Array<{
  topic: string;
  score: number;
  recent: number | null;
  completion: number;
  attempts: number;
  correct: number;
  learner?: { mu: number; v: number; n: number; s: number; lastAt: number; materialAt: number | null };
}>;
const answers = Array.from({ length: 12 }, (_, i) => ({
  ms: 30_000 + i * 5_000,
  correct: i % 3 !== 0,
  back: i % 40,
}));

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
  iso = isolatedEnv('gaps');
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
  chRows = createClickHouseReader(iso.cfg);
  redis = createRedis(iso.cfg);
  await new Promise((resolve) => redis.once('ready', resolve));
  leaves = (
    await pg.query<{ id: string; w: number; system: string }>(
      'SELECT id, board_weight AS w, system FROM topics WHERE level = 2 ORDER BY id',
    )
  ).rows.map((r) => ({ ...r, w: Number(r.w) }));
  edges = (
    await pg.query<{ f: string; t: string; s: number }>(
      "SELECT from_topic_id AS f, to_topic_id AS t, strength AS s FROM topic_relationships WHERE kind = 'prerequisite'",
    )
  ).rows.map((r) => ({ ...r, s: Number(r.s) }));
  // A prerequisite with dependents, one of its dependents, and a heavy topic.
  const blocker = edges[0]!.f;
  const dependent = edges[0]!.t;
  const heavy = [...leaves].sort((a, b) => b.w - a.w)[0]!.id;
  studied = [
    {
      topic: blocker,
      score: 0.3,
      recent: 0.45,
      completion: 0.2,
      attempts: 10,
      correct: 4,
      learner: { mu: -0.9, v: 0.35, n: 10, s: 2, lastAt: NOW - 3 * DAY, materialAt: NOW - 2 * DAY },
    },
    { topic: dependent, score: 0.6, recent: 0.7, completion: 0.5, attempts: 8, correct: 5 },
    { topic: heavy, score: 0.85, recent: 0.9, completion: 1, attempts: 20, correct: 18 },
  ];
  for (const s of studied) {
    await pg.query(
      `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, recent_accuracy, retrieval_strength,
         material_completion, mastery_score, as_of, learner_state)
       VALUES ($1, $2, 2, $3, $4, $5, 0.8, $6, $7, $8, $9)`,
      [
        STUDENT,
        s.topic,
        s.attempts,
        s.correct,
        s.recent,
        s.completion,
        s.score,
        new Date(NOW - DAY),
        s.learner ?? null,
      ],
    );
  }
  // Ten cohort members with a known score on the blocker; a three-member cohort is below k.
  const members = Array.from({ length: 10 }, (_, i) => `gm${i}`);
  for (const [i, m] of members.entries()) {
    await pg.query(
      `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, recent_accuracy, mastery_score)
       VALUES ($1, $2, 2, 5, 2, 0.4, $3)`,
      [m, blocker, i / 20],
    );
  }
  await pg.query(`INSERT INTO cohorts (id, name) VALUES ('gbig', 'g big'), ('gsmall', 'g small')`);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'gbig', unnest($1::text[])`, [
    members,
  ]);
  await pg.query(`INSERT INTO cohort_members (cohort_id, user_id) SELECT 'gsmall', unnest($1::text[])`, [
    members.slice(0, 3),
  ]);
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  await ch.insert({
    table: 'question_attempts',
    format: 'JSONEachRow',
    values: answers.map((a, i) => ({
      event_id: id(),
      user_id: STUDENT,
      occurred_at: chTime(NOW - a.back * DAY - i * 60_000),
      received_at: chTime(NOW - a.back * DAY),
      schema_version: 1,
      session_id: 's',
      question_id: `q-${i}`,
      topic_ids: [blocker],
      selected_answer: 'A',
      is_correct: a.correct ? 1 : 0,
      attempt_number: 1,
      time_to_answer_ms: a.ms,
    })),
  });
  await ch.insert({
    table: 'material_interactions',
    format: 'JSONEachRow',
    values: [
      ['mat-half', 0.4],
      ['mat-done', 1],
    ].map(([material, progress]) => ({
      event_id: id(),
      user_id: STUDENT,
      occurred_at: chTime(NOW - 2 * DAY),
      received_at: chTime(NOW - 2 * DAY),
      schema_version: 1,
      session_id: 's',
      material_id: material,
      material_type: 'ARTICLE',
      topic_ids: [blocker],
      interaction_type: 'READ_PROGRESS',
      progress,
      active_ms: 60_000,
    })),
  });
  // The read models the mastery processor would have written for these events, filled from the raw history by the
  // backfill command's own code (the processor's writes are checked in test/integration/processors).
  await backfillStudyReads(iso.cfg, pg, 'no-processor-here');
  audit = new MemoryAuditLog();
  app = createApiApp({
    pg,
    ch,
    chRows,
    redis,
    log: createLogger('test', 'silent'),
    registry: new Registry(),
    audit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 300,
    cacheTimeoutMs: 200,
    kAnonymity: 10,
    now: () => NOW,
  });
}, 120_000);

afterAll(async () => {
  chRows?.close();
  await ch?.close();
  await pg?.end();
  redis?.disconnect();
  if (iso) await teardown(iso);
});

/** Strongest chain strength to every transitive dependent, by enumerating simple paths (tiny graph fan-out). */
function chains(from: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (at: string, strength: number, seen: Set<string>) => {
    for (const e of edges) {
      if (e.f !== at || seen.has(e.t) || e.t === from) continue;
      const s = strength * e.s;
      if (s > (out.get(e.t) ?? -1)) out.set(e.t, s);
      walk(e.t, s, new Set([...seen, e.t]));
    }
  };
  walk(from, 1, new Set([from]));
  return out;
}

describe('GET /api/analytics/knowledge-gaps', () => {
  it('ranks every exam leaf by the seed formula on the 0-10 scale, as recomputed from the raw tables', async () => {
    const maxShare = Math.max(...leaves.map((l) => l.w));
    const weight = new Map(leaves.map((l) => [l.id, (10 * l.w) / maxShare]));
    const mine = new Map(studied.map((s) => [s.topic, s]));
    const minutes = answers.reduce((s, a) => s + a.ms, 0) / answers.length / 60_000;
    const expected = leaves
      .map((l) => {
        const s = mine.get(l.id);
        const mastery = s?.score ?? 0;
        const failure = s?.recent == null ? 0.5 : 1 - s.recent;
        const deps = chains(l.id);
        let impact = 0;
        for (const [dep, strength] of deps) impact += (weight.get(dep) ?? 0) * strength;
        impact /= 10;
        const gap = 1 - mastery;
        const priority = 3 * gap + 2 * weight.get(l.id)! + impact + 1.5 * failure;
        const severity =
          gap >= 0.5 && priority >= 15
            ? 'critical'
            : gap >= 0.35 && priority >= 10
              ? 'high'
              : gap >= 0.2 && priority >= 5
                ? 'medium'
                : 'low';
        // Hours: the learner model's expected questions to P(correct) 0.8, at the student's measured pace.
        const questions = meanPathQuestions(s?.learner ?? null);
        const hours = questions === 0 ? 0 : Math.ceil(((questions * minutes) / 60) * 2 - 1e-9) / 2;
        return {
          id: l.id,
          mastery,
          priority,
          severity,
          questions,
          hours,
          blocked: [...deps.keys()].filter((d) => weight.has(d)).length,
        };
      })
      .filter((g) => g.mastery < 0.8)
      .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));

    const r = await get('/api/analytics/knowledge-gaps?limit=500', token(STUDENT, 'student'));
    expect(r.status).toBe(200);
    expect(r.body.minutesPerQuestion).toBeCloseTo(minutes, 2);
    expect(r.body.paceSource).toBe('student');
    expect(r.body.gaps.map((g: any) => g.topicId)).toEqual(expected.map((g) => g.id));
    for (const [i, g] of (r.body.gaps as any[]).entries()) {
      const e = expected[i]!;
      expect(g.priorityScore).toBeCloseTo(r4(e.priority), 3);
      expect(g.severity).toBe(e.severity);
      expect(g.questionsToClose).toBe(e.questions);
      expect(g.hoursToClose).toBe(e.hours);
      expect(g.prerequisiteFor).toBe(e.blocked);
      expect(g.prerequisites).toEqual(
        edges
          .filter((x) => x.t === e.id)
          .map((x) => x.f)
          .sort(),
      );
    }
    // The heavy topic is mastered (0.85): not a gap. The blocker (mastery 0.3) is one, with the open material only.
    expect(r.body.gaps.some((g: any) => g.topicId === studied[2]!.topic)).toBe(false);
    const step = r.body.learningPath.find((s: any) => s.topicId === studied[0]!.topic);
    expect(step.materials).toEqual([{ materialId: 'mat-half', progress: 0.4 }]);
    // Prerequisite order: the blocker comes before its dependent.
    const order = r.body.learningPath.map((s: any) => s.topicId);
    expect(order.indexOf(studied[0]!.topic)).toBeLessThan(order.indexOf(studied[1]!.topic));
    const counts = { critical: 0, high: 0, medium: 0, low: 0 } as Record<string, number>;
    for (const e of expected) counts[e.severity]!++;
    expect(r.body.counts).toEqual(counts);
    // Cached like the other endpoints, and audited.
    expect((await get('/api/analytics/knowledge-gaps?limit=500', token(STUDENT, 'student'))).cache).toBe(
      'hit',
    );
    expect(
      audit.records.some((a) => a.route === '/api/analytics/knowledge-gaps' && a.subjectUserId === STUDENT),
    ).toBe(true);
  });

  it("uses the cohort's measured pace for a student without answers", async () => {
    const r = await get('/api/analytics/knowledge-gaps?limit=5', token('gap-newcomer', 'student'));
    expect(r.status).toBe(200);
    // The only answers of the last 90 days are the known student's.
    expect(r.body.paceSource).toBe('cohort');
    expect(r.body.minutesPerQuestion).toBeCloseTo(
      answers.reduce((s, a) => s + a.ms, 0) / answers.length / 60_000,
      2,
    );
    const prior = meanPathQuestions(null);
    for (const g of r.body.gaps as any[]) expect(g.questionsToClose).toBe(prior);
  });

  it('refuses another student and educators; the cohort view is k-anonymous', async () => {
    expect(
      (await get(`/api/analytics/knowledge-gaps?user=${STUDENT}`, token('other', 'student'))).status,
    ).toBe(403);
    expect((await get('/api/analytics/knowledge-gaps', token('t', 'educator', ['gbig']))).status).toBe(403);
    const small = await get(
      '/api/analytics/cohorts/gsmall/knowledge-gaps',
      token('t', 'educator', ['gsmall']),
    );
    expect(small.body).toMatchObject({ suppressed: true, cohortSize: null, topics: [] });
    const big = await get(
      '/api/analytics/cohorts/gbig/knowledge-gaps?limit=500',
      token('t', 'educator', ['gbig']),
    );
    expect(big.body.cohortSize).toBe(10);
    const blocker = big.body.topics.find((t: any) => t.topicId === studied[0]!.topic);
    expect(blocker.meanMastery).toBeCloseTo((0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9) / 20 / 10, 4);
    expect(blocker.studiedShare).toBe(1);
    expect(big.body.topics).toHaveLength(leaves.length);
    expect(
      (await get('/api/analytics/cohorts/gbig/knowledge-gaps', token('t', 'educator', ['other']))).status,
    ).toBe(403);
  });
});

describe('GET /api/analytics/exam-readiness', () => {
  it('answers with the committed model version and features that equal the known data', async () => {
    const artifact = JSON.parse(readFileSync(READINESS_MODEL_FILE, 'utf8')) as ReadinessArtifact;
    const r = await get('/api/analytics/exam-readiness', token(STUDENT, 'student'));
    expect(r.status).toBe(200);
    expect(r.body.model.version).toBe(artifact.version);
    expect(r.body.model.name).toBe(artifact.defaultModel);
    const f = r.body.features as Features;
    const share = new Map(leaves.map((l) => [l.id, l.w]));
    const coverage = studied.reduce((s, x) => s + share.get(x.topic)!, 0);
    expect(r.body.topicCoverage).toBeCloseTo(coverage, 4);
    expect(f.questions_attempted_total).toBe(answers.length);
    const recent = answers.filter((a) => a.back <= 29);
    expect(f.accuracy_30d).toBeCloseTo(recent.filter((a) => a.correct).length / recent.length, 4);
    expect(f.first_attempt_accuracy).toBeCloseTo(answers.filter((a) => a.correct).length / answers.length, 4);
    expect(f.days_since_start).toBe(Math.max(...answers.map((a) => a.back)));
    expect(f.topics_mastered).toBe(1);
    expect(f.topics_weak).toBe(1);
    expect(f.avg_mastery_score).toBeCloseTo((0.3 + 0.6 + 0.85) / 3, 4);
    expect(f.study_minutes_total).toBeCloseTo(
      (answers.reduce((s, a) => s + a.ms, 0) + 2 * 60_000) / 60_000,
      3,
    );
    // The prediction is the artifact's default model applied to these features.
    const model = modelOf(artifact);
    const [p] = predictWithIntervals(model, [f], artifact.passMark);
    expect(r.body.predictedScore.value).toBeCloseTo(p!.score, 2);
    expect(r.body.passProbability.value).toBeCloseTo(p!.pass, 2);
    if ('forest' in model.score) {
      // Independently: the forest through ml-random-forest itself, P(pass) by integrating the normal density.
      const rf = RandomForestRegression.load(
        model.score.forest as Parameters<typeof RandomForestRegression.load>[0],
      );
      const score = rf.predict([ALL_FEATURES.map((k) => f[k])])[0]!;
      const z = (score - artifact.passMark) / model.residualSd;
      let below = 0;
      const steps = 20_000;
      const lo = -10;
      for (let i = 0; i < steps; i++) {
        const x = lo + ((z - lo) * (i + 0.5)) / steps;
        below += (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * ((z - lo) / steps);
      }
      expect(r.body.predictedScore.value).toBeCloseTo(score, 3);
      expect(r.body.passProbability.value).toBeCloseTo(below, 3);
      expect(r.body.predictedScore.lower).toBeCloseTo(Math.max(0, score - model.residualQ), 3);
    }
    expect(r.body.readiness).toBe(Math.round(r.body.passProbability.value * 100));
    expect(r.body.predictedScore.lower).toBeLessThanOrEqual(r.body.predictedScore.value);
    expect(r.body.predictedScore.upper).toBeGreaterThanOrEqual(r.body.predictedScore.value);
    expect(r.body.passProbability.lower).toBeLessThanOrEqual(r.body.passProbability.value);
    // A student who studied three topics is weak in most sections.
    expect(r.body.weakAreas.length).toBeGreaterThan(5);
    expect(r.body.daysUntilReady === null || r.body.daysUntilReady > 0).toBe(true);
    expect(
      (await get('/api/analytics/exam-readiness?examDate=2026-03-01', token(STUDENT, 'student'))).status,
    ).toBe(400);
  });
});
