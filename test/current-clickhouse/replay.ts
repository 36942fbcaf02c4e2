import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CapturedResult, CapturedStatement } from '../../services/shared/clickhouse-capture.ts';

/**
 * The current-ClickHouse check (issue 20, item 4): statements captured while the integration tests ran on the
 * stack's ClickHouse 18.16 (services/shared/clickhouse-capture.ts) are replayed in the order they were sent on
 * chDB, an embedded current ClickHouse (PyPI `chdb`, installed by deploy/tools.sh), and every answer is compared
 * with 18.16's. The replay rebuilds the same data on chDB, because the captured statements include every
 * migration and every insert (with its rows) of those tests.
 */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CHDB_VERSION = '4.4.0';

/** The Python of the chDB virtualenv deploy/tools.sh installs (CHDB_PYTHON overrides). */
export function chdbPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHDB_PYTHON) return env.CHDB_PYTHON;
  const stack = env.STACK_DIR || `${REPO}.stack`;
  return `${stack}/cache/chdb-${CHDB_VERSION}/bin/python`;
}

export type Statement = CapturedStatement & { rows?: unknown[]; text?: string };

/** Every statement of a capture directory, each with its answer, in the order they were sent (start time). */
export function loadCapture(dir: string): Statement[] {
  const statements = new Map<string, Statement>();
  const results: CapturedResult[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(`${dir}/${file}`, 'utf8').split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as CapturedStatement | CapturedResult;
      if ('ref' in record) results.push(record);
      else statements.set(`${record.pid}:${record.seq}`, record);
    }
  }
  for (const r of results) {
    const s = statements.get(`${r.pid}:${r.ref}`);
    if (!s) continue;
    if (r.rows !== undefined) s.rows = r.rows;
    if (r.text !== undefined) s.text = r.text;
  }
  return [...statements.values()].sort((a, b) => a.t0 - b.t0);
}

/** A chDB session in a child Python process (test/current-clickhouse/chdb_exec.py). */
export class Chdb {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  readonly version: Promise<string>;

  constructor(python: string, path: string) {
    if (!existsSync(python)) {
      throw new Error(
        `chDB is not installed (${python} is missing): run \`bash deploy/tools.sh\` (installs PyPI chdb ${CHDB_VERSION}) or set CHDB_PYTHON`,
      );
    }
    this.child = spawn(python, [fileURLToPath(new URL('chdb_exec.py', import.meta.url)), path], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-4000)));
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => this.waiting.shift()?.(line));
    const exited = new Promise<never>((_, reject) =>
      this.child.on('exit', (code) => reject(new Error(`chDB exited with ${code}: ${this.stderr}`))),
    );
    this.version = Promise.race([
      new Promise<string>((resolve) =>
        this.waiting.push((line) => resolve((JSON.parse(line) as { version: string }).version)),
      ),
      exited,
    ]);
    this.version.catch(() => undefined);
  }

  run(request: {
    db: string;
    sql: string;
    data?: string;
    format?: string;
    settings?: Record<string, unknown>;
    externals?: External[];
  }): Promise<{ ok: true; out: string } | { ok: false; error: string }> {
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(JSON.parse(line) as { ok: true; out: string }));
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

type External = { name: string; structure: string; format: string; data: string };

/** The external tables of a multipart body (ClickHouse "external data": one file part per table). */
export function externalTables(st: Statement): External[] {
  const boundary = /boundary=([^;]+)/.exec(st.contentType ?? '')?.[1];
  if (boundary === undefined || st.data === undefined) return [];
  const tables: External[] = [];
  for (const part of st.data.split(`--${boundary}`)) {
    const name = /name="([^"]+)"/.exec(part)?.[1];
    const start = part.indexOf('\r\n\r\n');
    if (name === undefined || start < 0) continue;
    const settings = st.settings ?? {};
    tables.push({
      name,
      structure: String(settings[`${name}_structure`]),
      format: String(settings[`${name}_format`] ?? 'TabSeparated'),
      data: part.slice(start + 4).replace(/\r\n$/, ''),
    });
  }
  return tables;
}

