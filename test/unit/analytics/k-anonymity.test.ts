import { describe, expect, it } from 'vitest';
import { kAnonymity } from '../../../services/analytics/index.ts';

describe('the one k-anonymity threshold', () => {
  it('is COHORT_MIN_K, default 10; API_K_ANONYMITY is read only as a deprecated alias when it is unset', () => {
    expect(kAnonymity({})).toBe(10);
    expect(kAnonymity({ COHORT_MIN_K: '12' })).toBe(12);
    expect(kAnonymity({ API_K_ANONYMITY: '15' })).toBe(15);
    expect(kAnonymity({ COHORT_MIN_K: '12', API_K_ANONYMITY: '15' })).toBe(12);
    expect(() => kAnonymity({ COHORT_MIN_K: '1' })).toThrow(/COHORT_MIN_K/);
  });
});
