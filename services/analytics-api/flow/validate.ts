import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { parseInput } from '../errors.ts';
import type { RouteSpec } from '../route.ts';
import type { ApiEnv } from './env.ts';

/** Validate: the path and query parameters through the route's zod schemas (400 invalid_parameter) into `params`, `query`. */
export function validateInput(spec: RouteSpec) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const params = spec.params ? parseInput(spec.params, c.req.param(), 'path') : {};
    const query = parseInput(spec.query, queryObject(c), 'query');
    c.set('params', params as Record<string, unknown>);
    c.set('query', query as Record<string, unknown>);
    await next();
  });
}

/** Query parameters as an object: a repeated parameter becomes an array (which every schema rejects). */
function queryObject(c: Context): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, values] of Object.entries(c.req.queries())) {
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}