const READ = /^\s*(\(\s*)?(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS)\b/i;

/** True for statements that change data or schema (everything but reads). */
export function isWrite(st: Statement): boolean {
  return !READ.test(st.sql);
}

/**
 * Reads whose answers depend on the engine or the moment rather than on the data: system tables (parts, merges,
 * mutations, query_log differ between releases and between a server and an embedded engine) and the clock.
 * They are run on chDB (they must parse and execute) but their answers are not compared.
 */
const VOLATILE =
  /\bsystem\s*\.|\b(now|today|yesterday|rand|rand64|generateUUIDv4|version|uptime|hostName)\s*\(/i;

export function isVolatile(st: Statement): boolean {
  return VOLATILE.test(st.sql);
}

export type Mismatch = { site: string; sql: string; reason: string };
export type ReplayReport = {
  version: string;
  statements: number;
  sites: Set<string>;
  /** Statements that failed on 18.16 too (tests of refused input): not replayed. */
  failedOnBoth: number;
  ran: number;
  compared: number;
  volatile: number;
  /**
   * Reads whose 18.16 answer depends on timing: a write was in flight while they ran, or their database saw
   * concurrent writes that do not commute (taintedAfter). Run, not compared.
   */
  concurrent: number;
  errors: Mismatch[];
  mismatches: Mismatch[];
};

/** Replays `statements` on chDB in order and compares every stable read's answer with 18.16's. */
export async function replay(statements: Statement[], chdb: Chdb): Promise<ReplayReport> {
  const report: ReplayReport = {
    version: await chdb.version,
    statements: statements.length,
    sites: new Set(statements.map((s) => s.site)),
    failedOnBoth: 0,
    ran: 0,
    compared: 0,
    volatile: 0,
    concurrent: 0,
    errors: [],
    mismatches: [],
  };
  const writes = statements.filter(isWrite);
  const tainted = taintedAfter(writes);
  for (const st of statements) {
    if (!st.ok) {
      report.failedOnBoth++;
      continue;
    }
    const externals = externalTables(st);
    const res = await chdb.run({
      db: st.db,
      sql: st.sql,
      ...(st.data !== undefined && externals.length === 0 ? { data: st.data } : {}),
      ...(st.settings ? { settings: st.settings } : {}),
      ...(externals.length > 0 ? { externals } : {}),
      format: 'JSONEachRow',
    });
    report.ran++;
    const excerpt = st.sql.replace(/\s+/g, ' ').slice(0, 300);
    if (!res.ok) {
      report.errors.push({ site: st.site, sql: excerpt, reason: res.error.slice(0, 600) });
      continue;
    }
    if (isWrite(st) || (st.rows === undefined && st.text === undefined)) continue;
    if (isVolatile(st)) {
      report.volatile++;
      // The code may branch on an engine-dependent answer (e.g. the database engine: rebuild-clickhouse.ts switchPlan): from
      // then on its statements follow 18.16's branch, which the replay cannot judge; the databases it names are
      // run, not compared (each branch is covered by its own test).
      if (st.rows !== undefined && compareRows(st.rows, parseJsonLines(res.out), false) !== undefined) {
        for (const db of namedDatabases(st))
          if (!tainted.has(db) || tainted.get(db)! > st.t0) tainted.set(db, st.t0);
      }
      continue;
    }
    const since = tainted.get(st.db);
    if (
      (since !== undefined && since <= st.t0) ||
      writes.some((w) => w !== st && w.t0 < st.t1 && w.t1 > st.t0)
    ) {
      report.concurrent++;
      continue;
    }
    report.compared++;
    const reason =
      st.rows !== undefined
        ? compareRows(st.rows, parseJsonLines(res.out), hasOrderBy(st.sql))
        : compareLines(st.text ?? '', res.out);
    if (reason !== undefined) report.mismatches.push({ site: st.site, sql: excerpt, reason });
  }
  return report;
}

/** The databases a statement may touch: its client's, qualified names (db.table) and string literals. */
function namedDatabases(st: Statement): string[] {
  return [
    st.db,
    ...[...st.sql.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z_]/g)].map((m) => m[1]!),
    ...[...st.sql.matchAll(/'([A-Za-z_][A-Za-z0-9_]*)'/g)].map((m) => m[1]!),
  ];
}

/** A plain data insert (INSERT ... FORMAT with its rows): such inserts commute with each other. */
const DATA_INSERT = /^\s*INSERT\s+INTO\s+[\w.]+(\s*\([^)]*\))?\s+FORMAT\s+\w+\s*$/i;

/**
 * The databases whose state depends on timing, each with the time from which it does: where two writes ran at
 * the same time and one of them was more than a plain data insert (an INSERT ... SELECT copying a table while the
 * sink inserts into it, a RENAME or a mutation beside inserts), 18.16's outcome depends on which went first,
 * while the replay runs them one after the other. Reads of those databases from then on are run, not compared.
 */
export function taintedAfter(writes: Statement[]): Map<string, number> {
  const tainted = new Map<string, number>();
  const taint = (w: Statement, at: number) => {
    for (const db of namedDatabases(w)) if (!tainted.has(db) || tainted.get(db)! > at) tainted.set(db, at);
  };
  const sorted = [...writes].sort((a, b) => a.t0 - b.t0);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]!.t0 < a.t1; j++) {
      const b = sorted[j]!;
      if (DATA_INSERT.test(a.sql) && DATA_INSERT.test(b.sql)) continue;
      taint(a, b.t0);
      taint(b, b.t0);
    }
  }
  return tainted;
}

function parseJsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** A top-level ORDER BY (not one inside a subquery): the last ORDER BY outside parentheses. */
export function hasOrderBy(sqlText: string): boolean {
  let depth = 0;
  let top = '';
  for (const ch of sqlText) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0) top += ch;
  }
  return /\bORDER\s+BY\b/i.test(top);
}

/**
 * A value in a comparable form: numbers and numeric strings become numbers (18.16 quotes 64-bit integers in JSON,
 * current releases do not by default), objects get sorted keys.
 */
export function normalise(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalise((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Equal up to a relative tolerance of 1e-9 on numbers (float sums may be added in another order). */
export function equalValues(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equalValues(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k, i) =>
          k === kb[i] && equalValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/** A sort key that tolerates float noise (numbers to 9 significant digits). */
function sortKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v));
}

/** undefined when equal, else why not. Order matters only with a top-level ORDER BY. */
export function compareRows(expected: unknown[], actual: unknown[], ordered: boolean): string | undefined {
  const e = expected.map(normalise);
  const a = actual.map(normalise);
  if (e.length !== a.length) return `18.16 returned ${e.length} rows, current ${a.length}: ${preview(e, a)}`;
  if (ordered && e.every((x, i) => equalValues(x, a[i]))) return undefined;
  const es = [...e].sort((x, y) => sortKey(x).localeCompare(sortKey(y)));
  const as = [...a].sort((x, y) => sortKey(x).localeCompare(sortKey(y)));
  const i = es.findIndex((x, j) => !equalValues(x, as[j]));
  if (i >= 0) return `rows differ: 18.16 ${JSON.stringify(es[i])} vs current ${JSON.stringify(as[i])}`;
  return ordered ? `same rows, different order under ORDER BY: ${preview(e, a)}` : undefined;
}

function compareLines(expected: string, actual: string): string | undefined {
  const e = expected.split('\n').filter(Boolean).sort();
  const a = actual.split('\n').filter(Boolean).sort();
  return e.length === a.length && e.every((x, i) => x === a[i])
    ? undefined
    : `text answers differ: 18.16 ${JSON.stringify(e.slice(0, 3))} (${e.length} lines) vs current ${JSON.stringify(a.slice(0, 3))} (${a.length} lines)`;
}

function preview(e: unknown[], a: unknown[]): string {
  return `18.16 ${JSON.stringify(e.slice(0, 2)).slice(0, 300)} vs current ${JSON.stringify(a.slice(0, 2)).slice(0, 300)}`;
}

/**
 * Functions whose statements the single-node suite cannot send, with the reason; their lines are not required to
 * be captured. Keep this list short: every other statement must run in `npm test` on both engines.
 */
export const NOT_IN_THE_SINGLE_NODE_SUITE: Record<string, string> = {
  'services/shared/migrations.ts#migrateClickHouseCluster':
    'the cluster profile (ReplicatedMergeTree on ZooKeeper, Distributed tables, {shard} macros): run by `npm run test:cluster` on the cluster profile; chDB has no ZooKeeper',
  'services/shared/migrations.ts#openClusterNodes':
    "the cluster profile's nodes and their {shard} macros (migrations, retention, delete-user, rebuild on the cluster): run by `npm run test:cluster`; a single server has no macros",
};

/**
 * The source lines that send ClickHouse statements (services/ and the tools under it): calls of chQuery, of a
 * RowReader's rows, and of a ClickHouse client's command/exec/insert. The capture records the same `path:line`
 * for each statement (the first stack frame outside the client modules), so a line never captured is a statement
 * the suite does not exercise on both engines.
 */
export function clickHouseCallSites(root = REPO): string[] {
  const sites: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(`${root}${dir}`, { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (rel !== 'services/web') walk(rel);
      } else if (
        entry.name.endsWith('.ts') &&
        !/services\/(shared\/clickhouse(-capture)?|analytics-api\/clickhouse-gate)\.ts$/.test(rel)
      ) {
        let fn = '';
        readFileSync(`${root}${rel}`, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const declared = /^(?:export\s+)?(?:async\s+)?function\s+(\w+)/.exec(line);
            if (declared) fn = declared[1]!;
            if (`${rel}#${fn}` in NOT_IN_THE_SINGLE_NODE_SUITE) return;
            const code = line.replace(/\/\/.*$/, '').trim();
            if (code.startsWith('*') || code.startsWith('import ')) return;
            if (/\bchQuery\s*[<(]|\.rows\s*[<(]|\.(command|exec|insert)\(\s*\{/.test(code)) {
              sites.push(`${rel}:${i + 1}`);
            }
          });
      }
    }
  };
  walk('services');
  return sites;
}
