import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';

/**
 * Issue 18, finding 7, for every route: a handler runs after the cache lookup, so it must never refuse a caller (a
 * cached answer would skip the refusal). Refusals (403) belong in the scope checks or the route's `authorize` step,
 * which app.ts runs before the cache (test/integration/api/authorize-before-cache.test.ts shows the effect).
 */
describe('refusals run before the cache', () => {
  it('no route handler answers 403; routes that refuse by data do it in authorize', () => {
    const late = ROUTES.filter((r) => /ApiError\(\s*403/.test(r.handler?.toString() ?? '')).map(
      (r) => r.path,
    );
    expect(late).toEqual([]);
    const percentiles = ROUTES.find((r) => r.path === '/api/analytics/percentiles')!;
    expect(percentiles.authorize?.toString()).toMatch(/ApiError\(\s*403/);
  });
});
