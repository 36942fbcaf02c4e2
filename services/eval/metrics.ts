/** Scoring rules for probabilistic predictions of binary outcomes (pure). */

export type Prediction = { p: number; y: boolean };

const EPS = 1e-6;
const clampP = (p: number): number => Math.min(1 - EPS, Math.max(EPS, p));
/** Logit bounded to ±ln(999) (p in [0.001, 0.999]): a recalibration must not be dominated by p = 0 or 1. */
export const boundedLogit = (p: number): number => {
  const q = Math.min(0.999, Math.max(0.001, p));
  return Math.log(q / (1 - q));
};

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

/**
 * Reliability table with `bins` equal-mass bins: predictions sorted by p and cut into bins of (nearly) equal
 * count; ties are kept together (a bin never splits equal predictions, so a constant predictor has one bin).
 */
export function equalMassBuckets(preds: readonly Prediction[], bins = 10): Bucket[] {
  const sorted = [...preds].sort((a, b) => a.p - b.p);
  const out: Bucket[] = [];
  let start = 0;
  for (let k = 1; k <= bins && start < sorted.length; k++) {
    let end = k === bins ? sorted.length : Math.round((k * sorted.length) / bins);
    if (end <= start) continue;
    while (end < sorted.length && sorted[end]?.p === sorted[end - 1]?.p) end++;
    let predicted = 0;
    let observed = 0;
    for (let i = start; i < end; i++) {
      const x = sorted[i] as Prediction;
      predicted += x.p;
      observed += x.y ? 1 : 0;
    }
    const n = end - start;
    out.push({
      from: (sorted[start] as Prediction).p,
      to: (sorted[end - 1] as Prediction).p,
      n,
      predicted: predicted / n,
      observed: observed / n,
    });
    start = end;
  }
  return out;
}

/** Expected calibration error: n-weighted mean |predicted - observed| over the buckets. */
export function ece(buckets: readonly Bucket[]): number {
  const n = buckets.reduce((s, b) => s + b.n, 0);
  if (n === 0) return NaN;
  return buckets.reduce((s, b) => s + (b.n / n) * Math.abs(b.predicted - b.observed), 0);
}

/**
 * Logistic recalibration y ~ σ(intercept + slope · logit(p)) by Newton's method (maximum likelihood). A perfectly
 * calibrated predictor has slope 1 and intercept 0; slope < 1 means overconfident. A constant predictor has no
 * slope (NaN).
 */
export function calibrationFit(
  preds: readonly Prediction[],
  iterations = 25,
): { slope: number; intercept: number } {
  let a = 0;
  let b = 1;
  const xs = preds.map((x) => boundedLogit(x.p));
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const spread = hi - lo;
  if (preds.length === 0 || !(spread > 1e-9)) return { slope: NaN, intercept: NaN };
  for (let it = 0; it < iterations; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < preds.length; i++) {
      const x = xs[i] as number;
      const q = 1 / (1 + Math.exp(-(a + b * x)));
      const r = (preds[i]?.y ? 1 : 0) - q;
      const w = q * (1 - q);
      ga += r;
      gb += r * x;
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-12)) break;
    // Newton step, limited to one logit per iteration so separated or extreme inputs cannot diverge.
    const da = Math.max(-1, Math.min(1, (hbb * ga - hab * gb) / det));
    const db = Math.max(-1, Math.min(1, (haa * gb - hab * ga) / det));
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { slope: b, intercept: a };
}

/** Share of the log-loss gap between the constant predictor and the Bayes ceiling that a model closes. */
export function gapClosed(llConstant: number, llModel: number, llBayes: number): number {
  const gap = llConstant - llBayes;
  return gap > 0 ? (llConstant - llModel) / gap : NaN;
}

export type Scores = {
  n: number;
  logLoss: number;
  brier: number;
  auc: number;
  ece: number;
  slope: number;
  intercept: number;
};

export function scoreAll(preds: readonly Prediction[], bins = 10): Scores {
  const fit = calibrationFit(preds);
  return {
    n: preds.length,
    logLoss: logLoss(preds),
    brier: brier(preds),
    auc: auc(preds),
    ece: ece(equalMassBuckets(preds, bins)),
    slope: fit.slope,
    intercept: fit.intercept,
  };
}

export type Interval = [number, number];
export type ScoreIntervals = { logLoss: Interval; brier: Interval; auc: Interval; ece: Interval };

/** Deterministic uniform [0, 1) stream (mulberry32) for the bootstrap. */
export function uniformStream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quantile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
};

/**
 * 95% percentile-bootstrap intervals, resampling whole groups (students) with replacement `resamples` times.
 * Log loss and Brier are exact per resample (sums per group); AUC and ECE use a histogram per group of the
 * predictions in `grid` cells of their rank among all predictions (rankCells: equal predictions share a cell), which
 * keeps a resample O(groups x grid) instead of a sort.
 */
