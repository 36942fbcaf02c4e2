/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry, Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis, redisReady } from '../../../services/shared/redis.ts';
import { sinkEnv } from '../../../services/stream/clickhouse-sink/config.ts';
import { startClickHouseSink, type ClickHouseSink } from '../../../services/stream/clickhouse-sink/sink.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { epochKey } from '../../../services/analytics-api/cache.ts';
import {
  startInvalidationListener,
  type InvalidationListener,
} from '../../../services/analytics-api/invalidation.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { inProcessApi, type StudentClient } from './in-process.ts';
import { caughtUp, harness, makeEvents, waitFor, type StreamHarness } from '../stream/support.ts';

/**
 * The ClickHouse figures of the API (study patterns, the dashboard's study stats) are cached for 5 minutes; the
 * clickhouse-sink announces the students whose rows it inserted after each batch, so a cached response is refreshed
 * as soon as new events are stored, for those students only. Real Kafka, registry, sink, ClickHouse, Redis pub/sub
 * and PostgreSQL; the API runs in-process with its real invalidation listener.
 */

const iso = isolatedEnv('apisink');
const group = `${iso.id}-sink`;
let h: StreamHarness;
let sink: ClickHouseSink;
let pg: Pool;
let redis: Redis;
let sinkRedis: Redis;
let listener: InvalidationListener;
let get: StudentClient['get'];

const questionsOf = (body: Record<string, any>) => body.efficiency.questions as number;

beforeAll(async () => {
  h = await harness(iso);
  await provision(iso, { postgres: true });
  pg = createPgPool(iso.cfg);
  redis = await redisReady(createRedis(iso.cfg));
  sinkRedis = await redisReady(createRedis(iso.cfg));
  const log = createLogger('test', 'warn');
  const registry = new Registry();
  listener = startInvalidationListener({
    redisUrl: iso.cfg.REDIS_URL,
    keyPrefix: iso.cfg.REDIS_KEY_PREFIX,
    redis,
    registry,
    log,
  });
  // The listener moves the epoch once subscribed: from then on every announcement reaches it.
  await waitFor('the invalidation listener', async () => (await redis.get(epochKey)) !== null, 10_000);
  ({ get } = inProcessApi({ pg, ch: h.clickhouse, redis }));
  const env = { ...iso.env, SINK_GROUP_ID: group };
  sink = await startClickHouseSink({
    cfg: iso.cfg,
    stream: streamEnv.load(env),
    sink: sinkEnv.load(env),
    kafka: h.kafka,
    log: createLogger('sink', 'warn'),
    metrics: createMetricsRegistry('test'),
    redis: sinkRedis,
    runtime: {
      policy: { maxRecords: 400, maxWaitMs: 200, pauseAtRecords: 800 },
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.1 },
      stopGraceMs: 3000,
    },
  });
}, 120_000);

afterAll(async () => {
  await sink?.stop();
  await listener?.close();
  redis?.disconnect();
  sinkRedis?.disconnect();
  await pg?.end();
  await h?.close();
  await teardown(iso);
});

describe('cache refresh after the sink stores new events', () => {
  it('serves fresh study patterns and dashboard figures to the students with new rows, and only to them', async () => {
    const now = Date.now();
    // stu-0 and stu-1: a day of history two days ago.
    const first = makeEvents({ users: 2, perUser: 30, startMs: now - 3 * 86_400_000, spanDays: 1 });
    await h.producer.publish(first.events);
    await waitFor('the sink to store the first events', () => caughtUp(h, group));

    const patterns = '/api/analytics/study-patterns';
    const before = await get(patterns, 'stu-0');
    expect(before.cache).toBe('miss');
    const cached = await get(patterns, 'stu-0');
    expect(cached.cache).toBe('hit');
    const firstQuestions = first.events.filter(
      (e) => e.family === 'question-attempts' && e.record.user_id === 'stu-0',
    ).length;
    expect(questionsOf(cached.body)).toBe(firstQuestions);
    const dashboard = await get('/api/analytics/dashboard', 'stu-0');
    expect(dashboard.cache).toBe('miss');
    expect(dashboard.body.study.last7Days.questions).toBe(firstQuestions);
    expect((await get('/api/analytics/dashboard', 'stu-0')).cache).toBe('hit');
    const other = await get(patterns, 'stu-1');
    expect((await get(patterns, 'stu-1')).cache).toBe('hit');

    // New events of stu-0 only, within the last hours.
    const second = makeEvents({ users: 1, perUser: 12, startMs: now - 3 * 3_600_000, spanDays: 0.05 });
    const newQuestions = second.expected.questions;
    expect(newQuestions).toBeGreaterThan(0);
    await h.producer.publish(second.events);
    await waitFor('the sink to store the new events', () => caughtUp(h, group));

    // The TTL is 5 minutes: a refresh within seconds comes from the sink's announcement.
    let refreshed: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 100; i++) {
      refreshed = await get(patterns, 'stu-0');
      if (refreshed.cache === 'miss') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(refreshed!.cache).toBe('miss');
    expect(questionsOf(refreshed!.body)).toBe(firstQuestions + newQuestions);
    const freshDashboard = await get('/api/analytics/dashboard', 'stu-0');
    expect(freshDashboard.cache).toBe('miss');
    expect(freshDashboard.body.study.last7Days.questions).toBe(firstQuestions + newQuestions);

    // stu-1 had no new rows: its entry was not invalidated.
    const untouched = await get(patterns, 'stu-1');
    expect(untouched.cache).toBe('hit');
    expect(untouched.body).toEqual(other.body);
  });
});
