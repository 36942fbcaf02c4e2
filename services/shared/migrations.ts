import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';
import { chQuery, createClickHouse, type ClickHouseSettings } from './clickhouse.ts';
import { clusterMigrations, type Migration } from './clickhouse-cluster.ts';
import type { SharedConfig } from './config.ts';
import { ident, sql } from './sql.ts';

/**
 * The migration runner. Migrations are plain SQL files named NNN_description.sql, applied in order and
 * recorded (version, name, checksum) in a table in each database. Re-running is a no-op; editing a file that
 * was already applied is an error, because the database would silently differ from the file.
 */

export const POSTGRES_DIR = fileURLToPath(new URL('../../postgres/', import.meta.url));
export const CLICKHOUSE_DIR = fileURLToPath(new URL('../../clickhouse/', import.meta.url));

export type { Migration };
export type MigrationReport = { applied: string[]; skipped: string[] };

export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3,}_[a-z0-9_-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(`${dir}/${file}`, 'utf8');
      return {
        version: file.slice(0, file.indexOf('_')),
        name: file,
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    }),
  );
}

/** Splits a file into statements at semicolons that end a line; `--` comment lines are dropped. */
export function splitStatements(text: string): string[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function checkUnchanged(m: Migration, recordedChecksum: string): void {
  if (recordedChecksum !== m.checksum) {
    throw new Error(`migration ${m.name} was changed after it was applied; add a new migration instead`);
  }
}

/** Applies PostgreSQL migrations into `schema`, each file in its own transaction, under an advisory lock. */
export async function migratePostgres(
  pool: pg.Pool,
  schema: string,
  dir = POSTGRES_DIR,
): Promise<MigrationReport> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  const report: MigrationReport = { applied: [], skipped: [] };
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('studystream-migrate-' || $1))`, [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET search_path TO ${schema}, public`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const recorded = new Map(rows.map((r) => [r.version, r.checksum]));
    for (const m of migrations) {
      const checksum = recorded.get(m.version);
      if (checksum !== undefined) {
        checkUnchanged(m, checksum);
        report.skipped.push(m.name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      report.applied.push(m.name);
    }
  } finally {
    await client
      .query(`SELECT pg_advisory_unlock(hashtext('studystream-migrate-' || $1))`, [schema])
      .catch(() => {});
    await client.query('RESET search_path').catch(() => {});
    client.release();
  }
  return report;
}

/**
 * Applies ClickHouse migrations into `database`. ClickHouse DDL is not transactional, so every statement must be
 * idempotent (IF NOT EXISTS) and a file is recorded only after all its statements succeeded.
 */
