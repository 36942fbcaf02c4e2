/**
 * The cluster profile's ClickHouse schema is generated from clickhouse/*.sql (services/shared/clickhouse-cluster.ts):
 * checked here on the real migration files, so a new file that the transform cannot place fails in the default
 * suite (the cluster itself runs only in `npm run test:cluster`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  clusterMigrations,
  LOCAL_SUFFIX,
  renameTables,
  replicatedEngine,
  tableNames,
} from '../../../services/shared/clickhouse-cluster.ts';
import { CLICKHOUSE_DIR, readMigrations, splitStatements } from '../../../services/shared/migrations.ts';

const opts = { database: 'studystream', cluster: 'studystream' };
const files = await readMigrations(CLICKHOUSE_DIR);
const cluster = clusterMigrations(files, opts, splitStatements);
const all = cluster.flatMap((m) => m.statements.map((s) => ({ ...s, file: m.name })));
const tables = tableNames(files, splitStatements);

describe('cluster transform of clickhouse/*.sql', () => {
  it('keeps one transformed migration per file, with the same version and checksum', () => {
    expect(cluster.map((m) => [m.version, m.checksum])).toEqual(files.map((m) => [m.version, m.checksum]));
    expect(tables).toContain('study_events');
    expect(tables).toContain('daily_user_sums');
  });

  it('creates every table as a replicated local table with its own ZooKeeper path, plus a Distributed table', () => {
    const creates = all.filter((s) => /^\s*CREATE TABLE (IF NOT EXISTS )?\w+_local\b/i.test(s.sql));
    expect(creates.length).toBeGreaterThan(10);
    const paths = new Set<string>();
    for (const c of creates) {
      expect(c.scope).toBe('all');
      const m =
        /ENGINE = Replicated\w*MergeTree\('(\/clickhouse\/tables\/\{shard\}\/studystream\/[\w-]+)', '\{replica\}'/.exec(
          c.sql,
        );
      expect(m, c.sql.slice(0, 200)).not.toBeNull();
      expect(paths.has(m![1]!), m![1]).toBe(false);
      paths.add(m![1]!);
    }
    const raw = all.find((s) =>
      /^CREATE TABLE study_events AS study_events_local ENGINE = Distributed/.test(s.sql),
    );
    expect(raw?.sql).toBe(
      'CREATE TABLE study_events AS study_events_local ENGINE = Distributed(studystream, studystream, study_events_local, cityHash64(user_id))',
    );
    // A rollup without user_id (per topic) is written only by its shard's views: rand() for direct inserts.
    expect(all.some((s) => /daily_topic_stats_local, rand\(\)\)$/.test(s.sql))).toBe(true);
  });

  it('attaches every materialized view to local tables: it reads its shard and writes its shard', () => {
    const views = all.filter((s) => /^\s*CREATE MATERIALIZED VIEW/i.test(s.sql));
    expect(views.length).toBeGreaterThan(10);
    for (const v of views) {
      const to = /\bTO\s+(\w+)/i.exec(v.sql)![1]!;
      const from = /\bFROM\s+(\w+)/i.exec(v.sql)![1]!;
      expect(to.endsWith(LOCAL_SUFFIX), v.sql.slice(0, 120)).toBe(true);
      expect(from.endsWith(LOCAL_SUFFIX), v.sql.slice(0, 120)).toBe(true);
    }
  });

  it('runs data statements once per shard, DDL on every node', () => {
    for (const s of all) {
      if (/^\s*(INSERT|OPTIMIZE|ALTER)\b/i.test(s.sql)) expect(s.scope, s.sql.slice(0, 80)).toBe('shard');
      if (/^\s*(CREATE|DROP|RENAME)\b/i.test(s.sql)) expect(s.scope, s.sql.slice(0, 80)).toBe('all');
    }
    const optimize = all.filter((s) => /^\s*OPTIMIZE/i.test(s.sql));
    expect(optimize.length).toBeGreaterThan(0);
    for (const o of optimize) expect(o.whenParts).toMatch(/_local$/);
    // After an ALTER of a replicated table: wait for the other replica, then rebuild the Distributed table.
    const i = all.findIndex((s) => /^ALTER TABLE study_events_local ADD COLUMN time_zone/.test(s.sql));
    expect(all[i + 1]?.sql).toBe('SYSTEM SYNC REPLICA study_events_local');
    expect(all[i + 3]?.sql).toMatch(/^CREATE TABLE study_events AS study_events_local ENGINE = Distributed/);
  });
});

describe('cluster transform helpers', () => {
  const names = new Set(['t', 'rollup']);
  it('renames table identifiers only: not strings, comments, qualified names or function calls', () => {
    expect(renameTables(`INSERT INTO t SELECT 't', x.t, rollup(1) FROM rollup -- t`, names)).toBe(
      `INSERT INTO t_local SELECT 't', x.t, rollup(1) FROM rollup_local -- t`,
    );
    expect(renameTables('CREATE TABLE t(a UInt8) ENGINE = MergeTree ORDER BY a', names)).toBe(
      'CREATE TABLE t_local(a UInt8) ENGINE = MergeTree ORDER BY a',
    );
  });

  it('turns each MergeTree engine into its replicated form, keeping its arguments', () => {
    const path = '/p';
    expect(replicatedEngine('ENGINE = ReplacingMergeTree\nORDER BY a', path)).toBe(
      "ENGINE = ReplicatedReplacingMergeTree('/p', '{replica}')\nORDER BY a",
    );
    expect(replicatedEngine('ENGINE = SummingMergeTree((a, b)) ORDER BY a', path)).toBe(
      "ENGINE = ReplicatedSummingMergeTree('/p', '{replica}', (a, b)) ORDER BY a",
    );
    expect(replicatedEngine('ENGINE = MergeTree() ORDER BY a', path)).toBe(
      "ENGINE = ReplicatedMergeTree('/p', '{replica}') ORDER BY a",
    );
  });

  it('refuses a table it cannot replicate', () => {
    const m = {
      version: '999',
      name: '999_x.sql',
      checksum: 'c',
      sql: 'CREATE TABLE x (a UInt8) ENGINE = Memory;',
    };
    expect(() => clusterMigrations([m], opts, splitStatements)).toThrow(/no MergeTree-family engine/);
  });
});

describe('stack.sh --profile cluster', () => {
  it('writes the configuration of the cluster profile without starting anything', () => {
    const dir = mkdtempSync(`${tmpdir()}/cluster-env-`);
    try {
      const r = spawnSync('bash', ['deploy/stack.sh', 'env', '--profile', 'cluster'], {
        env: { ...process.env, CLUSTER_DIR: dir },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const env = Object.fromEntries(
        r.stdout
          .split('\n')
          .filter((l) => /^[A-Z_]+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(env.KAFKA_BROKERS!.split(',')).toHaveLength(3);
      expect(env.KAFKA_REPLICATION_FACTOR).toBe('3');
      expect(env.CLICKHOUSE_CLUSTER_NODES!.split(',')).toHaveLength(4);
      expect(env.PG_READ_URL).not.toBe(env.DATABASE_URL);
      // clickhouse-client's native port (bench sink's ceiling) is ch1's, not the default stack's 9000.
      expect(env.CLICKHOUSE_TCP_PORT).toBe('19000');
      // No port of the default stack.
      for (const port of ['5432', '6379', '8123', '9000', '9092', '8081']) {
        expect(r.stdout).not.toMatch(new RegExp(`:${port}\\b`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown profile', () => {
    const r = spawnSync('bash', ['deploy/stack.sh', 'status', '--profile', 'bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown profile bogus/);
  });
});
