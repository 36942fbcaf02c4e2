/**
 * SIGKILL of processor instances during a rebalance storm (cluster profile). Each stream instance is a member of
 * every processor group (sink, sessions, mastery), so starting or killing one rebalances all three groups. While a
 * client sends events at a fixed rate, the storm runs 6 rounds, 3 s apart, alternating:
 *  - replace: start a new instance, then SIGKILL the oldest live one (the newcomer's join and the dead member's
 *    partitions rebalance the groups back to back);
 *  - join-and-die: start a new instance and SIGKILL it as soon as it is ready (a member that dies in the middle of
 *    the rebalance it caused), and SIGKILL one older instance too unless it is the last one.
 * At least one instance stays alive throughout (8 SIGKILLs in all); after the storm, instances are started until 3
 * run. Then:
 *  - end to end: every acknowledged event exactly once in ClickHouse, `reconcile` ok (sessions hold their events
 *    once, mastery applied each exactly once);
 *  - identical to an uninterrupted run: mastery (topic_mastery, its history, study days, materials) and
 *    study_sessions are each rebuilt from the topics from offset 0 by the processors' own steps in one clean run
 *    (`studystream rebuild --verify-only`'s code, into a shadow schema) and compared row for row (count and hash
 *    of the canonical rows) with what the storm-tossed instances wrote.
 */
import { describe, expect, it } from 'vitest';
import { openContext } from '../../services/datatools/context.ts';
import { rebuildStore } from '../../services/datatools/rebuild.ts';
import type { StartedService } from '../support/process.ts';
import {
  acknowledged,
  expectAlive,
  expectEndToEnd,
  sendAtFixedRate,
  startStream,
  streamEnv,
  useCluster,
  type Cluster,
} from './support.ts';

const RATE = 30; // events per second
const DURATION_MS = 40_000;
const ROUND_MS = 3_000;
const ROUNDS = 6;

const alive = (s: StartedService) => s.child.exitCode === null && s.child.signalCode === null;

const killedByStorm = new Set<StartedService>();

/** SIGKILL of one instance; resolves once the process is gone. */
async function sigkill(s: StartedService): Promise<void> {
  if (!alive(s)) throw new Error(`${s.name} died before the storm killed it`);
  killedByStorm.add(s);
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await gone;
}

describe('cluster: SIGKILL of processor instances during a rebalance storm', () => {
  const start = useCluster('storm');

  it('converges to the state of an uninterrupted run', async () => {
    const cluster: Cluster = await start();
    let next = cluster.streams.length + 1;
    const launch = async () => {
      const s = await startStream(cluster.iso, `stream-${next++}`);
      cluster.streams.push(s); // stopped by useCluster's teardown if still alive
      return s;
    };
    const log: string[] = [];
    const t0 = Date.now();
    const note = (what: string) => log.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    // The storm runs its rounds whatever the host's speed (an instance takes seconds to start on 2 busy cores);
    // the client sends meanwhile, so events flow through most of it.
    let stormEndedAt = 0;
    const storm = (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await new Promise((r) => setTimeout(r, ROUND_MS));
        const live = cluster.streams.filter(alive);
        const fresh = await launch();
        note(`started ${fresh.name}`);
        if (round % 2 === 1) {
          await sigkill(fresh);
          note(`SIGKILL ${fresh.name} (just joined)`);
        }
        if (round % 2 === 0 || live.length > 1) {
          await sigkill(live[0]!);
          note(`SIGKILL ${live[0]!.name}`);
        }
      }
      stormEndedAt = Date.now();
    })();
    const run = await sendAtFixedRate(cluster, { rate: RATE, durationMs: DURATION_MS });
    const sendingEndedAt = Date.now();
    await storm;
    while (cluster.streams.filter(alive).length < 3) note(`started ${(await launch()).name}`);
    const killed = log.filter((l) => l.includes('SIGKILL')).length;
    console.log(
      JSON.stringify({
        storm: log,
        killed,
        instancesStarted: next - 1,
        stormEndedAfterSendingMs: stormEndedAt - sendingEndedAt,
      }),
    );
    // 3 instances at the start: rounds 0-5 kill 1, 2, 1, 2, 1 and 1 (round 5 spares the last older one).
    expect(killed).toBe(8);
    // No instance died on its own: every one that is gone was SIGKILLed by the storm.
    expectAlive(cluster, killedByStorm);

    await expectEndToEnd(cluster, acknowledged(run), { reconcileMs: 240_000 });

    // Identical to an uninterrupted run: a clean rebuild of each store from the topics matches the live tables.
    const ctx = await openContext(streamEnv(cluster.iso, 0), 'cluster-test');
    try {
      const opts = { verifyOnly: true, acceptDifferences: false, confirmDropOld: false };
      for (const store of ['mastery', 'sessions'] as const) {
        const report = await rebuildStore(ctx, store, opts);
        console.log(JSON.stringify({ store: report.store, events: report.events, checks: report.checks }));
        expect(report.events).toBeGreaterThan(0);
        expect(report.checks.length).toBeGreaterThan(0);
        expect(
          report.checks.filter((c) => c.live.rows !== c.shadow.rows || c.live.hash !== c.shadow.hash),
        ).toEqual([]);
        expect(report.matches).toBe(true);
      }
    } finally {
      await ctx.close();
    }
  }, 600_000);
});
