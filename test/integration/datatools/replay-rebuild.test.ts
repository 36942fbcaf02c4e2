/**
 * Replay and rebuild against the real stack: a replay into ClickHouse while the live sink runs (and events keep
 * arriving) counts nothing twice; a rebuild of mastery from the topics equals the live state, switches, and the
 * live processor carries on from the rebuilt positions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chQuery } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import type { OutgoingEvent } from '../../../services/shared/producer.ts';
import { startMasteryProcessor } from '../../../services/stream/index.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { cohort } from '../processors/support.ts';
import { caughtUp, harness, startSink, type StreamHarness } from '../stream/support.ts';
import { cli, waitUntil } from './support.ts';

let iso: IsolatedEnv;
let h: StreamHarness;
let pool: Pool;
let env: NodeJS.ProcessEnv;
const events = cohort(11, 12, 6).map((e): OutgoingEvent => ({ family: e.family, record: e.record }));
const half = Math.floor(events.length / 2);

beforeAll(async () => {
  iso = isolatedEnv('rr');
  await provision(iso, { postgres: true });
  h = await harness(iso);
  pool = createPgPool(iso.cfg);
  env = {
    ...iso.env,
    SINK_GROUP_ID: `${iso.id}-sink`,
    STREAM_BATCH_MAX_WAIT_MS: '200',
    STREAM_BATCH_MAX_RECORDS: '2000',
  };
});

afterAll(async () => {
  await pool?.end();
  await h?.close();
  if (iso) await teardown(iso);
});

async function totals(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['study_events', 'question_attempts', 'material_interactions']) {
    const [r] = await chQuery<{ rows: string; events: string }>(
      h.clickhouse,
      `SELECT count() AS rows, uniqExact(event_id) AS events FROM ${t}`,
    );
    out[`${t}.rows`] = Number(r?.rows);
    out[`${t}.events`] = Number(r?.events);
  }
  const [q] = await chQuery<{ q: string; e: string }>(
    h.clickhouse,
    'SELECT sumMerge(questions) AS q, sumMerge(events) AS e FROM daily_user_stats',
  );
  out['rollup.questions'] = Number(q?.q);
  out['rollup.events'] = Number(q?.e);
  // clickhouse/004's plain-number rollup, filled by the same views on replay and switched with the others.
  const [p] = await chQuery<{ q: string; e: string }>(
    h.clickhouse,
    'SELECT sum(questions) AS q, sum(events) AS e FROM daily_user_sums',
  );
  out['plain.questions'] = Number(p?.q);
  out['plain.events'] = Number(p?.e);
  return out;
}

function expected(list: readonly OutgoingEvent[]): Record<string, number> {
  const by = (f: string) => list.filter((e) => e.family === f).length;
  const s = by('study-events');
  const q = by('question-attempts');
  const m = by('material-interactions');
  return {
    'study_events.rows': s,
    'study_events.events': s,
    'question_attempts.rows': q,
    'question_attempts.events': q,
    'material_interactions.rows': m,
    'material_interactions.events': m,
    'rollup.questions': q,
    'rollup.events': list.length,
    'plain.questions': q,
    'plain.events': list.length,
  };
}

describe('replay and rebuild', () => {
  it('ClickHouse: a replay while the live sink runs counts nothing twice; a rebuild equals live and switches', async () => {
    const group = `${iso.id}-sink`;
    const sink = await startSink(h, group);
    try {
      for (let i = 0; i < half; i += 2000)
        await h.producer.publish(events.slice(i, Math.min(i + 2000, half)));
      await waitUntil('live sink caught up', () => caughtUp(h, group));
      // More events arrive while the replay runs.
      const producing = (async () => {
        for (let i = half; i < events.length; i += 500) {
          await h.producer.publish(events.slice(i, i + 500));
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const replay = await cli(env, [
        'replay',
        '--processor',
        'clickhouse-sink',
        '--from',
        'earliest',
        '--to',
        'latest',
        '--quiet',
      ]);
      await producing;
      expect(replay.code, replay.stderr).toBe(0);
      expect(replay.stdout).toMatch(/replayed \d+ records/);
      await waitUntil('live sink caught up again', () => caughtUp(h, group));
      expect(await totals()).toEqual(expected(events));
      const offsetsAfter = await h.admin.fetchOffsets({
        groupId: group,
        topics: [`${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`],
      });
      expect(offsetsAfter[0]!.partitions.every((p) => Number(p.offset) > 0)).toBe(true);
      const groups = (await h.admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups.filter((g) => g.includes('replay-clickhouse-sink'))).toEqual([]);

      // Rebuild ClickHouse while the live sink runs: shadow equals live, tables switched, old dropped; the live
      // materialized views feed the new tables (bound by name), so a later event reaches raw table and rollups.
      const rebuild = await cli(env, ['rebuild', '--store', 'clickhouse', '--confirm-drop-old', '--quiet']);
      expect(rebuild.code, rebuild.stderr).toBe(0);
      expect(rebuild.stdout).toMatch(/question_attempts\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(rebuild.stdout).toMatch(/switched; old data dropped/);
      expect(await totals()).toEqual(expected(events));
      const extra: OutgoingEvent = {
        family: 'question-attempts',
        record: {
          ...events.find((e) => e.family === 'question-attempts')!.record,
          event_id: '00000000-0000-4000-8000-0000000000aa',
        },
      };
      await h.producer.publish([extra]);
      await waitUntil('live sink caught up after rebuild', () => caughtUp(h, group));
      expect(await totals()).toEqual(expected([...events, extra]));
      const dbs = await chQuery<{ name: string }>(
        h.clickhouse,
        `SELECT name FROM system.databases WHERE name LIKE '${iso.cfg.CLICKHOUSE_DATABASE}_%'`,
      );
      expect(dbs).toEqual([]);
    } finally {
      await sink.stop();
    }
  });

  it('mastery: replay re-applies nothing; a rebuild equals the live state and switches', async () => {
    const redis = createRedis(iso.cfg);
    const live = await startMasteryProcessor({
      cfg: iso.cfg,
      stream: streamEnv.load(env),
      kafka: h.kafka,
      pool,
      redis,
      log: createLogger('test', 'warn'),
      metrics: createMetricsRegistry('test'),
      env,
    });
    try {
      await waitUntil('mastery caught up', () => masteryCaughtUp(), 180_000);
      const before = await masteryDump();
      const replay = await cli(env, [
        'replay',
        '--processor',
        'mastery',
        '--from',
        'earliest',
        '--to',
        'latest',
        '--quiet',
      ]);
      expect(replay.code, replay.stderr).toBe(0);
      expect(replay.stdout).toMatch(/replayed \d+ records/);
      expect(await masteryDump()).toEqual(before);

      const rebuild = await cli(env, ['rebuild', '--store', 'mastery', '--quiet']);
      expect(rebuild.code, rebuild.stderr).toBe(0);
      expect(rebuild.stdout).not.toMatch(/\sNO\s*$/m);
      expect(rebuild.stdout).toMatch(/topic_mastery\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(rebuild.stdout).toMatch(/switched; old data kept in rebuild_old_/);
      expect(await masteryDump()).toEqual(before);
      const schemas = await pool.query<{ n: string }>(
        `SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`,
      );
      expect(schemas.rows.filter((r) => r.n.startsWith('rebuild_old_')).length).toBeGreaterThan(0);
      for (const r of schemas.rows) await pool.query(`DROP SCHEMA ${r.n} CASCADE`);

      // The live processor carries on over the switched tables and positions: a new answer counts once.
      const attempt = events.find((e) => e.family === 'question-attempts')!;
      const fresh: OutgoingEvent = {
        family: 'question-attempts',
        record: {
          ...attempt.record,
          event_id: '00000000-0000-4000-8000-00000000beef',
          occurred_at: (attempt.record.occurred_at as number) + 60_000,
        },
      };
      const sumAttempts = async () =>
        Number(
          (
            await pool.query<{ n: number }>(
              'SELECT sum(attempts)::int AS n FROM topic_mastery WHERE topic_level = 2',
            )
          ).rows[0]?.n,
        );
      const base = await sumAttempts();
      await h.producer.publish([fresh, fresh]);
      await waitUntil('fresh answer applied', async () => (await sumAttempts()) > base);
      await new Promise((r) => setTimeout(r, 1000));
      const leaves = (fresh.record.topic_ids as string[]).length;
      expect(await sumAttempts()).toBeGreaterThanOrEqual(base + 1);
      expect(await sumAttempts()).toBeLessThanOrEqual(base + leaves);
    } finally {
      await live.stop();
      redis.disconnect();
    }
  });
});

async function masteryCaughtUp(): Promise<boolean> {
  const group = `${iso.cfg.KAFKA_TOPIC_PREFIX}studystream-mastery`;
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
    'SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer_group = $1',
    [group],
  );
  for (const topic of ['question-attempts', 'material-interactions'].map(
    (f) => `${iso.cfg.KAFKA_TOPIC_PREFIX}${f}`,
  ))
    for (const o of await h.admin.fetchTopicOffsets(topic)) {
      const at = rows.find((r) => r.topic === topic && r.partition === o.partition)?.next_offset ?? 0;
      if (Number(o.high) > 0 && at < Number(o.high)) return false;
    }
  return true;
}

async function masteryDump() {
  const q = async (sql: string) =>
    (await pool.query(sql)).rows.map((r: Record<string, unknown>) => {
      delete r.updated_at;
      return r;
    });
  return {
    topic_mastery: await q('SELECT * FROM topic_mastery ORDER BY user_id, topic_id'),
    history: await q('SELECT * FROM topic_mastery_history ORDER BY user_id, topic_id, day'),
    processed: (await pool.query('SELECT count(*)::int AS n FROM processed_events')).rows,
  };
}
