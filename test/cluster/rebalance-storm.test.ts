/**
 * SIGKILL of processor instances during a rebalance storm (cluster profile). Each stream instance is a member of
 * every processor group (sink, sessions, mastery), so starting or killing one rebalances all three groups. While a
 * client sends events at a fixed rate, the storm runs 6 rounds, 3 s apart (plus the time an instance takes to
 * become ready), alternating:
 *  - replace: start a new instance, then SIGKILL the oldest live one (the newcomer's join and the dead member's
 *    partitions rebalance the groups back to back);
 *  - join-and-die: start a new instance and SIGKILL it as soon as it is ready (a member that dies in the middle of
 *    the rebalance it caused), and SIGKILL one older instance too unless it is the last one.
 * At least one instance stays alive throughout (8 SIGKILLs in all); after the storm, instances are started until 3
 * run. The client sends for the whole storm, however long the host takes to start instances: it keeps sending
 * until MARGIN_MS after the storm's last SIGKILL (asserted: events were sent within 5 s after every start and
 * SIGKILL). Each student's session ends with a SESSION_END and the instances run with a short grace, so every
 * session of the run is written to study_sessions (closed during the storm as well as after it). Then:
 *  - end to end: every acknowledged event exactly once in ClickHouse, `reconcile` ok (sessions hold their events
 *    once, mastery applied each exactly once), and every session of the run written (none left live in Redis);
 *  - identical to an uninterrupted run: mastery (topic_mastery, its history, study days, materials) and
 *    study_sessions are each rebuilt from the topics from offset 0 by the processors' own steps in one clean run
 *    (`studystream rebuild --verify-only`'s code, into a shadow schema) and compared row for row (count and hash
 *    of the canonical rows) with what the storm-tossed instances wrote; study_sessions holds one row per session of
 *    the run (so the comparison covers every session).
 */
import { describe, expect, it } from 'vitest';
import { openContext } from '../../services/datatools/context.ts';
import { rebuildStore } from '../../services/datatools/rebuild.ts';
import type { StartedService } from '../support/process.ts';
import {
  acknowledged,
  expectAlive,
  expectEndToEnd,
  reconcileOf,
  sendAtFixedRate,
  startStream,
  streamEnv,
  until,
  useCluster,
  type Cluster,
} from './support.ts';

const RATE = 12; // events per second
/** The client sends at least this long, and on until MARGIN_MS after the storm's last SIGKILL. */
const MIN_SENDING_MS = 20_000;
const MARGIN_MS = 10_000;
const ROUND_MS = 3_000;
const ROUNDS = 6;
/** A session is written this long after its SESSION_END (the default, 10 min, outlasts the test). */
const STREAM = { SESSIONS_GRACE_MS: '2000', SESSIONS_SWEEP_INTERVAL_MS: '2000' };

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
  const start = useCluster('storm', { stream: STREAM });

  it('converges to the state of an uninterrupted run', async () => {
    const cluster: Cluster = await start();
    let next = cluster.streams.length + 1;
    const launch = async () => {
      const s = await startStream(cluster.iso, `stream-${next++}`, cluster.streamOverrides);
      cluster.streams.push(s); // stopped by useCluster's teardown if still alive
      return s;
    };
    const log: string[] = [];
    /** When each instance was started (ready) or SIGKILLed. */
    const actions: Array<{ at: number; what: string }> = [];
    const t0 = Date.now();
    const note = (what: string) => {
      actions.push({ at: Date.now(), what });
      log.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    };

    // The storm runs its rounds whatever the host's speed (an instance takes seconds to start on 2 busy cores);
    // the client sends until MARGIN_MS after its last SIGKILL, so events flow through all of it.
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
    })().finally(() => {
      stormEndedAt = Date.now();
    });
    const stormFailed = storm.then(
      () => null,
      (err: Error) => err,
    );
    const run = await sendAtFixedRate(cluster, {
      rate: RATE,
      durationMs: MIN_SENDING_MS,
      more: () => stormEndedAt === 0 || Date.now() < stormEndedAt + MARGIN_MS,
    });
    const failed = await stormFailed;
    if (failed) throw failed;
    while (cluster.streams.filter(alive).length < 3) note(`started ${(await launch()).name}`);

    const kills = actions.filter((a) => a.what.startsWith('SIGKILL'));
    const stormActions = actions.filter((a) => a.at <= stormEndedAt);
    const sentAt = run.deliveries.map((d) => d.sentAt);
    const sentWithin5sAfter = stormActions.map(
      (a) => sentAt.filter((t) => t >= a.at && t < a.at + 5_000).length,
    );
    let maxSendGapMs = 0;
    for (let i = 1; i < sentAt.length; i++)
      maxSendGapMs = Math.max(maxSendGapMs, sentAt[i]! - sentAt[i - 1]!);
    const sessions = new Set(run.deliveries.map((d) => d.session)).size;
    console.log(
      JSON.stringify({
        storm: log,
        killed: kills.length,
        instancesStarted: next - 1,
        sent: run.deliveries.length,
        sessions,
        sendingMs: sentAt[sentAt.length - 1]! - sentAt[0]!,
        stormMs: stormEndedAt - t0,
        lastSentAfterLastKillMs: sentAt[sentAt.length - 1]! - kills[kills.length - 1]!.at,
        sentWithin5sAfterEachStormAction: sentWithin5sAfter,
        maxSendGapMs,
      }),
    );
    // 3 instances at the start: rounds 0-5 kill 1, 2, 1, 2, 1 and 1 (round 5 spares the last older one).
    expect(kills.length).toBe(8);
    // No instance died on its own: every one that is gone was SIGKILLed by the storm.
    expectAlive(cluster, killedByStorm);
    // Events flowed during the whole storm: sending began before its first action, events were sent within 5 s
    // after each start and SIGKILL, and sending went on past the last SIGKILL.
    expect(sentAt[0]!).toBeLessThan(stormActions[0]!.at);
    expect(sentWithin5sAfter.filter((n) => n === 0)).toEqual([]);
    expect(sentAt[sentAt.length - 1]! - kills[kills.length - 1]!.at).toBeGreaterThanOrEqual(
      MARGIN_MS - 1_000,
    );

    await expectEndToEnd(cluster, acknowledged(run), { reconcileMs: 240_000 });
    // Every session of the run ended (SESSION_END) and was written to study_sessions: none left live in Redis.
    let last: unknown;
    await until(
      'every session written to study_sessions',
      async () => {
        const r = (await reconcileOf(cluster)).sessions;
        last = r;
        return r.live === 0 && r.written === sessions;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(last)}`);
    });
    console.log(JSON.stringify({ sessionsWritten: last }));

    // Identical to an uninterrupted run: a clean rebuild of each store from the topics matches the live tables.
    const ctx = await openContext(streamEnv(cluster.iso, 0, cluster.streamOverrides), 'cluster-test');
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
        if (store === 'sessions') {
          // The comparison covered every session of the run, row for row.
          const written = report.checks.find((c) => c.table === 'study_sessions');
          expect(written?.live.rows).toBe(sessions);
          expect(sessions).toBeGreaterThan(0);
        }
      }
    } finally {
      await ctx.close();
    }
  }, 900_000);
});
