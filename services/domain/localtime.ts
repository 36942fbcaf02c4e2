/**
 * Time-of-day and weekday figures in the student's local time (pure).
 *
 * Events carry the student's time zone since the schemas' second version (services/shared/timezone.ts); their
 * cells are already keyed by local weekday and hour. Events without one (older producers, history stored before)
 * are keyed by UTC weekday and hour and get the documented fallback: shifted by the student's most recent known UTC
 * offset, rounded to whole hours (exact for whole-hour zones; for the few half-hour zones an old event may land in
 * the neighbouring hour), or left in UTC when the student never sent a zone.
 */

export type HourCell = { weekday: number; hour: number; events: number; questions: number; activeMs: number };
export type ZonedHourCell = HourCell & { tzKnown: boolean };

export type LocalFallback = {
  /** Offset applied to events without a zone (minutes east of UTC), 0 when the zone is unknown. */
  offsetMinutes: number;
  source: 'latest-known-zone' | 'utc';
};

export function fallbackOf(latestKnownOffsetMinutes: number | null): LocalFallback {
  return latestKnownOffsetMinutes === null
    ? { offsetMinutes: 0, source: 'utc' }
    : { offsetMinutes: latestKnownOffsetMinutes, source: 'latest-known-zone' };
}

/** ISO weekday (1 = Monday .. 7) and hour shifted by whole hours, wrapping around the week. */
export function shiftWeekHour(
  weekday: number,
  hour: number,
  hours: number,
): { weekday: number; hour: number } {
  const index = (weekday - 1) * 24 + hour + hours;
  const wrapped = ((index % 168) + 168) % 168;
  return { weekday: Math.floor(wrapped / 24) + 1, hour: wrapped % 24 };
}

/** Merges zoned and fallback-shifted cells into one local heatmap, sorted by weekday and hour. */
export function localHeatmap(cells: readonly ZonedHourCell[], fallback: LocalFallback): HourCell[] {
  const shift = Math.round(fallback.offsetMinutes / 60);
  const out = new Map<number, HourCell>();
  for (const c of cells) {
    const at = c.tzKnown ? { weekday: c.weekday, hour: c.hour } : shiftWeekHour(c.weekday, c.hour, shift);
    const key = (at.weekday - 1) * 24 + at.hour;
    const cell = out.get(key);
    if (cell) {
      cell.events += c.events;
      cell.questions += c.questions;
      cell.activeMs += c.activeMs;
    } else {
      out.set(key, { ...at, events: c.events, questions: c.questions, activeMs: c.activeMs });
    }
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
}
