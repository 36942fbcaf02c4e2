/**
 * Issue 18, finding 4: `delete-user` reaches every store, the topics included. Against the real stack, with the
 * services' default of pseudonyms on the topics (STUDYSTREAM_PSEUDONYMS=1):
 * - the topics never carry the student's id (records and keys hold a random pseudonym);
 * - after the deletion no store yields the student: ClickHouse raw tables and rollups (live and a rebuild
 *   leftover), every PostgreSQL table with a user_id (live and a rebuild leftover), Redis live sessions, the session
 *   index and cached API answers; the other students are untouched;
 * - a session open at deletion never writes its row, although the processors keep running;
 * - a replay of the sink and of mastery from the beginning of the topics, and a dead letter of the student, yield
 *   nothing: the key is destroyed, consumers drop the records and redrive refuses them.
 * Before the fix delete-user left Redis, rebuild leftovers and the topics alone, and a replay brought the student
 * back (README, Deletion).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { chQuery } from '../../../services/shared/clickhouse.ts';
import { EventCodec } from '../../../services/shared/codec.ts';
import { loadConfig } from '../../../services/shared/config.ts';
import { topicNames } from '../../../services/shared/kafka.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { EventProducer, type OutgoingEvent } from '../../../services/shared/producer.ts';
import { createRedis, type Redis } from '../../../services/shared/redis.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { ERASED_USER_ID, subjectKeysFor } from '../../../services/shared/subjects.ts';
import { deleteUserEverywhere } from '../../../services/datatools/delete-user.ts';
import { redriveRefusal, type DeadLetter } from '../../../services/datatools/dlq.ts';
import { readRange } from '../../../services/datatools/topic-reader.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { cohort, runEnv, startInProcess, waitCaughtUp, type Running } from '../processors/support.ts';
import { caughtUp, harness, startSink, type StreamHarness } from '../stream/support.ts';
import { cli, waitUntil } from './support.ts';

let iso: IsolatedEnv;
let h: StreamHarness;
let pool: Pool;
let redis: Redis;
let producer: EventProducer;
let codec: EventCodec;
let env: NodeJS.ProcessEnv;
let processors: Running | undefined;
let sink: Awaited<ReturnType<typeof startSink>> | undefined;

const events = cohort(21, 6, 3).map((e): OutgoingEvent => ({ family: e.family, record: e.record }));
const users = [...new Set(events.map((e) => e.record.user_id))].sort();
const target = users[0]!;
const others = users.slice(1);
const openSession = `open-${randomUUID().slice(0, 8)}`;

/**
 * How many ClickHouse tables with a user_id column, in the live database and its leftovers, hold rows of `user`.
 * Presence, not a row count: the rollups' row counts depend on whether their background merges have run yet (a
 * current ClickHouse replaying this test's statements counted twice 18.16's rows before merging, 2026-12-06).
 */
async function clickhouseTablesWith(user: string): Promise<number> {
  const db = iso.cfg.CLICKHOUSE_DATABASE;
  const tables = await chQuery<{ database: string; table: string }>(
    h.clickhouse,
    `SELECT database, table FROM system.columns WHERE name = 'user_id'
       AND (database, table) IN (SELECT database, name FROM system.tables WHERE engine LIKE '%MergeTree')
       AND substring(database, 1, ${db.length}) = '${db}'`,
  );
  let n = 0;
  for (const t of tables) {
    const [r] = await chQuery<{ n: string }>(
      h.clickhouse,
      `SELECT count() > 0 AS n FROM ${t.database}.${t.table} WHERE user_id = '${user}'`,
    );
    n += Number(r?.n ?? 0);
  }
  return n;
}

/** Rows of `user` in the live raw event tables. */
async function rawRows(user: string): Promise<number> {
  let n = 0;
  for (const t of ['study_events', 'question_attempts', 'material_interactions']) {
    const [r] = await chQuery<{ n: string }>(
      h.clickhouse,
      `SELECT count() AS n FROM ${t} WHERE user_id = '${user}'`,
    );
    n += Number(r?.n ?? 0);
  }
  return n;
}

/** Rows of `user` in every PostgreSQL table with a user_id column of this test's schemas, the audit log aside. */
async function postgresRows(user: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ s: string; t: string }>(
    `SELECT table_schema AS s, table_name AS t FROM information_schema.columns
      WHERE column_name = 'user_id' AND table_schema IN ($1, $2) AND table_name <> 'audit_log'`,
    [iso.cfg.PG_SCHEMA, `rebuild_old_${iso.id}`],
  );
  const out: Record<string, number> = {};
  for (const r of rows) {
    const { rows: c } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${r.s}"."${r.t}" WHERE user_id = $1`,
      [user],
    );
    if (c[0]!.n > 0) out[`${r.s}.${r.t}`] = c[0]!.n;
  }
  return out;
}

