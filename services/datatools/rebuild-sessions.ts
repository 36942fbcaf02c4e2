/**
 * `rebuild --store sessions` (PostgreSQL study_sessions and the sessions processor's late_events); the steps are
 * described at rebuildSessions.
 */
import { subjectKeysFor } from '../shared/subjects.ts';
import { EventCodec } from '../shared/codec.ts';
import { migratePostgres } from '../shared/migrations.ts';
import { createPgPool, type Pool } from '../shared/postgres.ts';
import { createRegistry } from '../shared/registry.ts';
import { liveKeys, SessionsBulkBuild, sessionOptions, sessionsEnv } from '../stream/index.ts';
import type { TopicPartitionRange } from './bounded.ts';
import type { ToolContext } from './context.ts';
import { clampToLive, computeRanges, livePositions, processorTopics, timestampTag } from './replay.ts';
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
  type TableCheck,
} from './rebuild-shared.ts';

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
 *     `sessions:pos`), state in memory (stream/sessions/bulk.ts); every built session that is not live in the live
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
