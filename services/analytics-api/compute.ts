/**
 * Pure computations behind the endpoints (unit-tested in test/unit/api/compute.test.ts): streaks, mastery bands,
 * histograms, weekly velocity. Inputs are plain rows already read from the stores.
 */

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of an epoch-ms instant, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
}

/** Monday (UTC) of the week holding `day`. */
export function mondayOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return addDays(day, -back);
}

export type Streak = { current: number; longest: number; lastActiveDay: string | null };

/**
 * Study streak over distinct active days (ascending or not). The current streak counts consecutive active days
 * ending today, or ending yesterday when today has no activity yet (the streak is still alive until midnight).
 * `longest` is the longest run within the days given.
 */
export function streaks(activeDays: readonly string[], today: string): Streak {
  const days = [...new Set(activeDays)].filter((d) => d <= today).sort();
  if (days.length === 0) return { current: 0, longest: 0, lastActiveDay: null };
  let longest = 1;
  let run = 1;
  for (let i = 1; i < days.length; i++) {
    run = addDays(days[i - 1]!, 1) === days[i] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  const set = new Set(days);
  let cursor = set.has(today) ? today : addDays(today, -1);
  let current = 0;
  while (set.has(cursor)) {
    current++;
    cursor = addDays(cursor, -1);
  }
  return { current, longest, lastActiveDay: days[days.length - 1]! };
}

/** Mastery bands: mastered >= 0.8, developing >= 0.5, weak below. */
export const MASTERED = 0.8;
export const DEVELOPING = 0.5;

export type Band = 'mastered' | 'developing' | 'weak';
export function band(score: number): Band {
  if (score >= MASTERED) return 'mastered';
  if (score >= DEVELOPING) return 'developing';
  return 'weak';
}

/** Counts of values in [edges[i], edges[i+1]); the last bucket is open-ended. */
export function histogram(
  values: readonly number[],
  edges: readonly number[],
): Array<{ from: number; to: number | null; count: number }> {
  const buckets = edges.map((from, i) => ({
    from,
    to: i + 1 < edges.length ? edges[i + 1]! : null,
    count: 0,
  }));
  for (const v of values) {
    for (let i = buckets.length - 1; i >= 0; i--) {
      if (v >= buckets[i]!.from) {
        buckets[i]!.count++;
        break;
      }
    }
  }
  return buckets;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function meanOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Least-squares slope of y over x = 0..n-1; null below two points. */
export function slope(ys: readonly number[]): number | null {
  const n = ys.length;
  if (n < 2) return null;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export type WeekRow = {
  week: string;
  questions: number;
  correct: number;
  activeMinutes: number;
  activeDays: number;
};

/** Groups daily rows into ISO weeks (Monday, UTC) from the week of `from` to the week of `to`, zero-filled. */
export function weekly(
  days: ReadonlyArray<{ day: string; questions: number; correct: number; activeMs: number }>,
  from: string,
  to: string,
): WeekRow[] {
  const weeks = new Map<string, WeekRow>();
  for (let w = mondayOf(from); w <= to; w = addDays(w, 7)) {
    weeks.set(w, { week: w, questions: 0, correct: 0, activeMinutes: 0, activeDays: 0 });
  }
  for (const d of days) {
    const row = weeks.get(mondayOf(d.day));
    if (!row) continue;
    row.questions += d.questions;
    row.correct += d.correct;
    row.activeMinutes += d.activeMs / 60_000;
    row.activeDays += 1;
  }
  return [...weeks.values()].map((r) => ({ ...r, activeMinutes: Math.round(r.activeMinutes * 10) / 10 }));
}

export function round(x: number | null, digits = 4): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
