import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { createClickHouse, chQuery, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { EventCodec } from '../../../services/shared/codec.ts';
import { createKafka, EVENT_FAMILIES, topicNames, type Kafka } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { EventProducer, type OutgoingEvent } from '../../../services/shared/producer.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { sinkEnv } from '../../../services/stream/clickhouse-sink/config.ts';
import { startClickHouseSink, type ClickHouseSink } from '../../../services/stream/clickhouse-sink/sink.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { until } from '../../support/wait.ts';

/** Shared plumbing of the stream integration tests: an isolated namespace with topics, schemas and tables. */
export type StreamHarness = {
  iso: IsolatedEnv;
  kafka: Kafka;
  admin: Admin;
  producer: EventProducer;
  clickhouse: ClickHouseClient;
  close(): Promise<void>;
};

export async function harness(iso: IsolatedEnv): Promise<StreamHarness> {
  await provision(iso, { clickhouse: true, kafka: true });
  const log = createLogger('test', 'warn');
  const kafka = createKafka(iso.cfg, log, 'test');
  const codec = new EventCodec(createRegistry(iso.cfg), iso.cfg);
  await codec.registerAll();
  const producer = new EventProducer(kafka, codec, log);
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const clickhouse = createClickHouse(iso.cfg);
  return {
    iso,
    kafka,
    admin,
    producer,
    clickhouse,
    async close() {
      await producer.disconnect();
      await admin.disconnect();
      await clickhouse.close();
    },
  };
}

/**
 * Registers the describe block's hooks: a harness for `iso` before its tests, closed and torn down after them.
 * Returns the harness getter a test calls.
 */
export function harnessHooks(iso: IsolatedEnv): () => StreamHarness {
  let h: StreamHarness | undefined;
  beforeAll(async () => {
    h = await harness(iso);
  });
  afterAll(async () => {
    await h?.close();
    await teardown(iso);
  });
  return () => {
    if (!h) throw new Error('the stream harness is not ready (beforeAll failed?)');
    return h;
  };
}

export function startSink(
  h: StreamHarness,
  groupId = `${h.iso.id}-sink`,
  kafka: Kafka = h.kafka,
): Promise<ClickHouseSink> {
  const env = { ...h.iso.env, SINK_GROUP_ID: groupId };
  return startClickHouseSink({
    cfg: h.iso.cfg,
    stream: streamEnv.load(env),
    sink: sinkEnv.load(env),
    kafka,
    log: createLogger('sink', h.iso.env.LOG_LEVEL),
    metrics: createMetricsRegistry('test'),
    runtime: {
      policy: { maxRecords: 400, maxWaitMs: 200, pauseAtRecords: 800 },
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.1 },
      stopGraceMs: 3000,
    },
  });
}

export function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  return until(what, check, timeoutMs, 250);
}

/** True when the group's committed offsets reached the end of every partition of the event topics. */
export async function caughtUp(h: StreamHarness, groupId: string): Promise<boolean> {
  const names = topicNames(h.iso.cfg);
  const topics = EVENT_FAMILIES.map((f) => names[f]);
  const committed = await h.admin.fetchOffsets({ groupId, topics });
  for (const t of committed) {
    const ends = await h.admin.fetchTopicOffsets(t.topic);
    for (const p of ends) {
      const c = t.partitions.find((x) => x.partition === p.partition);
      const at = c && c.offset !== '-1' ? BigInt(c.offset) : 0n;
      if (at < BigInt(p.high)) return false;
    }
  }
  return true;
}

export async function resetToEarliest(h: StreamHarness, groupId: string): Promise<void> {
  const names = topicNames(h.iso.cfg);
  for (const f of EVENT_FAMILIES) await h.admin.resetOffsets({ groupId, topic: names[f], earliest: true });
}

/** Synthetic events with known totals: what the raw tables and rollups must show, exactly. */
export type Expected = {
  perTable: Record<'study_events' | 'question_attempts' | 'material_interactions', number>;
  questions: number;
  correct: number;
  firstAttemptCorrect: number;
  studyMs: number;
  notes: number;
  activeMs: number;
};

