import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chQuery, createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { migrateClickHouse } from '../../../services/shared/migrations.ts';
import { isolatedEnv, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { migrateOnly } from './support.ts';
import { chTime, rand } from '../../support/seeded-data.ts';

/**
 * clickhouse/004_plain_user_rollups.sql: the plain-number per-student rollups hold exactly the figures of the
 * AggregateFunction rollups of 002, whether they were backfilled by the migration from history stored before it,
 * fed by their materialized views afterwards, or merged. Known, seeded data with the awkward cases: attempts
 * tagged with several topics, events without a session, study events with and without a material, notes and
 * highlights, material interactions without active time, SESSION_END durations, hours and days across a month end.
 */

let ids = 0;
const eventId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

/** `n` events of each family for 4 students over 40 days ending 2026-03-03 (February's end inside). */
async function insertHistory(ch: ClickHouseClient, seed: number, n: number): Promise<void> {
  const r = rand(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const users = ['u1', 'u2', 'u3', 'u4'];
  const topics = ['t1', 't2', 't3', 't4'];
  const end = Date.parse('2026-03-03T23:59:59Z');
  const at = () => end - Math.floor(r() * 40 * 86_400_000);
  const session = (u: string) => (r() < 0.1 ? '' : `${u}-s${Math.floor(r() * 12)}`);
  const base = (u: string, t: number) => ({
    event_id: eventId(),
    user_id: u,
    occurred_at: chTime(t),
    received_at: chTime(t),
    schema_version: 1,
  });
  await ch.insert({
    table: 'question_attempts',
    format: 'JSONEachRow',
    values: Array.from({ length: n }, (_, i) => {
      const u = pick(users);
      return {
        ...base(u, at()),
        session_id: session(u),
        question_id: `q${i}`,
        topic_ids: r() < 0.3 ? [pick(topics), pick(topics)] : [pick(topics)],
        selected_answer: 'A',
        is_correct: r() < 0.6 ? 1 : 0,
        attempt_number: 1 + Math.floor(r() * 3),
        time_to_answer_ms: Math.floor(r() * 90_000),
      };
    }),
  });
  await ch.insert({
    table: 'study_events',
    format: 'JSONEachRow',
    values: Array.from({ length: n }, () => {
      const u = pick(users);
      const type = pick(['SESSION_START', 'SESSION_END', 'PAGE_VIEW', 'SESSION_PAUSE']);
      return {
        ...base(u, at()),
        event_type: type,
        session_id: session(u),
        topic_ids: [],
        material_id: r() < 0.5 ? '' : `m${Math.floor(r() * 20)}`,
        duration_ms: type === 'SESSION_END' && r() < 0.8 ? Math.floor(r() * 3_600_000) : null,
      };
    }),
  });
  await ch.insert({
    table: 'material_interactions',
    format: 'JSONEachRow',
    values: Array.from({ length: n }, () => {
      const u = pick(users);
      return {
        ...base(u, at()),
        session_id: session(u),
        material_id: `m${Math.floor(r() * 20)}`,
        material_type: 'ARTICLE',
        topic_ids: r() < 0.2 ? [] : [pick(topics)],
        interaction_type: pick(['OPEN', 'NOTE', 'HIGHLIGHT', 'CLOSE']),
        active_ms: r() < 0.2 ? null : Math.floor(r() * 600_000),
      };
    }),
  });
}

type Row = Record<string, string | number>;

/** Every figure of the 002 rollups and of the 004 tables, one sorted row per key, as numbers. */
async function both(ch: ClickHouseClient): Promise<Record<string, { states: Row[]; plain: Row[] }>> {
  const q = async (query: string) =>
    (await chQuery<Row>(ch, query)).map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, /^(u|d|h|t)$/.test(k) ? v : Number(v)])),
    );
  const sums = (cols: string[], merge: boolean) =>
    cols.map((c) => (merge ? `sumMerge(${c}) AS ${c}` : `sum(${c}) AS ${c}`)).join(', ');
  const daily = [
    'events',
    'study_ms',
    'active_ms',
    'questions',
    'correct',
    'first_attempts',
    'first_attempt_correct',
    'notes',
    'highlights',
  ];
  const topic = [
    'questions',
    'correct',
    'first_attempts',
    'first_attempt_correct',
    'answer_ms',
    'interactions',
    'material_active_ms',
  ];
  const hourly = ['events', 'questions', 'active_ms'];
  return {
    daily: {
      states: await q(
        `SELECT user_id AS u, toString(day) AS d, ${sums(daily, true)},
           uniqExactMerge(sessions) AS sessions, uniqExactMerge(materials) AS materials
         FROM daily_user_stats GROUP BY user_id, day ORDER BY u, d`,
      ),
      plain: await q(
        `SELECT u, d, ${daily.join(', ')}, sessions, materials FROM
           (SELECT user_id AS u, toString(day) AS d, ${sums(daily, false)} FROM daily_user_sums GROUP BY user_id, day) AS s
         ANY LEFT JOIN
           (SELECT user_id AS u, toString(day) AS d, uniqExactIf(value, kind = 'session') AS sessions,
              uniqExactIf(value, kind = 'material') AS materials
            FROM daily_user_distinct GROUP BY user_id, day) AS x
         USING (u, d) ORDER BY u, d`,
      ),
    },
    topic: {
      states: await q(
        `SELECT user_id AS u, topic_id AS t, toString(day) AS d, ${sums(topic, true)}
         FROM daily_user_topic_stats GROUP BY user_id, topic_id, day ORDER BY u, t, d`,
      ),
      plain: await q(
        `SELECT user_id AS u, topic_id AS t, toString(day) AS d, ${sums(topic, false)}
         FROM daily_user_topic_sums GROUP BY user_id, topic_id, day ORDER BY u, t, d`,
      ),
    },
    hourly: {
      states: await q(
        `SELECT user_id AS u, toString(hour) AS h, ${sums(hourly, true)}
         FROM hourly_user_activity GROUP BY user_id, hour ORDER BY u, h`,
      ),
      plain: await q(
        `SELECT user_id AS u, toString(hour) AS h, ${sums(hourly, false)}
         FROM hourly_user_sums GROUP BY user_id, hour ORDER BY u, h`,
      ),
    },
  };
}

