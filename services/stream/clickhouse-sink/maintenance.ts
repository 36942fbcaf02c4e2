import { chQuery, type ClickHouseClient } from '../../shared/clickhouse.ts';
import { LOCAL_SUFFIX } from '../../shared/clickhouse-cluster.ts';
import type { ClusterNodes } from '../../shared/migrations.ts';
import { ident, raw, sql } from '../../shared/sql.ts';
import { RAW_TABLES } from './rows.ts';

/**
 * Retention and the right to deletion over the raw and rollup tables (clickhouse/001, 002, 004, 020) and the raw
 * answers' narrow copy (030). Every table is
 * partitioned by toYYYYMM of its time column, so retention drops whole monthly partitions (cheap, no rewrite);
 * deletion is an ALTER TABLE ... DELETE mutation per table, awaited until ClickHouse finished it.
 *
 * On the cluster profile (`cluster`: services/shared/migrations.ts clusterNodesOf) the data lives in the replicated
 * `<name>_local` tables of each shard, behind Distributed tables that hold no parts: retention lists and drops the
 * local tables' partitions, and deletion mutates the local tables, each on one replica of every shard (the
 * replicated ALTER reaches the other replica), then waits until the mutations are done on every node.
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

export async function listPartitions(
  client: ClickHouseClient,
  database: string,
  suffix = '',
): Promise<PartitionInfo[]> {
  const tables = ALL_TABLES.map((t) => sql`${t + suffix}`);
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
  opts: { months: number; dryRun: boolean; now?: Date; cluster?: ClusterNodes | null },
): Promise<RetentionReport> {
  if (!Number.isInteger(opts.months) || opts.months < 1) throw new Error('months must be a positive integer');
  const now = opts.now ?? new Date();
  // The local tables of one replica per shard on the cluster (a replicated DROP PARTITION reaches the other).
  const targets = opts.cluster ? opts.cluster.leaders : [client];
  const dropped: PartitionInfo[] = [];
  for (const target of targets) {
    const suffix = opts.cluster ? LOCAL_SUFFIX : '';
    const expired = expiredPartitions(await listPartitions(target, database, suffix), opts.months, now);
    if (!opts.dryRun) {
      for (const p of expired) {
        await target.command({
          query: sql`ALTER TABLE ${ident(p.table)} DROP PARTITION ${raw(p.partition)}`.text,
        });
      }
    }
    dropped.push(...expired);
  }
  return { keepFrom: oldestKeptMonth(opts.months, now), dropped, dryRun: opts.dryRun };
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

/** Waits until no mutation of `table` is pending on any of `clients`. */
async function waitForMutations(
  clients: ClickHouseClient[],
  database: string,
  table: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await Promise.all(
      clients.map(async (client) => {
        const [r] = await chQuery<{ n: string }>(
          client,
          sql`SELECT count() AS n FROM system.mutations WHERE database = ${database} AND table = ${table} AND is_done = 0`
            .text,
        );
        return Number(r?.n ?? 0);
      }),
    );
    if (pending.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`mutations on ${table} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Removes one user's rows from every raw table and every per-user rollup, waits for the mutations, and reports
 * row counts before and after. The cohort rollup daily_topic_stats holds no user rows (only merged aggregate
 * states, in which a user id is present only as a hash inside uniqExact), so it is not touched.
 *
 * `tables` are the names the single server holds; on the cluster (`cluster`) each is mutated as `<name>_local` on
 * one replica of every shard; `before` counts those replicas' rows, `after` the rows left on every node.
 */
export async function deleteUser(
  client: ClickHouseClient,
  database: string,
  userId: string,
  opts: { timeoutMs?: number; tables?: readonly string[]; cluster?: ClusterNodes | null } = {},
): Promise<DeletionReport> {
  if (userId.length === 0) throw new Error('user id must not be empty');
  const targets = opts.cluster ? opts.cluster.leaders : [client];
  const waitOn = opts.cluster ? opts.cluster.all : [client];
  const suffix = opts.cluster ? LOCAL_SUFFIX : '';
  const tables: DeletionReport['tables'] = [];
  for (const name of opts.tables ?? USER_TABLES) {
    const table = name + suffix;
    const counts = async () => Promise.all(targets.map((t) => countUser(t, database, table, userId)));
    const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
    const held = await counts();
    for (const [i, target] of targets.entries()) {
      if (held[i] === 0) continue;
      await target.command({
        query: sql`ALTER TABLE ${ident(database)}.${ident(table)} DELETE WHERE user_id = ${userId}`.text,
      });
    }
    const before = sum(held);
    let after = 0;
    if (before > 0) {
      const timeoutMs = opts.timeoutMs ?? 300_000;
      await waitForMutations(waitOn, database, table, timeoutMs);
      // Rows left on any node: a replica lists a replicated mutation only once it fetched it from ZooKeeper, so
      // on the cluster its count is polled until 0 (or the timeout) rather than trusted after the first wait.
      const left = async () =>
        sum(await Promise.all(waitOn.map((c) => countUser(c, database, table, userId))));
      const deadline = Date.now() + timeoutMs;
      after = await left();
      while (after > 0 && opts.cluster && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        after = await left();
      }
    }
    tables.push({ table: name, before, after });
  }
  return { userId, tables };
}
