import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chQuery,
  clientReader,
  createClickHouse,
  type ClickHouseClient,
} from '../../../services/shared/clickhouse.ts';
import { migrateClickHouse } from '../../../services/shared/migrations.ts';
import { mapRecord } from '../../../services/stream/clickhouse-sink/rows.ts';
import { hourlyHeatmap } from '../../../services/analytics-api/data/history.ts';
import { deleteUser } from '../../../services/stream/clickhouse-sink/maintenance.ts';
import { isolatedEnv, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { migrateOnly } from './support.ts';

/**
 * clickhouse/020_event_time_zone.sql on the real server: history stored before it (no time_zone columns) is kept
 * and backfilled into hourly_user_local_sums as "zone unknown"; rows written afterwards by the sink's mapping carry
 * the zone and its offset and land at their local hour; the heatmap read applies the fallback (latest known
 * offset, else UTC) to the old rows.
 */

let n = 0;
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
// Wednesday 2026-03-04, 04:30 UTC
const WED_0430 = Date.UTC(2026, 2, 4, 4, 30);

function record(user: string, at: number, timeZone?: string | null): Record<string, unknown> {
  const r: Record<string, unknown> = {
    event_id: id(),
    user_id: user,
    occurred_at: at,
    received_at: at,
    schema_version: 1,
    session_id: 's1',
    question_id: 'q1',
    topic_ids: ['t1'],
    selected_answer: 'A',
    is_correct: true,
    attempt_number: 1,
    time_to_answer_ms: 30_000,
    confidence: null,
    difficulty: null,
    exam_section: null,
    mode: 'TUTOR',
    client: null,
  };
  if (timeZone !== undefined) r.time_zone = timeZone;
  return r;
}

function rows(records: Array<Record<string, unknown>>, withZone: boolean) {
  return records.map((rec) => {
    const m = mapRecord('question-attempts', rec);
    if (!m.ok) throw new Error(m.error);
    const row = { ...m.value.row };
    if (!withZone) {
      delete row.time_zone; // the table before 020 has neither column
      delete row.utc_offset_min;
    }
    return row;
  });
}

describe('ClickHouse 020: time zones on raw events and activity by local hour', () => {
  let iso: IsolatedEnv;
  let ch: ClickHouseClient;

  beforeAll(async () => {
    iso = isolatedEnv('localtime');
    await migrateOnly(iso.cfg, /^00\d_.*\.sql$/); // the database before 020
    ch = createClickHouse(iso.cfg);
  });
  afterAll(async () => {
    await ch?.close();
    if (iso) await teardown(iso);
  });

  it('keeps and backfills the history stored before it, then stores zones and reads local hours', async () => {
    // before 020: three old answers of u1 and two of u2 at Wednesday 04:30 UTC, one of u1 at 05:10 UTC
    await ch.insert({
      table: 'question_attempts',
      format: 'JSONEachRow',
      values: rows(
        [
          record('u1', WED_0430),
          record('u1', WED_0430 + 60_000),
          record('u1', WED_0430 + 40 * 60_000),
          record('u2', WED_0430),
          record('u2', WED_0430 + 60_000),
        ],
        false,
      ),
    });
    const report = await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    expect(report.applied).toContain('020_event_time_zone.sql');
    expect(
      await chQuery<{ tz: string; off: number; n: string }>(
        ch,
        `SELECT time_zone AS tz, utc_offset_min AS off, count() AS n FROM question_attempts GROUP BY tz, off`,
      ),
    ).toEqual([{ tz: '', off: 0, n: '5' }]);

    // after 020: u1 answers from Asia/Kolkata (UTC+5:30) on Wednesday 2026-03-04 14:45 UTC = 20:15 local,
    // and one from a first-version producer (no field at all) at the same instant
    await ch.insert({
      table: 'question_attempts',
      format: 'JSONEachRow',
      values: rows(
        [
          record('u1', Date.UTC(2026, 2, 4, 14, 45), 'Asia/Kolkata'),
          record('u1', Date.UTC(2026, 2, 4, 14, 46), 'Asia/Kolkata'),
          record('u1', Date.UTC(2026, 2, 4, 14, 47)),
        ],
        true,
      ),
    });
    const stored = await chQuery<{ tz: string; off: number }>(
      ch,
      `SELECT time_zone AS tz, utc_offset_min AS off FROM question_attempts WHERE user_id = 'u1'
       ORDER BY occurred_at, event_id`,
    );
    expect(stored.map((r) => `${r.tz}${r.off}`)).toEqual([
      '0',
      '0',
      '0',
      'Asia/Kolkata330',
      'Asia/Kolkata330',
      '0',
    ]);

    const reader = clientReader(ch);
    const u1 = await hourlyHeatmap(reader, 'u1', '2026-03-01');
    // zoned: 14:45 UTC + 5:30 = 20:15 local (2 answers). Without a zone (4 answers): shifted by the latest known
    // offset rounded to 6 h: 04:30 and 04:31 -> 10:00, 05:10 -> 11:00, 14:47 -> 20:00 local
    expect(u1.fallback).toEqual({ offsetMinutes: 330, source: 'latest-known-zone' });
    expect(u1.cells.map((c) => [c.weekday, c.hour, c.questions])).toEqual([
      [3, 10, 2],
      [3, 11, 1],
      [3, 20, 3],
    ]);
    const u2 = await hourlyHeatmap(reader, 'u2', '2026-03-01');
    expect(u2.fallback).toEqual({ offsetMinutes: 0, source: 'utc' });
    expect(u2.cells.map((c) => [c.weekday, c.hour, c.questions])).toEqual([[3, 4, 2]]);

    // the right to deletion covers the new rollup
    const del = await deleteUser(ch, iso.cfg.CLICKHOUSE_DATABASE, 'u2');
    expect(del.tables.find((t) => t.table === 'hourly_user_local_sums')).toMatchObject({ after: 0 });
    expect(del.tables.find((t) => t.table === 'hourly_user_local_sums')!.before).toBeGreaterThan(0);
  });
});
