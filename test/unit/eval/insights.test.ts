import { describe, expect, it } from 'vitest';
import { evaluateInsights } from '../../../services/eval/insights.ts';

describe('eval-insights (a small development seed; the hold-out numbers come from `studystream eval-insights`)', () => {
  it('finds planted effects with high precision and states nothing on a cohort without effects', () => {
    const r = evaluateInsights({ seeds: ['insights-dev-1'], students: 30, days: 40 });
    const [planted, none] = r.cohorts;
    expect(planted!.effects).toBe('planted');
    expect(planted!.stated).toBeGreaterThan(5);
    expect(r.precision!).toBeGreaterThanOrEqual(0.85);
    expect(r.recall!).toBeGreaterThan(0);
    expect(none!.effects).toBe('none');
    expect(r.falseInsightRate!).toBeLessThanOrEqual(0.1);
  }, 60_000);
});
