/**
 * The ClickHouse rebuild's store in sole-writer mode (the build is the only writer of its shadow database) against
 * a real ClickHouse: an event re-sent in a later batch is still stored once without the existence query, and after
 * a failed write (which may have stored part of its rows) the store asks the table again, as the live sink does.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chQuery, createClickHouse, type ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import {
  mapRecord,
  serialiseRow,
  type SerialisedRow,
} from '../../../services/stream/clickhouse-sink/rows.ts';
import { RawEventStore } from '../../../services/stream/clickhouse-sink/store.ts';
import { UuidSet } from '../../../services/datatools/uuid-set.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';

let iso: IsolatedEnv;
let ch: ClickHouseClient;

beforeAll(async () => {
  iso = isolatedEnv('rbch');
  await provision(iso, { clickhouse: true });
  ch = createClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
});

afterAll(async () => {
  await ch?.close();
  if (iso) await teardown(iso);
});

function attempt(eventId: string, at: number): SerialisedRow {
  const r = mapRecord('question-attempts', {
    event_id: eventId,
    user_id: 'stu_sole',
    occurred_at: at,
    received_at: at,
    schema_version: 1,
    session_id: 's-sole',
    question_id: 'q',
    topic_ids: ['cardio'],
    selected_answer: 'A',
    is_correct: true,
    attempt_number: 1,
    time_to_answer_ms: 1000,
    confidence: null,
    difficulty: null,
    exam_section: null,
    mode: 'TUTOR',
    client: null,
  });
  if (!r.ok) throw new Error(r.error);
  return serialiseRow(r.value);
}

const counts = async () =>
  (
    await chQuery<{ rows: string; events: string }>(
      ch,
      'SELECT count() AS rows, uniqExact(event_id) AS events FROM question_attempts',
    )
  ).map((r) => ({ rows: Number(r.rows), events: Number(r.events) }))[0];

describe('RawEventStore in sole-writer mode', () => {
  it('stores a re-sent event once across batches, and asks the table again after a failed write', async () => {
    const store = new RawEventStore(ch, 86_400, { soleWriter: () => new UuidSet(4) });
    const t = Date.UTC(2025, 0, 6, 10);
    const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const first = await store.writeSerialised('question_attempts', [attempt(a, t), attempt(b, t + 1000)]);
    expect(first).toMatchObject({ inserted: 2, alreadyStored: 0 });
    // b re-sent by the client: a later batch, another offset.
    const second = await store.writeSerialised('question_attempts', [
      attempt(b, t + 1000),
      attempt(c, t + 2000),
    ]);
    expect(second).toMatchObject({ inserted: 1, alreadyStored: 1 });
    expect(await counts()).toEqual({ rows: 3, events: 3 });

    // A failed write (ClickHouse rejects the body); suppose part of it was stored (d, written here directly):
    // the retry must find d in the table, which the in-memory ids cannot know.
    const broken = { ...attempt(d, t + 3000), json: '{"event_id": not json' };
    await expect(store.writeSerialised('question_attempts', [broken])).rejects.toThrow();
    await ch.insert({
      table: 'question_attempts',
      values: [JSON.parse(attempt(d, t + 3000).json)],
      format: 'JSONEachRow',
    });
    const retry = await store.writeSerialised('question_attempts', [attempt(d, t + 3000), attempt(a, t)]);
    expect(retry).toMatchObject({ inserted: 0, alreadyStored: 2 });
    expect(await counts()).toEqual({ rows: 4, events: 4 });
  });
});
