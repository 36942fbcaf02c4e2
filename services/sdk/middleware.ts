import type { Context, MiddlewareHandler } from 'hono';
import type { StudystreamClient } from './client.ts';
import { createEventBuilders, type Platform } from './types.ts';

export type TrackApiCallsOptions = {
  /**
   * The pseudonymous student id of the request, or undefined when there is none (anonymous calls are not
   * tracked: every event needs a user). Called after the handler ran, so it can read what auth middleware set.
   */
  userId: (c: Context) => string | undefined | null;
  /** Study session of the request, if the app knows it. */
  sessionId?: (c: Context) => string | undefined | null;
  /** client.platform of the events (default SERVER). */
  platform?: Platform;
  appVersion?: string;
  /** Requests not to track (e.g. health checks). */
  skip?: (c: Context) => boolean;
  /** Called when building or queueing an event failed; the request is never affected. */
  onError?: (err: unknown) => void;
  /** Epoch-ms clock for occurred_at (default Date.now). */
  clock?: () => number;
};

/**
 * Hono middleware that tracks every API call of an app backend as a study-events API_CALL event (the automatic
 * tracking): HTTP method, route pattern (`c.req.routePath`, e.g. /questions/:id, never the raw URL, ids or query
 * string; see routePattern), status and server time. Mount it before the routes:
 *
 * ```ts
 * app.use('*', trackApiCalls(client, { userId: (c) => c.get('studentId') }));
 * ```
 *
 * It never blocks or fails the request: the event is queued in memory after the response is ready (sending happens
 * in the background) and any error in tracking goes to `onError` only. A request whose handler threw is tracked with
 * status 500 and the error goes on to Hono's error handling unchanged. Requests that matched no route are tracked
 * with the middleware's own pattern (e.g. `/*`).
 */
export function trackApiCalls(
  client: Pick<StudystreamClient, 'track'>,
  opts: TrackApiCallsOptions,
): MiddlewareHandler {
  const builders = createEventBuilders({
    platform: opts.platform ?? 'SERVER',
    appVersion: opts.appVersion,
    clock: opts.clock,
  });
  const report = (err: unknown) => {
    try {
      opts.onError?.(err);
    } catch {
      // ignored on purpose
    }
  };

  return async function trackApiCallsMiddleware(c, next) {
    let skip = false;
    try {
      skip = opts.skip?.(c) ?? false;
    } catch (err) {
      report(err);
    }
    if (skip) return next();
    const startedAt = opts.clock ? undefined : performance.now();
    const occurredAt = (opts.clock ?? Date.now)();
    let threw = false;
    try {
      await next();
    } catch (err) {
      threw = true;
      throw err;
    } finally {
      try {
        const userId = opts.userId(c);
        if (userId) {
          const elapsed =
            startedAt === undefined ? (opts.clock ?? Date.now)() - occurredAt : performance.now() - startedAt;
          const event = builders.apiCall({
            userId,
            sessionId: opts.sessionId?.(c) ?? null,
            occurredAt,
            method: c.req.method,
            route: routePattern(c),
            status: threw ? 500 : c.res.status,
            durationMs: Math.max(0, Math.round(elapsed)),
          });
          void client.track(event);
        }
      } catch (err) {
        report(err);
      }
    }
  };
}

/**
 * The matched route pattern, normalised to what the contract accepts: it starts with /, carries no ? or # (Hono
 * marks optional parameters with `?`: /animals/:type? becomes /animals/:type) and is at most 256 characters.
 */
export function routePattern(c: Context): string {
  let route = '';
  try {
    route = c.req.routePath ?? '';
  } catch {
    // no match information: fall through
  }
  route = route.replace(/[?#]/g, '');
  if (!route.startsWith('/')) route = `/${route}`;
  return route.slice(0, 256);
}
