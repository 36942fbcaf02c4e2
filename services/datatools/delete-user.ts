import type { Redis } from 'ioredis';
import { chQuery, type ClickHouseClient } from '../shared/clickhouse.ts';
import { LOCAL_SUFFIX } from '../shared/clickhouse-cluster.ts';
import type { ClusterNodes } from '../shared/migrations.ts';
import type { SharedConfig } from '../shared/config.ts';
import { USER_ID } from '../shared/events.ts';
import { withTransaction, type Pool } from '../shared/postgres.ts';
import { sql } from '../shared/sql.ts';
import { eraseSubject } from '../shared/subjects.ts';
import { deleteCachedAnswersOf } from '../analytics-api/index.ts';
import { deleteLiveSessionsOf, deleteUser as deleteFromClickHouse } from '../stream/index.ts';

/**
 * Right to deletion (issue 18, finding 4): one student out of every store, the topics included.
 *
 *  1. Crypto-shredding: the student's key (subject_keys row, their pseudonym on the topics) is destroyed and the
 *     erasure recorded (shared/subjects.ts). From here no copy of their events (event topics, dead letters, backups)
 *     can be attributed, and every consumer (sink, processors, replay, rebuild, redrive) drops them.
 *  2. Wait SUBJECT_CACHE_MS (plus a margin): every running process has seen the erasure by then and evicted the
 *     mapping, so nothing resolves the student any more.
 *  3. Redis: the live sessions, their due entries and the student's session index (a session open at deletion is
 *     never closed into a row), and the API's cached answers and version key.
 *  4. ClickHouse: every table with a user_id column (raw and per-student rollups; the cohort rollup keeps only a
 *     hash inside its aggregate states) in the live database and in rebuild leftovers (`<db>_rebuild_*`,
 *     `<db>_old_*`). On the cluster profile (DeleteDeps.cluster) the replicated `<name>_local` tables of every
 *     shard (stream/clickhouse-sink/maintenance.ts deleteUser).
 *  5. PostgreSQL: every table with a user_id column in the live schema and in rebuild leftovers (`rebuild_*`),
 *     snapshots included (knowledge_gaps, user_learning_metrics), except the audit log (who read the data is
 *     itself a record the deletion must not erase; it holds the pseudonymous id only).
 *  6. Redis, ClickHouse and PostgreSQL once more, for a batch decoded before the erasure and written during steps 3-5.
 */

export type StoreReport = { store: string; table: string; deleted: number };

export type UserDeletionReport = { userId: string; keyDestroyed: boolean; removed: StoreReport[] };

/** Tables never touched by a deletion. */
const KEPT_PG_TABLES = new Set(['audit_log', 'subject_keys', 'erased_subjects', 'token_revocations']);

/** Removes one user's rows from every PostgreSQL table with a user_id column in these schemas. */
export async function deleteUserFromPostgres(
  pool: Pool,
  userId: string,
  schemas?: readonly string[],
): Promise<StoreReport[]> {
  if (!USER_ID.test(userId)) throw new Error('user id: 1-64 letters, digits, _ or -');
  const { rows } = await pool.query<{ schema: string; table: string }>(
    `SELECT c.table_schema AS schema, c.table_name AS table FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.column_name = 'user_id' AND t.table_type = 'BASE TABLE'
        AND (c.table_schema = ANY($1::text[]) OR ($2 AND c.table_schema LIKE 'rebuild\\_%'))
      ORDER BY 1, 2`,
    [schemas ?? [await currentSchema(pool)], schemas === undefined],
  );
  return withTransaction(pool, async (client) => {
    const report: StoreReport[] = [];
    for (const { schema, table } of rows) {
      if (KEPT_PG_TABLES.has(table)) continue;
      const r = await client.query(`DELETE FROM "${schema}"."${table}" WHERE user_id = $1`, [userId]);
      report.push({ store: 'postgres', table: `${schema}.${table}`, deleted: r.rowCount ?? 0 });
    }
    return report;
  });
}

async function currentSchema(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ s: string }>('SELECT current_schema() AS s');
  return rows[0]!.s;
}

/**
 * Removes one user from the live ClickHouse database and its rebuild leftovers (tables with a user_id column). On
 * the cluster (`cluster`), the tables found are the replicated local ones (the Distributed tables are not
 * MergeTree); each is deleted from on every shard under its Distributed name.
 */
