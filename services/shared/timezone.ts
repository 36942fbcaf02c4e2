/**
 * Time zones of events (the `time_zone` envelope field of every Avro family, an IANA name such as Europe/Berlin).
 *
 * Why an IANA name and not a UTC offset: it is what every runtime reports (Intl.DateTimeFormat().resolvedOptions()
 * .timeZone), and the offset at any instant, daylight saving included, follows from it exactly; an offset sent by
 * the client would be right only for the instant it was computed. Storage keeps both: the raw ClickHouse tables hold
 * the name and the offset at occurred_at (utc_offset_min, computed here by the sink), so SQL stays arithmetic on
 * 18.16 (which has no per-row time zone conversion).
 */

const MAX_ZONE_LENGTH = 64;
const ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = null;
    if (zone.length <= MAX_ZONE_LENGTH && ZONE_SHAPE.test(zone)) {
      try {
        f = new Intl.DateTimeFormat('en-US', {
          timeZone: zone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
        });
      } catch {
        f = null;
      }
    }
    if (formatters.size > 2_000) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** True for a time-zone name the runtime's IANA database knows (Europe/Berlin, Etc/GMT-5, UTC). */
export function isTimeZone(zone: unknown): zone is string {
  return typeof zone === 'string' && formatter(zone) !== null;
}

const offsets = new Map<string, number>();
const QUARTER_HOUR = 15 * 60_000;

/**
 * The zone's offset from UTC in minutes at the instant `ms` (east positive: Europe/Berlin in winter is 60), or
 * undefined for an unknown zone. Offsets change only at quarter-hour instants, so results are cached per zone and
 * quarter hour.
 */
export function utcOffsetMinutes(zone: string, ms: number): number | undefined {
  const f = formatter(zone);
  if (f === null || !Number.isFinite(ms)) return undefined;
  const slot = Math.floor(ms / QUARTER_HOUR);
  const key = `${zone}|${slot}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const at = slot * QUARTER_HOUR;
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!);
  const minutes = Math.round((wall - Math.floor(at / 60_000) * 60_000) / 60_000);
  if (offsets.size > 50_000) offsets.clear();
  offsets.set(key, minutes);
  return minutes;
}

/** The IANA name for a whole-hour offset east of UTC (+5 -> Etc/GMT-5: the Etc names have inverted signs). */
export function etcZoneOfOffsetHours(hours: number): string {
  if (!Number.isInteger(hours) || hours < -12 || hours > 14) throw new RangeError(`offset ${hours} h`);
  if (hours === 0) return 'Etc/UTC';
  return `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}
