import type { Context } from 'hono';
import type { Principal } from '../auth.ts';
import type { DataDeps, HandlerContext } from '../route.ts';

/**
 * The typed context variables the request flow sets, in the order it sets them:
 * audit (`at`), authenticate (`principal`), validate (`params`, `query`), authorise (`user` or `cohort`,
 * `authorized`), cache (`cached`), and read by the handler step (respond.ts).
 */
export type ApiEnv = {
  Variables: {
    requestId: string;
    clientRequestId: string | null;
    /** Request time (the clock of ApiDeps.now), fixed once per request. */
    at: Date;
    /** Unset until authenticate succeeded (the audit step records 'anonymous'). */
    principal: Principal | undefined;
    /** Unset until validation succeeded. */
    params: Record<string, unknown> | undefined;
    query: Record<string, unknown> | undefined;
    /** The student whose data is read (scope 'student'). */
    user: string | undefined;
    /** The cohort whose aggregate is read (scope 'cohort'). */
    cohort: string | undefined;
    /** What the route's own authorize step resolved (part of the cache key). */
    authorized: Record<string, unknown>;
    /** A cache hit's stored bytes; null on a miss or without a cache. */
    cached: Buffer | null;
    /** Set by the handler step on a miss: the bytes the cache step stores. */
    computed: string | Buffer | null;
  };
};

export type ApiContext = Context<ApiEnv>;

/** What a route's handler and authorize steps receive, from the context variables. */
export function handlerContext(
  c: ApiContext,
  data: DataDeps,
): Omit<HandlerContext<unknown, unknown>, 'authorized'> {
  return {
    params: c.var.params ?? {},
    query: c.var.query ?? {},
    principal: c.var.principal!,
    user: c.var.user ?? '',
    cohort: c.var.cohort ?? '',
    data,
    now: c.var.at.getTime(),
  };
}
