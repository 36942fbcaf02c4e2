import { randomUUID } from 'node:crypto';
import { createClickHouse } from '../services/shared/clickhouse.ts';
import { RawEventStore, countRows } from '../services/stream/clickhouse-sink/store.ts';
import { mapRecord } from '../services/stream/clickhouse-sink/rows.ts';
const root = createClickHouse({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', CLICKHOUSE_DATABASE: 'default', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
await root.command({ query: 'CREATE DATABASE IF NOT EXISTS zz_fmt_test' });
await root.command({ query: 'DROP TABLE IF EXISTS zz_fmt_test.question_attempts' });
await root.command({ query: 'CREATE TABLE zz_fmt_test.question_attempts AS bench_sink_797cea.question_attempts' });
const ch = createClickHouse({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', CLICKHOUSE_DATABASE: 'zz_fmt_test', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
const rows = Array.from({ length: 50 }, (_, i) => {
  const r = mapRecord('question-attempts', { event_id: randomUUID(), user_id: `u${i % 5}`, occurred_at: Date.UTC(2025, 0, 20) + i * 3600_000, received_at: null, schema_version: 1, session_id: 's', question_id: 'q', topic_ids: ['a'], selected_answer: 'A', is_correct: true, attempt_number: 1, time_to_answer_ms: 5, confidence: null, difficulty: null, exam_section: null, mode: 'TUTOR', client: null });
  if (!r.ok) throw new Error(r.error);
  return r.value.row;
});
const store = new RawEventStore(ch, 86400);
try { console.log(await store.write('question_attempts', rows)); } catch (e) { console.log('ERR', e, Object.entries(e as object)); }
console.log((await store.alreadyStored('question_attempts', rows)).size);
try { console.log(await store.write('question_attempts', rows)); } catch (e) { console.log('ERR', e, Object.entries(e as object)); }
console.log(await countRows(ch, 'question_attempts'));
await ch.close(); await root.close();
