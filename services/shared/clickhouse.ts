import http from 'node:http';
import https from 'node:https';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { captured, captureClient, captureDir, captureResult, callSite } from './clickhouse-capture.ts';
import type { SharedConfig } from './config.ts';
import { ServiceError } from './errors.ts';
import { trustedCa, type TlsSettings } from './tls.ts';

export type { ClickHouseClient };

export type ClickHouseSettings = Pick<
  SharedConfig,
  'CLICKHOUSE_URL' | 'CLICKHOUSE_DATABASE' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD'
> &
  Pick<TlsSettings, 'TLS_CA_FILE'>;

/** A ClickHouse HTTP client bound to the configured database (HTTPS, verified, for an https:// URL). */
export function createClickHouse(
  cfg: ClickHouseSettings,
  database = cfg.CLICKHOUSE_DATABASE,
): ClickHouseClient {
  const ca = cfg.CLICKHOUSE_URL.startsWith('https:') ? trustedCa(cfg) : undefined;
  const client = createClient({
    ...(ca ? { tls: { ca_cert: ca[0]! } } : {}),
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
  // Test runs only (CLICKHOUSE_CAPTURE_DIR): every statement is recorded for the current-ClickHouse replay.
  const dir = captureDir();
  return dir === undefined ? client : captureClient(client, database, dir);
}

/** Runs a SELECT and returns its rows (JSONEachRow). The SQL must be built with the helpers in sql.ts. */
export async function chQuery<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Something that runs a SELECT (built with sql.ts) and returns its rows as parsed JSONEachRow objects. */
export type RowReader = { rows<T>(query: string): Promise<T[]> };

/** The RowReader of a @clickhouse/client instance (chQuery). */
export function clientReader(client: ClickHouseClient): RowReader {
  return { rows: (query) => chQuery(client, query) };
}

/**
 * A lean RowReader for small, frequent SELECTs (the analytics API's per-student reads): one POST per query on
 * keep-alive sockets, the JSONEachRow body parsed in one go. @clickhouse/client spends about 2 ms of CPU on each
 * query (body stream pipeline, abort controller, per-row parsing streams) against 0.5 ms here, measured on the
 * 2-core bench host; at a few queries per request that is most of the API's CPU. Same server, same SQL (sql.ts),
 * same errors: a non-200 answer or an exception the server appended to a started response throws with the
 * server's text. Idle sockets are retired after 1 s (the server closes them after 3 s), and a query that met a
 * socket the server had just closed is sent once more on a fresh one (SELECTs only, so safe to repeat).
 */
export function createClickHouseReader(
  cfg: ClickHouseSettings,
  database = cfg.CLICKHOUSE_DATABASE,
  opts: { timeoutMs?: number } = {},
): RowReader & { close(): void } {
  const url = new URL(cfg.CLICKHOUSE_URL);
  const secure = url.protocol === 'https:';
  const ca = secure ? trustedCa(cfg) : undefined;
  const agent = secure
    ? new https.Agent({ keepAlive: true, timeout: 1000, ...(ca ? { ca } : {}), rejectUnauthorized: true })
    : new http.Agent({ keepAlive: true, timeout: 1000 });
  const request = secure ? https.request : http.request;
  // Settings in the URL's query string (e.g. ?max_execution_time=5) go with every query, as ClickHouse's HTTP
  // interface takes them; the database is this reader's.
  const params = new URLSearchParams(url.search);
  params.set('database', database);
  const path = `${url.pathname.replace(/\/+$/, '')}/?${params.toString()}`;
  const authorization = `Basic ${Buffer.from(`${cfg.CLICKHOUSE_USER}:${cfg.CLICKHOUSE_PASSWORD}`).toString('base64')}`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const post = (body: string, fresh: boolean) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        {
          hostname: url.hostname,
          port: url.port || (secure ? 443 : 80),
          path,
          method: 'POST',
          agent: fresh ? false : agent,
          ...(fresh && ca ? { ca } : {}),
          headers: { Authorization: authorization, 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) resolve(text);
            else reject(new ClickHouseServerError(res.statusCode ?? 0, text));
          });
        },
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`ClickHouse query timed out after ${timeoutMs} ms`)),
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(req.reusedSocket && err.code === 'ECONNRESET' ? new StaleSocket(err.message) : err),
      );
      req.end(body);
    });
  const capture = captureDir();
  const reader = {
    async rows<T>(query: string): Promise<T[]> {
      const body = `${query}\nFORMAT JSONEachRow`;
      const text = await post(body, false).catch((err: unknown) =>
        err instanceof StaleSocket ? post(body, true) : Promise.reject(err),
      );
      const rows: T[] = [];
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end === -1) end = text.length;
        if (end > start) {
          if (text.charCodeAt(start) !== 123 /* { */) {
            throw new Error(`ClickHouse: ${text.slice(start, Math.min(end, start + 2000))}`);
          }
          rows.push(JSON.parse(text.slice(start, end)) as T);
        }
        start = end + 1;
      }
      return rows;
    },
    close: () => agent.destroy(),
  };
  if (capture === undefined) return reader;
  return {
    rows: <T>(query: string) =>
      captured(
        capture,
        { db: database, kind: 'query', sql: query, site: callSite() },
        () => reader.rows<T>(query),
        (rows, ref) => captureResult(capture, ref, { rows }),
      ),
    close: reader.close,
  };
}

class StaleSocket extends Error {}

/** ClickHouse's "Too many simultaneous queries" (the server's max_concurrent_queries is reached). */
export const CH_TOO_MANY_SIMULTANEOUS_QUERIES = 202;

/** Server error codes that say "busy, the same query can succeed later". */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([CH_TOO_MANY_SIMULTANEOUS_QUERIES]);

/**
 * A query the server answered with an error (non-200): its ClickHouse error code (the `Code: N` every release
 * starts its error text with; null when absent) and whether retrying can succeed, decided here from the code.
 */
export class ClickHouseServerError extends ServiceError {
  readonly code: number | null;
  readonly httpStatus: number;
  constructor(httpStatus: number, text: string) {
    const code = serverErrorCode(text);
    super(
      `ClickHouse HTTP ${httpStatus}: ${text.trim().slice(0, 2000)}`,
      code !== null && RETRIABLE_CODES.has(code),
    );
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

function serverErrorCode(text: string): number | null {
  const m = /^\s*Code: (\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * The ClickHouse error code of a failed query from either client: the lean reader's ClickHouseServerError, or
 * @clickhouse/client's ClickHouseError (its `code`, a string) and the plain Error it raises when it cannot parse the
 * server's text (18.16's texts lack the `(TYPE)` suffix its parser expects), whose message is the server's text.
 * Null for anything else (network errors, timeouts).
 */
export function clickHouseErrorCode(err: unknown): number | null {
  if (err instanceof ClickHouseServerError) return err.code;
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  return serverErrorCode(err.message);
}
