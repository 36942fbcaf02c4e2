import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { etcZoneOfOffsetHours, isTimeZone, utcOffsetMinutes } from '../../../services/shared/timezone.ts';

describe('time zones', () => {
  it('knows IANA names and refuses others', () => {
    for (const z of ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT-5', 'UTC']) {
      expect(isTimeZone(z)).toBe(true);
    }
    for (const z of ['', 'Mars/Olympus', '+05:00', 'Europe/Berlin; DROP', 'x'.repeat(80), 5, null]) {
      expect(isTimeZone(z)).toBe(false);
    }
  });

  it('computes the offset at an instant, daylight saving included', () => {
    expect(utcOffsetMinutes('Europe/Berlin', Date.UTC(2026, 0, 15, 12))).toBe(60);
    expect(utcOffsetMinutes('Europe/Berlin', Date.UTC(2026, 6, 15, 12))).toBe(120);
    expect(utcOffsetMinutes('America/New_York', Date.UTC(2026, 0, 15, 12))).toBe(-300);
    expect(utcOffsetMinutes('Asia/Kolkata', Date.UTC(2026, 6, 15, 12))).toBe(330);
    expect(utcOffsetMinutes('Etc/UTC', Date.UTC(2026, 6, 15, 12, 7))).toBe(0);
    // Berlin switches to summer time at 2026-03-29 01:00 UTC
    expect(utcOffsetMinutes('Europe/Berlin', Date.UTC(2026, 2, 29, 0, 59))).toBe(60);
    expect(utcOffsetMinutes('Europe/Berlin', Date.UTC(2026, 2, 29, 1, 0))).toBe(120);
    expect(utcOffsetMinutes('Nowhere/Land', Date.now())).toBeUndefined();
  });

  it('maps whole-hour offsets to Etc zones whose offset is that many hours', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -12, max: 14 }),
        fc.integer({ min: 946_684_800_000, max: 4e12 }),
        (h, ms) => {
          expect(utcOffsetMinutes(etcZoneOfOffsetHours(h), ms)).toBe(h * 60);
        },
      ),
    );
    expect(() => etcZoneOfOffsetHours(1.5)).toThrow(RangeError);
  });
});
