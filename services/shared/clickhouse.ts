import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { SharedConfig } from './config.ts';

export type { ClickHouseClient };

export type ClickHouseSettings = Pick<
  SharedConfig,
  'CLICKHOUSE_URL' | 'CLICKHOUSE_DATABASE' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD'
>;

/** A ClickHouse HTTP client bound to the configured database. */
export function createClickHouse(
  cfg: ClickHouseSettings,
  database = cfg.CLICKHOUSE_DATABASE,
): ClickHouseClient {
  return createClient({
    url: cfg.CLICKHOUSE_URL,
    username: cfg.CLICKHOUSE_USER,
    password: cfg.CLICKHOUSE_PASSWORD,
    database,
    request_timeout: 60_000,
    compression: { request: false, response: false },
    // ClickHouse closes idle keep-alive connections after 3 s (keep_alive_timeout); retire ours well before that so
    // a request never goes out on a socket the server is closing ("socket hang up").
    keep_alive: { enabled: true, idle_socket_ttl: 1000 },
  });
}

/** Runs a SELECT and returns its rows (JSONEachRow). The SQL must be built with the helpers in sql.ts. */
export async function chQuery<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}
