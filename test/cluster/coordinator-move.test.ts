/**
 * Group coordinators move while the processors consume (cluster profile). The coordinator of a consumer group is the
 * leader of its __consumer_offsets partition; when that leadership moves (a broker restart, the controller's
 * preferred-leader rebalancing afterwards), members get NOT_COORDINATOR on heartbeats and commits, find the new
 * coordinator and rejoin. Seen once in a whole `npm run test:cluster` run (2026-12-06 13:33, during
 * postgres-restart: the sink's commits kept failing with NOT_COORDINATOR for 30 s and ClickHouse never held every
 * acknowledged event). Here the move is made on purpose: while a client sends at a fixed rate, each processor
 * group's __consumer_offsets partition is reassigned to the two replicas that are not its leader, so leadership (and
 * the coordinator) must move, then the third replica is added back. Asserts the end-to-end check of every fault
 * test and that no instance died.
 */
import { describe, expect, it } from 'vitest';
import {
  acknowledged,
  expectAlive,
  expectEndToEnd,
  moveCoordinators,
  processorGroups,
  sendAtFixedRate,
  useCluster,
  type CoordinatorMove,
} from './support.ts';

describe('cluster: group coordinators move during consumption', () => {
  const start = useCluster('coordmove');

  it('loses and doubles nothing when every processor group changes coordinator', async () => {
    const cluster = await start();
    let moving: Promise<CoordinatorMove[]> | undefined;
    const run = await sendAtFixedRate(cluster, {
      rate: 30,
      durationMs: 30_000,
      onTick: (elapsed) => {
        if (elapsed >= 10_000) moving ??= moveCoordinators(cluster.iso, processorGroups(cluster.iso));
      },
    });
    const moved = await moving!;
    console.log(JSON.stringify({ moved }));
    expect(moved.length).toBeGreaterThan(0);
    for (const m of moved) expect(m.to, `partition ${m.partition}`).not.toBe(m.from);
    await expectEndToEnd(cluster, acknowledged(run));
    expectAlive(cluster);
  });
});
