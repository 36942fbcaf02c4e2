import { createMiddleware } from 'hono/factory';
import type { ResponseCache } from '../cache.ts';
import type { RouteSpec } from '../route.ts';
import type { ApiEnv } from './env.ts';

/**
 * Cache, after authorisation: looks the answer up (key: route, subject, validated parameters and the `authorized`
 * facts), hands a hit to the handler step as `cached`, and stores what the handler step computed on a miss.
 * X-Cache tells hit, miss, bypass (Redis unavailable), error or off (a route never cached).
 */
export function cacheStep(cache: ResponseCache, spec: RouteSpec) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    c.set('cached', null);
    c.set('computed', null);
    if (!spec.cache) {
      c.header('X-Cache', 'off');
      return next();
    }
    const user = c.var.user;
    const lookup = await cache.get(
      spec.cache,
      user !== undefined ? { user } : { other: `cohort=${c.var.cohort}` },
      { ...c.var.params, ...c.var.query, ...prefixed(c.var.authorized) },
    );
    c.set('cached', lookup.value);
    c.header('X-Cache', lookup.outcome);
    await next();
    const computed = c.var.computed;
    if (computed !== null && c.res.status === 200) void cache.set(lookup.key, computed);
  });
}

/** The authorize step's facts as cache-key parts (prefixed so they never collide with a query parameter). */
function prefixed(facts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(facts).map(([k, v]) => [`@${k}`, v]));
}
