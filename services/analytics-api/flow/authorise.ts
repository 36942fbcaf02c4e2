import { createMiddleware } from 'hono/factory';
import type { Principal } from '../auth.ts';
import { ApiError } from '../errors.ts';
import type { DataDeps, RouteSpec } from '../route.ts';
import { handlerContext, type ApiEnv } from './env.ts';

/**
 * Authorise, before the cache on every route (issue 18, finding 7): the route's scope (a student reads only
 * themselves, educators only aggregates of their cohorts), then the route's own `authorize` step (checks that need
 * data, such as cohort membership). What that step resolves becomes `authorized`, part of the cache key, so a cached
 * answer only reaches a caller for whom the same facts hold now.
 */
export function authorise(spec: RouteSpec, data: DataDeps) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const principal = c.var.principal!;
    if (spec.scope === 'student') {
      const user = typeof c.var.query?.user === 'string' ? c.var.query!.user : principal.sub;
      c.set('user', user);
      authorizeStudent(principal, user);
    } else if (spec.scope === 'cohort') {
      const cohort = String(c.var.params?.cohort);
      c.set('cohort', cohort);
      authorizeCohort(principal, cohort);
    }
    if (spec.scope === 'reserved' || !spec.handler) {
      throw new ApiError(501, 'not_implemented', `${spec.path} is reserved for a later release`, {
        operation: spec.operationId,
      });
    }
    c.set('authorized', spec.authorize ? await spec.authorize(handlerContext(c, data)) : {});
    await next();
  });
}

/** Students read only themselves; educators never read individual rows; admins read anyone. */
export function authorizeStudent(principal: Principal, user: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'educator') {
    throw new ApiError(
      403,
      'aggregates_only',
      'educators may read cohort aggregates only, not individual students',
    );
  }
  if (user !== principal.sub) throw new ApiError(403, 'forbidden', 'students may read only their own data');
}

/** Educators read the cohorts listed in their token; admins any; students none. */
export function authorizeCohort(principal: Principal, cohort: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'educator' && principal.cohorts.includes(cohort)) return;
  throw new ApiError(403, 'forbidden', 'this cohort is not one of yours');
}
