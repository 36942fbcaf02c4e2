/**
 * Retention, delete-user and `rebuild --store clickhouse` on the cluster profile (2 shards x 2 replicas): the data
 * lives in each shard's replicated `<name>_local` tables behind Distributed tables that hold no parts, so each
 * operation must reach the local tables of every shard (services/stream/clickhouse-sink/maintenance.ts,
 * services/datatools/delete-user.ts, services/datatools/rebuild.ts). Asserts, per node:
 *  - retention drops the expired monthly partitions of every local table on both shards (none is left on any of
 *    the four nodes) and keeps the younger ones;
 *  - delete-user removes a student whose rows live on the second shard from every per-student local table on
 *    both of its replicas, and leaves another student alone;
 *  - a ClickHouse rebuild from the topics switches every node's local tables: the Distributed tables then read
 *    the rebuilt rows (equal to the history), the live views feed them (a later event reaches raw table and
 *    rollup), the replicas of each shard agree, and no shadow or old database is left on any node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUserFromClickHouse } from '../../services/datatools/delete-user.ts';
import { chQuery, type ClickHouseClient } from '../../services/shared/clickhouse.ts';
import { openClusterNodes, type ClusterNodes } from '../../services/shared/migrations.ts';
import type { OutgoingEvent } from '../../services/shared/producer.ts';
import { ident, sql } from '../../services/shared/sql.ts';
import {
  ALL_TABLES,
  applyRetention,
  USER_TABLES,
} from '../../services/stream/clickhouse-sink/maintenance.ts';
import { isolatedEnv, teardown } from '../support/isolated.ts';
import { writeAttempts } from '../integration/clickhouse/support.ts';
import { cli } from '../integration/datatools/support.ts';
import { cohort } from '../integration/processors/support.ts';
import { caughtUp, harness, startSink, type StreamHarness } from '../integration/stream/support.ts';
import { until } from './support.ts';

const count = async (c: ClickHouseClient, query: string) =>
  Number((await chQuery<{ n: string }>(c, query))[0]?.n ?? 0);

describe('cluster: retention and delete-user on every shard', () => {
  const iso = isolatedEnv('maint');
  const db = iso.cfg.CLICKHOUSE_DATABASE;
  let h: StreamHarness;
  let nodes: ClusterNodes;
  const now = new Date(Date.UTC(2026, 5, 15));
  const users = Array.from({ length: 12 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  beforeAll(async () => {
    h = await harness(iso);
    nodes = await openClusterNodes(iso.cfg, db);
    await writeAttempts(h.clickhouse, [
      ...users.map((user) => ({ user, at: Date.UTC(2024, 4, 10), correct: true })), // 202405: expired
      ...users.map((user) => ({ user, at: Date.UTC(2026, 5, 1), correct: false })), // 202606: kept
    ]);
  }, 240_000);
  afterAll(async () => {
    await nodes?.close();
    await h?.close();
    await teardown(iso).catch(() => {});
  });

  it('retention drops the expired partitions of the local tables of both shards', async () => {
    const expiredParts = (node: ClickHouseClient) =>
      count(
        node,
        sql`SELECT count() AS n FROM system.parts WHERE active AND database = ${db} AND partition = '202405'
            AND has(${ALL_TABLES.map((t) => `${t}_local`)}, table)`.text,
      );
    // Both shards hold expired rows to begin with (users hash to both).
    for (const leader of nodes.leaders) expect(await expiredParts(leader)).toBeGreaterThan(0);

    const report = await applyRetention(h.clickhouse, db, { months: 24, dryRun: false, now, cluster: nodes });
    console.log(JSON.stringify({ dropped: report.dropped.map((p) => `${p.table}:${p.partition}`) }));
    expect(report.keepFrom).toBe(202406);
    expect(report.dropped.every((p) => p.partition === '202405' && p.table.endsWith('_local'))).toBe(true);
    expect(report.dropped.filter((p) => p.table === 'question_attempts_local')).toHaveLength(2);
    // On every node (the replicated DROP PARTITION reached each shard's second replica).
    await until(
      'no node to hold an expired partition',
      async () => (await Promise.all(nodes.all.map(expiredParts))).every((n) => n === 0),
      60_000,
    );
    expect(await count(h.clickhouse, 'SELECT count() AS n FROM question_attempts')).toBe(users.length);
  });

  it('delete-user removes a student of the second shard from both its replicas, and only that student', async () => {
    const rowsOf = (node: ClickHouseClient, table: string, user: string) =>
      count(node, sql`SELECT count() AS n FROM ${ident(`${table}_local`)} WHERE user_id = ${user}`.text);
    // A student stored on the second shard (not on the first node, which the services talk to) and one on the first.
    const [first, second] = nodes.leaders;
    const onSecond = [];
    const onFirst = [];
    for (const u of users) {
      if ((await rowsOf(second!, 'question_attempts', u)) > 0) onSecond.push(u);
      if ((await rowsOf(first!, 'question_attempts', u)) > 0) onFirst.push(u);
    }
    expect(onSecond.length).toBeGreaterThan(0);
    expect(onFirst.length).toBeGreaterThan(0);
    const victim = onSecond[0]!;
    const bystander = onFirst[0]!;

    const report = await deleteUserFromClickHouse(h.clickhouse, db, victim, nodes);
    console.log(JSON.stringify({ victim, report }));
    expect(report.find((r) => r.table === `${db}.question_attempts`)?.deleted).toBeGreaterThan(0);
    for (const node of nodes.all)
      for (const table of USER_TABLES) expect(await rowsOf(node, table, victim), table).toBe(0);
    expect(
      await count(
        h.clickhouse,
        sql`SELECT count() AS n FROM question_attempts WHERE user_id = ${bystander}`.text,
      ),
    ).toBe(1);
  });
});

describe('cluster: rebuild --store clickhouse switches every node', () => {
  const iso = isolatedEnv('chrebuild');
  let h: StreamHarness;
  const events = cohort(7, 6, 2).map((e): OutgoingEvent => ({ family: e.family, record: e.record }));
  beforeAll(async () => {
    h = await harness(iso);
  }, 240_000);
  afterAll(async () => {
    await h?.close();
    await teardown(iso).catch(() => {});
  });

  const totals = async () => ({
    raw: await count(h.clickhouse, 'SELECT count() AS n FROM question_attempts'),
    distinct: await count(h.clickhouse, 'SELECT uniqExact(event_id) AS n FROM question_attempts'),
    rollup: await count(h.clickhouse, 'SELECT sumMerge(questions) AS n FROM daily_user_stats'),
  });

  it('the Distributed tables read the rebuilt local tables, which the live views feed', async () => {
    const questions = events.filter((e) => e.family === 'question-attempts').length;
    const group = `${iso.id}-sink`;
    const sink = await startSink(h, group);
    try {
      await h.producer.publish(events);
      await until('the live sink to catch up', () => caughtUp(h, group), 120_000);
      expect(await totals()).toEqual({ raw: questions, distinct: questions, rollup: questions });

      const env = { ...iso.env, SINK_GROUP_ID: group };
      const rebuild = await cli(
        env,
        ['rebuild', '--store', 'clickhouse', '--confirm-drop-old', '--quiet'],
        300_000,
      );
      console.log(rebuild.stdout);
      expect(rebuild.code, rebuild.stderr).toBe(0);
      expect(rebuild.stdout).toMatch(/question_attempts\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(rebuild.stdout).toMatch(/switched; old data dropped/);
      expect(await totals()).toEqual({ raw: questions, distinct: questions, rollup: questions });

      // A later event reaches the rebuilt raw table and, through the live views, its rollup.
      const extra: OutgoingEvent = {
        family: 'question-attempts',
        record: {
          ...events.find((e) => e.family === 'question-attempts')!.record,
          event_id: '00000000-0000-4000-8000-0000000000ab',
        },
      };
      await h.producer.publish([extra]);
      await until('the live sink to catch up after the rebuild', () => caughtUp(h, group), 120_000);
      expect(await totals()).toEqual({ raw: questions + 1, distinct: questions + 1, rollup: questions + 1 });
    } finally {
      await sink.stop();
    }

    // Per node: the replicas of each shard agree, the shards add up, nothing of the rebuild is left.
    const nodes = await openClusterNodes(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    try {
      const local = [];
      for (const node of nodes.all) {
        await node.command({ query: 'SYSTEM SYNC REPLICA question_attempts_local' });
        local.push(await count(node, 'SELECT count() AS n FROM question_attempts_local'));
      }
      console.log(JSON.stringify({ questionAttemptsPerNode: local }));
      expect(local[0]).toBe(local[1]);
      expect(local[2]).toBe(local[3]);
      expect(local[0]! + local[2]!).toBe(questions + 1);
      for (const node of nodes.all) {
        const left = await chQuery<{ name: string }>(
          node,
          sql`SELECT name FROM system.databases WHERE name LIKE ${`${iso.cfg.CLICKHOUSE_DATABASE}_%`}`.text,
        );
        expect(left).toEqual([]);
      }
    } finally {
      await nodes.close();
    }
  }, 600_000);
});
