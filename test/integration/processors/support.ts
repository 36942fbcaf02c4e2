/**
 * Helpers of the processor integration tests: produce a simulated cohort, run the stateful processors (in-process
 * or as child processes), wait until they caught up with the topics, and dump their state for comparison.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { EventCodec } from '../../../services/shared/codec.ts';
import { loadConfig, type SharedConfig } from '../../../services/shared/config.ts';
import { createKafka, topicNames } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { asRole, createPgPool } from '../../../services/shared/postgres.ts';
import { EventProducer, type OutgoingEvent } from '../../../services/shared/producer.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { cohortEvents, simOptions } from '../../../services/simulator/cohort.ts';
import type { SimEvent } from '../../../services/simulator/types.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { startMasteryProcessor, startSessionsProcessor } from '../../../services/stream/index.ts';
import { KEYS } from '../../../services/stream/sessions/store.ts';
import type { IsolatedEnv } from '../../support/isolated.ts';

export const LATENESS_MS = 3_600_000;

/** A cohort's events without offline syncs or client re-sends, in event-time order (nothing is late). */
export function cohort(seed: number, students: number, days: number): SimEvent[] {
  const events = [
    ...cohortEvents(
      simOptions({ seed, students, days, offlineRate: 0, duplicateRate: 0, startMs: Date.UTC(2025, 0, 6) }),
    ),
  ];
  return events.sort((a, b) => a.record.occurred_at - b.record.occurred_at);
}

/** Every event twice, reordered by up to `jitterMs` of event time (the allowed lateness is larger). */
export function duplicatedAndShuffled(events: readonly SimEvent[], jitterMs: number, seed = 1): SimEvent[] {
  let s = seed;
  const random = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const copies = events
    .flatMap((e) => [e, e])
    .map((e) => ({ e, key: e.record.occurred_at + random() * jitterMs }));
  return copies.sort((a, b) => a.key - b.key).map((c) => c.e);
}

export async function produce(cfg: SharedConfig, events: readonly SimEvent[]): Promise<void> {
  const log = createLogger('test', 'warn');
  const codec = new EventCodec(createRegistry(cfg), cfg);
  await codec.registerAll();
  const producer = new EventProducer(createKafka(cfg, log, 'test-producer'), codec, log);
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 5_000)
      await producer.publish(
        events.slice(i, i + 5_000).map((e): OutgoingEvent => ({ family: e.family, record: e.record })),
      );
  } finally {
    await producer.disconnect();
  }
}

/** Env of a run: its own PG schema and Redis prefix, reading `topicsOf`'s topics with its own consumer groups. */
export function runEnv(iso: IsolatedEnv, topicsOf: IsolatedEnv, group: string): NodeJS.ProcessEnv {
  return {
    ...iso.env,
    KAFKA_TOPIC_PREFIX: topicsOf.cfg.KAFKA_TOPIC_PREFIX,
    MASTERY_GROUP_ID: `mastery-${group}-${iso.id}`,
    SESSIONS_GROUP_ID: `sessions-${group}-${iso.id}`,
    MASTERY_ALLOWED_LATENESS_MS: String(LATENESS_MS),
    // Sessions are written as soon as they are due (events of 2025: at once), so a state dump after catching up does
    // not depend on how long ago a session was last changed.
    SESSIONS_CLOSE_QUIET_MS: '0',
    STREAM_BATCH_MAX_WAIT_MS: '300',
    STREAM_BATCH_MAX_RECORDS: '5000',
    // Low enough that back-pressure pauses and resumes fetching during the runs, rejoins included.
    STREAM_PAUSE_AT_RECORDS: '8000',
    STREAM_PORT: '0',
  };
}

export type Running = { stop(): Promise<void> };

/** Both stateful processors in this process, as the stream service runs them (its role, STREAM_PG_ROLE). */
export async function startInProcess(env: NodeJS.ProcessEnv): Promise<Running> {
  const cfg = loadConfig(env);
  const stream = streamEnv.load(env);
  const log = createLogger('test-stateful', 'warn');
  const pool = createPgPool(cfg, asRole(stream.STREAM_PG_ROLE));
  const redis = createRedis(cfg);
  const deps = {
    cfg,
    stream,
    kafka: createKafka(cfg, log, 'test'),
    pool,
    redis,
    log,
    metrics: createMetricsRegistry('test'),
    env,
  };
  const mastery = await startMasteryProcessor(deps);
  const sessions = await startSessionsProcessor(deps);
  return {
    async stop() {
      await Promise.all([mastery.stop(), sessions.stop()]);
      await pool.end();
      redis.disconnect();
    },
  };
}

