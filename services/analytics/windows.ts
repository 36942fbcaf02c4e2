/**
 * Fixed calendar windows for cohort figures (services/analytics/README.md, "Differencing").
 *
 * A cohort figure is computed only over a whole calendar period: an ISO week (Monday-Sunday), a calendar month or a
 * calendar quarter, all UTC. Periods of one kind never overlap, so two answers never differ by a day or two of
 * data, and a period is released only once it is complete plus a grace for late events (offline phones): the
 * period is over when `end + grace <= now`. The default is the last such period of its kind; an earlier one may be
 * named (`2026-W10`, `2026-02`, `2026-Q1`), never the current one.
 */

export const WINDOW_KINDS = ['week', 'month', 'quarter'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

export type CalendarWindow = {
  kind: WindowKind;
  /** `YYYY-Www` (ISO week-numbering year), `YYYY-MM` or `YYYY-Qn`. */
  period: string;
  /** First and last day, inclusive (YYYY-MM-DD, UTC). */
  from: string;
  to: string;
};

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Start (ms, UTC midnight) of the period of `kind` holding instant `ms`. */
function periodStart(kind: WindowKind, ms: number): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (kind === 'month') return Date.UTC(y, m, 1);
  if (kind === 'quarter') return Date.UTC(y, m - (m % 3), 1);
  const midnight = Date.UTC(y, m, d.getUTCDate());
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7; // Monday 0
  return midnight - weekday * DAY;
}

/** Start of the next period after the one starting at `start`. */
function nextStart(kind: WindowKind, start: number): number {
  if (kind === 'week') return start + 7 * DAY;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + (kind === 'month' ? 1 : 3), 1);
}

function label(kind: WindowKind, start: number): string {
  const d = new Date(start);
  if (kind === 'month') return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
  if (kind === 'quarter') return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
  // ISO week: the week's Thursday decides the year; week 1 holds the year's first Thursday.
  const thursday = start + 3 * DAY;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY)) + 1;
  return `${year}-W${pad(week)}`;
}

function windowAt(kind: WindowKind, start: number): CalendarWindow {
  return { kind, period: label(kind, start), from: iso(start), to: iso(nextStart(kind, start) - DAY) };
}

/** The period of `kind` holding instant `ms` (complete or not). */
export function windowOf(kind: WindowKind, ms: number): CalendarWindow {
  return windowAt(kind, periodStart(kind, ms));
}

/** True when the period is complete plus the grace at `nowMs`. */
export function isReleasable(w: CalendarWindow, nowMs: number, graceMs: number): boolean {
  return Date.parse(`${w.to}T00:00:00Z`) + DAY + graceMs <= nowMs;
}

/** The last period of `kind` that is complete (its end plus `graceMs` at or before `nowMs`). */
export function lastCompleteWindow(kind: WindowKind, nowMs: number, graceMs: number): CalendarWindow {
  const current = periodStart(kind, nowMs - graceMs);
  return windowAt(kind, periodStart(kind, current - DAY));
}

/** The window a period label names, or null when the label is malformed or names no real period. */
export function parsePeriod(kind: WindowKind, period: string): CalendarWindow | null {
  let start: number;
  if (kind === 'month') {
    const m = /^(\d{4})-(\d{2})$/.exec(period);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return null;
    start = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
  } else if (kind === 'quarter') {
    const m = /^(\d{4})-Q([1-4])$/.exec(period);
    if (!m) return null;
    start = Date.UTC(Number(m[1]), (Number(m[2]) - 1) * 3, 1);
  } else {
    const m = /^(\d{4})-W(\d{2})$/.exec(period);
    if (!m || Number(m[2]) < 1) return null;
    const jan4 = Date.UTC(Number(m[1]), 0, 4); // always in ISO week 1
    start = periodStart('week', jan4) + (Number(m[2]) - 1) * 7 * DAY;
  }
  const w = windowAt(kind, start);
  return w.period === period ? w : null; // e.g. 2026-W53 does not exist
}

/**
 * The fixed window a legacy `days` value stands for: 1-7 the last complete week, 8-31 the last complete month,
 * 32-365 the last complete quarter. `days` never moves a window's start.
 */
export function windowKindForDays(days: number): WindowKind {
  return days <= 7 ? 'week' : days <= 31 ? 'month' : 'quarter';
}

/** Number of weeks in the window (per-week rates). */
export function windowWeeks(w: CalendarWindow): number {
  return (Date.parse(`${w.to}T00:00:00Z`) - Date.parse(`${w.from}T00:00:00Z`) + DAY) / (7 * DAY);
}