export async function migrateClickHouse(
  cfg: ClickHouseSettings & Partial<ClusterSettings>,
  database: string,
  dir = CLICKHOUSE_DIR,
): Promise<MigrationReport> {
  if (cfg.CLICKHOUSE_CLUSTER) return migrateClickHouseCluster(cfg as ClusterConfig, database, dir);
  const db = ident(database);
  const root = createClickHouse(cfg, 'default');
  try {
    await root.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}`.text });
  } finally {
    await root.close();
  }
  const client = createClickHouse(cfg, database);
  try {
    return await applyClickHouseMigrations(client, database, await readMigrations(dir));
  } finally {
    await client.close();
  }
}

async function applyClickHouseMigrations(
  client: ClickHouseClient,
  database: string,
  migrations: Migration[],
): Promise<MigrationReport> {
  const db = ident(database);
  const report: MigrationReport = { applied: [], skipped: [] };
  await client.command({
    query: sql`CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version String, name String, checksum String, applied_at DateTime DEFAULT now()
    ) ENGINE = ReplacingMergeTree ORDER BY version`.text,
  });
  const rows = await chQuery<{ version: string; checksum: string }>(
    client,
    sql`SELECT version, any(checksum) AS checksum FROM ${db}.schema_migrations GROUP BY version`.text,
  );
  const recorded = new Map(rows.map((r) => [r.version, r.checksum]));
  for (const m of migrations) {
    const checksum = recorded.get(m.version);
    if (checksum !== undefined) {
      checkUnchanged(m, checksum);
      report.skipped.push(m.name);
      continue;
    }
    for (const statement of splitStatements(m.sql)) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    });
    report.applied.push(m.name);
  }
  return report;
}

type ClusterSettings = Pick<SharedConfig, 'CLICKHOUSE_CLUSTER' | 'CLICKHOUSE_CLUSTER_NODES'>;
type ClusterConfig = ClickHouseSettings & ClusterSettings;

/** One client per node of the cluster profile, bound to `database`. */
function nodeClients(cfg: ClusterConfig, database: string): ClickHouseClient[] {
  if (cfg.CLICKHOUSE_CLUSTER_NODES.length === 0) {
    throw new Error('CLICKHOUSE_CLUSTER is set but CLICKHOUSE_CLUSTER_NODES lists no node');
  }
  return cfg.CLICKHOUSE_CLUSTER_NODES.map((url) =>
    createClickHouse({ ...cfg, CLICKHOUSE_URL: url }, database),
  );
}

/**
 * The nodes of the cluster profile bound to `database`: `all`, and `leaders`, the first node of each shard (by its
 * {shard} macro), where a statement on a replicated local table runs once per shard (replication carries it to
 * the shard's other replica). `close` closes every client.
 */
export type ClusterNodes = {
  all: ClickHouseClient[];
  leaders: ClickHouseClient[];
  close: () => Promise<void>;
};

export async function openClusterNodes(cfg: ClusterConfig, database: string): Promise<ClusterNodes> {
  const all = nodeClients(cfg, database);
  const close = async () => void (await Promise.all(all.map((c) => c.close())));
  try {
    const shards = await Promise.all(
      all.map(async (c) => {
        const [row] = await chQuery<{ shard: string }>(
          c,
          `SELECT substitution AS shard FROM system.macros WHERE macro = 'shard'`,
        );
        if (!row) throw new Error('a ClickHouse node of the cluster has no {shard} macro');
        return row.shard;
      }),
    );
    return { all, leaders: all.filter((_, i) => shards.indexOf(shards[i]!) === i), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** openClusterNodes on the cluster profile (CLICKHOUSE_CLUSTER set); null on a single server. */
export async function clusterNodesOf(
  cfg: ClickHouseSettings & Partial<ClusterSettings>,
  database: string,
): Promise<ClusterNodes | null> {
  return cfg.CLICKHOUSE_CLUSTER ? openClusterNodes(cfg as ClusterConfig, database) : null;
}

async function onEach<T>(
  clients: ClickHouseClient[],
  work: (c: ClickHouseClient) => Promise<T>,
): Promise<T[]> {
  try {
    return await Promise.all(clients.map(work));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/**
 * The cluster profile (CLICKHOUSE_CLUSTER): the same files, transformed by clusterMigrations (replicated local
 * tables + Distributed tables, services/shared/clickhouse-cluster.ts), applied node by node: `all` statements on
 * every node, `shard` statements on the first node of each shard ({shard} macro). Each node records the file in
 * its own schema_migrations once every statement succeeded everywhere; a file counts as applied when every node
 * recorded it.
 */
async function migrateClickHouseCluster(
  cfg: ClusterConfig,
  database: string,
  dir: string,
): Promise<MigrationReport> {
  const db = ident(database);
  await onEach(nodeClients(cfg, 'default'), (c) =>
    c.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}`.text }),
  );
  const nodes = await openClusterNodes(cfg, database);
  const { all: clients, leaders } = nodes;
  const report: MigrationReport = { applied: [], skipped: [] };
  try {
    const recorded = await Promise.all(
      clients.map(async (c) => {
        await c.command({
          query: sql`CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
            version String, name String, checksum String, applied_at DateTime DEFAULT now()
          ) ENGINE = ReplacingMergeTree ORDER BY version`.text,
        });
        const rows = await chQuery<{ version: string; checksum: string }>(
          c,
          sql`SELECT version, any(checksum) AS checksum FROM ${db}.schema_migrations GROUP BY version`.text,
        );
        return new Map(rows.map((r) => [r.version, r.checksum]));
      }),
    );
    const migrations = clusterMigrations(
      await readMigrations(dir),
      { database, cluster: cfg.CLICKHOUSE_CLUSTER },
      splitStatements,
    );
    for (const m of migrations) {
      if (recorded.every((r) => r.has(m.version))) {
        checkUnchanged(m, recorded[0]!.get(m.version)!);
        report.skipped.push(m.name);
        continue;
      }
      for (const statement of m.statements) {
        for (const c of statement.scope === 'all' ? clients : leaders) {
          if (statement.whenParts) {
            const [parts] = await chQuery<{ n: string }>(
              c,
              sql`SELECT count() AS n FROM system.parts WHERE active AND database = currentDatabase() AND table = ${statement.whenParts}`
                .text,
            );
            if (Number(parts?.n ?? 0) === 0) continue;
          }
          try {
            await c.command({ query: statement.sql });
          } catch (err) {
            throw new Error(`migration ${m.name} failed (cluster): ${(err as Error).message}`, {
              cause: err,
            });
          }
        }
      }
      for (const [i, c] of clients.entries()) {
        if (recorded[i]!.has(m.version)) continue;
        await c.insert({
          table: `${database}.schema_migrations`,
          values: [{ version: m.version, name: m.name, checksum: m.checksum }],
          format: 'JSONEachRow',
        });
      }
      report.applied.push(m.name);
    }
  } finally {
    await nodes.close();
  }
  return report;
}

/** Drops a ClickHouse database: on the one server, or on every node of the cluster profile. */
export async function dropClickHouseDatabase(
  cfg: ClickHouseSettings & Partial<ClusterSettings>,
  database: string,
): Promise<void> {
  const query = sql`DROP DATABASE IF EXISTS ${ident(database)}`.text;
  const clients = cfg.CLICKHOUSE_CLUSTER
    ? nodeClients(cfg as ClusterConfig, 'default')
    : [createClickHouse(cfg, 'default')];
  await onEach(clients, (c) => c.command({ query }));
}
