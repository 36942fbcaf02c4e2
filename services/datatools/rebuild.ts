/**
 * `studystream rebuild`: recompute a derived store from the beginning of the topics into shadow tables, verify
 * them against the live tables, then switch atomically. The old data is kept until dropped on confirmation.
 *
 * mastery (PostgreSQL)
 *  1. Shadow schema `rebuild_<ts>` migrated by the same runner; topics copied from the live schema; the shadow
 *     tables' foreign keys re-pointed to the live `topics`, so the tables can later move without dangling refs.
 *  2. Build (mastery-bulk.ts): the processor's own steps drain the topics from offset 0 to the high watermarks at
 *     start (group `rebuild-mastery-<ts>`) with the state in memory, written to the shadow once (rows, roll-ups by
 *     the processor's rollUp, history, late events, event_id claims, positions). Then the regular processor over
 *     the shadow (own positions and claims) catches up to the live positions.
 *  3. Verify: per table, row count and the sum of md5 hashes of canonical rows (every column except updated_at,
 *     and processor_state, the processor's internal buffers) — shadow vs live.
 *  4. Switch, in ONE transaction: lock the live group's consumer_positions rows (this pauses the live processor's
 *     next batch, which locks them first), re-check the shadow reached the live positions (else catch up again),
 *     replace the live group's processed_events (by differences), late_events (processor mastery) and positions
 *     with the shadow's (old copies saved in schema `rebuild_old_<ts>`), and last move the live
 *     topic_mastery/topic_mastery_history into the old schema and the shadow ones into the live schema (ALTER
 *     TABLE ... SET SCHEMA: metadata only). The API reads by unqualified name through its search_path, so it keeps
 *     serving: its reads wait only for the few milliseconds the catalog locks are held, then see the new tables.
 *
 * clickhouse
 *  1. New database `<db>_rebuild_<ts>` migrated by the same runner (raw tables, rollups, materialized views).
 *  2. The live sink's own definition runs into it (group `rebuild-clickhouse-<ts>`) from offset 0 to the high
 *     watermarks at start.
 *  3. Verify: per raw table count(), uniqExact(event_id) and sum(cityHash64(event_id, user_id, occurred_at, ms)).
 *  4. Switch: the shadow's materialized views are dropped; one RENAME TABLE statement moves every live data table
 *     (raw and rollup targets) into `<db>_old_<ts>` and the shadow ones into the live database. The live
 *     materialized views stay: 18.16 binds them to their source and target tables by name, so they now feed
 *     the new tables. Then a catch-up writes what the live sink stored in the old tables after the rebuild's end
 *     (once the live sink committed past the rename, so the two never write the same records concurrently).
 *     On the cluster profile (CLICKHOUSE_CLUSTER) steps 1-3 run through the Distributed tables unchanged, and the
 *     switch runs on every node over its replicated `<name>_local` tables only: the live Distributed tables name
 *     `<live db>.<name>_local`, so they read and write the rebuilt tables once their node renamed them (the nodes
 *     switch one after the other, in milliseconds); the shadow's and old databases are created and dropped on
 *     every node.
 *
 * sessions: see rebuildSessions.
 */
