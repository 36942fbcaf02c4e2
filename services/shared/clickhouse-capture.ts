import { appendFileSync, mkdirSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Statement capture for the current-ClickHouse checks (issue 20, item 4). With `CLICKHOUSE_CAPTURE_DIR` set, every
 * statement a client made by createClickHouse/createClickHouseReader sends (SELECTs, DDL, inserts with their data,
 * external tables) is appended to `<dir>/<pid>.jsonl` with its database, the rows 18.16 answered, its start and end
 * times and the source line that sent it. test/current-clickhouse replays the captured statements in order on
 * chDB (an embedded current ClickHouse) and compares the answers. Unset (production, benchmarks): nothing is
 * wrapped and nothing is written.
 */

export type CapturedStatement = {
  pid: number;
  seq: number;
  t0: number;
  t1: number;
  db: string;
  kind: 'query' | 'command' | 'exec' | 'insert';
  sql: string;
  /** The request body after the statement (insert rows, external tables' multipart body). */
  data?: string;
  contentType?: string;
  settings?: Record<string, unknown>;
  ok: boolean;
  error?: string;
  site: string;
};

/** The answer of a captured statement, written when the caller read it (query: JSON rows; exec: the body text). */
export type CapturedResult = { pid: number; ref: number; t1: number; rows?: unknown[]; text?: string };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The client modules, and the API's read gate, which only forwards a caller's statement (its caller is the site).
const SELF = /services\/(shared\/clickhouse(-capture)?|analytics-api\/clickhouse-gate)\.ts/;

/** The directory statements are captured into, or undefined when capture is off. */
export function captureDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.CLICKHOUSE_CAPTURE_DIR;
  return dir === undefined || dir === '' ? undefined : dir;
}

let seq = 0;
let file: string | undefined;

function now(): number {
  return performance.timeOrigin + performance.now();
}

function write(dir: string, record: CapturedStatement | CapturedResult): void {
  if (file === undefined) {
    mkdirSync(dir, { recursive: true });
    file = `${dir}/${process.pid}.jsonl`;
  }
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** The repository-relative `path:line` of the first stack frame outside the ClickHouse client modules. */
export function callSite(stack = new Error().stack ?? ''): string {
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+\.ts):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const path = m[1]!.replace(/^file:\/\//, '');
    if (SELF.test(path) || path.includes('/node_modules/')) continue;
    return `${path.startsWith(ROOT) ? path.slice(ROOT.length) : path}:${m[2]}`;
  }
  return 'unknown';
}

/** Records one statement around `run`; `after` may attach its answer later (see CapturedResult). */
export async function captured<T>(
  dir: string,
  base: Pick<CapturedStatement, 'db' | 'kind' | 'sql' | 'data' | 'contentType' | 'settings'> & {
    site: string;
  },
  run: () => Promise<T>,
  after?: (result: T, ref: number) => void,
): Promise<T> {
  const id = ++seq;
  const t0 = now();
  try {
    const result = await run();
    write(dir, { pid: process.pid, seq: id, t0, t1: now(), ...base, ok: true });
    after?.(result, id);
    return result;
  } catch (err) {
    write(dir, { pid: process.pid, seq: id, t0, t1: now(), ...base, ok: false, error: String(err) });
    throw err;
  }
}

/** Writes the answer of statement `ref`. */
export function captureResult(dir: string, ref: number, answer: { rows?: unknown[]; text?: string }): void {
  write(dir, { pid: process.pid, ref, t1: now(), ...answer });
}

async function collect(values: unknown): Promise<{ text: string; stream: Readable }> {
  const chunks: Buffer[] = [];
  for await (const chunk of values as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  const body = Buffer.concat(chunks);
  return { text: body.toString('utf8'), stream: Readable.from([body]) };
}

type QueryParams = Parameters<ClickHouseClient['query']>[0];
type CommandParams = Parameters<ClickHouseClient['command']>[0];
type ExecParams = Parameters<ClickHouseClient['exec']>[0];
type InsertParams = Parameters<ClickHouseClient['insert']>[0];

/** Wraps a client's query, command, exec and insert so each statement is captured into `dir`. */
export function captureClient(client: ClickHouseClient, database: string, dir: string): ClickHouseClient {
  const query = client.query.bind(client);
  const command = client.command.bind(client);
  const exec = client.exec.bind(client);
  const insert = client.insert.bind(client);
  const settingsOf = (p: { clickhouse_settings?: unknown }) =>
    p.clickhouse_settings === undefined ? {} : { settings: p.clickhouse_settings as Record<string, unknown> };

  client.query = ((params: QueryParams) => {
    const site = callSite();
    return captured(
      dir,
      { db: database, kind: 'query', sql: params.query, ...settingsOf(params), site },
      () => query(params),
      (rs, ref) => {
        const json = rs.json.bind(rs);
        rs.json = (async () => {
          const rows = await json();
          captureResult(dir, ref, { rows: Array.isArray(rows) ? rows : [rows] });
          return rows;
        }) as typeof rs.json;
      },
    );
  }) as typeof client.query;

  client.command = ((params: CommandParams) =>
    captured(
      dir,
      { db: database, kind: 'command', sql: params.query, ...settingsOf(params), site: callSite() },
      () => command(params),
    )) as typeof client.command;

  client.exec = (async (params: ExecParams) => {
    const site = callSite();
    const headers = (params as { http_headers?: Record<string, string> }).http_headers ?? {};
    const values = (params as { values?: unknown }).values;
    const body = values === undefined ? undefined : await collect(values);
    const sent = body === undefined ? params : { ...params, values: body.stream };
    return captured(
      dir,
      {
        db: database,
        kind: 'exec',
        sql: params.query,
        ...(body === undefined ? {} : { data: body.text }),
        ...(headers['Content-Type'] ? { contentType: headers['Content-Type'] } : {}),
        ...settingsOf(params),
        site,
      },
      () => exec(sent as ExecParams),
      (rs, ref) => {
        // Tee the answer: the caller reads it as before, the capture gets the text once it ended.
        const tee = new PassThrough();
        const chunks: Buffer[] = [];
        rs.stream.on('data', (c: Buffer) => chunks.push(c));
        rs.stream.on('end', () => captureResult(dir, ref, { text: Buffer.concat(chunks).toString('utf8') }));
        rs.stream.pipe(tee);
        (rs as { stream: unknown }).stream = tee;
      },
    );
  }) as typeof client.exec;

  client.insert = (async (params: InsertParams) => {
    const site = callSite();
    const format = params.format ?? 'JSONCompactEachRow';
    let data: string;
    let values = params.values;
    if (Array.isArray(values)) {
      data = values.map((v) => `${JSON.stringify(v)}\n`).join('');
    } else {
      const body = await collect(values);
      data = body.text;
      values = body.stream as typeof values;
    }
    const columns = Array.isArray(params.columns) ? ` (${params.columns.join(', ')})` : '';
    return captured(
      dir,
      {
        db: database,
        kind: 'insert',
        sql: `INSERT INTO ${params.table}${columns} FORMAT ${format}`,
        data,
        ...settingsOf(params),
        site,
      },
      () => insert({ ...params, values } as InsertParams),
    );
  }) as typeof client.insert;

  return client;
}
