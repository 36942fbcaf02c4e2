import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { clientReader, type ClickHouseClient, type RowReader } from '../shared/clickhouse.ts';
import { mountErrorHandlers, mountOps, type OpsAccess, type ReadinessCheck } from '../shared/http.ts';
import type { Logger } from '../shared/logger.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Pool } from '../shared/postgres.ts';
import type { AuditSink } from './audit.ts';
import type { TokenVerifier } from './auth.ts';
import { ResponseCache } from './cache.ts';
import { DEFAULT_GATE, gatedReader, ReadGate, type GateOptions } from './clickhouse-gate.ts';
import { mountDocs } from './docs.ts';
import { auditRequest } from './flow/audit.ts';
import { authenticate } from './flow/authenticate.ts';
import { authorise } from './flow/authorise.ts';
import { cacheStep } from './flow/cache.ts';
import type { ApiEnv } from './flow/env.ts';
import { respond } from './flow/respond.ts';
import { validateInput } from './flow/validate.ts';
import { openApiDocument } from './openapi.ts';
import type { DataDeps, RouteSpec } from './route.ts';
import { ROUTES } from './routes/index.ts';
import { mountWeb, type WebOptions } from './web.ts';

export type ApiDeps = {
  /** The primary: authorisation facts, audit, cohort releases, and the routes that need their own writes at once. */
  pg: Pool;
  /** A read replica for the routes declared `reads: 'replica'` (RouteSpec); default: `pg`. */
  pgRead?: Pool;
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
  /** Bound on concurrent per-student ClickHouse reads (clickhouse-gate.ts); default DEFAULT_GATE. */
  clickhouseGate?: GateOptions;
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
  const gate = new ReadGate(deps.clickhouseGate ?? DEFAULT_GATE, deps.registry);
  const data: DataDeps = {
    pg: deps.pg,
    ch: deps.ch,
    chRows: gatedReader(deps.chRows ?? clientReader(deps.ch), gate),
    redis: deps.redis,
    kAnonymity: deps.kAnonymity,
    redisTimeoutMs: deps.cacheTimeoutMs,
  };
  // What a handler of a `reads: 'replica'` route sees as `pg`; the authorise step always reads the primary.
  const replicaData: DataDeps = { ...data, pg: deps.pgRead ?? deps.pg };

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

  // The request flow of every data route, one small step each (flow/): audit (records whatever the rest decides,
  // refusals included) → authenticate → validate → authorise (scope, then the route's own data checks) → cache →
  // handler. A refusal is an ApiError (Hono's HTTPException) thrown by the step that decides it.
  const api = app as unknown as Hono<ApiEnv>;
  const authenticated = authenticate(deps.verify);
  for (const spec of routes) {
    api.get(
      spec.path,
      auditRequest(deps.audit, spec.path, now),
      authenticated,
      validateInput(spec),
      authorise(spec, data), // a reserved route (no handler) is refused here: 501 not_implemented
      cacheStep(cache, spec),
      respond(spec, spec.reads === 'replica' ? replicaData : data, gate),
    );
  }
  if (deps.web) mountWeb(app, { ...deps.web, pg: deps.pg, log: deps.log });

  return app;
}
