import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  avoidSmallGroups,
  differencingCells,
  percentileRank,
  releaseHistogram,
  releaseQuantile,
  releaseQuantiles,
  releaseShare,
  RELEASE_DIGITS,
} from '../../../services/analytics/release.ts';
import { buildRelease } from '../../../services/analytics/releases.ts';
import {
  cellCounts,
  emptyTopic,
  type CohortReport,
  type StudentFigures,
} from '../../../services/analytics/cohort-report.ts';

const r4 = (x: number) => Math.round(x * 10 ** RELEASE_DIGITS) / 10 ** RELEASE_DIGITS;
/** Students whose value, at the released precision, equals v. */
const holders = (v: number, values: readonly number[]) => values.filter((x) => r4(x) === v).length;

// Values as the cohort metrics produce them: shares c/q, per-week rates of integers, and ties.
const metricValue = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 40 }))
    .map(([c, q]) => Math.min(c, q) / q),
  fc.integer({ min: 0, max: 300 }).map((q) => q / (30 / 7)),
  fc.constantFrom(0, 0.5, 1, 10),
  fc.double({ min: 0, max: 1000, noNaN: true }),
);

describe('released quantiles', () => {
  it('never equal (at the released precision) the value of 1 to k-1 students, at any n', () => {
    fc.assert(
      fc.property(
        fc.array(metricValue, { minLength: 0, maxLength: 120 }),
        fc.integer({ min: 2, max: 15 }),
        (values, k) => {
          const q = releaseQuantiles(values, k);
          for (const v of Object.values(q)) {
            if (v === null) continue;
            const c = holders(v, values);
            expect(c === 0 || c >= k).toBe(true);
            // And stays close to the k-window mean it stands for: within the data's range.
            expect(v).toBeGreaterThanOrEqual(r4(Math.min(...values)) - 1e-9 - 120 * 10 ** -RELEASE_DIGITS);
            expect(v).toBeLessThanOrEqual(r4(Math.max(...values)) + 1e-9 + 120 * 10 ** -RELEASE_DIGITS);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('releases nothing below k and p10/p90 only when k order statistics fit around their rank', () => {
    const k = 10;
    const values = Array.from({ length: 12 }, (_, i) => i);
    expect(releaseQuantiles(values.slice(0, 9), k)).toEqual({
      p10: null,
      p25: null,
      p50: null,
      p75: null,
      p90: null,
    });
    const q12 = releaseQuantiles(values, k);
    expect(q12.p10).toBeNull();
    expect(q12.p90).toBeNull();
    expect(q12.p50).not.toBeNull();
    // n = 10: the old quantilesExact gave p90 = the 9th student's exact value; now p90 is withheld and the median
    // is the mean of all ten, moved off 4.5 only if a student held it (none does).
    expect(releaseQuantile(values.slice(0, 10), 0.9, k)).toBeNull();
    expect(releaseQuantile(values.slice(0, 10), 0.5, k)).toBe(4.5);
    const many = Array.from({ length: 60 }, (_, i) => i);
    expect(releaseQuantile(many, 0.1, k)).not.toBeNull();
  });

  it('moves a mean that one student holds to the nearest free grid value', () => {
    // Mean of 0..9 with k = 10 is 4.5; a student at exactly 4.5 makes it 4.4999 (lower on a tie).
    expect(avoidSmallGroups(4.5, [4.5, 1, 2], 10)).toBe(4.4999);
    // Ten students at 4.5: the value is shared by k students and may be released.
    expect(avoidSmallGroups(4.5, Array(10).fill(4.5), 10)).toBe(4.5);
  });
});

describe('released histograms', () => {
  it('cover everyone with contiguous fixed-edge bins of at least k students each', () => {
    const edges = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -0.2, max: 1.2, noNaN: true }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (values, k) => {
          const h = releaseHistogram(values, edges, k);
          if (values.length < k) {
            expect(h).toBeNull();
            return;
          }
          expect(h).not.toBeNull();
          expect(h!.reduce((s, b) => s + b.students, 0)).toBe(values.length);
          expect(h![0]!.from).toBe(0);
          expect(h![h!.length - 1]!.to).toBe(1);
          h!.forEach((b, i) => {
            expect(b.students).toBeGreaterThanOrEqual(k);
            expect(edges).toContain(b.from);
            expect(edges).toContain(b.to);
            if (i > 0) expect(b.from).toBe(h![i - 1]!.to);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('released shares', () => {
  it('withholds a share when either side holds 1 to k-1 students', () => {
    expect(releaseShare(3, 40, 10)).toMatchObject({ share: null, withheld: 'fewer_than_k_each_side' });
    expect(releaseShare(35, 40, 10)).toMatchObject({ share: null });
    expect(releaseShare(0, 40, 10)).toMatchObject({ share: 0, withheld: null });
    expect(releaseShare(40, 40, 10)).toMatchObject({ share: 1, withheld: null });
    expect(releaseShare(12, 40, 10)).toMatchObject({ share: 0.3, students: 40, withheld: null });
    expect(releaseShare(5, 9, 10).share).toBeNull();
  });

  it('percentile rank counts ties half', () => {
    expect(percentileRank(2, [1, 2, 2, 3])).toBe(50);
    expect(percentileRank(0, [1, 2])).toBe(0);
    expect(percentileRank(1, [])).toBeNull();
  });
});

/** A synthetic report: per student a figure vector and per-topic answers. */
type Student = {
  id: string;
  acc: number | null;
  minutes: number;
  mastery: number | null;
  adherence?: number | null;
  topics: number[];
};
function reportOf(students: readonly Student[]): CohortReport {
  const perStudent = new Map<string, StudentFigures>();
  const topicIds = ['t0', 't1', 't2'];
  const topics = topicIds.map(emptyTopic);
  for (const s of students) {
    perStudent.set(s.id, {
      accuracy: s.acc,
      studyMinutesPerWeek: s.minutes,
      questionsPerWeek: s.minutes / 2,
      mastery: s.mastery,
      reviewAdherence: s.adherence ?? null,
    });
    s.topics.forEach((answers, i) => {
      if (answers === 0) return;
      const t = topics[i]!;
      t.students++;
      t.answers += answers;
      t.correct += Math.floor(answers / 2);
      if (answers >= 5) {
        t.assessed++;
        if (answers % 3 === 0) t.struggling++;
      }
      if (answers % 4 === 1) t.masteryDays.push(answers);
    });
  }
  return {
    window: { kind: 'month', period: '2026-02', from: '2026-02-01', to: '2026-02-28' },
    population: students.map((s) => s.id).sort(),
    perStudent,
    topics: topics.filter((t) => t.students > 0 || t.masteryDays.length > 0),
  };
}

/** Independently of cellCounts: the students contributing to each cell. */
function contributors(students: readonly Student[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (cell: string, id: string) => out.set(cell, (out.get(cell) ?? new Set()).add(id));
  for (const s of students) {
    add('population', s.id);
    add('metric:studyMinutesPerWeek', s.id);
    add('metric:questionsPerWeek', s.id);
    if (s.acc !== null) add('metric:accuracy', s.id);
    if (s.mastery !== null) add('metric:mastery', s.id);
    if (s.adherence != null) add('metric:reviewAdherence', s.id);
    s.topics.forEach((a, i) => {
      if (a > 0) add(`topic:t${i}`, s.id);
      if (a >= 5) add(`struggle:t${i}`, s.id);
      if (a % 4 === 1) add(`mastery-time:t${i}`, s.id);
    });
  }
  return out;
}

describe('differencing between two releases of one window', () => {
  const student = (id: string) =>
    fc.record({
      id: fc.constant(id),
      acc: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
      minutes: fc.integer({ min: 0, max: 600 }),
      mastery: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
      adherence: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
      topics: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 3, maxLength: 3 }),
    });

  it('never releases a cell in both whose contributors differ by 1 to k-1 students', () => {
    const k = 5;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 40 })
          .chain((n) =>
            fc.tuple(
              fc.tuple(...Array.from({ length: n + 12 }, (_, i) => student(`u${i}`))),
              fc.subarray(Array.from({ length: n + 12 }, (_, i) => i)),
              fc.subarray(Array.from({ length: n + 12 }, (_, i) => i)),
            ),
          ),
        ([all, a, b]) => {
          const P = a.map((i) => all[i]!);
          const Q = b.map((i) => all[i]!);
          const first = buildRelease(reportOf(Q), k, new Set(), 0).body;
          const inP = new Set(P.map((s) => s.id));
          const inQ = new Set(Q.map((s) => s.id));
          const D = all.filter((s) => inP.has(s.id) !== inQ.has(s.id));
          const blocked = new Set(
            [...differencingCells(cellCounts(reportOf(D)), k)].filter((c) => first.releasedCells.includes(c)),
          );
          const second = buildRelease(reportOf(P), k, blocked, 1).body;
          const cp = contributors(P);
          const cq = contributors(Q);
          for (const cell of second.releasedCells) {
            if (!first.releasedCells.includes(cell)) continue;
            const x = cp.get(cell) ?? new Set<string>();
            const y = cq.get(cell) ?? new Set<string>();
            const diff = [...x].filter((u) => !y.has(u)).length + [...y].filter((u) => !x.has(u)).length;
            expect(diff === 0 || diff >= k, `${cell}: ${diff}`).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a membership change of one student withholds the figures it would reveal', () => {
    const base = Array.from({ length: 12 }, (_, i) => ({
      id: `u${i}`,
      acc: i / 12,
      minutes: 10 * i,
      mastery: null,
      topics: [6, 0, 0],
    }));
    const planted = { id: 'planted', acc: 0.99, minutes: 555, mastery: 0.9, topics: [9, 0, 0] };
    const first = buildRelease(reportOf(base), 10, new Set(), 0).body;
    expect(first.releasedCells).toContain('metric:accuracy');
    const withPlanted = [...base, planted];
    const blocked = new Set(
      [...differencingCells(cellCounts(reportOf([planted])), 10)].filter((c) =>
        first.releasedCells.includes(c),
      ),
    );
    const second = buildRelease(reportOf(withPlanted), 10, blocked, 1).body;
    expect(second.suppressed).toBe(true);
    expect(second.reason).toBe('membership_overlap');
    expect(second.cohortSize).toBeNull();
  });
});
