import { createClickHouse } from '../services/shared/clickhouse.ts';
import { RawEventStore } from '../services/stream/clickhouse-sink/store.ts';
const ch = createClickHouse({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', CLICKHOUSE_DATABASE: 'zz_fmt_test', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
const rs = await ch.query({ query: 'SELECT toString(event_id) AS event_id, user_id, toUInt32(occurred_at) AS occurred_at FROM question_attempts', format: 'JSONEachRow' });
const rows = await rs.json<{ event_id: string; user_id: string; occurred_at: number }>();
const store = new RawEventStore(ch, 86400);
const tally = new Map<string, number>();
for (let i = 0; i < 400; i++) {
  try {
    const n = (await store.alreadyStored('question_attempts', rows)).size;
    tally.set(`n=${n}`, (tally.get(`n=${n}`) ?? 0) + 1);
    if (i % 2 === 0) await ch.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
  } catch (e) {
    const k = `err ${(e as Error).message.slice(0, 80)}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  }
}
console.log(rows.length, tally);
await ch.close();