export function bootstrapIntervals(
  groups: ReadonlyArray<readonly Prediction[]>,
  resamples = 200,
  seed = 1,
  grid = 400,
  bins = 10,
): ScoreIntervals {
  const G = groups.length;
  const ll = new Float64Array(G);
  const br = new Float64Array(G);
  const n = new Float64Array(G);
  const pos: Float64Array[] = [];
  const neg: Float64Array[] = [];
  const psum: Float64Array[] = [];
  const cell = rankCells(groups, grid);
  groups.forEach((g, i) => {
    const hp = new Float64Array(grid + 1);
    const hn = new Float64Array(grid + 1);
    const hs = new Float64Array(grid + 1);
    const cells = cell[i] as Int32Array;
    g.forEach(({ p, y }, j) => {
      ll[i] = (ll[i] as number) - (y ? Math.log(clampP(p)) : Math.log(1 - clampP(p)));
      br[i] = (br[i] as number) + (p - (y ? 1 : 0)) ** 2;
      const k = cells[j] as number;
      if (y) hp[k] = (hp[k] as number) + 1;
      else hn[k] = (hn[k] as number) + 1;
      hs[k] = (hs[k] as number) + p;
    });
    n[i] = g.length;
    pos.push(hp);
    neg.push(hn);
    psum.push(hs);
  });
  const rand = uniformStream(seed);
  const out = { logLoss: [] as number[], brier: [] as number[], auc: [] as number[], ece: [] as number[] };
  const hp = new Float64Array(grid + 1);
  const hn = new Float64Array(grid + 1);
  const hs = new Float64Array(grid + 1);
  for (let r = 0; r < resamples && G > 0; r++) {
    hp.fill(0);
    hn.fill(0);
    hs.fill(0);
    let sLl = 0;
    let sBr = 0;
    let sN = 0;
    for (let j = 0; j < G; j++) {
      const i = Math.floor(rand() * G);
      sLl += ll[i] as number;
      sBr += br[i] as number;
      sN += n[i] as number;
      const a = pos[i] as Float64Array;
      const b = neg[i] as Float64Array;
      const c = psum[i] as Float64Array;
      for (let k = 0; k <= grid; k++) {
        hp[k] = (hp[k] as number) + (a[k] as number);
        hn[k] = (hn[k] as number) + (b[k] as number);
        hs[k] = (hs[k] as number) + (c[k] as number);
      }
    }
    if (sN === 0) continue;
    out.logLoss.push(sLl / sN);
    out.brier.push(sBr / sN);
    out.auc.push(histogramAuc(hp, hn));
    out.ece.push(histogramEce(hp, hn, hs, bins));
  }
  const ci = (xs: number[]): Interval => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return [quantile(s, 0.025), quantile(s, 0.975)];
  };
  return { logLoss: ci(out.logLoss), brier: ci(out.brier), auc: ci(out.auc), ece: ci(out.ece) };
}

/**
 * Cell of every prediction (per group, in order) by its rank among all predictions: `grid` + 1 cells of (nearly)
 * equal count, equal predictions always in one cell. Ranking keeps the order of predictions that crowd one end of
 * the scale (a recall curve near 1), which cells of fixed width would merge.
 */
export function rankCells(groups: ReadonlyArray<readonly Prediction[]>, grid: number): Int32Array[] {
  const all: Array<{ p: number; g: number; j: number }> = [];
  groups.forEach((g, gi) => g.forEach((x, j) => all.push({ p: x.p, g: gi, j })));
  all.sort((a, b) => a.p - b.p);
  const out = groups.map((g) => new Int32Array(g.length));
  let cell = 0;
  for (let i = 0; i < all.length; i++) {
    const x = all[i] as { p: number; g: number; j: number };
    if (i > 0 && x.p !== (all[i - 1] as { p: number }).p) cell = Math.floor((i * (grid + 1)) / all.length);
    (out[x.g] as Int32Array)[x.j] = cell;
  }
  return out;
}

/** Histogram cell of p on the bounded-logit scale (monotone, so ranks within cells are the only ties added). */
export function cellOf(p: number, grid: number): number {
  const x = boundedLogit(p);
  const max = Math.log(999);
  return Math.min(grid, Math.max(0, Math.round(((x + max) / (2 * max)) * grid)));
}

/** AUC from histograms of positives and negatives over ordered score cells (ties within a cell count half). */
export function histogramAuc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let negBelow = 0;
  let num = 0;
  let P = 0;
  let N = 0;
  for (let k = 0; k < pos.length; k++) {
    const p = pos[k] as number;
    const q = neg[k] as number;
    num += p * (negBelow + q / 2);
    negBelow += q;
    P += p;
    N += q;
  }
  return P > 0 && N > 0 ? num / (P * N) : NaN;
}

/** ECE with equal-mass bins over histogram cells (cells are never split). */
export function histogramEce(
  pos: ArrayLike<number>,
  neg: ArrayLike<number>,
  psum: ArrayLike<number>,
  bins: number,
): number {
  let total = 0;
  for (let k = 0; k < pos.length; k++) total += (pos[k] as number) + (neg[k] as number);
  if (total === 0) return NaN;
  let err = 0;
  let binN = 0;
  let binP = 0;
  let binY = 0;
  let done = 0;
  let b = 1;
  for (let k = 0; k < pos.length; k++) {
    const c = (pos[k] as number) + (neg[k] as number);
    binN += c;
    binP += psum[k] as number;
    binY += pos[k] as number;
    done += c;
    if (done >= (b * total) / bins || k === pos.length - 1) {
      if (binN > 0) err += Math.abs(binP - binY);
      binN = 0;
      binP = 0;
      binY = 0;
      while (done >= (b * total) / bins) b++;
    }
  }
  return err / total;
}
