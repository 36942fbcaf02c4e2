import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import type { OutgoingEvent } from '../../../services/shared/producer.ts';
import { createRedis, redisReady } from '../../../services/shared/redis.ts';
import { startSessionsProcessor } from '../../../services/stream/index.ts';
import type { RunningProcessor } from '../../../services/stream/runtime/processor.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { KEYS, USER_INDEX_TTL_SEC } from '../../../services/stream/sessions/store.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { inProcessApi, type StudentClient } from './in-process.ts';
import { harness, waitFor, type StreamHarness } from '../stream/support.ts';

/**
 * The dashboard's and /sessions' live session comes from the sessions processor's per-student index
 * (`sessions:user:<id>`), never from a scan of events. Real Kafka, registry, sessions processor, PostgreSQL and
 * Redis; the API in-process with its cache on (the live part is read on every request, cached or not).
 */

const iso = isolatedEnv('apilive');
const STUDENT = 'stu-live';
let h: StreamHarness;
let pg: Pool;
let redis: Redis;
let procRedis: Redis;
let processor: RunningProcessor;
let api: StudentClient;

async function get(path: string, user = STUDENT) {
  return api.get(path, user);
}

const base = (user: string, session: string, at: number) => ({
  event_id: randomUUID(),
  user_id: user,
  occurred_at: at,
  received_at: at + 50,
  schema_version: 1,
  session_id: session,
  client: null,
});
const study = (user: string, session: string, at: number, type: string): OutgoingEvent => ({
  family: 'study-events',
  record: {
    ...base(user, session, at),
    event_type: type,
    topic_ids: ['t0'],
    material_id: null,
    material_type: null,
    duration_ms: null,
    end_reason: null,
    ai_coach: null,
    api_call: null,
  },
});
const answer = (user: string, session: string, at: number, correct: boolean): OutgoingEvent => ({
  family: 'question-attempts',
  record: {
    ...base(user, session, at),
    question_id: `q-${at}`,
    topic_ids: ['t0'],
    selected_answer: 'A',
    is_correct: correct,
    attempt_number: 1,
    time_to_answer_ms: 20_000,
    confidence: null,
    difficulty: null,
    exam_section: null,
    mode: 'TUTOR',
  },
});
const note = (user: string, session: string, at: number): OutgoingEvent => ({
  family: 'material-interactions',
  record: {
    ...base(user, session, at),
    material_id: 'm0',
    material_type: 'TEXTBOOK',
    topic_ids: ['t0'],
    interaction_type: 'NOTE',
    progress: null,
    position_ms: null,
    active_ms: 2000,
    text_length: null,
  },
});

/** Another student whose events land in STUDENT's partition (they move that partition's watermarks). */
function neighbour(): string {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: iso.cfg.KAFKA_PARTITIONS }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  const of = (key: string) => partitioner({ topic: 'x', partitionMetadata, message: { key, value: '' } });
  for (let i = 0; ; i++) if (of(`stu-other-${i}`) === of(STUDENT)) return `stu-other-${i}`;
}

const finalized = async (session: string) =>
  (await pg.query('SELECT 1 FROM study_sessions WHERE session_id = $1', [session])).rowCount === 1;
const indexOf = (user: string) => redis.zrange(KEYS.user(user), 0, '-1');

beforeAll(async () => {
  h = await harness(iso);
  await provision(iso, { postgres: true });
  pg = createPgPool(iso.cfg);
  redis = await redisReady(createRedis(iso.cfg));
  procRedis = await redisReady(createRedis(iso.cfg));
  api = inProcessApi({ pg, ch: h.clickhouse, redis });
  const env = {
    ...iso.env,
    SESSIONS_GROUP_ID: `sessions-${iso.id}`,
    SESSIONS_GRACE_MS: '1000',
    SESSIONS_CLOSE_QUIET_MS: '0',
    STREAM_BATCH_MAX_WAIT_MS: '200',
    STREAM_PORT: '0',
  };
  processor = await startSessionsProcessor({
    cfg: iso.cfg,
    stream: streamEnv.load(env),
    kafka: h.kafka,
    pool: pg,
    redis: procRedis,
    log: createLogger('sessions', 'warn'),
    metrics: createMetricsRegistry('test'),
    env,
  });
}, 120_000);