import { subjectKeysFor } from '../shared/subjects.ts';
import { chQuery, createClickHouse } from '../shared/clickhouse.ts';
import type { SharedConfig } from '../shared/config.ts';
import {
  clusterNodesOf,
  dropClickHouseDatabase,
  migrateClickHouse,
  migratePostgres,
} from '../shared/migrations.ts';
import { createPgPool, type Pool } from '../shared/postgres.ts';
import { ident, sql } from '../shared/sql.ts';
import { EventCodec } from '../shared/codec.ts';
import { topicNames } from '../shared/kafka.ts';
import { createRegistry } from '../shared/registry.ts';
import { RAW_TABLES } from '../stream/index.ts';
import { masteryEnv } from '../stream/index.ts';
import { TopicTree } from '../stream/index.ts';
import { loadItemCalibration } from '../stream/index.ts';
import { MasteryBulkBuild } from '../stream/index.ts';
import { SessionsBulkBuild } from '../stream/index.ts';
import { sessionsEnv } from '../stream/index.ts';
import { sessionOptions } from '../stream/index.ts';
import { liveKeys } from '../stream/index.ts';
import type { ProcessorDefinition } from '../stream/index.ts';
import { streamEnv } from '../stream/index.ts';
import {
  rangeKey,
  runBounded,
  seedKafkaGroup,
  type BoundedProgress,
  type BoundedResult,
  type TopicPartitionRange,
} from './bounded.ts';
import type { ToolContext } from './context.ts';
import { kafkaPositions } from './offsets.ts';
import {
  clampToLive,
  computeRanges,
  livePositions,
  masteryDefinition,
  processorTopics,
  seedPostgresPositions,
  sinkDefinition,
  timestampTag,
} from './replay.ts';

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
function emptyReport(store: RebuildReport['store'], shadow: string): RebuildReport {
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

const MASTERY_TABLES = [
  'topic_mastery',
  'topic_mastery_history',
  'student_study_days',
  'student_materials',
] as const;
const EXCLUDED_COLUMNS = new Set(['updated_at', 'processor_state', 'recorded_at']);
const PG_IDENT = /^[a-z_][a-z0-9_]*$/;

function pgIdent(name: string): string {
  if (!PG_IDENT.test(name)) throw new Error(`invalid identifier ${name}`);
  return name;
}

/** Count and order-independent checksum of a table's canonical rows (see the module comment). */
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

async function positionsOf(pool: Pool, schema: string, group: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
    `SELECT topic, partition, next_offset FROM ${pgIdent(schema)}.consumer_positions WHERE consumer_group = $1`,
    [group],
  );
  return new Map(rows.map((r) => [rangeKey(r.topic, r.partition), Number(r.next_offset)]));
}

