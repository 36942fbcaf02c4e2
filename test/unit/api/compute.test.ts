import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addDays,
  band,
  histogram,
  isoFromMs,
  median,
  mondayOf,
  slope,
  streaks,
  weekly,
} from '../../../services/analytics-api/compute.ts';
import { entryKey } from '../../../services/analytics-api/cache.ts';
import { usersInMessage } from '../../../services/analytics-api/invalidation.ts';
import { invalidationMessages } from '../../../services/stream/runtime/invalidation.ts';

describe('streaks', () => {
  it('counts the run ending today, or yesterday while today has no activity yet', () => {
    expect(streaks([], '2026-03-10')).toEqual({ current: 0, longest: 0, lastActiveDay: null });
    expect(streaks(['2026-03-08', '2026-03-09', '2026-03-10'], '2026-03-10').current).toBe(3);
    expect(streaks(['2026-03-08', '2026-03-09'], '2026-03-10').current).toBe(2);
    expect(streaks(['2026-03-07', '2026-03-08'], '2026-03-10').current).toBe(0);
    expect(streaks(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-05'], '2026-03-05')).toEqual({
      current: 1,
      longest: 3,
      lastActiveDay: '2026-03-05',
    });
  });

  it('is at most the longest, and the longest at most the number of days (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }), (offsets) => {
        const days = offsets.map((o) => addDays('2026-01-01', o));
        const s = streaks(days, '2026-03-01');
        expect(s.current).toBeLessThanOrEqual(s.longest);
        expect(s.longest).toBeLessThanOrEqual(days.length);
      }),
    );
  });
});

describe('calendar helpers', () => {
  it('finds ISO Mondays across month and year ends', () => {
    expect(mondayOf('2026-01-01')).toBe('2025-12-29');
    expect(mondayOf('2026-03-02')).toBe('2026-03-02');
    expect(mondayOf('2026-03-08')).toBe('2026-03-02');
  });
  it('groups days into zero-filled weeks', () => {
    const w = weekly(
      [
        { day: '2026-03-02', questions: 10, correct: 5, activeMs: 600_000 },
        { day: '2026-03-04', questions: 2, correct: 2, activeMs: 60_000 },
        { day: '2026-03-17', questions: 1, correct: 0, activeMs: 0 },
      ],
      '2026-03-01',
      '2026-03-18',
    );
    expect(w.map((x) => [x.week, x.questions, x.correct, x.activeMinutes, x.activeDays])).toEqual([
      ['2026-02-23', 0, 0, 0, 0],
      ['2026-03-02', 12, 7, 11, 2],
      ['2026-03-09', 0, 0, 0, 0],
      ['2026-03-16', 1, 0, 0, 1],
    ]);
  });
});

describe('isoFromMs', () => {
  it('formats exactly like Date#toISOString (property, years 0-9999 and beyond)', () => {
    for (const ms of [0, -1, 1.9, -1.9, 951_782_400_000, 4_107_542_399_999, -62_167_219_200_000]) {
      expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    }
    fc.assert(
      fc.property(fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true }), (ms) => {
        expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
  });
});

describe('small statistics', () => {
  it('bands, histogram, median, slope', () => {
    expect([band(0.8), band(0.79), band(0.5), band(0.49)]).toEqual([
      'mastered',
      'developing',
      'developing',
      'weak',
    ]);
    expect(histogram([0, 14.9, 15, 200], [0, 15, 30]).map((b) => b.count)).toEqual([2, 1, 1]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(slope([1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([5])).toBeNull();
  });
});

describe('cache keys and invalidation messages', () => {
  it('builds keys from sorted parameters, without the user parameter', () => {
    expect(entryKey('mastery-topic', { user: 's1' }, 'v1.v2', { topic: 'a.b', days: 30, user: 's1' })).toBe(
      'api:c:mastery-topic:u=s1:v1.v2:days=30&topic=a.b',
    );
    expect(entryKey('cohort-topics', { other: 'cohort=c1' }, 'e', { limit: 5, days: 7 })).toBe(
      'api:c:cohort-topics:o=cohort=c1:e:days=7&limit=5',
    );
  });
  it('reads user ids from plain and JSON messages and ignores anything else', () => {
    expect(usersInMessage('s1')).toEqual(['s1']);
    expect(usersInMessage('{"users":["a","b","bad id"]}')).toEqual(['a', 'b']);
    // Only the shapes the one writer sends (shared/invalidation.ts): other spellings are ignored.
    expect(usersInMessage('{"user_id":"s2"}')).toEqual([]);
    expect(usersInMessage('["x","y"]')).toEqual([]);
    expect(usersInMessage("s1' OR 1=1")).toEqual([]);
    expect(usersInMessage('{}')).toEqual([]);
  });
  it("the processors' messages announce exactly their students, a few plainly, many in JSON chunks", () => {
    expect(invalidationMessages(['a', 'b'])).toEqual(['a', 'b']);
    const many = Array.from({ length: 2500 }, (_, i) => `stu-${i}`);
    expect(invalidationMessages(many)).toHaveLength(3);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), { maxLength: 2500 }),
        (users) => {
          expect(invalidationMessages(users).flatMap(usersInMessage)).toEqual(users);
        },
      ),
      { numRuns: 30 },
    );
  });
});