afterAll(async () => {
  await processor?.stop();
  redis?.disconnect();
  procRedis?.disconnect();
  await pg?.end();
  await h?.close();
  await teardown(iso);
});

describe('live session on the dashboard, from the sessions processor', () => {
  it('appears while the session is live and disappears once the processor finalizes it', async () => {
    const t0 = Date.now() - 20 * 60_000;
    const other = neighbour();

    // Nothing live yet: the index is empty, the dashboard says so (and is cached).
    const before = await get('/api/analytics/dashboard');
    expect(before.body.liveSession).toBeNull();
    expect(before.body.liveSessionAvailable).toBe(true);

    // A session starts and a question is answered.
    await h.producer.publish([
      study(STUDENT, 's-1', t0, 'SESSION_START'),
      answer(STUDENT, 's-1', t0 + 60_000, true),
    ]);
    await waitFor('s-1 in the index', async () => (await indexOf(STUDENT)).includes('s-1'), 60_000);
    const ttl = await redis.ttl(KEYS.user(STUDENT));
    expect(ttl).toBeGreaterThan(USER_INDEX_TTL_SEC - 60);
    expect(ttl).toBeLessThanOrEqual(USER_INDEX_TTL_SEC);
    const live = await get('/api/analytics/dashboard');
    // The body is the cached one from before; the live part is read on every request.
    expect(live.cache).toBe('hit');
    expect(live.body.liveSession).toMatchObject({ sessionId: 's-1', status: 'active', questionsAnswered: 1 });
    expect(live.body.liveSession.startedAt).toBe(new Date(t0).toISOString());
    expect((await get('/api/analytics/sessions')).body.live).toMatchObject({ sessionId: 's-1' });
    // Another student sees no live session of theirs.
    expect((await get('/api/analytics/dashboard', other)).body.liveSession).toBeNull();

    // s-1 ends (due at its end plus the 1 s grace, long past on the processing clock) and the processor writes it;
    // a second session s-2 starts and stays live (no SESSION_END: due 30 minutes after its last event).
    await h.producer.publish([
      study(STUDENT, 's-1', t0 + 120_000, 'SESSION_END'),
      study(STUDENT, 's-2', t0 + 300_000, 'SESSION_START'),
      answer(STUDENT, 's-2', t0 + 310_000, false),
      note(STUDENT, 's-2', t0 + 320_000),
    ]);
    await waitFor(
      's-1 finalized',
      async () => (await finalized('s-1')) && !(await indexOf(STUDENT)).includes('s-1'),
    );
    expect(await redis.exists(KEYS.live(`${STUDENT}:s-1`))).toBe(0);
    expect(await indexOf(STUDENT)).toEqual(['s-2']);
    const second = await get('/api/analytics/dashboard');
    expect(second.body.liveSession).toMatchObject({ sessionId: 's-2', questionsAnswered: 1, notes: 1 });

    // s-2 ends and is written; the neighbour's session on the same partition is theirs alone: nothing live for us.
    await h.producer.publish([
      study(STUDENT, 's-2', t0 + 330_000, 'SESSION_END'),
      study(other, 's-x', t0 + 600_000, 'SESSION_START'),
      answer(other, 's-x', t0 + 610_000, true),
      note(other, 's-x', t0 + 620_000),
    ]);
    await waitFor('s-2 finalized', () => finalized('s-2'));
    expect(await redis.exists(KEYS.user(STUDENT))).toBe(0);
    const after = await get('/api/analytics/dashboard');
    expect(after.body.liveSession).toBeNull();
    expect(after.body.liveSessionAvailable).toBe(true);
    expect((await get('/api/analytics/sessions')).body.live).toBeNull();
    expect((await get('/api/analytics/dashboard', other)).body.liveSession).toMatchObject({
      sessionId: 's-x',
    });
  }, 180_000);
});
