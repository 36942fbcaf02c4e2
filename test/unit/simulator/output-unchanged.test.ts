import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { simOptions, simulateCohort } from '../../../services/simulator/cohort.ts';
import type { SimOptions } from '../../../services/simulator/types.ts';

/**
 * The simulator's output for a seed is pinned: the SHA-256 of every item of a seeded cohort (each request with its
 * stamped events, each attempt's truth, each student's final truth), as JSON lines. The hashes were recorded from
 * the code before student.ts was split into behaviour (student.ts), traits (profile.ts), device delivery
 * (device.ts, stamping through ingest's applyServerFields) and ground truth (truth.ts), at commit d40c5c9. A
 * change that alters any byte of a seeded run fails here; a deliberate change of the model or of delivery updates
 * the hashes and says why in its commit.
 */

const START = Date.UTC(2025, 2, 3);

function sha256(opts: SimOptions): {
  hash: string;
  batches: number;
  skewed: number;
  offline: number;
  duplicates: number;
} {
  const h = createHash('sha256');
  let batches = 0;
  let skewed = 0;
  let offline = 0;
  let duplicates = 0;
  for (const item of simulateCohort(opts)) {
    h.update(`${JSON.stringify(item)}\n`);
    if (item.kind !== 'batch') continue;
    batches += 1;
    if (item.batch.clockSkewMs !== 0) skewed += 1;
    if (item.batch.offline) offline += 1;
    if (item.batch.duplicate) duplicates += 1;
  }
  return { hash: h.digest('hex'), batches, skewed, offline, duplicates };
}

const CASES: Array<{ name: string; opts: SimOptions; hash: string }> = [
  {
    name: 'default options',
    opts: simOptions({ seed: 2026, students: 12, days: 10, startMs: START }),
    hash: '2c43013aa21bf209d32f2d09cbeee5859f69ee7295d6f63b57257d19ecb5035f',
  },
  {
    name: 'offline phones with wrong clocks, and client retries',
    opts: simOptions({
      seed: 'pinned',
      students: 12,
      days: 10,
      startMs: START,
      offlineRate: 0.6,
      duplicateRate: 0.2,
    }),
    hash: 'c704f3df13eb5458380e6c67ce3ed11ea1a2737dd243a316edb4b1f1d47bd11e',
  },
  {
    name: 'planted effects',
    opts: simOptions({
      seed: 7,
      students: 8,
      days: 10,
      startMs: START,
      effects: 'planted',
      offlineRate: 0.4,
    }),
    hash: '00195d5c56fb7aac984b984ad450e5ce8f651cea5006065a695fce540e59900b',
  },
];

describe('the simulator output for a seed is unchanged', { timeout: 60_000 }, () => {
  for (const c of CASES)
    it(c.name, () => {
      expect(sha256(c.opts).hash).toBe(c.hash);
    });

  it('the pinned runs cover device delivery: offline syncs, skewed clocks and re-sent batches', () => {
    const r = sha256(CASES[1]!.opts);
    expect(r.batches).toBeGreaterThan(100);
    expect(r.offline).toBeGreaterThan(0);
    expect(r.skewed).toBeGreaterThan(0);
    expect(r.duplicates).toBeGreaterThan(0);
  });
});