async function redisKeys(user: string): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of [`sessions:live:${user}:*`, `sessions:user:${user}`, `api:*${user}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        iso.cfg.REDIS_KEY_PREFIX + pattern,
        'COUNT',
        1000,
      );
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  const dueMembers: string[] = [];
  for (let p = 0; p < 3; p++) dueMembers.push(...(await redis.zrange(`sessions:due:${p}`, '0', '-1')));
  return [...found, ...dueMembers.filter((m) => m.startsWith(`${user}:`))];
}

/** Every record of the event topics: key and value as written (no pseudonym resolution). */
async function rawTopicRecords(): Promise<Array<{ key: string; value: Buffer; topic: string }>> {
  const names = topicNames(iso.cfg);
  const out: Array<{ key: string; value: Buffer; topic: string }> = [];
  for (const topic of [names['study-events'], names['question-attempts'], names['material-interactions']]) {
    const ends = await h.admin.fetchTopicOffsets(topic);
    const ranges = ends
      .filter((e) => Number(e.high) > 0)
      .map((e) => ({ partition: e.partition, from: 0, to: Number(e.high) }));
    await readRange(h.kafka, topic, ranges, ({ message }) => {
      out.push({ key: message.key?.toString() ?? '', value: message.value!, topic });
    });
  }
  return out;
}

beforeAll(async () => {
  iso = isolatedEnv('delall');
  Object.assign(iso.env, { STUDYSTREAM_PSEUDONYMS: '1', SUBJECT_CACHE_MS: '500' });
  iso.cfg = loadConfig(iso.env);
  await provision(iso, { postgres: true });
  h = await harness(iso);
  pool = createPgPool(iso.cfg);
  redis = createRedis(iso.cfg);
  codec = new EventCodec(createRegistry(iso.cfg), iso.cfg, subjectKeysFor(iso.cfg));
  producer = new EventProducer(h.kafka, codec, createLogger('test', 'warn'));
  await producer.connect();
  env = { ...runEnv(iso, iso, iso.id), SINK_GROUP_ID: `${iso.id}-sink` };
}, 120_000);

afterAll(async () => {
  await processors?.stop();
  await sink?.stop();
  await producer?.disconnect();
  redis?.disconnect();
  await pool?.end();
  await h?.close();
  if (iso) await teardown(iso);
});

describe('delete-user reaches every store, the topics included', () => {
  it('no store, replay or dead letter yields the student afterwards; a session open at deletion never writes', async () => {
    // A session of the target that is open (started now; it would close after the idle gap).
    const now = Date.now();
    const open: OutgoingEvent = {
      family: 'study-events',
      record: {
        ...events.find((e) => e.family === 'study-events' && e.record.user_id === target)!.record,
        event_id: randomUUID(),
        event_type: 'SESSION_START',
        session_id: openSession,
        occurred_at: now - 1_000,
        received_at: now,
      },
    };
    const all = [...events, open];
    for (let i = 0; i < all.length; i += 2000) await producer.publish(all.slice(i, i + 2000));

    sink = await startSink({ ...h, iso: { ...iso, env } }, `${iso.id}-sink`);
    processors = await startInProcess(env);
    await waitUntil('sink caught up', () => caughtUp(h, `${iso.id}-sink`), 180_000);
    await waitCaughtUp(env);

    // The topics carry pseudonyms only: neither a record nor a key names any student.
    const raw = await rawTopicRecords();
    expect(raw.length).toBe(all.length);
    const plain = new EventCodec(createRegistry(iso.cfg), iso.cfg);
    const wireIds = new Set<string>();
    for (const r of raw) {
      const rec = await plain.decode(topicFamily(r.topic), r.value);
      wireIds.add(rec.user_id as string);
      expect(r.key).toBe(rec.user_id);
    }
    for (const u of users) expect(wireIds.has(u)).toBe(false);
    expect([...wireIds].every((w) => /^~[A-Za-z0-9_-]{22}$/.test(w))).toBe(true);

    // The target is in every store: ClickHouse, PostgreSQL, Redis (the open session, an API cache entry).
    await redis.set(`api:c:dashboard:u=${target}:1:`, 'cached', 'EX', 300);
    await redis.set(`api:ver:${target}`, '1', 'EX', 300);
    expect(await clickhouseTablesWith(target)).toBeGreaterThan(0);
    expect(Object.keys(await postgresRows(target))).toEqual(
      expect.arrayContaining([`${iso.cfg.PG_SCHEMA}.topic_mastery`, `${iso.cfg.PG_SCHEMA}.study_sessions`]),
    );
    expect((await redisKeys(target)).some((k) => k.includes(`sessions:live:${target}:${openSession}`))).toBe(
      true,
    );

    // Rebuild leftovers holding the target (what `rebuild` keeps in rebuild_old_* / <db>_old_*).
    const oldSchema = `rebuild_old_${iso.id}`;
    await pool.query(`CREATE SCHEMA ${oldSchema}`);
    await pool.query(`CREATE TABLE ${oldSchema}.topic_mastery AS SELECT * FROM topic_mastery`);
    const oldDb = `${iso.cfg.CLICKHOUSE_DATABASE}_old_1`;
    await h.clickhouse.command({ query: `CREATE DATABASE ${oldDb}` });
    await h.clickhouse.command({
      query: `CREATE TABLE ${oldDb}.question_attempts AS ${iso.cfg.CLICKHOUSE_DATABASE}.question_attempts`,
    });
    await h.clickhouse.command({
      query: `INSERT INTO ${oldDb}.question_attempts SELECT * FROM ${iso.cfg.CLICKHOUSE_DATABASE}.question_attempts`,
    });
    expect(Object.keys(await postgresRows(target))).toContain(`${oldSchema}.topic_mastery`);

    // Raw rows only: rollup tables merge their rows in the background, so their row counts move on their own.
    const before = {
      ch: await Promise.all(others.map(rawRows)),
      pg: await Promise.all(others.map(postgresRows)),
    };

    // A dead letter of the target, as the runtime writes it (the record's own bytes).
    const { rows: keyRows } = await pool.query<{ pseudonym: string }>(
      'SELECT pseudonym FROM subject_keys WHERE user_id = $1',
      [target],
    );
    const pseudonym = keyRows[0]!.pseudonym;
    const targetRaw = raw.find((r) => r.key === pseudonym)!;
    const deadLetter: DeadLetter = {
      partition: 0,
      offset: 0,
      timestamp: Date.now(),
      key: Buffer.from(pseudonym),
      value: targetRaw.value,
      headers: {},
      source: { topic: targetRaw.topic, partition: 0, offset: 0 },
      reason: 'invalid',
      error: 'test',
      processor: 'clickhouse-sink',
      failedAt: new Date().toISOString(),
    };
    expect(await redriveRefusal(codec, deadLetter)).toBeNull(); // before: it would be re-driven

    // The deletion, with the processors and the sink running.
    const report = await deleteUserEverywhere({ cfg: iso.cfg, pg: pool, ch: h.clickhouse, redis }, target);
    expect(report.keyDestroyed).toBe(true);
    expect(report.removed.filter((r) => r.store === 'clickhouse' && r.table.startsWith(oldDb)).length).toBe(
      1,
    );

    expect(await clickhouseTablesWith(target)).toBe(0);
    expect(await postgresRows(target)).toEqual({});
    expect(await redisKeys(target)).toEqual([]);
    expect(await Promise.all(others.map(rawRows))).toEqual(before.ch);
    expect(await Promise.all(others.map(postgresRows))).toEqual(before.pg);

    // The topics can no longer attribute the target's records; consumers and redrive drop them.
    const fresh = new EventCodec(createRegistry(iso.cfg), iso.cfg, subjectKeysFor(loadConfig(iso.env)));
    expect((await fresh.decode(topicFamily(targetRaw.topic), targetRaw.value)).user_id).toBe(ERASED_USER_ID);
    expect(await redriveRefusal(codec, deadLetter)).toMatch(/deleted/);

    // Replays of the sink and of mastery from the beginning of the topics bring nothing back.
    for (const processor of ['clickhouse-sink', 'mastery']) {
      const replay = await cli(env, [
        'replay',
        '--processor',
        processor,
        '--from',
        'earliest',
        '--to',
        'latest',
        '--quiet',
      ]);
      expect(replay.code, replay.stderr).toBe(0);
    }
    // Other students' events still flow: a new answer of another student after the deletion is counted.
    const next: OutgoingEvent = {
      family: 'question-attempts',
      record: {
        ...events.find((e) => e.family === 'question-attempts' && e.record.user_id === others[0])!.record,
        event_id: randomUUID(),
      },
    };
    await producer.publish([next]);
    await waitUntil('sink caught up after the deletion', () => caughtUp(h, `${iso.id}-sink`));
    await waitCaughtUp(env);
    await new Promise((r) => setTimeout(r, 2_000)); // a few ticks of the sessions processor
    expect(await clickhouseTablesWith(target)).toBe(0);
    expect(await postgresRows(target)).toEqual({});
    expect(await redisKeys(target)).toEqual([]);
    const [answers] = await chQuery<{ n: string }>(
      h.clickhouse,
      `SELECT count() AS n FROM question_attempts WHERE user_id = '${others[0]}'`,
    );
    expect(Number(answers!.n)).toBe(
      events.filter((e) => e.family === 'question-attempts' && e.record.user_id === others[0]).length + 1,
    );
  }, 600_000);
});

function topicFamily(topic: string) {
  return topic.endsWith('study-events')
    ? 'study-events'
    : topic.endsWith('question-attempts')
      ? 'question-attempts'
      : 'material-interactions';
}