/** Both stateful processors as a child process (the kill test SIGKILLs it). */
export function startChild(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('node_modules/.bin/node', ['services/stream/run-stateful.ts'], {
    cwd: new URL('../../../', import.meta.url).pathname,
    env: { ...env, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Resolves once both processors' stored positions reached the end of every input partition. */
export async function waitCaughtUp(env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<void> {
  const cfg = loadConfig(env);
  const topics = topicNames(cfg);
  const admin = createKafka(cfg, createLogger('test', 'warn'), 'test-admin').admin();
  await admin.connect();
  const pool = createPgPool(cfg);
  const redis = new Redis(cfg.REDIS_URL, { keyPrefix: cfg.REDIS_KEY_PREFIX });
  const masteryGroup = `${cfg.KAFKA_TOPIC_PREFIX}${env.MASTERY_GROUP_ID}`;
  try {
    const ends: Array<{ topic: string; partition: number; high: number }> = [];
    for (const topic of [
      topics['study-events'],
      topics['question-attempts'],
      topics['material-interactions'],
    ])
      for (const o of await admin.fetchTopicOffsets(topic))
        ends.push({ topic, partition: o.partition, high: Number(o.high) });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await pool
        .query<{ topic: string; partition: number; next_offset: number }>(
          'SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer_group = $1',
          [masteryGroup],
        )
        .catch(() => ({ rows: [] as Array<{ topic: string; partition: number; next_offset: number }> }));
      const pg = new Map(rows.map((r) => [`${r.topic}|${r.partition}`, r.next_offset]));
      const rd = await redis.hgetall(KEYS.pos);
      const done = ends.every((e) => {
        const key = `${e.topic}|${e.partition}`;
        const sessionsOk = e.high === 0 || Number(rd[key] ?? 0) >= e.high;
        const masteryOk = e.topic === topics['study-events'] || e.high === 0 || (pg.get(key) ?? 0) >= e.high;
        return sessionsOk && masteryOk;
      });
      if (done) return;
      if (Date.now() > deadline)
        throw new Error(`processors did not catch up: ${JSON.stringify({ ends, pg: [...pg], rd })}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
    await pool.end();
    redis.disconnect();
  }
}

export type StateDump = Record<string, unknown[]>;

/**
 * Full dump of the processors' state: every row of their tables (wall-clock columns and progress bookkeeping
 * excluded) and every Redis key except positions and watermarks (live sessions without their write version).
 */
export async function dumpState(env: NodeJS.ProcessEnv): Promise<StateDump> {
  const cfg = loadConfig(env);
  const pool = createPgPool(cfg);
  const redis = new Redis(cfg.REDIS_URL);
  try {
    const q = async (sql: string) => (await pool.query(sql)).rows;
    const dump: StateDump = {
      topic_mastery: await q('SELECT * FROM topic_mastery ORDER BY user_id, topic_id'),
      topic_mastery_history: await q('SELECT * FROM topic_mastery_history ORDER BY user_id, topic_id, day'),
      study_sessions: await q('SELECT * FROM study_sessions ORDER BY user_id, session_id'),
      late_events: await q('SELECT * FROM late_events ORDER BY processor, event_id'),
      student_study_days: await q(
        "SELECT user_id, to_char(day, 'YYYY-MM-DD') AS day, events, questions, correct, first_attempts, first_attempt_correct, answer_ms::float8 AS answer_ms, material_active_ms::float8 AS material_active_ms FROM student_study_days ORDER BY user_id, day",
      ),
      student_materials: await q('SELECT * FROM student_materials ORDER BY user_id, material_id'),
      topic_reviews: await q('SELECT * FROM topic_reviews ORDER BY user_id, topic_id, day'),
    };
    for (const rows of Object.values(dump))
      for (const r of rows as Record<string, unknown>[]) {
        delete r.updated_at;
        delete r.recorded_at;
      }
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${cfg.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    const redisDump: unknown[] = [];
    for (const key of keys.sort()) {
      const name = key.slice(cfg.REDIS_KEY_PREFIX.length);
      if (name === KEYS.pos) continue;
      const type = await redis.type(key);
      if (type === 'string') {
        const { v: _v, ...rest } = JSON.parse((await redis.get(key)) as string) as Record<string, unknown>;
        redisDump.push({ name, value: rest });
      } else if (type === 'zset')
        redisDump.push({ name, value: await redis.zrangebyscore(key, '-inf', '+inf', 'WITHSCORES') });
      else redisDump.push({ name, type });
    }
    dump.redis = redisDump;
    return dump;
  } finally {
    await pool.end();
    redis.disconnect();
  }
}

export function summary(d: StateDump): Record<string, number> {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.length]));
}

/** The first differing path of two dumps (for a readable failure message), or undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (a instanceof Date && b instanceof Date)
    return a.getTime() === b.getTime() ? undefined : `${path}: ${a.toISOString()} != ${b.toISOString()}`;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}.${k}`,
    );
    if (d) return d;
  }
  return undefined;
}
