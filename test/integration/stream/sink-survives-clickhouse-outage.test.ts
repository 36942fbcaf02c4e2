import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isolatedEnv } from '../../support/isolated.ts';
import {
  caughtUp,
  harnessHooks,
  makeEvents,
  observed,
  publishInChunks,
  startSink,
  waitFor,
} from './support.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const stack = (action: 'up' | 'down') =>
  execFileSync('bash', ['deploy/stack.sh', action, 'clickhouse'], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 120_000,
  });

/**
 * ClickHouse stops mid-stream (shared stack: kept short, restarted in finally). The sink pauses fetching, retries
 * the batch with backoff, commits nothing meanwhile, and once ClickHouse is back every event is stored once.
 */
describe('clickhouse-sink: ClickHouse outage', () => {
  const iso = isolatedEnv('outage');
  const harnessOf = harnessHooks(iso);

  it('loses nothing and duplicates nothing across a ClickHouse restart', async () => {
    const h = harnessOf();
    const { events, expected } = makeEvents({
      users: 8,
      perUser: 90,
      startMs: Date.UTC(2025, 5, 1),
      spanDays: 10,
    });
    const half = Math.floor(events.length / 2);
    await publishInChunks(h, events.slice(0, half));
    const group = `${iso.id}-sink`;
    const sink = await startSink(h, group);
    const failures: number[] = [];
    sink.processor.events.on('flush_failed', (f) => failures.push(f.attempt));
    try {
      await waitFor('first half stored', () => caughtUp(h, group), 60_000);
      try {
        stack('down');
        await publishInChunks(h, events.slice(half));
        await waitFor('a failed flush', async () => failures.length >= 2, 30_000);
        expect(await caughtUp(h, group)).toBe(false);
      } finally {
        stack('up');
      }
      await waitFor('sink caught up after the outage', () => caughtUp(h, group), 90_000);
    } finally {
      await sink.stop();
    }
    const o = await observed(h.clickhouse);
    for (const [table, n] of Object.entries(expected.perTable))
      expect(o.raw[table], table).toEqual({ rows: n, events: n });
    expect(o.daily).toMatchObject({
      questions: expected.questions,
      correct: expected.correct,
      studyMs: expected.studyMs,
    });
  });
});