/** Ranges from the shadow's positions up to the live ones where the live processor is ahead. */
function catchUpRanges(shadow: Map<string, number>, live: Map<string, number>): TopicPartitionRange[] {
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

async function repointForeignKeys(pool: Pool, shadow: string, live: string): Promise<void> {
  const { rows } = await pool.query<{ table: string; name: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
     FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
     WHERE c.contype = 'f' AND n.nspname = $1 AND r.relname = ANY($2::text[])`,
    [shadow, [...MASTERY_TABLES]],
  );
  for (const fk of rows) {
    const m = /^FOREIGN KEY \((\w+)\) REFERENCES (?:\w+\.)?(\w+)\((\w+)\)$/.exec(fk.def);
    if (!m) throw new Error(`unexpected foreign key on ${fk.table}: ${fk.def}`);
    await pool.query(
      `ALTER TABLE ${pgIdent(shadow)}.${pgIdent(fk.table.split('.').pop()!)} DROP CONSTRAINT ${pgIdent(fk.name)},
       ADD CONSTRAINT ${pgIdent(fk.name)} FOREIGN KEY (${m[1]}) REFERENCES ${pgIdent(live)}.${m[2]}(${m[3]})`,
    );
  }
}

export async function rebuildMastery(ctx: ToolContext, opts: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const tag = timestampTag();
  const live = ctx.cfg.PG_SCHEMA;
  const shadow = `rebuild_${tag}`;
  const old = `rebuild_old_${tag}`;
  const liveGroup = ctx.groups.mastery;
  const group = `${ctx.cfg.KAFKA_TOPIC_PREFIX}rebuild-mastery-${tag}`;
  const livePool = ctx.pool();
  const shadowPool = createPgPool({ ...ctx.cfg, PG_SCHEMA: shadow });
  const report = emptyReport('mastery', shadow);
  let keepShadow = opts.keepShadow ?? false;
  try {
    await migratePostgres(shadowPool, shadow);
    await shadowPool.query(`INSERT INTO ${shadow}.topics SELECT * FROM ${pgIdent(live)}.topics`);
    // The question-bank calibration is an input of the rebuild, not its output: the new tables keep it.
    await shadowPool.query(
      `INSERT INTO ${shadow}.item_calibration SELECT * FROM ${pgIdent(live)}.item_calibration`,
    );
    await repointForeignKeys(shadowPool, shadow, live);
    const ranges = await computeRanges(
      ctx.admin,
      processorTopics(ctx.cfg, 'mastery'),
      { kind: 'earliest' },
      { kind: 'latest' },
    );
    await seedPostgresPositions(shadowPool, group, ranges);
    // Build: drain into memory, write once (mastery-bulk.ts); catch-up: the regular processor over the shadow.
    const t = topicNames(ctx.cfg);
    const bulk = new MasteryBulkBuild({
      codec: new EventCodec(createRegistry(ctx.cfg), ctx.cfg, subjectKeysFor(ctx.cfg)),
      tree: await TopicTree.load(shadowPool),
      config: masteryEnv.load(ctx.env),
      topics: { attempts: t['question-attempts'], materials: t['material-interactions'] },
      groupId: group,
      items: await loadItemCalibration(shadowPool),
    });
    const drained = await drain(ctx, opts, {
      def: bulk.definition(),
      group: group,
      ranges: ranges,
      phase: 'build',
    });
    const writeStarted = performance.now();
    const writes = await bulk.write(shadowPool);
    const writeMs = performance.now() - writeStarted;
    report.events += drained.inRange;
    report.buildMs += drained.ms + writeMs;
    report.stages = {
      drain: Math.round(drained.ms),
      apply: Math.round(bulk.applyMs),
      write: Math.round(writeMs),
      ...Object.fromEntries(Object.entries(writes).map(([k, v]) => [`write.${k}`, v])),
    };
    const def = await masteryDefinition(ctx.cfg, ctx.env, shadowPool, group, group, ctx.log);
    const run = async (phase: string, r: TopicPartitionRange[]) => {
      const res = await drain(ctx, opts, { def, group: group, ranges: r, phase });
      report.events += res.inRange;
      report.buildMs += res.ms;
    };
    for (let round = 0; round < 5; round++) {
      const more = catchUpRanges(
        await positionsOf(shadowPool, shadow, group),
        await positionsOf(livePool, live, liveGroup),
      );
      if (more.length === 0) break;
      await run('catch-up', more);
    }
    for (const table of MASTERY_TABLES)
      report.checks.push({
        table,
        live: await pgChecksum(livePool, live, table),
        shadow: await pgChecksum(livePool, shadow, table),
      });
    report.matches = allMatch(report.checks);
    if (opts.verifyOnly) return report;
    if (!report.matches && !opts.acceptDifferences) {
      keepShadow = true;
      throw differs(report, `schema ${shadow}`);
    }
    for (let attempt = 0; ; attempt++) {
      const switched = await trySwitchMastery(livePool, { live, shadow, old, liveGroup, group });
      if (switched) break;
      if (attempt >= 5)
        throw new Error('the live mastery processor kept moving ahead of the shadow; try again');
      const more = catchUpRanges(
        await positionsOf(shadowPool, shadow, group),
        await positionsOf(livePool, live, liveGroup),
      );
      await run('catch-up', more);
    }
    await switchedPg(livePool, report, old, opts.confirmDropOld);
    return report;
  } finally {
    await endPg(ctx, { report, started, group, shadowPool, livePool, keepShadow });
  }
}

const allMatch = (checks: TableCheck[]) =>
  checks.every((c) => c.live.rows === c.shadow.rows && c.live.hash === c.shadow.hash);

function differs(report: RebuildReport, kept: string): Error {
  const counts = report.checks.map((c) => `${c.table}: ${c.live.rows} vs ${c.shadow.rows} rows`).join('; ');
  return new Error(
    `shadow differs from live (${counts}); kept ${kept} for inspection; re-run with --accept-differences to switch anyway`,
  );
}

/** Runs a definition over ranges under the rebuild's group (Kafka offsets seeded to the range starts). */
async function drain<T>(
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
async function switchedPg(pool: Pool, report: RebuildReport, old: string, confirmDropOld: boolean) {
  report.switched = true;
  report.old = old;
  if (confirmDropOld) {
    await pool.query(`DROP SCHEMA ${pgIdent(old)} CASCADE`);
    report.droppedOld = true;
  }
}

/** The end of a PostgreSQL rebuild, whatever happened: the run's group deleted, the shadow dropped unless kept. */
async function endPg(
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

async function trySwitchMastery(
  pool: Pool,
  n: { live: string; shadow: string; old: string; liveGroup: string; group: string },
): Promise<boolean> {
  const { live, shadow, old } = n;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '30s'`);
    const { rows: livePos } = await client.query<{ topic: string; partition: number; next_offset: number }>(
      `SELECT topic, partition, next_offset FROM ${live}.consumer_positions WHERE consumer_group = $1 FOR UPDATE`,
      [n.liveGroup],
    );
    const shadowPos = new Map(
      (
        await client.query<{ topic: string; partition: number; next_offset: number }>(
          `SELECT topic, partition, next_offset FROM ${shadow}.consumer_positions WHERE consumer_group = $1`,
          [n.group],
        )
      ).rows.map((r) => [rangeKey(r.topic, r.partition), Number(r.next_offset)]),
    );
    if (livePos.some((p) => Number(p.next_offset) > (shadowPos.get(rangeKey(p.topic, p.partition)) ?? 0))) {
      await client.query('ROLLBACK');
      return false;
    }
    await client.query(`CREATE SCHEMA ${old}`);
    const liveGroup = `'${n.liveGroup.replace(/'/g, "''")}'`;
    // The live group's claims become the shadow's: old copy kept, then only the differences applied (the sets
    // are equal when the logic did not change, so this is two anti-joins, not millions of index updates).
    await client.query(
      `CREATE TABLE ${old}.processed_events AS SELECT * FROM ${live}.processed_events WHERE consumer_group = ${liveGroup}`,
    );
    await client.query(
      `DELETE FROM ${live}.processed_events l WHERE l.consumer_group = $1 AND NOT EXISTS (
         SELECT 1 FROM ${shadow}.processed_events s WHERE s.consumer_group = $2 AND s.event_id = l.event_id)`,
      [n.liveGroup, n.group],
    );
    await client.query(
      `INSERT INTO ${live}.processed_events (consumer_group, event_id, occurred_at)
       SELECT $1, s.event_id, s.occurred_at FROM ${shadow}.processed_events s WHERE s.consumer_group = $2
         AND NOT EXISTS (SELECT 1 FROM ${live}.processed_events l WHERE l.consumer_group = $1 AND l.event_id = s.event_id)`,
      [n.liveGroup, n.group],
    );
    await client.query(
      `CREATE TABLE ${old}.late_events AS SELECT * FROM ${live}.late_events WHERE processor = 'mastery'`,
    );
    await client.query(`DELETE FROM ${live}.late_events WHERE processor = 'mastery'`);
    await client.query(
      `INSERT INTO ${live}.late_events SELECT * FROM ${shadow}.late_events WHERE processor = 'mastery'`,
    );
    await client.query(
      `CREATE TABLE ${old}.consumer_positions AS SELECT * FROM ${live}.consumer_positions WHERE consumer_group = ${liveGroup}`,
    );
    await client.query(
      `INSERT INTO ${live}.consumer_positions (consumer_group, topic, partition, next_offset, watermark_ms)
       SELECT $1, topic, partition, next_offset, watermark_ms FROM ${shadow}.consumer_positions WHERE consumer_group = $2
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,
         watermark_ms = EXCLUDED.watermark_ms, updated_at = now()`,
      [n.liveGroup, n.group],
    );
    // Last: the catalog moves take ACCESS EXCLUSIVE locks held until COMMIT, so the API's reads wait only for
    // these few statements, not for the claims above.
    for (const t of MASTERY_TABLES) await client.query(`ALTER TABLE ${live}.${t} SET SCHEMA ${old}`);
    for (const t of MASTERY_TABLES) await client.query(`ALTER TABLE ${shadow}.${t} SET SCHEMA ${live}`);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

// ---------- ClickHouse ----------

async function chChecksum(
  cfg: SharedConfig,
  database: string,
  table: string,
): Promise<{ rows: number; hash: string }> {
  const ch = createClickHouse(cfg, database);
  try {
    const [r] = await chQuery<{ n: string; e: string; h: string }>(
      ch,
      sql`SELECT count() AS n, uniqExact(event_id) AS e,
            sum(cityHash64(toString(event_id), user_id, toUInt32(occurred_at), occurred_ms)) AS h
          FROM ${ident(database)}.${ident(table)}`.text,
    );
    return { rows: Number(r?.n ?? 0), hash: `${r?.e ?? 0}/${r?.h ?? 0}` };
  } finally {
    await ch.close();
  }
}

/**
 * The statements that switch a rebuilt ClickHouse database in: the shadow's tables take the live names, the live
 * ones move to `old`, in one RENAME. The shadow's materialized views are dropped first (they fed the rebuild).
 * The live views are bound differently by the two engines we support:
 *  - Ordinary databases (ClickHouse 18.16) bind a view's source and `TO` target by name: the live views stay and
 *    feed the tables that carry the live names after the rename.
 *  - Atomic databases (the default of current releases) bind the `TO` target by table UUID (the source by name):
 *    after the rename a live view would keep writing into the old tables, and the live rollups would never count
 *    another event. There each live view is created again after the rename (from the shadow's definition, with
 *    the live names), which binds it to the rebuilt tables. Events the live sink inserts in the milliseconds
 *    between the rename and a view's re-creation are stored but miss that view's rollup: on current ClickHouse,
 *    stop the clickhouse-sink for the switch (README, Data tools).
 * Found by the current-ClickHouse replay (test/current-clickhouse); test/current-clickhouse/rebuild-switch.test.ts
 * runs both plans on chDB, test/integration/datatools/replay-rebuild.test.ts the 18.16 one on the stack.
 */
export function switchPlan(
  live: string,
  shadow: string,
  old: string,
  shadowTables: ReadonlyArray<{ name: string; engine: string; ddl: string }>,
  liveDatabaseEngine: string,
): string[] {
  const views = shadowTables.filter((t) => t.engine === 'MaterializedView');
  const moved = shadowTables
    .filter((t) => t.name !== 'schema_migrations' && t.engine !== 'MaterializedView')
    .map((t) => t.name);
  const pairs = moved.flatMap((t) => [
    `${ident(live).text}.${ident(t).text} TO ${ident(old).text}.${ident(t).text}`,
    `${ident(shadow).text}.${ident(t).text} TO ${ident(live).text}.${ident(t).text}`,
  ]);
  const recreate =
    liveDatabaseEngine === 'Atomic'
      ? views.flatMap((v) => [
          sql`DROP TABLE IF EXISTS ${ident(live)}.${ident(v.name)}`.text,
          v.ddl.split(`${ident(shadow).text}.`).join(`${ident(live).text}.`),
        ])
      : [];
  return [
    ...views.map((v) => sql`DROP TABLE ${ident(shadow)}.${ident(v.name)}`.text),
    `RENAME TABLE ${pairs.join(', ')}`,
    ...recreate,
  ];
}

export async function rebuildClickHouse(ctx: ToolContext, opts: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const tag = timestampTag();
  const live = ctx.cfg.CLICKHOUSE_DATABASE;
  const shadow = `${live}_rebuild_${tag}`;
  const old = `${live}_old_${tag}`;
  const group = `${ctx.cfg.KAFKA_TOPIC_PREFIX}rebuild-clickhouse-${tag}`;
  const root = createClickHouse(ctx.cfg, 'default');
  const cluster = await clusterNodesOf(ctx.cfg, 'default');
  const report = emptyReport('clickhouse', shadow);
  let keepShadow = opts.keepShadow ?? false;
  const run = async (phase: string, database: string, g: string, ranges: TopicPartitionRange[]) => {
    const { def, close } = sinkDefinition(ctx.cfg, ctx.env, g, database);
    try {
      const res = await drain(ctx, opts, { def, group: g, ranges, phase });
      report.events += res.inRange;
      report.buildMs += res.ms;
      report.stages.drain = (report.stages.drain ?? 0) + Math.round(res.ms);
      if (phase === 'build' && res.firstFlushMs !== null)
        report.stages.firstFlush = Math.round(res.firstFlushMs);
    } finally {
      await close();
      await ctx.admin.deleteGroups([g]).catch(() => undefined);
    }
  };
  try {
    await migrateClickHouse(ctx.cfg, shadow);
    const topics = processorTopics(ctx.cfg, 'clickhouse-sink');
    const ranges = await computeRanges(ctx.admin, topics, { kind: 'earliest' }, { kind: 'latest' });
    await run('build', shadow, group, ranges);
    for (const table of RAW_TABLES)
      report.checks.push({
        table,
        live: await chChecksum(ctx.cfg, live, table),
        shadow: await chChecksum(ctx.cfg, shadow, table),
      });
    report.matches = allMatch(report.checks);
    if (opts.verifyOnly) return report;
    if (!report.matches && !opts.acceptDifferences) {
      keepShadow = true;
      throw differs(report, `database ${shadow}`);
    }
    const marks = await computeRanges(ctx.admin, topics, { kind: 'latest' }, { kind: 'latest' });
    // Every node of the cluster (its local tables; the Distributed ones stay), or the one server.
    for (const node of cluster ? cluster.all : [root]) {
      const tables = await chQuery<{ name: string; engine: string; ddl: string }>(
        node,
        sql`SELECT name, engine, create_table_query AS ddl FROM system.tables WHERE database = ${shadow}
            ORDER BY name`.text,
      );
      const [db] = await chQuery<{ engine: string }>(
        node,
        sql`SELECT engine FROM system.databases WHERE name = ${live}`.text,
      );
      await node.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${ident(old)}`.text });
      const local = cluster ? tables.filter((t) => t.engine !== 'Distributed') : tables;
      for (const statement of switchPlan(live, shadow, old, local, db?.engine ?? 'Ordinary'))
        await node.command({ query: statement });
    }
    report.switched = true;
    report.old = old;
    // Catch-up: what the live sink wrote into the old tables between the rebuild's end and the rename.
    const { groups } = await ctx.admin.describeGroups([ctx.groups.sink]);
    if ((groups[0]?.members.length ?? 0) > 0) {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const committed = new Map(
          (await kafkaPositions(ctx.admin, ctx.groups.sink, topics)).map((p) => [
            rangeKey(p.topic, p.partition),
            p.offset ?? 0,
          ]),
        );
        if (marks.every((m) => (committed.get(rangeKey(m.topic, m.partition)) ?? 0) >= m.from)) break;
        if (Date.now() > deadline)
          throw new Error(
            'switched, but the live sink did not commit past the switch within 5 min; run replay --processor clickhouse-sink',
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const catchUp = ranges
      .map((r) => ({
        ...r,
        from: r.to,
        to: marks.find((m) => m.topic === r.topic && m.partition === r.partition)?.from ?? r.to,
      }))
      .filter((r) => r.to > r.from);
    if (catchUp.length > 0) await run('catch-up', live, `${group}-catchup`, catchUp);
    if (opts.confirmDropOld) {
      await dropClickHouseDatabase(ctx.cfg, old);
      report.droppedOld = true;
    }
    return report;
  } finally {
    report.ms = performance.now() - started;
    await ctx.admin.deleteGroups([group]).catch(() => undefined);
    if (!keepShadow) await dropClickHouseDatabase(ctx.cfg, shadow).catch(() => undefined);
    await root.close();
    await cluster?.close();
  }
}

// ---------- sessions ----------

const SESSION_CHECKS = [
  { table: 'study_sessions', where: 'TRUE' },
  { table: 'late_events', where: `processor = 'sessions'` },
] as const;

async function sessionChecks(pool: Pool, live: string, shadow: string): Promise<TableCheck[]> {
  const out: TableCheck[] = [];
  for (const c of SESSION_CHECKS)
    out.push({
      table: c.table === 'late_events' ? 'late_events (sessions)' : c.table,
      live: await pgChecksum(pool, live, c.table, c.where),
      shadow: await pgChecksum(pool, shadow, c.table, c.where),
    });
  return out;
}

const sameChecks = (a: TableCheck[], b: TableCheck[]) =>
  a.length === b.length &&
  a.every((c, i) => c.live.rows === b[i]?.live.rows && c.live.hash === b[i]?.live.hash);

/**
 * sessions (PostgreSQL study_sessions and the sessions' late_events)
 *  1. Shadow schema `rebuild_<ts>` migrated by the same runner.
 *  2. The sessions processor's pure steps over the topics from offset 0 up to the live processor's positions (Redis
 *     `sessions:pos`), state in memory (sessions-bulk.ts); every built session that is not live in the live
 *     processor's Redis written to the shadow (re-evaluated at every flush: the live processor closes sessions
 *     without moving its positions when their time comes).
 *     Catch-up rounds follow the live positions while they move.
 *  3. Verify over the same range: the live positions are read before and after the checksums of live and shadow;
 *     the comparison counts only when both equal the rebuild's positions (else catch up and compare again).
 *  4. Switch, in ONE transaction: lock the live study_sessions against writes (reads go on), re-check that the live
 *     positions did not move and the live checksums are those verified (a live batch that wrote its rows but has
 *     not committed its Redis positions yet shows there; then catch up and retry), keep the live late_events rows
 *     of the sessions processor in `rebuild_old_<ts>`, replace them with the shadow's, and move the live
 *     study_sessions to `rebuild_old_<ts>` and the shadow's in (catalog only). The live processor's blocked upsert
 *     then goes to the new table (PostgreSQL re-resolves a name that changed while it waited for the lock). The
 *     live sessions still open in Redis are unchanged: equal to the rebuild's when the shadow matched.
 */
export async function rebuildSessions(ctx: ToolContext, opts: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const tag = timestampTag();
  const live = ctx.cfg.PG_SCHEMA;
  const shadow = `rebuild_${tag}`;
  const old = `rebuild_old_${tag}`;
  const group = `${ctx.cfg.KAFKA_TOPIC_PREFIX}rebuild-sessions-${tag}`;
  const livePool = ctx.pool();
  const shadowPool = createPgPool({ ...ctx.cfg, PG_SCHEMA: shadow });
  const report = emptyReport('sessions', shadow);
  const topics = processorTopics(ctx.cfg, 'sessions');
  const bulk = new SessionsBulkBuild({
    codec: new EventCodec(createRegistry(ctx.cfg), ctx.cfg, subjectKeysFor(ctx.cfg)),
    options: sessionOptions(sessionsEnv.load(ctx.env)),
    topics,
    groupId: group,
  });
  let keepShadow = opts.keepShadow ?? false;
  const livePos = () => livePositions(ctx, 'sessions');
  const liveKeysNow = async () =>
    liveKeys(await ctx.redis(), [
      ...new Set([...(await livePos()).keys()].map((k) => Number(k.split('|')[1]))),
    ]);
  const run = async (phase: string, ranges: TopicPartitionRange[]) => {
    if (ranges.length === 0) return;
    const res = await drain(ctx, opts, {
      def: bulk.definition(),
      group: group,
      ranges: ranges,
      phase: phase,
    });
    const t = performance.now();
    await bulk.flush(shadowPool, await liveKeysNow());
    report.events += res.inRange;
    report.buildMs += res.ms + (performance.now() - t);
    report.stages.drain = (report.stages.drain ?? 0) + Math.round(res.ms);
    report.stages.write = (report.stages.write ?? 0) + Math.round(performance.now() - t);
    report.stages.apply = Math.round(bulk.applyMs);
  };
  /** Ranges from what the rebuild reached up to the live positions; true when there was nothing to do. */
  const catchUp = async (): Promise<boolean> => {
    const more = catchUpRanges(bulk.reached(), await livePos());
    await run('catch-up', more);
    return more.length === 0;
  };
  try {
    await migratePostgres(shadowPool, shadow);
    const all = await computeRanges(ctx.admin, topics, { kind: 'earliest' }, { kind: 'latest' });
    const { ranges } = clampToLive(all, await livePos());
    await run('build', ranges);
    // Verify over the same range: live positions unchanged across the checksums and equal to the rebuild's.
    let verified: TableCheck[] | undefined;
    for (let round = 0; round < 10 && !verified; round++) {
      if (!(await catchUp())) continue;
      await bulk.flush(shadowPool, await liveKeysNow());
      const before = await livePos();
      const checks = await sessionChecks(livePool, live, shadow);
      const after = await livePos();
      if (catchUpRanges(bulk.reached(), before).length === 0 && samePositions(before, after))
        verified = checks;
    }
    if (!verified) throw new Error('the live sessions processor kept moving; try again');
    report.checks = verified;
    report.matches = allMatch(verified);
    if (opts.verifyOnly) return report;
    if (!report.matches && !opts.acceptDifferences) {
      keepShadow = true;
      throw differs(report, `schema ${shadow}`);
    }
    for (let attempt = 0; ; attempt++) {
      const expected = bulk.reached();
      const client = await livePool.connect();
      let switched = false;
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = '30s'`);
        await client.query(`LOCK TABLE ${pgIdent(live)}.study_sessions IN EXCLUSIVE MODE`);
        const now = await livePos();
        const liveNow = await sessionChecks(livePool, live, shadow);
        if (catchUpRanges(expected, now).length === 0 && sameChecks(liveNow, verified)) {
          await client.query(`CREATE SCHEMA ${pgIdent(old)}`);
          await client.query(
            `CREATE TABLE ${old}.late_events AS SELECT * FROM ${live}.late_events WHERE processor = 'sessions'`,
          );
          await client.query(`DELETE FROM ${live}.late_events WHERE processor = 'sessions'`);
          await client.query(
            `INSERT INTO ${live}.late_events SELECT * FROM ${shadow}.late_events WHERE processor = 'sessions'`,
          );
          await client.query(`ALTER TABLE ${live}.study_sessions SET SCHEMA ${old}`);
          await client.query(`ALTER TABLE ${shadow}.study_sessions SET SCHEMA ${live}`);
          await client.query('COMMIT');
          switched = true;
        } else await client.query('ROLLBACK');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      if (switched) break;
      if (attempt >= 5)
        throw new Error('the live sessions processor kept moving ahead of the shadow; try again');
      await catchUp();
      await bulk.flush(shadowPool, await liveKeysNow());
      const checks = await sessionChecks(livePool, live, shadow);
      if (!opts.acceptDifferences && !allMatch(checks)) continue;
      verified = checks;
    }
    await switchedPg(livePool, report, old, opts.confirmDropOld);
    return report;
  } finally {
    await endPg(ctx, { report, started, group, shadowPool, livePool, keepShadow });
  }
}

function samePositions(a: Map<string, number>, b: Map<string, number>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