async function expectEqual(ch: ClickHouseClient, minRows: { daily: number; topic: number; hourly: number }) {
  const got = await both(ch);
  for (const [name, { states, plain }] of Object.entries(got)) {
    expect(states.length, name).toBeGreaterThanOrEqual(minRows[name as keyof typeof minRows]);
    expect(plain, name).toEqual(states);
  }
  return got;
}

describe('ClickHouse 004 plain-number rollups', () => {
  let iso: IsolatedEnv;
  let ch: ClickHouseClient;

  beforeAll(async () => {
    iso = isolatedEnv('plainrollups');
    // The database as it was before 004: migrations 001-003 only.
    await migrateOnly(iso.cfg, /^00[1-3]_.*\.sql$/);
    ch = createClickHouse(iso.cfg);
  });
  afterAll(async () => {
    await ch?.close();
    if (iso) await teardown(iso);
  });

  it('are backfilled by the migration from the history stored before it', async () => {
    await insertHistory(ch, 1, 600);
    await insertHistory(ch, 2, 400);
    const report = await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    expect(report.applied.filter((f) => f.startsWith('00'))).toEqual([
      '004_plain_user_rollups.sql',
      '005_merge_plain_user_rollups.sql',
    ]);
    const got = await expectEqual(ch, { daily: 100, topic: 200, hourly: 500 });
    expect(got.daily.plain.some((r) => Number(r.sessions) > 1 && Number(r.materials) > 1)).toBe(true);
  });

  it('are fed by their views afterwards, and reads give the same figures before and after merges', async () => {
    await insertHistory(ch, 3, 500);
    await insertHistory(ch, 4, 300);
    const [{ n }] = (await chQuery<{ n: string }>(
      ch,
      `SELECT count() AS n FROM system.parts WHERE active AND database = '${iso.cfg.CLICKHOUSE_DATABASE}'
         AND table = 'daily_user_sums'`,
    )) as [{ n: string }];
    expect(Number(n)).toBeGreaterThan(2); // unmerged parts: several rows per key
    const unmerged = await expectEqual(ch, { daily: 120, topic: 250, hourly: 800 });
    for (const t of ['daily_user_sums', 'daily_user_topic_sums', 'hourly_user_sums', 'daily_user_distinct'])
      await ch.command({ query: `OPTIMIZE TABLE ${t} FINAL` });
    expect(await expectEqual(ch, { daily: 120, topic: 250, hourly: 800 })).toEqual(unmerged);
  });
});