export async function deleteUserFromClickHouse(
  ch: ClickHouseClient,
  database: string,
  userId: string,
  cluster: ClusterNodes | null = null,
): Promise<StoreReport[]> {
  const rebuild = `${database}_rebuild_`;
  const old = `${database}_old_`;
  // Plain functions and a tuple IN (no JOIN ... ON, no startsWith): the same SQL on 18.16 and current ClickHouse.
  const tables = await chQuery<{ database: string; table: string }>(
    ch,
    sql`SELECT database, table FROM system.columns
         WHERE name = 'user_id'
           AND (database, table) IN (SELECT database, name FROM system.tables WHERE engine LIKE '%MergeTree')
           AND (database = ${database} OR substring(database, 1, ${rebuild.length}) = ${rebuild}
                OR substring(database, 1, ${old.length}) = ${old})
         ORDER BY database, table`.text,
  );
  const byDb = new Map<string, string[]>();
  for (const t of tables) {
    if (cluster && !t.table.endsWith(LOCAL_SUFFIX)) continue;
    const name = cluster ? t.table.slice(0, -LOCAL_SUFFIX.length) : t.table;
    byDb.set(t.database, [...(byDb.get(t.database) ?? []), name]);
  }
  const report: StoreReport[] = [];
  for (const [db, list] of byDb) {
    const r = await deleteFromClickHouse(ch, db, userId, { tables: list, cluster });
    const left = r.tables.filter((t) => t.after > 0);
    if (left.length > 0)
      throw new Error(`rows of the user remain in ${db}: ${left.map((t) => t.table).join(', ')}`);
    for (const t of r.tables)
      report.push({ store: 'clickhouse', table: `${db}.${t.table}`, deleted: t.before });
  }
  return report;
}

/**
 * Removes the student's Redis state: live sessions, with their due entries and per-student index (the sessions
 * processor's deleteLiveSessionsOf), and the API's cached answers and version key (its deleteCachedAnswersOf). `prefix` is REDIS_KEY_PREFIX
 * (SCAN patterns are not prefixed by the client).
 */
export async function deleteUserFromRedis(
  redis: Redis,
  prefix: string,
  userId: string,
): Promise<StoreReport[]> {
  if (!USER_ID.test(userId)) throw new Error('user id: 1-64 letters, digits, _ or -');
  const live = await deleteLiveSessionsOf(redis, prefix, userId);
  const cached = await deleteCachedAnswersOf(redis, prefix, userId);
  return [
    { store: 'redis', table: 'sessions:live', deleted: live },
    { store: 'redis', table: 'api cache', deleted: cached },
  ];
}

export type DeleteDeps = {
  cfg: Pick<SharedConfig, 'CLICKHOUSE_DATABASE' | 'REDIS_KEY_PREFIX' | 'SUBJECT_CACHE_MS'>;
  pg: Pool;
  ch: ClickHouseClient;
  /** The cluster profile's nodes (migrations.ts clusterNodesOf); null or omitted on a single server. */
  cluster?: ClusterNodes | null;
  redis: Redis;
  /** How long to wait after destroying the key (default SUBJECT_CACHE_MS + 2 s). */
  waitMs?: number;
  log?: (line: string) => void;
};

/** The whole deletion (see the module comment), with a report of what was removed where. */
export async function deleteUserEverywhere(deps: DeleteDeps, userId: string): Promise<UserDeletionReport> {
  if (!USER_ID.test(userId)) throw new Error('user id: 1-64 letters, digits, _ or -');
  const log = deps.log ?? (() => undefined);
  const keyDestroyed = await eraseSubject(deps.pg, userId);
  const waitMs = deps.waitMs ?? deps.cfg.SUBJECT_CACHE_MS + 2_000;
  log(
    `key ${keyDestroyed ? 'destroyed' : 'absent (plain ids only)'}; erasure recorded; waiting ${waitMs} ms`,
  );
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const removed = [
    ...(await deleteUserFromRedis(deps.redis, deps.cfg.REDIS_KEY_PREFIX, userId)),
    ...(await deleteUserFromClickHouse(deps.ch, deps.cfg.CLICKHOUSE_DATABASE, userId, deps.cluster)),
    ...(await deleteUserFromPostgres(deps.pg, userId)),
  ];
  // Second pass: anything written by a batch that was decoded before the erasure and committed meanwhile.
  const again = [
    ...(await deleteUserFromRedis(deps.redis, deps.cfg.REDIS_KEY_PREFIX, userId)),
    ...(await deleteUserFromClickHouse(deps.ch, deps.cfg.CLICKHOUSE_DATABASE, userId, deps.cluster)),
    ...(await deleteUserFromPostgres(deps.pg, userId)),
  ];
  for (const r of again) {
    const first = removed.find((x) => x.store === r.store && x.table === r.table);
    if (first) first.deleted += r.deleted;
  }
  return { userId, keyDestroyed, removed };
}
