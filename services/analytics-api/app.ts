import { Hono, type Context } from 'hono';
import type { Redis } from 'ioredis';
import { clientReader, type ClickHouseClient, type RowReader } from '../shared/clickhouse.ts';
import {
  errorBody,
  mountErrorHandlers,
  mountOps,
  type OpsAccess,
  type ReadinessCheck,
} from '../shared/http.ts';
import type { Logger } from '../shared/logger.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Pool } from '../shared/postgres.ts';
import type { AuditSink } from './audit.ts';
import { AuthError, bearerToken, type Principal, type TokenVerifier } from './auth.ts';
import { ResponseCache } from './cache.ts';
import { ApiError, parseInput, sendError } from './errors.ts';
import { mountDocs } from './docs.ts';
import { openApiDocument } from './openapi.ts';
import type { DataDeps, RouteSpec } from './route.ts';
import { ROUTES } from './routes/index.ts';
import { mountWeb, type WebOptions } from './web.ts';

export type ApiDeps = {
  pg: Pool;
  ch: ClickHouseClient;
  /** Per-student ClickHouse reads (main.ts: createClickHouseReader); default: through `ch`. */
  chRows?: RowReader;
  /** The prefixed Redis client (cache, live sessions); null runs without a cache. */
  redis: Redis | null;
  log: Logger;
  registry: Registry;
  verify: TokenVerifier;
  audit: AuditSink;
  cacheTtlSec: number;
  cacheTimeoutMs: number;
  kAnonymity: number;
  /** Readiness checks for /readyz. */
  checks?: ReadinessCheck[];
  /** Who may read /metrics and readiness errors (shared/http.ts opsAccess); omitted: anyone (tests). */
  opsToken?: OpsAccess;
  /** Clock (tests pin it). */
  now?: () => number;
  /** The web dashboard and its dev-mode helpers (web.ts); omitted: not served. */
  web?: Omit<WebOptions, 'pg' | 'log'>;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
    clientRequestId: string | null;
  }
}

