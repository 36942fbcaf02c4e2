/** Scoring rules for probabilistic predictions of binary outcomes (pure). */

export type Prediction = { p: number; y: boolean };

const EPS = 1e-6;
const clampP = (p: number): number => Math.min(1 - EPS, Math.max(EPS, p));

export function logLoss(preds: readonly Prediction[]): number {
  let sum = 0;
  for (const { p, y } of preds) sum -= y ? Math.log(clampP(p)) : Math.log(1 - clampP(p));
  return preds.length === 0 ? NaN : sum / preds.length;
}

export function brier(preds: readonly Prediction[]): number {
  let sum = 0;
  for (const { p, y } of preds) sum += (p - (y ? 1 : 0)) ** 2;
  return preds.length === 0 ? NaN : sum / preds.length;
}

/** Area under the ROC curve (Mann-Whitney, ties counted half). */
export function auc(preds: readonly Prediction[]): number {
  const sorted = [...preds].sort((a, b) => a.p - b.p);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && sorted[j]?.p === sorted[i]?.p) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++)
      if (sorted[k]?.y) {
        positives++;
        rankSum += avgRank;
      }
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export type Bucket = { from: number; to: number; n: number; predicted: number; observed: number };

/** Reliability table: predictions in `bins` equal-width bins, mean predicted vs observed rate. */
export function calibration(preds: readonly Prediction[], bins = 10): Bucket[] {
  const out: Bucket[] = Array.from({ length: bins }, (_, i) => ({
    from: i / bins,
    to: (i + 1) / bins,
    n: 0,
    predicted: 0,
    observed: 0,
  }));
  for (const { p, y } of preds) {
    const b = out[Math.min(bins - 1, Math.floor(p * bins))] as Bucket;
    b.n++;
    b.predicted += p;
    b.observed += y ? 1 : 0;
  }
  for (const b of out)
    if (b.n > 0) {
      b.predicted /= b.n;
      b.observed /= b.n;
    }
  return out;
}

/** Expected calibration error: n-weighted mean |predicted - observed| over the buckets. */
export function ece(buckets: readonly Bucket[]): number {
  const n = buckets.reduce((s, b) => s + b.n, 0);
  return buckets.reduce((s, b) => s + (b.n / n) * Math.abs(b.predicted - b.observed), 0);
}
