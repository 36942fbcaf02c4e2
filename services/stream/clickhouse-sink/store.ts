import type { ClickHouseClient } from '../../shared/clickhouse.ts';
import { chQuery } from '../../shared/clickhouse.ts';
import { ident, join, sql } from '../../shared/sql.ts';
import { dedupeWithinBatch, type RawRow, type RawTable } from './rows.ts';

/** Event ids per existence query: with as many user ids at most, well below the 50,000 AST elements limit. */
const CHECK_CHUNK = 10_000;

export type InsertReport = {
  table: RawTable;
  received: number;
  duplicatesInBatch: number;
  alreadyStored: number;
  inserted: number;
};

/**
 * Writes raw rows exactly once per event_id. Before inserting, it drops duplicates inside the batch and asks the
 * table which event_ids of the batch it already holds (restricted to the batch's users and time range padded by
 * `windowS`, so the primary key prunes the scan). Safe because one consumer owns a Kafka partition, hence a user:
 * nobody else inserts these users' events concurrently in steady state. See clickhouse/001_raw_events.sql.
 */
export class RawEventStore {
  private readonly client: ClickHouseClient;
  private readonly windowS: number;

  constructor(client: ClickHouseClient, windowS: number) {
    this.client = client;
    this.windowS = windowS;
  }

  /**
   * The event_ids of `rows` already in `table`. Asked in chunks: ClickHouse limits a query's AST (max_ast_elements,
   * 50,000 by default) and every literal of the IN lists is an element.
   */
  async alreadyStored(table: RawTable, rows: readonly RawRow[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < rows.length; i += CHECK_CHUNK) {
      for (const id of await this.storedChunk(table, rows.slice(i, i + CHECK_CHUNK))) found.add(id);
    }
    return found;
  }

  private async storedChunk(table: RawTable, rows: readonly RawRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const users = new Set<string>();
    let min = Infinity;
    let max = -Infinity;
    for (const r of rows) {
      users.add(r.user_id);
      if (r.occurred_at < min) min = r.occurred_at;
      if (r.occurred_at > max) max = r.occurred_at;
    }
    const from = new Date((min - this.windowS) * 1000);
    const to = new Date((max + this.windowS) * 1000);
    const userList = join(
      [...users].map((u) => sql`${u}`),
      ',',
    );
    const idList = join(
      rows.map((r) => sql`${r.event_id}`),
      ',',
    );
    const query = sql`SELECT toString(event_id) AS id FROM ${ident(table)}
      WHERE user_id IN (${userList}) AND occurred_at >= ${from} AND occurred_at <= ${to} AND event_id IN (${idList})`
      .text;
    const rs = await this.client.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: { max_query_size: String(query.length + 65_536) as never },
    });
    return (await rs.json<{ id: string }>()).map((f) => f.id);
  }

  /** Inserts the rows of one table that are not stored yet; resolves after ClickHouse acknowledged the insert. */
  async write(table: RawTable, rows: readonly RawRow[]): Promise<InsertReport> {
    const unique = dedupeWithinBatch(rows);
    const stored = await this.alreadyStored(table, unique);
    const fresh = stored.size === 0 ? unique : unique.filter((r) => !stored.has(r.event_id));
    if (fresh.length > 0) await this.client.insert({ table, values: fresh, format: 'JSONEachRow' });
    return {
      table,
      received: rows.length,
      duplicatesInBatch: rows.length - unique.length,
      alreadyStored: unique.length - fresh.length,
      inserted: fresh.length,
    };
  }
}

/** Row counts of a table: total rows and distinct event ids (equal when the table holds no duplicate). */
export async function countRows(
  client: ClickHouseClient,
  table: RawTable,
): Promise<{ rows: number; events: number }> {
  const [r] = await chQuery<{ rows: string; events: string }>(
    client,
    sql`SELECT count() AS rows, uniqExact(event_id) AS events FROM ${ident(table)}`.text,
  );
  return { rows: Number(r?.rows ?? 0), events: Number(r?.events ?? 0) };
}
