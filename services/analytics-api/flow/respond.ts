import { overloadOf, type ReadGate } from '../clickhouse-gate.ts';
import type { DataDeps, RouteSpec } from '../route.ts';
import { handlerContext, type ApiContext } from './env.ts';

/**
 * The handler step: the cached bytes, or the route's handler computing the body (then left in `computed` for the
 * cache step to store); then the route's `fresh` fields (never cached) merged over it. Overload (no ClickHouse read
 * slot in time, or ClickHouse refusing "too many simultaneous queries") is the 503 `overloaded` (clickhouse-gate.ts),
 * counted once per request by `gate`.
 */
export function respond(spec: RouteSpec, data: DataDeps, gate?: ReadGate) {
  const handler = spec.handler!;
  return async (c: ApiContext): Promise<Response> => {
    const ctx = { ...handlerContext(c, data), authorized: c.var.authorized };
    // Bytes, not strings, where the body is final: a hit is written as Redis returned it, and a miss is encoded to
    // UTF-8 once for the socket and the cache (a full mastery list is ~130 KB).
    let payload: string | Buffer;
    let body: Record<string, unknown> | null = null;
    const cached = c.var.cached;
    if (cached !== null) {
      payload = cached;
    } else {
      body = await handler(ctx).catch((err: unknown) => {
        const busy = overloadOf(err);
        if (busy) gate?.count(busy.reason);
        throw busy ?? err;
      });
      const text = JSON.stringify(body);
      payload = spec.fresh ? text : Buffer.from(text);
      c.set('computed', payload);
    }
    if (spec.fresh) {
      const { _internal: internal, ...rest } =
        body ?? (JSON.parse(payload.toString()) as Record<string, unknown>);
      payload = JSON.stringify({ ...rest, ...(await spec.fresh(ctx, internal)) });
    }
    // A Node Buffer is a Uint8Array over an ArrayBuffer (never a SharedArrayBuffer).
    return c.body(payload as string | Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/json' });
  };
}
