import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  benjaminiHochberg,
  computeInsights,
  normalCdf,
  twoProportionTest,
  type InsightAttempt,
  type InsightKind,
} from '../../../services/domain/insights.ts';
import { rand } from '../../support/seeded-data.ts';

type Effect = Partial<Record<InsightKind, number>>;

/**
 * `n` answers with independent, uniformly spread features; the accuracy is 0.6 plus the planted effects:
 * best-time-of-day: morning answers; ideal-session-length: 30-60 min sessions; break-fatigue: after >= 60 min
 * (negative); notes-recall: noted topics; consistency: days right after a study day.
 */
function answers(seed: number, n: number, effect: Effect = {}): InsightAttempt[] {
  const r = rand(seed);
  return Array.from({ length: n }, () => {
    const a: InsightAttempt = {
      localHour: Math.floor(r() * 24),
      correct: false,
      minutesSinceBreak: Math.floor(r() * 120),
      sessionMinutes: 10 + Math.floor(r() * 110),
      notedTopic: r() < 0.4,
      daysSincePreviousStudyDay: 1 + Math.floor(r() * 3),
      studyBefore: 1 + Math.floor(r() * 30),
    };
    let p = 0.6;
    if (a.localHour >= 5 && a.localHour < 12) p += effect['best-time-of-day'] ?? 0;
    if (a.sessionMinutes! >= 30 && a.sessionMinutes! < 60) p += effect['ideal-session-length'] ?? 0;
    if (a.minutesSinceBreak! >= 60) p += effect['break-fatigue'] ?? 0;
    if (a.notedTopic) p += effect['notes-recall'] ?? 0;
    if (a.daysSincePreviousStudyDay! <= 1) p += effect['consistency'] ?? 0;
    a.correct = r() < p;
    return a;
  });
}

const stated = (xs: InsightAttempt[]) =>
  computeInsights(xs)
    .filter((i) => i.status === 'stated')
    .map((i) => i.kind);

describe('statistics', () => {
  it('normal CDF and the two-proportion test agree with known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 5);
    // 60/100 vs 45/100: z = 2.1232, p = 0.0337 (pooled)
    const t = twoProportionTest(60, 100, 45, 100);
    expect(t.effect).toBeCloseTo(0.15, 10);
    expect(t.pValue).toBeCloseTo(0.0337, 3);
    expect(t.ci95[0]).toBeCloseTo(0.15 - 1.96 * Math.sqrt(0.24 / 100 + 0.2475 / 100), 3);
    expect(twoProportionTest(5, 10, 5, 10).pValue).toBe(1);
  });

  it('Benjamini-Hochberg: known example, monotone, never below the raw p-value', () => {
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005]).map((q) => Math.round(q * 1e4) / 1e4)).toEqual([
      0.02, 0.04, 0.04, 0.02,
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (ps) => {
          const q = benjaminiHochberg(ps);
          ps.forEach((p, i) => {
            expect(q[i]).toBeGreaterThanOrEqual(p - 1e-12);
            expect(q[i]).toBeLessThanOrEqual(1);
          });
          const order = ps.map((p, i) => i).sort((a, b) => ps[a]! - ps[b]!);
          for (let k = 1; k < order.length; k++)
            expect(q[order[k]!]).toBeGreaterThanOrEqual(q[order[k - 1]!]! - 1e-12);
        },
      ),
    );
  });
});

describe('insights', () => {
  const planted: Array<[InsightKind, number]> = [
    ['best-time-of-day', 0.2],
    ['ideal-session-length', 0.2],
    ['break-fatigue', -0.2],
    ['notes-recall', 0.2],
    ['consistency', 0.2],
  ];
  for (const [kind, size] of planted) {
    it(`${kind}: a planted effect is stated with its numbers, and only it`, () => {
      const insights = computeInsights(answers(11, 1500, { [kind]: size }));
      const i = insights.find((x) => x.kind === kind)!;
      expect(i.status).toBe('stated');
      expect(i.qValue).toBeLessThanOrEqual(0.05);
      expect(Math.abs(i.effect!)).toBeGreaterThan(0.1);
      expect(i.ci95![0]).toBeLessThan(i.effect!);
      expect(i.ci95![1]).toBeGreaterThan(i.effect!);
      expect(i.ci95![0] > 0 || i.ci95![1] < 0).toBe(true); // the interval excludes no effect
      expect(i.sentence).toContain(`${Math.round(i.group.accuracy! * 100)}%`);
      expect(i.sentence).not.toMatch(/not enough/i);
      if (kind === 'best-time-of-day') expect(i.group.label).toBe('morning');
      if (kind === 'ideal-session-length') expect(i.group.label).toBe('30-60 min');
      expect(stated(answers(11, 1500, { [kind]: size }))).toEqual([kind]);
    });
  }

  it('no planted effect: nothing is stated on (almost) every seed, and each says not enough evidence', () => {
    let falseStudents = 0;
    for (let seed = 1; seed <= 200; seed++) if (stated(answers(seed, 800)).length > 0) falseStudents++;
    expect(falseStudents / 200).toBeLessThanOrEqual(0.05);
    for (const i of computeInsights(answers(3, 800)))
      if (i.status !== 'stated') expect(i.sentence).toMatch(/^Not enough evidence yet/);
  });

  it('too few answers: not enough data, whatever the effect', () => {
    const insights = computeInsights(answers(5, 40, { 'notes-recall': 0.4, 'break-fatigue': -0.4 }));
    expect(insights.every((i) => i.status === 'not-enough-data')).toBe(true);
    expect(insights.every((i) => i.pValue === null && i.effect === null)).toBe(true);
    expect(computeInsights([]).map((i) => i.status)).toEqual(Array(5).fill('not-enough-data'));
  });

  it('a tiny effect on a huge sample is not stated (below the minimum effect)', () => {
    const insights = computeInsights(answers(8, 60_000, { 'notes-recall': 0.03 }));
    const i = insights.find((x) => x.kind === 'notes-recall')!;
    expect(i.pValue!).toBeLessThan(0.01);
    expect(i.status).toBe('not-enough-evidence');
  });
});

