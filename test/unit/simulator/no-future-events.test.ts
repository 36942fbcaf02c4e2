/**
 * The simulator never emits an event in the future of the wall clock: `simulate --via ingest` right after midnight
 * UTC once had an event rejected by ingest as "more than 300 s in the future" (sessions started before the period's
 * end run past it). Checked at several times of day, on the true time of every event (the device clock minus its
 * skew, which is what ingest restores).
 */
import { describe, expect, it } from 'vitest';
import { END_MARGIN_MS, simOptions, simulateCohort } from '../../../services/simulator/cohort.ts';

function latestEvent(now: number, seed: number): { latest: number; events: number; horizon: number } {
  const opts = simOptions({ seed, students: 60, days: 2 }, now);
  let latest = -Infinity;
  let events = 0;
  for (const item of simulateCohort(opts)) {
    if (item.kind !== 'batch') continue;
    for (const e of item.batch.events) {
      events++;
      latest = Math.max(latest, (e.record.occurred_at as number) - item.batch.clockSkewMs);
    }
  }
  return { latest, events, horizon: opts.startMs + 2 * 86_400_000 };
}

describe('simulated events are never in the future', () => {
  for (const time of ['00:00:30', '00:05:00', '01:59:00', '02:01:00', '13:30:00', '23:59:59'])
    it(`at ${time} UTC`, () => {
      const now = Date.parse(`2026-11-02T${time}Z`);
      const { latest, events, horizon } = latestEvent(now, 31);
      expect(events).toBeGreaterThan(1000);
      expect(latest).toBeLessThan(now);
      // The period ends at a UTC midnight at least END_MARGIN_MS before now, and sessions do spill past it.
      expect(horizon).toBeLessThanOrEqual(now - END_MARGIN_MS);
      expect(latest).toBeGreaterThan(horizon - 86_400_000);
    });

  it('sessions near the end of the period run past it, by less than the margin', () => {
    let spill = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const { latest, horizon } = latestEvent(Date.parse('2026-11-02T12:00:00Z'), seed);
      spill = Math.max(spill, latest - horizon);
    }
    expect(spill).toBeGreaterThan(0);
    expect(spill).toBeLessThan(END_MARGIN_MS);
  });
});
