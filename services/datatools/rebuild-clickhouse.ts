/**
 * `rebuild --store clickhouse` (the raw tables and their rollups).
 *
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
 */
import { chQuery, createClickHouse } from '../shared/clickhouse.ts';
import type { SharedConfig } from '../shared/config.ts';
import { clusterNodesOf, dropClickHouseDatabase, migrateClickHouse } from '../shared/migrations.ts';
import { ident, sql } from '../shared/sql.ts';
import { RAW_TABLES } from '../stream/index.ts';
import { rangeKey, type TopicPartitionRange } from './bounded.ts';
import type { ToolContext } from './context.ts';
import { kafkaPositions } from './offsets.ts';
import { computeRanges, processorTopics, sinkDefinition, timestampTag } from './replay.ts';
import {
  allMatch,
  differs,
  drain,
  emptyReport,
  type RebuildOptions,
  type RebuildReport,
} from './rebuild-shared.ts';

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
