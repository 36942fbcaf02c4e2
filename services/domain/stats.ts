/** Small, dependency-free statistics helpers shared by the domain modules. */

export interface Interval {
  lower: number;
  upper: number;
}

/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export function clamp01(value: number): number {
  return clamp(value, 0, 1);
}

/** Arithmetic mean; undefined for an empty list. */
export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Sample standard deviation (n - 1 denominator); undefined below two values. */
export function sampleStddev(values: readonly number[]): number | undefined {
  if (values.length < 2) return undefined;
  const average = mean(values) as number;
  let squares = 0;
  for (const value of values) squares += (value - average) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** Weighted mean; undefined when there is nothing to weigh (empty list or all weights zero). */
export function weightedMean(items: readonly { value: number; weight: number }[]): number | undefined {
  let weightSum = 0;
  let sum = 0;
  for (const { value, weight } of items) {
    if (weight <= 0) continue;
    weightSum += weight;
    sum += value * weight;
  }
  return weightSum > 0 ? sum / weightSum : undefined;
}

/**
 * Exponentially weighted moving average: alpha is the weight of the new value.
 * The first observation seeds the average.
 */
export function ewma(previous: number | undefined, value: number, alpha: number): number {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`ewma alpha must be in (0, 1], got ${alpha}`);
  return previous === undefined ? value : previous + alpha * (value - previous);
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927; recommended over the Wald
 * interval by Brown, Cai & DasGupta 2001 because it behaves at small n and near 0 or 1).
 * With no trials nothing is known, so the interval is [0, 1]. The interval always contains
 * the observed proportion successes / n.
 */
export function wilsonInterval(successes: number, n: number, z: number = Z_95): Interval {
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = clamp01(successes / n);
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { lower: clamp01(Math.min(p, centre - halfWidth)), upper: clamp01(Math.max(p, centre + halfWidth)) };
}

// Lanczos approximation (g = 7, n = 9), accurate to ~15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let series = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) series += (LANCZOS[i] as number) / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(series);
}

// Continued fraction for the incomplete beta function (Numerical Recipes, 3rd ed., section 6.4, modified Lentz).
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return result;
}

/** Regularized incomplete beta I_x(a, b): the CDF of Beta(a, b) at x. */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(logFront);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Quantile of Beta(a, b) by bisection: deterministic and monotone, precise to ~1e-12. */
export function betaQuantile(probability: number, a: number, b: number): number {
  if (probability <= 0) return 0;
  if (probability >= 1) return 1;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (betaCdf(mid, a, b) < probability) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

export interface BetaIntervalOptions {
  /** Prior pseudo-successes; 1 with priorBeta 1 is the uniform prior. */
  priorAlpha?: number;
  priorBeta?: number;
  /** Central credible mass, default 0.95. */
  level?: number;
}

/**
 * Equal-tailed credible interval of the Beta posterior for a success rate
 * (posterior Beta(priorAlpha + successes, priorBeta + failures)), with its posterior mean.
 */
export function betaInterval(
  successes: number,
  failures: number,
  options: BetaIntervalOptions = {},
): Interval & { mean: number } {
  const a = (options.priorAlpha ?? 1) + successes;
  const b = (options.priorBeta ?? 1) + failures;
  const tail = (1 - (options.level ?? 0.95)) / 2;
  return { lower: betaQuantile(tail, a, b), upper: betaQuantile(1 - tail, a, b), mean: a / (a + b) };
}

/**
 * Percentile rank (0..100) of value within an ascending list, using the mean-rank definition:
 * the share of values strictly below plus half the share of ties. A value equal to every
 * element is the 50th percentile; undefined for an empty population.
 */
export function percentileRank(value: number, sortedValues: readonly number[]): number | undefined {
  const n = sortedValues.length;
  if (n === 0) return undefined;
  const below = lowerBound(sortedValues, value);
  const notAbove = upperBound(sortedValues, value);
  return ((below + (notAbove - below) / 2) / n) * 100;
}

/** First index whose element is >= value. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** First index whose element is > value. */
function upperBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}
