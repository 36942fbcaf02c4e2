/** Helpers for hand-built test data (test/integration/api/fixture.ts, the ClickHouse rollup tests). */

/** ClickHouse DateTime text ('YYYY-MM-DD hh:mm:ss', UTC) of epoch ms. */
export const chTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** Deterministic pseudo-random in [0, 1) (a linear congruential stream: fixtures need repeatability, not quality). */
export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
