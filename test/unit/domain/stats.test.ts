import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  betaCdf,
  betaInterval,
  betaQuantile,
  ewma,
  mean,
  percentileRank,
  sampleStddev,
  weightedMean,
  wilsonInterval,
} from '../../../services/domain/stats.ts';
import { DEFAULT_K_ANONYMITY, kAnonymous, suppressSmallGroups } from '../../../services/domain/kanon.ts';

describe('wilsonInterval', () => {
  it('matches the published 95% Wilson interval for 15 of 20', () => {
    const interval = wilsonInterval(15, 20);
    expect(interval.lower).toBeCloseTo(0.5313, 4);
    expect(interval.upper).toBeCloseTo(0.8881, 4);
  });

  it('gives a non-degenerate upper bound when nothing succeeded (0 of 10 -> [0, 0.2775])', () => {
    const interval = wilsonInterval(0, 10);
    expect(interval.lower).toBe(0);
    expect(interval.upper).toBeCloseTo(0.2775, 4);
  });

  it('knows nothing without trials', () => {
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
  });

  it('always contains the observed proportion and stays in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, share) => {
          const successes = Math.round(share * n);
          const { lower, upper } = wilsonInterval(successes, n);
          expect(lower).toBeGreaterThanOrEqual(0);
          expect(upper).toBeLessThanOrEqual(1);
          expect(lower).toBeLessThanOrEqual(successes / n);
          expect(upper).toBeGreaterThanOrEqual(successes / n);
        },
      ),
    );
  });

  it('narrows as the same proportion is observed on more trials', () => {
    const small = wilsonInterval(3, 4);
    const large = wilsonInterval(300, 400);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
  });
});

describe('Beta distribution helpers', () => {
  it('has the closed-form CDFs of Beta(1,1) = x and Beta(2,1) = x^2', () => {
    for (const x of [0.1, 0.25, 0.5, 0.9]) {
      expect(betaCdf(x, 1, 1)).toBeCloseTo(x, 10);
      expect(betaCdf(x, 2, 1)).toBeCloseTo(x * x, 10);
    }
  });

  it('inverts the CDF: the median of a symmetric Beta is 0.5', () => {
    expect(betaQuantile(0.5, 2, 2)).toBeCloseTo(0.5, 10);
    expect(betaQuantile(0.5, 30, 30)).toBeCloseTo(0.5, 10);
  });

  it('gives [0.025, 0.975] under a uniform prior and no data', () => {
    const interval = betaInterval(0, 0);
    expect(interval.lower).toBeCloseTo(0.025, 9);
    expect(interval.upper).toBeCloseTo(0.975, 9);
    expect(interval.mean).toBe(0.5);
  });

  it('centres the posterior on (successes + 1) / (n + 2) and contains it', () => {
    const interval = betaInterval(15, 5);
    expect(interval.mean).toBeCloseTo(16 / 22, 12);
    expect(interval.lower).toBeCloseTo(0.5283, 3);
    expect(interval.upper).toBeCloseTo(0.8872, 3);
  });

  it('quantiles are monotone in probability', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 0.98, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        (p, a, b) => {
          expect(betaQuantile(p, a, b)).toBeLessThanOrEqual(betaQuantile(p + 0.01, a, b) + 1e-12);
        },
      ),
    );
  });
});

describe('percentileRank', () => {
  const population = [1, 2, 3, 4];

  it('counts values below plus half the ties', () => {
    expect(percentileRank(3, population)).toBe(62.5);
    expect(percentileRank(2.5, population)).toBe(50);
  });

  it('is 0 below everyone and 100 above everyone', () => {
    expect(percentileRank(0, population)).toBe(0);
    expect(percentileRank(10, population)).toBe(100);
  });

  it('puts a value equal to the whole population at the 50th percentile', () => {
    expect(percentileRank(7, [7, 7, 7])).toBe(50);
  });

  it('is undefined for an empty population', () => {
    expect(percentileRank(1, [])).toBeUndefined();
  });

  it('stays in [0, 100] and never decreases as the value grows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: -60, max: 60 }),
        (values, value) => {
          const sorted = [...values].sort((a, b) => a - b);
          const rank = percentileRank(value, sorted) as number;
          expect(rank).toBeGreaterThanOrEqual(0);
          expect(rank).toBeLessThanOrEqual(100);
          expect(percentileRank(value + 1, sorted) as number).toBeGreaterThanOrEqual(rank);
        },
      ),
    );
  });
});

describe('averages', () => {
  it('ewma seeds with the first value then moves alpha of the way to each new one', () => {
    expect(ewma(undefined, 5, 0.3)).toBe(5);
    expect(ewma(5, 10, 0.3)).toBeCloseTo(6.5, 12);
    expect(() => ewma(5, 10, 0)).toThrow(RangeError);
  });

  it('mean and sample standard deviation of a textbook sample', () => {
    const sample = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(sample)).toBe(5);
    expect(sampleStddev(sample)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(mean([])).toBeUndefined();
    expect(sampleStddev([1])).toBeUndefined();
  });

  it('weightedMean ignores zero weights and is undefined with nothing to weigh', () => {
    expect(
      weightedMean([
        { value: 1, weight: 3 },
        { value: 0, weight: 1 },
        { value: 9, weight: 0 },
      ]),
    ).toBe(0.75);
    expect(weightedMean([{ value: 1, weight: 0 }])).toBeUndefined();
  });
});

describe('kAnonymous', () => {
  it('defaults to k = 10: nine students are too few, ten are enough', () => {
    expect(DEFAULT_K_ANONYMITY).toBe(10);
    expect(kAnonymous(9)).toBe(false);
    expect(kAnonymous(10)).toBe(true);
  });

  it('honours a custom k and rejects a meaningless one', () => {
    expect(kAnonymous(5, 5)).toBe(true);
    expect(kAnonymous(4, 5)).toBe(false);
    expect(() => kAnonymous(100, 0)).toThrow(RangeError);
    expect(kAnonymous(Number.NaN)).toBe(false);
  });

  it('suppressSmallGroups drops the groups below k and keeps order', () => {
    const groups = [
      { cohort: 'a', size: 12 },
      { cohort: 'b', size: 3 },
      { cohort: 'c', size: 10 },
    ];
    expect(suppressSmallGroups(groups, (group) => group.size).map((group) => group.cohort)).toEqual([
      'a',
      'c',
    ]);
  });
});
