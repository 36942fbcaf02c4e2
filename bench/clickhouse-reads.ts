import os from 'node:os';
import { loadConfig } from '../services/shared/config.ts';
import type { RowReader } from '../services/shared/clickhouse.ts';
import { createPgPool } from '../services/shared/postgres.ts';
import {
  dailyActivity,
  hourlyHeatmap,
  insightHistory,
  studySummary,
  topicDaily,
} from '../services/analytics-api/data/history.ts';
import { parseOptions, positiveIntOption, UsageError, type Command } from '../services/cli/command.ts';
import { percentiles } from './harness.ts';

/**
 * `studystream bench clickhouse-reads --reuse NAMESPACE [--students 200]`: ClickHouse SERVER time (system.query_log,
 * query_duration_ms) of the analytics API's per-student reads (services/analytics-api/data/history.ts) on a bench
 * api dataset (`bench api --keep`, then this with its namespace): for --students students (default 200), one at a
 * time, the dashboard's studySummary, mastery/{topic}'s topicDaily (the student's most-answered leaf, 90 days, as
 * bench api asks), study-patterns' hourlyHeatmap + dailyActivity and the insights' insightHistory (90 days). The queries are the API's own,
 * sent with log_queries = 1 and a marker comment; the server time of each read (the sum over its queries) is then
 * read back from system.query_log. Prints p50/p95/max per read and the load average. Run it under the bench lock.
 */

const HELP = 'usage: studystream bench clickhouse-reads --reuse NAMESPACE [--students 200]\n';

const clickhouseReads: Command = async (args) => {
  const { values } = parseOptions(args, { reuse: { type: 'string' }, students: { type: 'string' } });
  const ns = values.reuse;
  if (!ns) throw new UsageError(HELP);
  const users = positiveIntOption(values.students, 'students', 200);
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    CLICKHOUSE_DATABASE: `test_${ns}`,
    PG_SCHEMA: `test_${ns}`,
  };
  const cfg = loadConfig(env);
  const run = `chreads_${Date.now().toString(36)}`;
  const base = cfg.CLICKHOUSE_URL.replace(/\/+$/, '');
  const auth = `Basic ${Buffer.from(`${cfg.CLICKHOUSE_USER}:${cfg.CLICKHOUSE_PASSWORD}`).toString('base64')}`;

  async function post(query: string, database: string, log: boolean): Promise<string> {
    const res = await fetch(
      `${base}/?database=${encodeURIComponent(database)}${log ? '&log_queries=1' : ''}`,
      {
        method: 'POST',
        headers: { Authorization: auth },
        body: query,
      },
    );
    const text = await res.text();
    if (res.status !== 200) throw new Error(`ClickHouse HTTP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  }

  /** A RowReader that marks each query with the read's name and logs it. */
  const reader = (label: string, call: number): RowReader => ({
    async rows<T>(query: string): Promise<T[]> {
      const text = await post(
        `/* ${run}:${label}:${call} */ ${query}\nFORMAT JSONEachRow`,
        cfg.CLICKHOUSE_DATABASE,
        true,
      );
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as T);
    },
  });

  const pg = createPgPool(cfg);
  const { rows } = await pg.query<{ user_id: string; topic_id: string }>(
    `SELECT DISTINCT ON (user_id) user_id, topic_id FROM topic_mastery WHERE topic_level = 2
     ORDER BY user_id, attempts DESC`,
  );
  await pg.end();
  const picked = rows.slice(0, users);
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
  const loadBefore = os.loadavg();
  const t0 = performance.now();
  for (const [i, { user_id: user, topic_id: topic }] of picked.entries()) {
    await studySummary(reader('dashboard', i), user, today);
    await topicDaily(reader('topic', i), user, [topic], from);
    await hourlyHeatmap(reader('patterns-heatmap', i), user, from);
    await dailyActivity(reader('patterns-daily', i), user, from, today);
    await insightHistory(reader('insights', i), user, from);
  }
  const wall = performance.now() - t0;
  const loadAfter = os.loadavg();
  await post('SYSTEM FLUSH LOGS', 'default', false);
  const logged = await post(
    `SELECT extract(query, '${run}:([a-z-]+)') AS label, sum(query_duration_ms) AS ms, sum(read_rows) AS rows,
       sum(memory_usage) AS mem, count() AS queries
     FROM system.query_log WHERE type = 2 AND query LIKE '/* ${run}:%' AND event_date >= yesterday()
     GROUP BY label, extract(query, '${run}:[a-z-]+:([0-9]+)')
     FORMAT JSONEachRow`,
    'default',
    false,
  );
  const by = new Map<string, { ms: number[]; rows: number[]; mem: number[]; queries: number }>();
  for (const line of logged.split('\n').filter((l) => l.length > 0)) {
    const r = JSON.parse(line) as { label: string; ms: string; rows: string; mem: string; queries: string };
    const e = by.get(r.label) ?? { ms: [], rows: [], mem: [], queries: Number(r.queries) };
    e.ms.push(Number(r.ms));
    e.rows.push(Number(r.rows));
    e.mem.push(Number(r.mem));
    by.set(r.label, e);
  }
  const round2 = (x: number) => Math.round(x * 100) / 100;
  process.stdout.write(
    `database ${cfg.CLICKHOUSE_DATABASE}, ${picked.length} students one at a time, ${round2(wall / 1000)} s; ` +
      `load average ${loadBefore.map(round2).join(' ')} -> ${loadAfter.map(round2).join(' ')}\n` +
      `read (queries)       n    server ms p50 / p95 / max   mean    rows read (mean)  memory MB (mean)\n`,
  );
  for (const [label, e] of [...by].sort()) {
    const p = percentiles(e.ms);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    process.stdout.write(
      `${`${label} (${e.queries})`.padEnd(20)} ${String(p.count).padStart(4)}    ${p.p50} / ${p.p95} / ${p.max}`.padEnd(
        54,
      ) +
        `${round2(p.mean)}`.padEnd(8) +
        `${Math.round(mean(e.rows))}`.padEnd(18) +
        `${round2(mean(e.mem) / 1e6)}\n`,
    );
  }
};
export default clickhouseReads;
