/**
 * What the three rebuilds (rebuild-mastery.ts, rebuild-clickhouse.ts, rebuild-sessions.ts) share: the report and
 * options, the PostgreSQL canonical-row checksum, catch-up ranges, bounded drains under the rebuild's group, and
 * the end of a PostgreSQL rebuild (switched: old schema kept or dropped; always: group deleted, shadow dropped
 * unless kept).
 */
import type { Pool } from '../shared/postgres.ts';
import type { ProcessorDefinition } from '../stream/index.ts';
import { streamEnv } from '../stream/index.ts';
import {
  runBounded,
  seedKafkaGroup,
  type BoundedProgress,
  type BoundedResult,
  type TopicPartitionRange,
} from './bounded.ts';
import type { ToolContext } from './context.ts';

export type TableCheck = {
  table: string;
  live: { rows: number; hash: string };
  shadow: { rows: number; hash: string };
};
export type RebuildReport = {
  store: 'mastery' | 'clickhouse' | 'sessions';
  shadow: string;
  old: string | null;
  events: number;
  /** Total wall time (migration, build, catch-up, verify, switch). */
  ms: number;
  /** Time spent processing events (build and catch-up runs only). */
  buildMs: number;
  /** Time per stage of the build (ms): drain (Kafka fetch + decode + apply), apply alone, each write. */
  stages: Record<string, number>;
  checks: TableCheck[];
  matches: boolean;
  switched: boolean;
  droppedOld: boolean;
};

/** A report before anything happened: nothing built, checked, switched or dropped yet. */
export function emptyReport(store: RebuildReport['store'], shadow: string): RebuildReport {
  return {
    store,
    shadow,
    old: null,
    events: 0,
    ms: 0,
    buildMs: 0,
    stages: {},
    checks: [],
    matches: false,
    switched: false,
    droppedOld: false,
  };
}

export type RebuildOptions = {
  acceptDifferences: boolean;
  confirmDropOld: boolean;
  /** Build and verify only (no switch); the shadow is dropped afterwards unless keepShadow. */
  verifyOnly?: boolean;
  keepShadow?: boolean;
  onProgress?: (p: BoundedProgress & { phase: string }) => void;
};

const EXCLUDED_COLUMNS = new Set(['updated_at', 'processor_state', 'recorded_at']);
const PG_IDENT = /^[a-z_][a-z0-9_]*$/;

export function pgIdent(name: string): string {
  if (!PG_IDENT.test(name)) throw new Error(`invalid identifier ${name}`);
  return name;
}

/**
 * Count and order-independent checksum of a table's canonical rows: every column except updated_at, recorded_at
 * and processor_state (the processor's internal buffers).
 */
export async function pgChecksum(
  pool: Pool,
  schema: string,
  table: string,
  where = 'TRUE',
): Promise<{ rows: number; hash: string }> {
  const { rows: cols } = await pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
     ORDER BY ordinal_position`,
    [schema, table],
  );
  const list = cols.map((c) => c.column_name).filter((c) => !EXCLUDED_COLUMNS.has(c));
  if (list.length === 0) throw new Error(`no table ${schema}.${table}`);
  const rowExpr = `row(${list.map((c) => `"${c}"`).join(', ')})::text`;
  const { rows } = await pool.query<{ n: number; h: string }>(
    `SELECT count(*)::bigint AS n,
            coalesce(sum(('x' || substr(md5(${rowExpr}), 1, 15))::bit(60)::bigint::numeric), 0)::text AS h
     FROM ${pgIdent(schema)}.${pgIdent(table)} WHERE ${where}`,
  );
  return { rows: Number(rows[0]?.n ?? 0), hash: rows[0]?.h ?? '0' };
}

/** Ranges from the shadow's positions up to the live ones where the live processor is ahead. */
export function catchUpRanges(shadow: Map<string, number>, live: Map<string, number>): TopicPartitionRange[] {
  const out: TopicPartitionRange[] = [];
  for (const [key, to] of live) {
    const from = shadow.get(key) ?? 0;
    if (to > from) {
      const i = key.lastIndexOf('|');
      out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), from, to });
    }
  }
  return out;
}

export const allMatch = (checks: TableCheck[]) =>
  checks.every((c) => c.live.rows === c.shadow.rows && c.live.hash === c.shadow.hash);

export function differs(report: RebuildReport, kept: string): Error {
  const counts = report.checks.map((c) => `${c.table}: ${c.live.rows} vs ${c.shadow.rows} rows`).join('; ');
  return new Error(
    `shadow differs from live (${counts}); kept ${kept} for inspection; re-run with --accept-differences to switch anyway`,
  );
}

/** Runs a definition over ranges under the rebuild's group (Kafka offsets seeded to the range starts). */
export async function drain<T>(
  ctx: ToolContext,
  opts: RebuildOptions,
  r: { def: ProcessorDefinition<T>; group: string; ranges: TopicPartitionRange[]; phase: string },
): Promise<BoundedResult> {
  await seedKafkaGroup(ctx.admin, r.group, r.ranges);
  return runBounded({
    def: r.def,
    kafka: ctx.kafka,
    log: ctx.log,
    stream: streamEnv.load(ctx.env),
    deadLetterTopic: ctx.deadLetterTopic,
    ranges: r.ranges,
    onProgress: (p) => opts.onProgress?.({ ...p, phase: r.phase }),
  });
}

/** After a PostgreSQL switch: the old schema is kept, or dropped on confirmation. */
export async function switchedPg(pool: Pool, report: RebuildReport, old: string, confirmDropOld: boolean) {
  report.switched = true;
  report.old = old;
  if (confirmDropOld) {
    await pool.query(`DROP SCHEMA ${pgIdent(old)} CASCADE`);
    report.droppedOld = true;
  }
}

/** The end of a PostgreSQL rebuild, whatever happened: the run's group deleted, the shadow dropped unless kept. */
export async function endPg(
  ctx: ToolContext,
  r: {
    report: RebuildReport;
    started: number;
    group: string;
    shadowPool: Pool;
    livePool: Pool;
    keepShadow: boolean;
  },
) {
  r.report.ms = performance.now() - r.started;
  await ctx.admin.deleteGroups([r.group]).catch(() => undefined);
  await r.shadowPool.end();
  if (!r.keepShadow) await r.livePool.query(`DROP SCHEMA IF EXISTS ${pgIdent(r.report.shadow)} CASCADE`);
}
