/**
 * PostgreSQL primary restart while the processors write (cluster profile: primary + streaming standby). A client
 * sends events at a fixed rate; 10 s in, the primary is stopped (fast shutdown) and started again through
 * `stack.sh down/up --profile cluster postgres`. The stateful processors (3 instances of each group) fail their
 * flushes meanwhile and retry; they resume from the positions stored in PostgreSQL. Asserts: every event
 * acknowledged and in ClickHouse exactly once; `reconcile` ok (mastery applied each event exactly once: applied =
 * expected; every session holds its events once); the standby follows the restarted primary again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../services/shared/postgres.ts';
import { teardown } from '../support/isolated.ts';
import { stopServices } from '../support/process.ts';
import {
  missingInClickHouse,
  rawCounts,
  reconcileOf,
  sendAtFixedRate,
  stack,
  startCluster,
  until,
  type Cluster,
} from './support.ts';

describe('cluster: PostgreSQL primary restart', () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    if (!c) return;
    await stopServices([...c.ingest, ...c.streams]);
    if (process.env.CLUSTER_KEEP_NAMESPACE === '1') return void console.log(`namespace kept: ${c.iso.id}`);
    await teardown(c.iso).catch(() => {});
  });

  it('processors resume from their stored positions with no double effect', async () => {
    c = await startCluster('pgrestart');
    const cluster = c;
    let restart: Promise<void> | undefined;
    const { deliveries, other } = await sendAtFixedRate(cluster, {
      rate: 30,
      durationMs: 30_000,
      onTick: (elapsed) => {
        if (elapsed >= 10_000 && !restart) {
          restart = (async () => {
            const d = await stack('down', 'postgres');
            expect(d.code, d.out).toBe(0);
            const u = await stack('up', 'postgres');
            expect(u.code, u.out).toBe(0);
          })();
        }
      },
    });
    await restart;
    const acked = deliveries.filter((d) => d.ackedAt > 0).map((d) => d.eventId);
    console.log(JSON.stringify({ sent: deliveries.length, acknowledged: acked.length }));
    expect(other).toEqual([]);
    expect(acked.length).toBe(deliveries.length);

    await until(
      'ClickHouse to hold every acknowledged event',
      async () => (await rawCounts(cluster.iso)).distinct >= acked.length,
      120_000,
    );
    expect(await missingInClickHouse(cluster.iso, acked)).toEqual([]);
    const counts = await rawCounts(cluster.iso);
    expect(counts.rows).toBe(acked.length);

    let last: unknown;
    await until(
      'sessions and mastery to reconcile',
      async () => {
        last = await reconcileOf(cluster).catch((err: Error) => err.stack);
        return typeof last === 'object' && (last as { ok: boolean }).ok;
      },
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last reconcile: ${JSON.stringify(last)}`.slice(0, 4000));
    });
    const r = await reconcileOf(cluster);
    console.log(JSON.stringify({ sessions: r.sessions, mastery: r.mastery }));
    expect(r.mastery.applied).toBe(r.mastery.expected);
    expect(r.sessions.eventsInSessions).toBe(r.sessions.eventsInHistory);

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
