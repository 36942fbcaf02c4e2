import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ClickHouseClient } from '../../shared/clickhouse.ts';
import { ident, sql } from '../../shared/sql.ts';
import { dedupeWithinBatch, type RawRow, type RawTable, type RowKey, type SerialisedRow } from './rows.ts';

/**
 * The batch's event ids and users travel to the existence query as external tables (ClickHouse's "external data
 * for query processing": multipart parts named like tables, with `<name>_structure`/`<name>_format` parameters),
 * not as literals. Parsing a 10,000-literal IN list costs ClickHouse ~0.3-0.5 s of CPU (it parsed several per
 * batch, more than the insert itself); reading the same ids as TSV data costs milliseconds, and no AST limit
 * (max_ast_elements) applies, so one query per table and batch suffices. Supported by 18.16 and current releases.
 */
/** Rows per chunk of an insert body. */
const INSERT_CHUNK_ROWS = 2000;

const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A TSV field (TabSeparated escaping): backslash, tab, newline and carriage return escaped. */
function tsvField(value: string): string {
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : value;
}

/** One multipart/form-data file part holding an external table's rows (a random boundary per request). */
function part(boundary: string, name: string, lines: string): string {
  return (
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n` +
    `Content-Type: text/tab-separated-values\r\n\r\n${lines}\r\n`
  );
}

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

  /** The event_ids of `rows` already in `table` (one query; ids and users are sent as external tables). */
  async alreadyStored(table: RawTable, rows: readonly RowKey[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (rows.length === 0) return found;
    const users = new Set<string>();
    let min = Infinity;
    let max = -Infinity;
    let ids = '';
    for (const r of rows) {
      users.add(r.user_id);
      if (r.occurred_at < min) min = r.occurred_at;
      if (r.occurred_at > max) max = r.occurred_at;
      ids += `${r.event_id}\n`;
    }
    let userLines = '';
    for (const u of users) userLines += `${tsvField(u)}\n`;
    const from = new Date((min - this.windowS) * 1000);
    const to = new Date((max + this.windowS) * 1000);
    const query = sql`SELECT toString(event_id) AS id FROM ${ident(table)}
      WHERE user_id IN (SELECT user_id FROM batch_users) AND occurred_at >= ${from} AND occurred_at <= ${to}
        AND event_id IN (SELECT event_id FROM batch_ids)
      FORMAT TabSeparated`.text;
    const boundary = `studystream-${randomUUID()}`;
    const body = `${part(boundary, 'batch_ids', ids)}${part(boundary, 'batch_users', userLines)}--${boundary}--\r\n`;
    const bytes = Buffer.from(body);
    const rs = await this.client.exec({
      query,
      values: Readable.from([bytes]),
      clickhouse_settings: {
        batch_ids_structure: 'event_id UUID',
        batch_ids_format: 'TabSeparated',
        batch_users_structure: 'user_id String',
        batch_users_format: 'TabSeparated',
      } as never,
      // With a length, not chunked: 18.16 leaves the end of a chunked multipart body unread on the keep-alive
      // connection, and the next request on that socket then fails with an empty 400.
      http_headers: {
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': String(bytes.length),
      },
    });
    for (const line of (await text(rs.stream)).split('\n')) {
      if (line === '') continue;
      // An exception raised after the response started is appended to the body: never mistake it for an id.
      if (!UUID_LINE.test(line)) throw new Error(`unexpected existence query output: ${line.slice(0, 200)}`);
      found.add(line);
    }
    return found;
  }

  /** Inserts the rows of one table that are not stored yet; resolves after ClickHouse acknowledged the insert. */
  write(table: RawTable, rows: readonly RawRow[]): Promise<InsertReport> {
    return this.writeLines(table, rows, (r) => JSON.stringify(r));
  }

  /** `write` for rows already serialised by `serialiseRow` (the sink's batches). */
  writeSerialised(table: RawTable, rows: readonly SerialisedRow[]): Promise<InsertReport> {
    return this.writeLines(table, rows, (r) => r.json);
  }

  private async writeLines<R extends RowKey>(
    table: RawTable,
    rows: readonly R[],
    line: (row: R) => string,
  ): Promise<InsertReport> {
    const unique = dedupeWithinBatch(rows);
    const stored = await this.alreadyStored(table, unique);
    const fresh = stored.size === 0 ? unique : unique.filter((r) => !stored.has(r.event_id));
    if (fresh.length > 0) {
      // The body streams in chunks of lines (no single copy of the whole batch); the response arrives once the
      // insert (and the materialized views it feeds) is done.
      const chunks = function* (): Generator<string> {
        for (let i = 0; i < fresh.length; i += INSERT_CHUNK_ROWS) {
          let text = '';
          const end = Math.min(fresh.length, i + INSERT_CHUNK_ROWS);
          for (let j = i; j < end; j++) text += `${line(fresh[j]!)}\n`;
          yield text;
        }
      };
      const rs = await this.client.exec({
        query: sql`INSERT INTO ${ident(table)} FORMAT JSONEachRow`.text,
        values: Readable.from(chunks()),
      });
      await text(rs.stream);
    }
    return {
      table,
      received: rows.length,
      duplicatesInBatch: rows.length - unique.length,
      alreadyStored: unique.length - fresh.length,
      inserted: fresh.length,
    };
  }
}