describe('notes: compared within strata of prior study', () => {
  it('a confound (more study: more notes and more accuracy) is not stated; a real note effect within strata is', () => {
    const r = rand(99);
    const make = (noteEffect: number) =>
      Array.from({ length: 3000 }, (): InsightAttempt => {
        const studyBefore = 1 + Math.floor(r() * 40);
        const notedTopic = r() < 0.1 + studyBefore / 50; // more study, more notes
        const p = 0.45 + studyBefore / 100 + (notedTopic ? noteEffect : 0); // more study, more accuracy
        return {
          localHour: 10,
          correct: r() < p,
          minutesSinceBreak: null,
          sessionMinutes: null,
          notedTopic,
          daysSincePreviousStudyDay: null,
          studyBefore,
        };
      });
    const confounded = computeInsights(make(0)).find((i) => i.kind === 'notes-recall')!;
    expect(confounded.group.accuracy! - confounded.comparison.accuracy!).toBeGreaterThan(0.05); // pooled: looks real
    expect(confounded.status).not.toBe('stated');
    const real = computeInsights(make(0.15)).find((i) => i.kind === 'notes-recall')!;
    expect(real.status).toBe('stated');
    expect(real.effect!).toBeGreaterThan(0.08);
  });
});

describe('answer features', () => {
  const H = 3_600_000;
  const M = 60_000;
  const T0 = Date.UTC(2026, 2, 2, 22, 0); // Monday 22:00 UTC
  const ans = (
    id: string,
    at: number,
    extra: Partial<import('../../../services/domain/insights.ts').StoredAnswer> = {},
  ) => ({
    eventId: id,
    at,
    offsetMinutes: null as number | null,
    correct: true,
    sessionId: 's1',
    topics: ['t1'],
    ...extra,
  });

  it('local hours with the fallback, stretches without a break, session length, notes a day before, day gaps', async () => {
    const { insightAttempts } = await import('../../../services/domain/insights.ts');
    const xs = insightAttempts(
      [
        ans('a', T0), // no zone: the latest known offset (+120) applies: 00:00 local, Tuesday
        ans('b', T0 + 5 * M),
        ans('c', T0 + 30 * M), // 25 min gap: a break
        ans('d', T0 + 35 * M, { offsetMinutes: 120 }),
        ans('d', T0 + 35 * M, { offsetMinutes: 120 }), // duplicate event id: once
        ans('e', T0 + 3 * 86_400_000, { offsetMinutes: 120, sessionId: '', topics: ['t2'] }),
      ],
      [
        { at: T0 - 2 * 86_400_000, topics: ['t1'], kind: 'note' },
        { at: T0 + 3 * 86_400_000 - H, topics: ['t2'], kind: 'note' },
        { at: T0 - 2 * 86_400_000, topics: ['t2'], kind: 'read' },
      ],
    );
    expect(xs).toHaveLength(5);
    expect(xs.map((x) => x.localHour)).toEqual([0, 0, 0, 0, 0]);
    expect(xs.map((x) => x.minutesSinceBreak)).toEqual([0, 5, 0, 5, null]);
    expect(xs.map((x) => x.sessionMinutes)).toEqual([35, 35, 35, 35, null]);
    // t2's note is only 1 h old, but its material was read two days before; t1 has a note
    expect(xs.map((x) => x.notedTopic)).toEqual([true, true, true, true, false]);
    expect(xs.map((x) => x.daysSincePreviousStudyDay)).toEqual([null, null, null, null, 3]);
    expect(xs.map((x) => x.studyBefore)).toEqual([1, 1, 1, 1, 1]);
  });
});
