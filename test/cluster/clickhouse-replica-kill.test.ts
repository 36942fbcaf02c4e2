/**
 * SIGKILL of a ClickHouse replica during sink inserts (cluster profile: 2 shards x 2 replicas, ReplicatedMergeTree,
 * Distributed tables; the services talk to ch1). While a client sends events at a fixed rate, ch4 (the second
 * replica of shard 2) is SIGKILLed and started again 15 s later. Asserts:
 *  - reads keep answering during the outage: a per-student query through the Distributed table (what the API
 *    sends) succeeds every 500 ms, shard 2 answered by its other replica (ch3);
 *  - nothing lost or doubled: every acknowledged event exactly once through the Distributed tables, and after the
 *    restart both replicas of each shard hold the same rows;
 *  - sessions and mastery reconcile with the history.
 */
import { describe, expect, it } from 'vitest';
import { chQuery, createClickHouse } from '../../services/shared/clickhouse.ts';
import { acknowledged, expectAlive, expectEndToEnd, sendAtFixedRate, stack, useCluster } from './support.ts';

describe('cluster: SIGKILL of a ClickHouse replica during sink inserts', () => {
  const start = useCluster('chkill');

  it('loses and doubles nothing; reads answer from the other replica meanwhile', async () => {
    const cluster = await start();
    const ch = createClickHouse(cluster.iso.cfg);
    const reads = { ok: 0, failed: [] as string[], duringOutage: 0 };
    let down = false;
    let reading = true;
    const reader = (async () => {
      for (let i = 0; reading; i++) {
        // One student's rows (the API's per-student reads): users hash to both shards.
        const user = `stu_cl_${String(i % 24).padStart(3, '0')}`;
        await chQuery(ch, `SELECT count() AS n FROM question_attempts WHERE user_id = '${user}'`).then(
          () => {
            reads.ok++;
            if (down) reads.duringOutage++;
          },
          (err: Error) => reads.failed.push(err.message.slice(0, 200)),
        );
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    let outage: Promise<void> | undefined;
    const run = await sendAtFixedRate(cluster, {
      rate: 40,
      durationMs: 40_000,
      onTick: (elapsed) => {
        if (elapsed >= 8_000 && !outage) {
          outage = (async () => {
            const k = await stack('kill', 'ch4');
            expect(k.code, k.out).toBe(0);
            down = true;
            await new Promise((r) => setTimeout(r, 15_000));
            const u = await stack('up', 'ch4');
            expect(u.code, u.out).toBe(0);
            down = false;
          })();
        }
      },
    });
    await outage;
    reading = false;
    await reader;
    const acked = acknowledged(run);
    console.log(JSON.stringify({ reads }));
    expect(reads.failed).toEqual([]);
    // Every read during the outage answered (how many depends on the host's load: each one is reported).
    expect(reads.duringOutage).toBeGreaterThan(0);

    const { counts } = await expectEndToEnd(cluster, acked);
    expectAlive(cluster);

    // Both replicas of each shard hold the same rows once ch4 caught up.
    const nodes = process.env.CLICKHOUSE_CLUSTER_NODES!.split(',');
    const perNode = async () =>
      Promise.all(
        nodes.map(async (url) => {
          const node = createClickHouse({ ...cluster.iso.cfg, CLICKHOUSE_URL: url });
          try {
            await node.command({ query: 'SYSTEM SYNC REPLICA question_attempts_local' });
            const [r] = await chQuery<{ n: string }>(
              node,
              'SELECT count() AS n FROM question_attempts_local',
            );
            return Number(r?.n ?? -1);
          } finally {
            await node.close();
          }
        }),
      );
    const local = await perNode();
    console.log(JSON.stringify({ questionAttemptsPerNode: local }));
    expect(local[0]).toBe(local[1]);
    expect(local[2]).toBe(local[3]);
    expect(local[0]! + local[2]!).toBe(counts.perTable.question_attempts);

    await ch.close();
  }, 480_000);
});
