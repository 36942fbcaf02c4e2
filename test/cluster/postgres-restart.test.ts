/**
 * PostgreSQL primary restart while the processors write (cluster profile: primary + streaming standby). A client
 * sends events at a fixed rate; 10 s in, the primary is stopped (fast shutdown) and started again through
 * `stack.sh down/up --profile cluster postgres`; while the primary is down, a fourth member joins the mastery,
 * sessions and sink groups and leaves again, so every group rebalances during the outage, and the three groups'
 * coordinators move to other brokers (their __consumer_offsets partitions change leader). The stateful processors (3 instances of each group) fail their flushes and
 * their loads of the stored positions meanwhile and retry; they resume from the positions stored in PostgreSQL
 * (mastery) and Redis (sessions). Regression: a processor whose positions could not be loaded after a rejoin used
 * to stop its consumer for good (services/stream/runtime/rebalance.ts seekExternal; the 08:57 run after
 * broker-kill stalled so, its coordinator having moved back to the restarted broker). Asserts: every event
 * acknowledged and in ClickHouse exactly once; `reconcile` ok (mastery applied each event exactly once: applied =
 * expected; every session holds its events once); every ingest and stream instance survived the restart (none exited); the
 * standby follows the restarted primary again.
 */
import { describe, expect, it } from 'vitest';
import { createPgPool } from '../../services/shared/postgres.ts';
import { topicNames } from '../../services/shared/kafka.ts';
import {
  acknowledged,
  joinGroupsBriefly,
  moveCoordinators,
  processorGroups,
  sinkGroupOf,
  expectAlive,
  expectEndToEnd,
  sendAtFixedRate,
  stack,
  until,
  useCluster,
} from './support.ts';

describe('cluster: PostgreSQL primary restart', () => {
  const start = useCluster('pgrestart');

  it('processors resume from their stored positions with no double effect', async () => {
    const cluster = await start();
    let restart: Promise<void> | undefined;
    const run = await sendAtFixedRate(cluster, {
      rate: 30,
      durationMs: 30_000,
      onTick: (elapsed) => {
        if (elapsed >= 10_000 && !restart) {
          restart = (async () => {
            const d = await stack('down', 'postgres');
            expect(d.code, d.out).toBe(0);
            const topics = topicNames(cluster.iso.cfg);
            const prefix = cluster.iso.cfg.KAFKA_TOPIC_PREFIX;
            // The group coordinators move meanwhile, as in the 2026-12-06 13:33 run, where the leadership of
            // __consumer_offsets went back to a broker restarted by broker-kill during this test (coordinator-move.test.ts
            // has the move alone).
            const moving = moveCoordinators(cluster.iso, processorGroups(cluster.iso));
            const joined = await joinGroupsBriefly(cluster.iso, [
              {
                groupId: `${prefix}studystream-mastery`,
                topics: [topics['question-attempts'], topics['material-interactions']],
              },
              {
                // The sink reads PostgreSQL too (the subject keys of pseudonymised records): its group as well.
                groupId: sinkGroupOf(cluster.iso),
                topics: [
                  topics['study-events'],
                  topics['question-attempts'],
                  topics['material-interactions'],
                ],
              },
              {
                groupId: `${prefix}studystream-sessions`,
                topics: [
                  topics['study-events'],
                  topics['question-attempts'],
                  topics['material-interactions'],
                ],
              },
            ]);
            // The extra member was given partitions: each group really rebalanced while the primary was down.
            for (const j of joined) expect(j.partitions, j.groupId).toBeGreaterThan(0);
            const moved = await moving;
            console.log(JSON.stringify({ moved }));
            for (const m of moved) expect(m.to, `__consumer_offsets-${m.partition}`).not.toBe(m.from);
            const u = await stack('up', 'postgres');
            expect(u.code, u.out).toBe(0);
          })();
        }
      },
    });
    await restart;
    await expectEndToEnd(cluster, acknowledged(run));
    // The processes rode out the restart (a crash here was the defect of the first run: an unhandled 'error' of a
    // client whose connection died mid-transaction, services/shared/postgres.ts withTransaction).
    expectAlive(cluster);

    // The standby follows the restarted primary.
    const standby = createPgPool({ ...cluster.iso.cfg, DATABASE_URL: process.env.PG_READ_URL! });
    try {
      await until(
        'the standby to stream from the primary again',
        async () =>
          (
            await standby.query(
              `SELECT count(*)::int AS n FROM pg_stat_wal_receiver WHERE status = 'streaming'`,
            )
          ).rows[0].n === 1,
        60_000,
      );
    } finally {
      await standby.end();
    }
  }, 480_000);
});