export function makeEvents(opts: { users: number; perUser: number; startMs: number; spanDays: number }): {
  events: OutgoingEvent[];
  expected: Expected;
} {
  const events: OutgoingEvent[] = [];
  const expected: Expected = {
    perTable: { study_events: 0, question_attempts: 0, material_interactions: 0 },
    questions: 0,
    correct: 0,
    firstAttemptCorrect: 0,
    studyMs: 0,
    notes: 0,
    activeMs: 0,
  };
  for (let u = 0; u < opts.users; u++) {
    const user_id = `stu-${u}`;
    const session_id = `s-${u}`;
    for (let i = 0; i < opts.perUser; i++) {
      const occurred_at =
        opts.startMs + Math.floor(((i * 7919 + u * 104729) % (opts.spanDays * 86_400)) * 1000) + i;
      const common = {
        event_id: randomUUID(),
        user_id,
        occurred_at,
        received_at: occurred_at + 50,
        schema_version: 1,
        session_id,
        client: null,
      };
      const topic_ids = [`t${(i + u) % 5}`, `t${(i + u + 1) % 5}`];
      switch (i % 3) {
        case 0: {
          const duration = i % 2 === 0 ? 60_000 + i : null;
          events.push({
            family: 'study-events',
            record: {
              ...common,
              event_type: duration ? 'SESSION_END' : 'SESSION_START',
              topic_ids,
              material_id: null,
              material_type: null,
              duration_ms: duration,
              end_reason: null,
              ai_coach: null,
              api_call: null,
            },
          });
          expected.perTable.study_events += 1;
          expected.studyMs += duration ?? 0;
          break;
        }
        case 1: {
          const isCorrect = (i + u) % 3 !== 0;
          const attempt = 1 + (i % 2);
          events.push({
            family: 'question-attempts',
            record: {
              ...common,
              question_id: `q${i}`,
              topic_ids,
              selected_answer: 'A',
              is_correct: isCorrect,
              attempt_number: attempt,
              time_to_answer_ms: 1000 + i,
              confidence: null,
              difficulty: null,
              exam_section: null,
              mode: 'TUTOR',
            },
          });
          expected.perTable.question_attempts += 1;
          expected.questions += 1;
          expected.correct += isCorrect ? 1 : 0;
          expected.firstAttemptCorrect += isCorrect && attempt === 1 ? 1 : 0;
          expected.activeMs += 1000 + i;
          break;
        }
        default: {
          const kind = i % 2 === 0 ? 'NOTE' : 'READ_PROGRESS';
          events.push({
            family: 'material-interactions',
            record: {
              ...common,
              material_id: `m${i % 4}`,
              material_type: 'TEXTBOOK',
              topic_ids,
              interaction_type: kind,
              progress: 0.5,
              position_ms: null,
              active_ms: 2000,
              text_length: null,
            },
          });
          expected.perTable.material_interactions += 1;
          expected.notes += kind === 'NOTE' ? 1 : 0;
          expected.activeMs += 2000;
        }
      }
    }
  }
  return { events, expected };
}

export async function publishInChunks(
  h: StreamHarness,
  events: readonly OutgoingEvent[],
  chunk = 500,
): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) await h.producer.publish(events.slice(i, i + chunk));
}

/**
 * What the raw tables and the rollups say, to compare with Expected: the AggregateFunction rollups of 002 and, under
 * `plain`, the same figures from the plain-number tables of 004 (which must always equal them).
 */
export async function observed(client: ClickHouseClient) {
  const raw: Record<string, { rows: number; events: number }> = {};
  for (const table of ['study_events', 'question_attempts', 'material_interactions']) {
    const [r] = await chQuery<{ rows: string; events: string }>(
      client,
      `SELECT count() AS rows, uniqExact(event_id) AS events FROM ${table}`,
    );
    raw[table] = { rows: Number(r!.rows), events: Number(r!.events) };
  }
  const [d] = await chQuery<Record<string, string>>(
    client,
    `SELECT sumMerge(questions) AS questions, sumMerge(correct) AS correct,
            sumMerge(first_attempt_correct) AS firstAttemptCorrect, sumMerge(study_ms) AS studyMs,
            sumMerge(notes) AS notes, sumMerge(active_ms) AS activeMs, sumMerge(events) AS events
     FROM daily_user_stats`,
  );
  const [t] = await chQuery<Record<string, string>>(
    client,
    `SELECT sum(q) AS questions FROM (SELECT topic_id, sumMerge(questions) AS q FROM daily_topic_stats GROUP BY topic_id)`,
  );
  const [ut] = await chQuery<Record<string, string>>(
    client,
    `SELECT sum(q) AS questions FROM (SELECT user_id, topic_id, day, sumMerge(questions) AS q FROM daily_user_topic_stats GROUP BY user_id, topic_id, day)`,
  );
  const [hr] = await chQuery<Record<string, string>>(
    client,
    `SELECT sumMerge(events) AS events FROM hourly_user_activity`,
  );
  const [pd] = await chQuery<Record<string, string>>(
    client,
    `SELECT sum(questions) AS questions, sum(correct) AS correct,
            sum(first_attempt_correct) AS firstAttemptCorrect, sum(study_ms) AS studyMs,
            sum(notes) AS notes, sum(active_ms) AS activeMs, sum(events) AS events
     FROM daily_user_sums`,
  );
  const [put] = await chQuery<Record<string, string>>(
    client,
    `SELECT sum(questions) AS questions FROM daily_user_topic_sums`,
  );
  const [phr] = await chQuery<Record<string, string>>(
    client,
    `SELECT sum(events) AS events FROM hourly_user_sums`,
  );
  const num = (o: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, Number(v)]));
  return {
    raw,
    daily: num(d),
    topicQuestions: Number(t?.questions ?? 0),
    userTopicQuestions: Number(ut?.questions ?? 0),
    hourlyEvents: Number(hr?.events ?? 0),
    plain: {
      daily: num(pd),
      userTopicQuestions: Number(put?.questions ?? 0),
      hourlyEvents: Number(phr?.events ?? 0),
    },
  };
}
