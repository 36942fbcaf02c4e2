import { describe, expect, it } from 'vitest';
import {
  afterRetrieval,
  afterStudy,
  fatiguePenalty,
  learn,
  MODEL,
  pCorrect,
  retrievability,
  type MemoryTrace,
} from '../../../services/simulator/model.ts';
import { Rng } from '../../../services/simulator/prng.ts';

const DAY = 86_400_000;
const trace = (stability: number, lastReviewAt = 0): MemoryTrace => ({ stability, lastReviewAt, reviews: 1 });

describe('forgetting model', () => {
  it('recall is 1 right after a review and 0.9 after one stability interval', () => {
    expect(retrievability(trace(4), 0)).toBe(1);
    expect(retrievability(trace(4), 4 * DAY)).toBeCloseTo(0.9, 10);
    expect(retrievability(trace(4), 8 * DAY)).toBeCloseTo(0.81, 10);
  });

  it('recall decays monotonically with time since the last review', () => {
    let previous = 1;
    for (let d = 1; d <= 60; d++) {
      const r = retrievability(trace(3), d * DAY);
      expect(r).toBeLessThan(previous);
      previous = r;
    }
  });

  it('success multiplies stability, more when retrieval was harder (spacing); failure shrinks it', () => {
    const easy = afterRetrieval(trace(2), DAY, 0.95, true);
    const hard = afterRetrieval(trace(2), DAY, 0.4, true);
    const lapse = afterRetrieval(trace(2), DAY, 0.4, false);
    expect(easy.stability).toBeGreaterThan(2);
    expect(hard.stability).toBeGreaterThan(easy.stability);
    expect(lapse.stability).toBeCloseTo(2 * MODEL.lapseFactor, 10);
    expect(afterRetrieval(trace(0.3), DAY, 0.1, false).stability).toBe(MODEL.minStability);
    expect(afterStudy(trace(2), DAY, 1).stability).toBeCloseTo(2 * (1 + MODEL.materialStabilityGrowth), 10);
  });
});

describe('item response', () => {
  const item = { a: 1.2, b: 0 };
  it('is bounded by the guessing floor and 1, and increases with ability', () => {
    expect(pCorrect(item, -10, 1, 0)).toBeCloseTo(MODEL.guess, 3);
    expect(pCorrect(item, 10, 1, 0)).toBeCloseTo(1, 3);
    expect(pCorrect(item, 1, 1, 0)).toBeGreaterThan(pCorrect(item, 0, 1, 0));
  });
  it('decreases with forgetting and fatigue', () => {
    expect(pCorrect(item, 0.5, 0.5, 0)).toBeLessThan(pCorrect(item, 0.5, 1, 0));
    expect(pCorrect(item, 0.5, 1, fatiguePenalty(120, 1))).toBeLessThan(pCorrect(item, 0.5, 1, 0));
    expect(fatiguePenalty(MODEL.fatigueWarmupMinutes, 1)).toBe(0);
  });
  it('learning has diminishing returns near the ceiling', () => {
    expect(learn(0, 0.1) - 0).toBeGreaterThan(learn(3, 0.1) - 3);
  });
});

describe('prng', () => {
  it('is deterministic per seed and labels, and uniform enough', () => {
    const a = Rng.derive(7, 'x');
    const b = Rng.derive(7, 'x');
    const c = Rng.derive(7, 'y');
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 10_000 }, () => b.next()));
    expect(c.next()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(Rng.derive(1).uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const n = Rng.derive(3);
    const normals = Array.from({ length: 20_000 }, () => n.normal());
    const m = normals.reduce((s, x) => s + x, 0) / normals.length;
    const sd = Math.sqrt(normals.reduce((s, x) => s + (x - m) ** 2, 0) / normals.length);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(sd).toBeGreaterThan(0.97);
    expect(sd).toBeLessThan(1.03);
  });
});