/** The analytics API as a Hono app (testable with app.request()); main.ts wires it to real clients. */
export function createApiApp(deps: ApiDeps, routes: RouteSpec[] = ROUTES): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;
  const cache = new ResponseCache(
    deps.redis,
    { ttlSec: deps.cacheTtlSec, timeoutMs: deps.cacheTimeoutMs },
    deps.registry,
    deps.log,
  );
  const data: DataDeps = {
    pg: deps.pg,
    ch: deps.ch,
    chRows: deps.chRows ?? clientReader(deps.ch),
    redis: deps.redis,
    kAnonymity: deps.kAnonymity,
    redisTimeoutMs: deps.cacheTimeoutMs,
  };

  app.use('*', async (c, next) => {
    // The request id (the audit key, the X-Request-Id answered) is always generated here; a client's own
    // X-Request-Id is kept apart (audited as client_request_id, echoed as X-Client-Request-Id) only if it is inert.
    const id = crypto.randomUUID();
    const client = c.req.header('X-Request-Id');
    c.set('requestId', id);
    c.set('clientRequestId', client !== undefined && REQUEST_ID.test(client) ? client : null);
    c.header('X-Request-Id', id);
    if (client !== undefined && REQUEST_ID.test(client)) c.header('X-Client-Request-Id', client);
    await next();
  });
  mountOps(app, {
    registry: deps.registry,
    log: deps.log,
    checks: deps.checks ?? [],
    opsToken: deps.opsToken,
  });
  mountErrorHandlers(app, deps.log);

  app.get('/openapi.json', (c) => c.json(openApiDocument(routes, deps.kAnonymity)));
  mountDocs(app, '/openapi.json');

  for (const spec of routes) {
    app.get(spec.path, (c) => handle(c, spec));
  }
  if (deps.web) mountWeb(app, { ...deps.web, pg: deps.pg, log: deps.log });

  async function handle(c: Context, spec: RouteSpec): Promise<Response> {
    const at = new Date(now());
    let principal: Principal | null = null;
    let subjectUser: string | null = null;
    let subjectCohort: string | null = null;
    let audited: Record<string, unknown> = {};
    let response: Response;
    try {
      principal = await authenticate(c);
      const params = spec.params ? parseInput(spec.params, c.req.param(), 'path') : {};
      const query = parseInput(spec.query, queryObject(c), 'query') as Record<string, unknown>;
      audited = { ...(params as Record<string, unknown>), ...query };
      if (spec.scope === 'student') {
        subjectUser = typeof query.user === 'string' ? query.user : principal.sub;
        authorizeStudent(principal, subjectUser);
      } else if (spec.scope === 'cohort') {
        subjectCohort = String((params as Record<string, unknown>).cohort);
        authorizeCohort(principal, subjectCohort);
      }
      if (spec.scope === 'reserved' || !spec.handler) {
        throw new ApiError(501, 'not_implemented', `${spec.path} is reserved for a later release`, {
          operation: spec.operationId,
        });
      }
      const base = {
        params,
        query,
        principal,
        user: subjectUser ?? '',
        cohort: subjectCohort ?? '',
        data,
        now: at.getTime(),
      };
      // Authorisation first, on every request: a cached answer is never served to a caller refused now.
      const authorized = spec.authorize ? await spec.authorize(base) : {};
      const ctx = { ...base, authorized };
      const lookup = spec.cache
        ? await cache.get(
            spec.cache,
            subjectUser !== null ? { user: subjectUser } : { other: `cohort=${subjectCohort}` },
            { ...(params as Record<string, unknown>), ...query, ...prefixed(authorized) },
          )
        : null;
      // Bytes, not strings, where the body is final: a hit is written as Redis returned it, and a miss is encoded to
      // UTF-8 once for the socket and the cache (a full mastery list is ~130 KB).
      let payload: string | Buffer;
      let body: Record<string, unknown> | null = null;
      if (lookup?.value != null) {
        payload = lookup.value;
      } else {
        body = await spec.handler(ctx);
        const text = JSON.stringify(body);
        payload = spec.fresh ? text : Buffer.from(text);
        if (lookup) void cache.set(lookup.key, payload);
      }
      if (spec.fresh) {
        const { _internal: internal, ...rest } =
          body ?? (JSON.parse(payload.toString()) as Record<string, unknown>);
        payload = JSON.stringify({ ...rest, ...(await spec.fresh(ctx, internal)) });
      }
      // A Node Buffer is a Uint8Array over an ArrayBuffer (never a SharedArrayBuffer).
      response = c.body(payload as string | Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'application/json',
        'X-Cache': lookup?.outcome ?? 'off',
      });
    } catch (err) {
      if (err instanceof AuthError) response = sendError(c, new ApiError(401, err.code, err.message));
      else if (err instanceof ApiError) response = sendError(c, err);
      else {
        // A store failed (or a bug): logged with the route, answered like mountErrorHandlers, still audited.
        deps.log.error({ err, route: spec.path, requestId: c.get('requestId') }, 'request failed');
        response = c.json(errorBody('internal_error', 'internal error'), 500);
      }
    }
    // Every answer of a data route is audited, refusals included: 401 (no verified actor: 'anonymous'), 400 (the
    // subject may be unknown), 403, 404, 5xx.
    if (principal || response.status >= 400) {
      deps.audit.record({
        at,
        requestId: c.get('requestId'),
        clientRequestId: c.get('clientRequestId'),
        actorId: principal?.sub ?? '-',
        actorRole: principal?.role ?? 'anonymous',
        method: c.req.method,
        route: spec.path,
        subjectUserId: subjectUser,
        cohortId: subjectCohort,
        status: response.status,
        params: audited,
      });
    }
    return response;
  }

  async function authenticate(c: Context): Promise<Principal> {
    return deps.verify(bearerToken(c.req.header('Authorization')));
  }

  return app;
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

/** The authorize step's facts as cache-key parts (prefixed so they never collide with a query parameter). */
function prefixed(facts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(facts).map(([k, v]) => [`@${k}`, v]));
}

/** Query parameters as an object: a repeated parameter becomes an array (which every schema rejects). */
function queryObject(c: Context): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, values] of Object.entries(c.req.queries())) {
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}
