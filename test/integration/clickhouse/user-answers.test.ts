import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chQuery,
  createClickHouse,
  createClickHouseReader,
  type ClickHouseClient,
} from '../../../services/shared/clickhouse.ts';
import { migrateClickHouse } from '../../../services/shared/migrations.ts';
import { mapRecord } from '../../../services/stream/clickhouse-sink/rows.ts';
import { insightHistory } from '../../../services/analytics-api/data/history.ts';
import { insightAttempts } from '../../../services/domain/insights.ts';
import { applyRetention, deleteUser } from '../../../services/stream/clickhouse-sink/maintenance.ts';
import { isolatedEnv, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { migrateOnly } from './support.ts';

/**
 * clickhouse/030_user_answers.sql on the real server: answers stored before it are backfilled, answers stored after
 * it arrive through the view, a duplicate (a re-delivered event) is removed by event id in the reader, and the
 * insights read (services/analytics-api/data/history.ts insightHistory, now on user_answers) returns exactly the
 * answers written, with their zone offsets. Retention and delete-user cover the new table.
 */

let n = 0;
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const AT = Date.UTC(2026, 2, 4, 4, 30, 0, 250);

type Answer = {
  id: string;
  user: string;
  at: number;
  correct: boolean;
  zone: string | null;
  session: string;
  topics: string[];
};

function answer(user: string, at: number, correct: boolean, zone: string | null = null): Answer {
  return { id: id(), user, at, correct, zone, session: `s-${user}`, topics: ['t1', 't2'] };
}

function row(a: Answer) {
  const m = mapRecord('question-attempts', {
    event_id: a.id,
    user_id: a.user,
    occurred_at: a.at,
    received_at: a.at,
    schema_version: 2,
    session_id: a.session,
    question_id: 'q1',
    topic_ids: a.topics,
    selected_answer: 'A',
    is_correct: a.correct,
    attempt_number: 1,
    time_to_answer_ms: 30_000,
    confidence: null,
    difficulty: null,
    exam_section: null,
    mode: 'TUTOR',
    client: null,
    time_zone: a.zone,
  });
  if (!m.ok) throw new Error(m.error);
  return m.value.row;
}

describe('ClickHouse 030: user_answers, the insights read of one student', () => {
  let iso: IsolatedEnv;
  let ch: ClickHouseClient;
  let reader: ReturnType<typeof createClickHouseReader>;

  beforeAll(async () => {
    iso = isolatedEnv('useranswers');
    await migrateOnly(iso.cfg, /^0[0-2]\d_.*\.sql$/); // the database before 030
    ch = createClickHouse(iso.cfg);
    reader = createClickHouseReader(iso.cfg);
  });
  afterAll(async () => {
    reader?.close();
    await ch?.close();
    if (iso) await teardown(iso);
  });

  it('backfills the stored answers, follows new ones, and the insights read returns each answer once', async () => {
    const before = [
      answer('u1', AT, true),
      answer('u1', AT + 60_000, false),
      answer('u2', AT, true),
      answer('old', Date.UTC(2024, 0, 10), true),
    ];
    await ch.insert({ table: 'question_attempts', format: 'JSONEachRow', values: before.map(row) });
    const report = await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    expect(report.applied).toContain('030_user_answers.sql');

    const after = [
      answer('u1', Date.UTC(2026, 2, 4, 14, 45), true, 'Asia/Kolkata'),
      answer('u1', Date.UTC(2026, 2, 5, 9, 0), false, 'Europe/Berlin'),
    ];
    await ch.insert({ table: 'question_attempts', format: 'JSONEachRow', values: after.map(row) });
    // A re-delivered answer (same event id) that slipped past the sink's check: a second row until a merge.
    await ch.insert({ table: 'question_attempts', format: 'JSONEachRow', values: [row(after[0]!)] });

    const u1 = await insightHistory(reader, 'u1', '2026-03-01');
    const expected = [...before.slice(0, 2), ...after].map((a) => ({
      eventId: a.id,
      at: a.at,
      offsetMinutes: a.zone === 'Asia/Kolkata' ? 330 : a.zone === 'Europe/Berlin' ? 60 : null,
      correct: a.correct,
      sessionId: a.session,
      topics: a.topics,
    }));
    const once = [...new Map(u1.answers.map((x) => [x.eventId, x])).values()];
    expect(once.sort((x, y) => x.at - y.at)).toEqual(expected);
    // The domain function removes the duplicate: one attempt per event.
    expect(insightAttempts(u1.answers, u1.notes)).toHaveLength(4);
    // `from` bounds the read (UTC day).
    expect((await insightHistory(reader, 'u1', '2026-03-05')).answers.map((x) => x.eventId)).toEqual([
      after[1]!.id,
    ]);
    expect((await insightHistory(reader, 'u2', '2026-03-01')).answers.map((x) => x.eventId)).toEqual([
      before[2]!.id,
    ]);

    // Retention drops its old months, delete-user removes a student's rows.
    const kept = await applyRetention(ch, iso.cfg.CLICKHOUSE_DATABASE, {
      months: 24,
      dryRun: false,
      now: new Date(Date.UTC(2026, 2, 10)),
    });
    expect(kept.dropped.filter((p) => p.table === 'user_answers').map((p) => p.partition)).toEqual([
      '202401',
    ]);
    const del = await deleteUser(ch, iso.cfg.CLICKHOUSE_DATABASE, 'u1');
    const gone = del.tables.find((t) => t.table === 'user_answers')!;
    expect(gone.after).toBe(0);
    expect(gone.before).toBeGreaterThanOrEqual(4); // 5 rows until a merge removes the duplicate
    expect(
      await chQuery<{ n: string }>(ch, `SELECT count() AS n FROM user_answers WHERE user_id = 'u1'`),
    ).toEqual([{ n: '0' }]);
    expect((await insightHistory(reader, 'u2', '2026-03-01')).answers).toHaveLength(1);
  });
});
