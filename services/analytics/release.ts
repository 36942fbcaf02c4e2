/**
 * What a cohort figure may disclose: the release rules of cohort v2 (services/analytics/README.md). Pure functions,
 * property-tested in test/unit/analytics/release.test.ts.
 *
 * - Quantile: the mean of the k order statistics centred on the quantile's rank, released only when that window
 *   lies inside the data (so p10/p90 need about 5k students), rounded to the released precision and moved to the
 *   nearest grid value that no fewer than k students hold: a released quantile never equals the value of fewer
 *   than k students (at the released precision).
 * - Histogram: fixed bin edges; adjacent bins are merged until every released bin holds at least k students.
 * - Share ("X% struggle"): released only when both the students counted and the rest are 0 or at least k.
 * - Mean (time to mastery): released only over at least k students.
 * - Differencing: a cell whose contributing students differ from an earlier release of the same period by 1 to
 *   k-1 students is withheld (`differencingCells`).
 */

export const QUANTILE_LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9] as const;
export type QuantileKey = 'p10' | 'p25' | 'p50' | 'p75' | 'p90';
export const QUANTILE_KEYS: readonly QuantileKey[] = ['p10', 'p25', 'p50', 'p75', 'p90'];
export type ReleasedQuantiles = Record<QuantileKey, number | null>;

/** Decimal digits of every released figure (the API's round()). */
export const RELEASE_DIGITS = 4;

const roundTo = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Released value of quantile `p` over `sorted` (ascending), or null when it may not be released. */
export function releaseQuantile(
  sorted: readonly number[],
  p: number,
  k: number,
  digits = RELEASE_DIGITS,
): number | null {
  const n = sorted.length;
  if (n < k || k < 1) return null;
  const lo = Math.round(p * (n - 1) - (k - 1) / 2);
  const hi = lo + k - 1;
  if (lo < 0 || hi > n - 1) return null;
  let sum = 0;
  for (let i = lo; i <= hi; i++) sum += sorted[i]!;
  return avoidSmallGroups(sum / k, sorted, k, digits);
}

/**
 * `x` rounded to `digits`, moved to the nearest grid value held (at that precision) by no student or by at least
 * k students. Ties between a lower and a higher candidate go to the lower one.
 */
export function avoidSmallGroups(
  x: number,
  values: readonly number[],
  k: number,
  digits = RELEASE_DIGITS,
): number {
  const step = 10 ** -digits;
  const held = new Map<number, number>();
  for (const v of values) {
    const r = roundTo(v, digits);
    held.set(r, (held.get(r) ?? 0) + 1);
  }
  const ok = (g: number) => {
    const c = held.get(g) ?? 0;
    return c === 0 || c >= k;
  };
  const base = roundTo(x, digits);
  if (ok(base)) return base;
  // At most values.length grid points are taken, so a free one lies within values.length steps.
  for (let i = 1; i <= values.length + 1; i++) {
    const down = roundTo(base - i * step, digits);
    const up = roundTo(base + i * step, digits);
    const dDown = Math.abs(x - down);
    const dUp = Math.abs(up - x);
    const order = dDown <= dUp ? [down, up] : [up, down];
    for (const g of order) if (ok(g)) return g;
  }
  return base; // unreachable
}

export function releaseQuantiles(values: readonly number[], k: number): ReleasedQuantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const out = {} as ReleasedQuantiles;
  QUANTILE_LEVELS.forEach((p, i) => (out[QUANTILE_KEYS[i]!] = releaseQuantile(sorted, p, k)));
  return out;
}

export type HistogramBin = { from: number; to: number; students: number };

/**
 * Counts per fixed bin ([edges[i], edges[i+1]); the last bin is closed and values beyond the edges fall in the
 * first or last bin), then adjacent bins merged from the low end until each holds at least k students; a remainder
 * below k joins the previous bin. Null when fewer than k values.
 */
export function releaseHistogram(
  values: readonly number[],
  edges: readonly number[],
  k: number,
): HistogramBin[] | null {
  if (values.length < k || edges.length < 2) return null;
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < bins - 1 && v >= edges[i + 1]!) i++;
    counts[i]!++;
  }
  const out: HistogramBin[] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < bins; i++) {
    acc += counts[i]!;
    if (acc >= k) {
      out.push({ from: edges[start]!, to: edges[i + 1]!, students: acc });
      start = i + 1;
      acc = 0;
    }
  }
  if (start < bins) {
    const last = out[out.length - 1]!; // exists: values.length >= k
    last.to = edges[bins]!;
    last.students += acc;
  }
  return out;
}

export type ReleasedShare = {
  share: number | null;
  students: number;
  withheld: null | 'fewer_than_k_each_side';
};

/** `count` of `total` students as a share, or withheld when either side holds 1 to k-1 students. */
export function releaseShare(count: number, total: number, k: number): ReleasedShare {
  const small = (c: number) => c > 0 && c < k;
  if (total < k || small(count) || small(total - count)) {
    return { share: null, students: total, withheld: 'fewer_than_k_each_side' };
  }
  return { share: roundTo(count / total, RELEASE_DIGITS), students: total, withheld: null };
}

/** Mean over `values`, or null below k values. */
export function releaseMean(values: readonly number[], k: number, digits = 1): number | null {
  if (values.length < k) return null;
  return roundTo(values.reduce((s, v) => s + v, 0) / values.length, digits);
}

/**
 * Cells to withhold in a new release, given the contributing-student counts per cell of the symmetric difference
 * between its population and an earlier release's population for the same period: a cell is withheld when 1 to
 * k-1 of the differing students contribute to it (subtracting the two answers would isolate fewer than k).
 */
export function differencingCells(differenceCounts: ReadonlyMap<string, number>, k: number): Set<string> {
  const out = new Set<string>();
  for (const [cell, c] of differenceCounts) if (c > 0 && c < k) out.add(cell);
  return out;
}

/** Percentile rank (0-100) of `v` among `sorted`: share below plus half the ties, rounded to 0.1. */
export function percentileRank(v: number, sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  let below = 0;
  let ties = 0;
  for (const x of sorted) {
    if (x < v) below++;
    else if (x === v) ties++;
  }
  return Math.round((1000 * (below + ties / 2)) / sorted.length) / 10;
}
