import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auc,
  bootstrapIntervals,
  brier,
  calibrationFit,
  cellOf,
  ece,
  equalMassBuckets,
  gapClosed,
  histogramAuc,
  logLoss,
  rankCells,
  uniformStream,
  type Prediction,
} from '../../../services/eval/metrics.ts';

const preds = fc.array(
  fc.record({ p: fc.double({ min: 0.001, max: 0.999, noNaN: true }), y: fc.boolean() }),
  { minLength: 1, maxLength: 200 },
);

/** Outcomes drawn from the predictions themselves: a calibrated predictor. */
function calibratedSample(n: number, seed: number, distort = (p: number) => p): Prediction[] {
  const rand = uniformStream(seed);
  const out: Prediction[] = [];
  for (let i = 0; i < n; i++) {
    const p = 0.05 + 0.9 * rand();
    out.push({ p: distort(p), y: rand() < p });
  }
  return out;
}

describe('scoring rules', () => {
  it('log loss and Brier of known cases', () => {
    expect(logLoss([{ p: 0.5, y: true }])).toBeCloseTo(Math.log(2), 12);
    expect(logLoss([{ p: 0.8, y: false }])).toBeCloseTo(-Math.log(0.2), 12);
    expect(
      brier([
        { p: 0.8, y: false },
        { p: 1, y: true },
      ]),
    ).toBeCloseTo(0.32, 12);
    expect(Number.isNaN(logLoss([]))).toBe(true);
  });

  it('AUC: perfect ranking 1, reversed 0, ties 0.5, one class NaN', () => {
    expect(
      auc([
        { p: 0.1, y: false },
        { p: 0.9, y: true },
      ]),
    ).toBe(1);
    expect(
      auc([
        { p: 0.9, y: false },
        { p: 0.1, y: true },
      ]),
    ).toBe(0);
    expect(
      auc([
        { p: 0.5, y: false },
        { p: 0.5, y: true },
      ]),
    ).toBe(0.5);
    expect(Number.isNaN(auc([{ p: 0.5, y: true }]))).toBe(true);
  });

  it('equal-mass buckets hold every prediction, keep ties together, and a constant predictor has one bucket', () => {
    fc.assert(
      fc.property(preds, (ps) => {
        const buckets = equalMassBuckets(ps, 10);
        expect(buckets.reduce((s, b) => s + b.n, 0)).toBe(ps.length);
        for (let i = 1; i < buckets.length; i++)
          expect((buckets[i]?.from as number) > (buckets[i - 1]?.to as number)).toBe(true);
      }),
    );
    const constant = Array.from({ length: 50 }, (_, i) => ({ p: 0.6, y: i % 2 === 0 }));
    expect(equalMassBuckets(constant)).toHaveLength(1);
    expect(ece(equalMassBuckets(constant))).toBeCloseTo(0.1, 12);
  });

  it('ECE is small for a calibrated predictor and large for a distorted one', () => {
    const good = calibratedSample(20_000, 3);
    const bad = calibratedSample(20_000, 3, (p) => Math.min(0.999, p + 0.15));
    expect(ece(equalMassBuckets(good))).toBeLessThan(0.02);
    expect(ece(equalMassBuckets(bad))).toBeGreaterThan(0.12);
  });

  it('calibration slope/intercept: about (1, 0) when calibrated, slope < 1 when overconfident', () => {
    const good = calibrationFit(calibratedSample(20_000, 5));
    expect(good.slope).toBeGreaterThan(0.9);
    expect(good.slope).toBeLessThan(1.1);
    expect(Math.abs(good.intercept)).toBeLessThan(0.1);
    const over = calibrationFit(
      calibratedSample(20_000, 5, (p) => 1 / (1 + Math.exp(-3 * Math.log(p / (1 - p))))),
    );
    expect(over.slope).toBeLessThan(0.5);
    expect(
      Number.isNaN(
        calibrationFit([
          { p: 0.3, y: true },
          { p: 0.3, y: false },
        ]).slope,
      ),
    ).toBe(true);
  });

  it('share of the gap closed: 0 for the constant, 1 for Bayes', () => {
    expect(gapClosed(0.67, 0.67, 0.56)).toBe(0);
    expect(gapClosed(0.67, 0.56, 0.56)).toBe(1);
    expect(gapClosed(0.67, 0.615, 0.56)).toBeCloseTo(0.5, 12);
  });

  it('histogram AUC equals the exact AUC when every prediction has its own cell', () => {
    fc.assert(
      fc.property(preds, (ps) => {
        const grid = 4000;
        const pos = new Float64Array(grid + 1);
        const neg = new Float64Array(grid + 1);
        for (const { p, y } of ps) (y ? pos : neg)[cellOf(p, grid)]! += 1;
        const cells = new Set(ps.map((x) => cellOf(x.p, grid)));
        const distinct = new Set(ps.map((x) => x.p));
        if (cells.size !== distinct.size) return; // two predictions share a cell: ties differ
        const exact = auc(ps);
        if (Number.isNaN(exact)) expect(Number.isNaN(histogramAuc(pos, neg))).toBe(true);
        else expect(histogramAuc(pos, neg)).toBeCloseTo(exact, 9);
      }),
    );
  });

  it('rank cells keep the order of predictions crowded near 1: histogram AUC equals the exact AUC', () => {
    fc.assert(
      fc.property(preds, fc.integer({ min: 1, max: 4 }), (ps, split) => {
        const crowded = ps.map((x) => ({ p: 1 - x.p * 1e-7, y: x.y }));
        const groups = [crowded.slice(0, split), crowded.slice(split)];
        const cells = rankCells(groups, crowded.length + 1);
        const pos = new Float64Array(crowded.length + 2);
        const neg = new Float64Array(crowded.length + 2);
        groups.forEach((g, gi) => g.forEach((x, j) => ((x.y ? pos : neg)[cells[gi]![j]!]! += 1)));
        const exact = auc(crowded);
        if (Number.isNaN(exact)) expect(Number.isNaN(histogramAuc(pos, neg))).toBe(true);
        else expect(histogramAuc(pos, neg)).toBeCloseTo(exact, 9);
      }),
    );
  });

  it('bootstrap intervals contain the point estimate and shrink with more students', () => {
    const groups = (students: number): Prediction[][] =>
      Array.from({ length: students }, (_, i) => calibratedSample(50, 100 + i));
    const small = groups(20);
    const large = groups(200);
    const ci = bootstrapIntervals(small, 200, 1);
    const all = small.flat();
    expect(ci.logLoss[0]).toBeLessThanOrEqual(logLoss(all));
    expect(ci.logLoss[1]).toBeGreaterThanOrEqual(logLoss(all));
    expect(ci.auc[0]).toBeLessThanOrEqual(auc(all) + 0.01);
    expect(ci.auc[1]).toBeGreaterThanOrEqual(auc(all) - 0.01);
    const wide = bootstrapIntervals(large, 200, 1);
    expect(wide.logLoss[1] - wide.logLoss[0]).toBeLessThan(ci.logLoss[1] - ci.logLoss[0]);
    // deterministic for a seed
    expect(bootstrapIntervals(small, 50, 9)).toEqual(bootstrapIntervals(small, 50, 9));
  });
});
