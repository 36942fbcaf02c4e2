import { chQuery, type ClickHouseClient } from '../../shared/clickhouse.ts';
import { ident, raw, sql } from '../../shared/sql.ts';
import { RAW_TABLES } from './rows.ts';

/**
 * Retention and the right to deletion over the raw and rollup tables (clickhouse/001, 002, 004, 020) and the raw
 * answers' narrow copy (030). Every table is
 * partitioned by toYYYYMM of its time column, so retention drops whole monthly partitions (cheap, no rewrite);
 * deletion is an ALTER TABLE ... DELETE mutation per table, awaited until ClickHouse finished it.
 */

/** Rollups keyed by user (002's and 004's plain-number ones): deletion removes the user's rows. */
export const USER_ROLLUPS = [
  'daily_user_stats',
  'daily_user_topic_stats',
  'hourly_user_activity',
  'daily_user_sums',
  'daily_user_topic_sums',
  'hourly_user_sums',
  'daily_user_distinct',
  'hourly_user_local_sums',
  // Not a rollup: clickhouse/030's narrow copy of question_attempts for per-student reads; same partitions, same key.
  'user_answers',
] as const;
/** Cohort rollups with no user key (only aggregate states): retention applies, deletion cannot single out a user. */
export const COHORT_ROLLUPS = ['daily_topic_stats'] as const;
export const USER_TABLES: readonly string[] = [...RAW_TABLES, ...USER_ROLLUPS];
export const ALL_TABLES: readonly string[] = [...USER_TABLES, ...COHORT_ROLLUPS];

export type PartitionInfo = { table: string; partition: string; rows: number; bytes: number };

/**
 * The YYYYMM of the oldest month kept: the month holding the instant `months` months before `now`. A partition is
 * dropped only when all of it is older than the limit (never data younger than the limit).
 */
export function oldestKeptMonth(months: number, now: Date): number {
  const index = now.getUTCFullYear() * 12 + now.getUTCMonth() - months;
  return Math.floor(index / 12) * 100 + (index % 12) + 1;
}

/** Partitions (monthly ids YYYYMM) older than the retention limit. Pure. */
export function expiredPartitions(
  parts: readonly PartitionInfo[],
  months: number,
  now: Date,
): PartitionInfo[] {
  const keepFrom = oldestKeptMonth(months, now);
  return parts.filter((p) => /^\d{6}$/.test(p.partition) && Number(p.partition) < keepFrom);
}

export async function listPartitions(client: ClickHouseClient, database: string): Promise<PartitionInfo[]> {
  const tables = ALL_TABLES.map((t) => sql`${t}`);
  const rows = await chQuery<{ table: string; partition: string; rows: string; bytes: string }>(
    client,
    sql`SELECT table, partition, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
        WHERE active AND database = ${database} AND table IN (${raw(tables.map((t) => t.text).join(', '))})
        GROUP BY table, partition ORDER BY table, partition`.text,
  );
  return rows.map((r) => ({
    table: r.table,
    partition: r.partition,
    rows: Number(r.rows),
    bytes: Number(r.bytes),
  }));
}

export type RetentionReport = { keepFrom: number; dropped: PartitionInfo[]; dryRun: boolean };

/** Drops every monthly partition older than `months` from raw and rollup tables (or only lists them). */
export async function applyRetention(
  client: ClickHouseClient,
  database: string,
  opts: { months: number; dryRun: boolean; now?: Date },
): Promise<RetentionReport> {
  if (!Number.isInteger(opts.months) || opts.months < 1) throw new Error('months must be a positive integer');
  const now = opts.now ?? new Date();
  const expired = expiredPartitions(await listPartitions(client, database), opts.months, now);
  if (!opts.dryRun) {
    for (const p of expired) {
      await client.command({
        query: sql`ALTER TABLE ${ident(p.table)} DROP PARTITION ${raw(p.partition)}`.text,
      });
    }
  }
  return { keepFrom: oldestKeptMonth(opts.months, now), dropped: expired, dryRun: opts.dryRun };
}

export type DeletionReport = {
  userId: string;
  tables: Array<{ table: string; before: number; after: number }>;
};

async function countUser(
  client: ClickHouseClient,
  database: string,
  table: string,
  userId: string,
): Promise<number> {
  const [r] = await chQuery<{ n: string }>(
    client,
    sql`SELECT count() AS n FROM ${ident(database)}.${ident(table)} WHERE user_id = ${userId}`.text,
  );
  return Number(r?.n ?? 0);
}

/** Waits until no mutation of `table` is pending. */
async function waitForMutations(
  client: ClickHouseClient,
  database: string,
  table: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [r] = await chQuery<{ n: string }>(
      client,
      sql`SELECT count() AS n FROM system.mutations WHERE database = ${database} AND table = ${table} AND is_done = 0`
        .text,
    );
    if (Number(r?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`mutations on ${table} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Removes one user's rows from every raw table and every per-user rollup, waits for the mutations, and reports
 * row counts before and after. The cohort rollup daily_topic_stats holds no user rows (only merged aggregate
 * states, in which a user id is present only as a hash inside uniqExact), so it is not touched.
 */
export async function deleteUser(
  client: ClickHouseClient,
  database: string,
  userId: string,
  opts: { timeoutMs?: number; tables?: readonly string[] } = {},
): Promise<DeletionReport> {
  if (userId.length === 0) throw new Error('user id must not be empty');
  const tables: DeletionReport['tables'] = [];
  for (const table of opts.tables ?? USER_TABLES) {
    const before = await countUser(client, database, table, userId);
    if (before > 0) {
      await client.command({
        query: sql`ALTER TABLE ${ident(database)}.${ident(table)} DELETE WHERE user_id = ${userId}`.text,
      });
      await waitForMutations(client, database, table, opts.timeoutMs ?? 300_000);
    }
    tables.push({ table, before, after: before > 0 ? await countUser(client, database, table, userId) : 0 });
  }
  return { userId, tables };
}
