import { serve, type ServerType } from '@hono/node-server';
import { contextFromHeaders, initTracing, SpanKind, tracingEnabled, withSpan } from './tracing.ts';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { Registry } from 'prom-client';
import { Histogram, Counter, LATENCY_BUCKETS } from './metrics.ts';
import type { Logger } from './logger.ts';
import { z } from 'zod';

/** A named dependency check for /readyz; it throws or rejects when the dependency is unreachable. */
export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

/**
 * A machine-readable error body: every 4xx/5xx the services send has this shape. Both OpenAPI documents generate
 * their `Error` schema from this zod schema (openApiJsonSchema).
 */
export const ERROR_BODY = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = { error: { code: string; message: string; details?: unknown } };

/** The JSON schema of a zod schema as an OpenAPI 3.1 document embeds it (what is sent: output; no $schema key). */
export function openApiJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return json;
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

const CHECK_TIMEOUT_MS = 2000;

async function runCheck({
  name,
  check,
}: ReadinessCheck): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Mounts the operational endpoints every service answers: /healthz (process alive), /readyz (dependencies
 * reachable, 503 otherwise) and /metrics (Prometheus), plus request metrics and access logs without payloads.
 */
const OPS_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * Who may read /metrics and /readyz's error text on a service port: `null` anyone (development mode, in-process
 * tests, the stream's ops-only port); a token: `Authorization: Bearer <token>` (OPS_TOKEN); '' nobody.
 */
export type OpsAccess = string | null;

/** OPS_TOKEN when set; otherwise open in development mode and closed (403) everywhere else. */
export function opsAccess(cfg: { OPS_TOKEN: string; STUDYSTREAM_DEV_MODE: boolean }): OpsAccess {
  if (cfg.OPS_TOKEN !== '') return cfg.OPS_TOKEN;
  return cfg.STUDYSTREAM_DEV_MODE ? null : '';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function opsAllowed(access: OpsAccess, authorization: string | undefined): boolean {
  if (access === null) return true;
  if (access === '' || !authorization?.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(authorization.slice('Bearer '.length)), digest(access));
}

export function mountOps(
  app: Hono,
  opts: { registry: Registry; log: Logger; checks: ReadinessCheck[]; opsToken?: OpsAccess },
): void {
  const access = opts.opsToken ?? null;
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [opts.registry],
  });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [opts.registry],
  });
  // Tracing (off unless OTEL_TRACES_EXPORTER=otlp): one server span per request, child of the caller's traceparent.
  initTracing(String(opts.log.bindings().service ?? 'studystream'));
  app.use('*', async (c, next) => {
    if (!tracingEnabled() || OPS_PATHS.has(c.req.path)) return next();
    return withSpan(
      `${c.req.method}`,
      { kind: SpanKind.SERVER, parent: contextFromHeaders(c.req.header()) },
      async (span) => {
        await next();
        span?.updateName(`${c.req.method} ${c.req.routePath}`);
        span?.setAttributes({
          'http.request.method': c.req.method,
          'http.route': c.req.routePath,
          'http.response.status_code': c.res.status,
        });
        if (c.res.status >= 500) span?.setStatus({ code: 2 });
      },
    );
  });
  app.use('*', async (c, next) => {
    const start = performance.now();
    await next();
    const seconds = (performance.now() - start) / 1000;
    const labels = { method: c.req.method, route: c.req.routePath, status: String(c.res.status) };
    duration.observe(labels, seconds);
    requests.inc(labels);
    if (c.req.routePath !== '/metrics' && c.req.routePath !== '/healthz') {
      opts.log.info(
        {
          method: c.req.method,
          route: c.req.routePath,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    }
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const results = await Promise.all(opts.checks.map(runCheck));
    const ok = results.every((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) opts.log.warn({ checks: failed }, 'not ready');
    // Dependency error text (host names, ports, driver messages) only to ops; everyone else sees names and ok.
    const checks = opsAllowed(access, c.req.header('Authorization'))
      ? results
      : results.map(({ name, ok }) => ({ name, ok }));
    return c.json({ status: ok ? 'ready' : 'unavailable', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    if (!opsAllowed(access, c.req.header('Authorization'))) {
      return c.json(
        errorBody(
          'forbidden',
          access === ''
            ? '/metrics needs OPS_TOKEN to be configured (then send Authorization: Bearer <OPS_TOKEN>)'
            : '/metrics needs Authorization: Bearer <OPS_TOKEN>',
        ),
        403,
      );
    }
    c.header('Content-Type', opts.registry.contentType);
    return c.body(await opts.registry.metrics());
  });
}

/** A Hono route pattern (`/a/:id`, `/a/:f{[a-z]+}`, `/a/*`) as an anchored RegExp. */
function patternRegExp(pattern: string): RegExp {
  let out = '';
  for (const part of pattern.split(/(:[A-Za-z0-9_]+(?:\{[^}]*\})?|\*)/)) {
    if (part === '*') out += '.*';
    else if (part.startsWith(':')) {
      const custom = /\{([^}]*)\}$/.exec(part);
      out += custom ? `(?:${custom[1]})` : '[^/]+';
    } else out += part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** The methods the app's handlers (not its middleware) serve `path` with; GET implies HEAD. */
export function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path === '*' || r.path === '/*') continue;
    if (patternRegExp(r.path).test(path)) methods.add(r.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** Uniform JSON for unknown routes and unexpected errors (a 5xx never leaks internals). */
export function mountErrorHandlers(app: Hono, log: Logger): void {
  app.notFound((c: Context) => {
    // A path served under other methods answers 405 with Allow (RFC 9110), not 404.
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      c.header('Allow', allowed.join(', '));
      return c.json(
        errorBody('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}`, {
          allow: allowed,
        }),
        405,
      );
    }
    return c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404);
  });
  app.onError((err, c) => {
    // A deliberate refusal (HTTPException and its subclasses): its own response, with the headers set before it.
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      return c.newResponse(res.body, res);
    }
    log.error(
      { err, route: c.req.routePath, requestId: (c.var as Record<string, unknown>).requestId },
      'unhandled error',
    );
    return c.json(errorBody('internal_error', 'internal error'), 500);
  });
}

/**
 * Starts a Node HTTP server for a Hono app and resolves once it listens: HTTPS (only) when `tls` is given
 * (TLS_CERT_FILE/TLS_KEY_FILE through shared/tls.ts serverTls), else plain HTTP.
 */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
  tls?: { key: Buffer; cert: Buffer },
): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = tls
      ? serve({ fetch: app.fetch, port, hostname, createServer: createHttpsServer, serverOptions: tls }, () =>
          resolve(server),
        )
      : serve({ fetch: app.fetch, port, hostname }, () => resolve(server));
  });
}

/** Closes an HTTP server: stops accepting, lets in-flight requests finish. */
export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
