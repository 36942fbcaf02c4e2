/**
 * `rebuild --store mastery` (PostgreSQL topic_mastery and what the mastery processor writes with it).
 *
 *  1. Shadow schema `rebuild_<ts>` migrated by the same runner; topics copied from the live schema; the shadow
 *     tables' foreign keys re-pointed to the live `topics`, so the tables can later move without dangling refs.
 *  2. Build (stream/mastery/bulk.ts): the processor's own steps drain the topics from offset 0 to the high
 *     watermarks at start (group `rebuild-mastery-<ts>`) with the state in memory, written to the shadow once
 *     (rows, roll-ups by the processor's rollUp, history, late events, event_id claims, positions). Then the regular processor over
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
 */
import { subjectKeysFor } from '../shared/subjects.ts';
import { EventCodec } from '../shared/codec.ts';
import { topicNames } from '../shared/kafka.ts';
import { migratePostgres } from '../shared/migrations.ts';
import { createPgPool, type Pool } from '../shared/postgres.ts';
import { createRegistry } from '../shared/registry.ts';
import { loadItemCalibration, MasteryBulkBuild, masteryEnv, TopicTree } from '../stream/index.ts';
import { rangeKey, type TopicPartitionRange } from './bounded.ts';
import type { ToolContext } from './context.ts';
import {
  computeRanges,
  masteryDefinition,
  processorTopics,
  seedPostgresPositions,
  timestampTag,
} from './replay.ts';
import {
  allMatch,
  catchUpRanges,
  differs,
  drain,
  emptyReport,
  endPg,
  pgChecksum,
  pgIdent,
  switchedPg,
  type RebuildOptions,
  type RebuildReport,
} from './rebuild-shared.ts';

const MASTERY_TABLES = [
  'topic_mastery',
  'topic_mastery_history',
  'student_study_days',
  'student_materials',
  // postgres/088 (review adherence): written by the mastery processor and its bulk build like the two above.
  'topic_reviews',
] as const;
async function positionsOf(pool: Pool, schema: string, group: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
    `SELECT topic, partition, next_offset FROM ${pgIdent(schema)}.consumer_positions WHERE consumer_group = $1`,
    [group],
  );
  return new Map(rows.map((r) => [rangeKey(r.topic, r.partition), Number(r.next_offset)]));
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
    // Build: drain into memory, write once (stream/mastery/bulk.ts); catch-up: the regular processor over the shadow.
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
