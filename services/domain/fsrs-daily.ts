/**
 * FSRS-6 on a topic, updated once per study day (pure; the formulas of the FSRS-6 algorithm as the open
 * srs-benchmark and ts-fsrs define them, with the weights as a parameter so they can be fitted).
 *
 * A topic gets many answers per session; FSRS is a model of reviews, so only the first answer on the topic of each
 * UTC day is a review (rating Again when wrong, Good when right, the benchmark's convention); later answers that
 * day do not move the state. Predicted recall at time t: R = (1 + factor·Δt/S)^(−decay), Δt in days since the
 * last review, factor = 0.9^(−1/decay) − 1, so R(S) = 0.9.
 */

/** ts-fsrs v5 default FSRS-6 weights (fitted to Anki users, not to this population). */
export const FSRS6_DEFAULT_W: readonly number[] = [
  0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796, 1.4835, 0.0614, 0.2629,
  1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
];

export interface DailyFsrsState {
  s: number;
  d: number;
  /** UTC day (days since epoch) and time of the last review. */
  day: number;
  lastAt: number;
}

const DAY_MS = 86_400_000;
const S_MIN = 0.001;
const S_MAX = 36_500;

export function dailyRecall(
  state: DailyFsrsState | null,
  atMs: number,
  w: readonly number[] = FSRS6_DEFAULT_W,
): number {
  if (state === null) return NaN;
  const decay = w[20] as number;
  const factor = Math.pow(0.9, -1 / decay) - 1;
  const t = Math.max(0, atMs - state.lastAt) / DAY_MS;
  return Math.pow(1 + (factor * t) / state.s, -decay);
}

const clampD = (d: number): number => Math.min(10, Math.max(1, d));
const initD = (g: number, w: readonly number[]): number =>
  (w[4] as number) - Math.exp((w[5] as number) * (g - 1)) + 1;

/** The state after an answer at `atMs`; only the first answer of a UTC day is a review. */
export function dailyReview(
  state: DailyFsrsState | null,
  atMs: number,
  correct: boolean,
  w: readonly number[] = FSRS6_DEFAULT_W,
): DailyFsrsState {
  const day = Math.floor(atMs / DAY_MS);
  const g = correct ? 3 : 1;
  if (state === null)
    return { s: Math.max(S_MIN, w[g - 1] as number), d: clampD(initD(g, w)), day, lastAt: atMs };
  if (day <= state.day) return state;
  const r = dailyRecall(state, atMs, w);
  const { s, d } = state;
  let next: number;
  if (correct)
    next =
      s *
      (1 +
        Math.exp(w[8] as number) *
          (11 - d) *
          Math.pow(s, -(w[9] as number)) *
          (Math.exp((w[10] as number) * (1 - r)) - 1));
  else
    next = Math.min(
      s,
      (w[11] as number) *
        Math.pow(d, -(w[12] as number)) *
        (Math.pow(s + 1, w[13] as number) - 1) *
        Math.exp((w[14] as number) * (1 - r)),
    );
  const delta = -(w[6] as number) * (g - 3);
  const damped = d + (delta * (10 - d)) / 9;
  const nd = clampD((w[7] as number) * initD(4, w) + (1 - (w[7] as number)) * damped);
  return { s: Math.min(S_MAX, Math.max(S_MIN, next)), d: nd, day, lastAt: atMs };
}

/** Days until recall falls to `retention` (the interval FSRS schedules at that target retention). */
export function dailyInterval(
  state: DailyFsrsState,
  retention: number,
  w: readonly number[] = FSRS6_DEFAULT_W,
): number {
  const decay = w[20] as number;
  const factor = Math.pow(0.9, -1 / decay) - 1;
  return (state.s / factor) * (Math.pow(retention, -1 / decay) - 1);
}
