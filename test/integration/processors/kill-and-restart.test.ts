/**
 * Crash safety: the stateful processors run as a child process over >= 50,000 events and are killed with SIGKILL
 * at random moments (at least 5 times), then restarted. The final PostgreSQL and Redis state equals that of an
 * uninterrupted run over the same topics. The stream is the simulator's delivery order with client re-sends and
 * offline syncs, so duplicates and late events are part of what must come out identical.
 * Restarts join a fresh Kafka group over the same stored positions (STATEFUL_KAFKA_GROUP_SUFFIX): Kafka commits are
 * advisory here, and this avoids waiting out the killed member's 30 s session timeout.
 */
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { cohortEvents, simOptions } from '../../../services/simulator/cohort.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  dumpState,
  firstDifference,
  produce,
  runEnv,
  startChild,
  startInProcess,
  summary,
  waitCaughtUp,
} from './support.ts';

describe('kill -9 at random moments', () => {
  const isos: IsolatedEnv[] = [];
  afterAll(async () => {
    for (const iso of isos) await teardown(iso).catch(() => {});
  });

  it('converges to the state of an uninterrupted run', async () => {
    const topics = isolatedEnv('kill_topics');
    isos.push(topics);
    await provision(topics, { postgres: false, kafka: true });
    const events = [
      ...cohortEvents(simOptions({ seed: 23, students: 50, days: 28, startMs: Date.UTC(2025, 1, 3) })),
    ];
    expect(events.length).toBeGreaterThanOrEqual(50_000);
    await produce(topics.cfg, events);

    const reference = isolatedEnv('kill_ref');
    const killed = isolatedEnv('kill_run');
    isos.push(reference, killed);
    await provision(reference, { postgres: true });
    await provision(killed, { postgres: true });

    const refEnv = runEnv(reference, topics, 'ref');
    const run = await startInProcess(refEnv);
    await waitCaughtUp(refEnv, 280_000);
    await run.stop();
    const expected = await dumpState(refEnv);

    const env = runEnv(killed, topics, 'kill');
    let kills = 0;
    for (; kills < 6; kills++) {
      const child = startChild({ ...env, STATEFUL_KAFKA_GROUP_SUFFIX: `-r${kills}` });
      // Random moment: startup, mid-batch, between the PostgreSQL write and the Redis commit, ...
      await new Promise((r) => setTimeout(r, 2_500 + Math.random() * 3_500));
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const last = startChild({ ...env, STATEFUL_KAFKA_GROUP_SUFFIX: '-final' });
    try {
      await waitCaughtUp(env, 280_000);
    } finally {
      last.kill('SIGTERM');
      await once(last, 'exit');
    }
    const actual = await dumpState(env);
    expect(kills).toBeGreaterThanOrEqual(5);
    // The first differing path names the row and column when the runs diverge; the counts then say how much.
    expect(firstDifference(actual, expected)).toBeUndefined();
    expect(summary(actual)).toEqual(summary(expected));
    expect(actual).toEqual(expected);
  }, 600_000);
});
