/**
 * Pure computations behind the endpoints (unit-tested in test/unit/api/compute.test.ts): streaks, mastery bands,
 * histograms, weekly velocity. Inputs are plain rows already read from the stores.
 */

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of an epoch-ms instant, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * `new Date(ms).toISOString()` for instants in years 0-9999, about 4x faster (a full mastery list formats ~500
 * timestamps per request): civil date from the day number (H. Hinnant's days_from_civil inverse), fixed widths.
 */
export function isoFromMs(ms: number): string {
  const t = Math.trunc(ms);
  if (t < -62_167_219_200_000 || t > 253_402_300_799_999) return new Date(t).toISOString();
  const days = Math.floor(t / DAY_MS);
  let rest = t - days * DAY_MS;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(milli, 3)}Z`;
}

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
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
  // Day numbers (days since the epoch): consecutive days differ by 1, no date formatting in the loops.
  const numbers = days.map(dayNumber);
  let longest = 1;
  let run = 1;
  for (let i = 1; i < numbers.length; i++) {
    run = numbers[i - 1]! + 1 === numbers[i] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  const set = new Set(numbers);
  const todayNumber = dayNumber(today);
  let cursor = set.has(todayNumber) ? todayNumber : todayNumber - 1;
  let current = 0;
  while (set.has(cursor)) {
    current++;
    cursor--;
  }
  return { current, longest, lastActiveDay: days[days.length - 1]! };
}

/** Days since 1970-01-01 of a 'YYYY-MM-DD' UTC day. */
function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
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
