import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, chQuery, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import {
  ALL_TABLES,
  applyRetention,
  deleteUser,
  listPartitions,
  USER_TABLES,
} from '../../../services/stream/clickhouse-sink/maintenance.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { writeAttempts } from './support.ts';

describe('retention and the right to deletion', () => {
  const iso = isolatedEnv('maint');
  let ch: ClickHouseClient;
  const now = new Date(Date.UTC(2026, 5, 15));
  beforeAll(async () => {
    await provision(iso, { clickhouse: true });
    ch = createClickHouse(iso.cfg);
    await writeAttempts(ch, [
      { user: 'old', at: Date.UTC(2024, 4, 10), correct: true }, // 202405: older than 24 months before 2026-06
      { user: 'old', at: Date.UTC(2024, 5, 10), correct: true }, // 202406: the oldest month kept
      { user: 'a', at: Date.UTC(2026, 5, 1), correct: true },
      { user: 'a', at: Date.UTC(2026, 5, 2), correct: false },
      { user: 'b', at: Date.UTC(2026, 5, 1), correct: true },
    ]);
  });
  afterAll(async () => {
    await ch?.close();
    await teardown(iso);
  });

  it('drops only monthly partitions older than the limit, from raw and rollup tables', async () => {
    const dry = await applyRetention(ch, iso.cfg.CLICKHOUSE_DATABASE, { months: 24, dryRun: true, now });
    expect(dry.keepFrom).toBe(202406);
    expect(new Set(dry.dropped.map((p) => p.partition))).toEqual(new Set(['202405']));
    expect(new Set(dry.dropped.map((p) => p.table))).toEqual(
      new Set([
        'question_attempts',
        'daily_user_stats',
        'daily_user_topic_stats',
        'hourly_user_activity',
        'daily_topic_stats',
        'daily_user_sums',
        'daily_user_topic_sums',
        'hourly_user_sums',
        'hourly_user_local_sums',
        'daily_user_distinct',
        'user_answers',
      ]),
    );
    expect(
      (await listPartitions(ch, iso.cfg.CLICKHOUSE_DATABASE)).some((p) => p.partition === '202405'),
    ).toBe(true);

    const done = await applyRetention(ch, iso.cfg.CLICKHOUSE_DATABASE, { months: 24, dryRun: false, now });
    expect(done.dropped).toHaveLength(11);
    const left = await listPartitions(ch, iso.cfg.CLICKHOUSE_DATABASE);
    expect(left.some((p) => p.partition === '202405')).toBe(false);
    expect(new Set(left.filter((p) => p.table === 'question_attempts').map((p) => p.partition))).toEqual(
      new Set(['202406', '202606']),
    );
    expect(ALL_TABLES).toContain('daily_topic_stats');
  });

  it('removes exactly one student from every raw and per-user rollup table', async () => {
    const count = async (table: string, user: string) =>
      Number(
        (await chQuery<{ n: string }>(ch, `SELECT count() AS n FROM ${table} WHERE user_id = '${user}'`))[0]!
          .n,
      );
    const before = { a: await count('question_attempts', 'a'), b: await count('question_attempts', 'b') };
    expect(before).toEqual({ a: 2, b: 1 });
    const report = await deleteUser(ch, iso.cfg.CLICKHOUSE_DATABASE, 'a');
    expect(report.tables.map((t) => t.table)).toEqual(USER_TABLES);
    expect(report.tables.find((t) => t.table === 'question_attempts')).toEqual({
      table: 'question_attempts',
      before: 2,
      after: 0,
    });
    expect(report.tables.every((t) => t.after === 0)).toBe(true);
    for (const table of USER_TABLES) expect(await count(table, 'a'), table).toBe(0);
    expect(await count('question_attempts', 'b')).toBe(1);
    expect(await count('daily_user_stats', 'b')).toBeGreaterThan(0);
    expect(await count('daily_user_sums', 'b')).toBeGreaterThan(0);
    expect(await count('user_answers', 'b')).toBe(1);
    expect(await count('question_attempts', 'old')).toBe(1);
  });
});
