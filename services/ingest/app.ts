import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import {
  errorBody,
  mountErrorHandlers,
  mountOps,
  type OpsAccess,
  type ReadinessCheck,
} from '../shared/http.ts';
import type { Logger } from '../shared/logger.ts';
import type { Registry } from '../shared/metrics.ts';
import type { Authenticator, ApiKeyPrincipal } from './apikeys.ts';
import { parseBatchEnvelope, readJsonBody, type BodyError } from './body.ts';
import type { IngestConfig } from './config.ts';
import type { IngestMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import type { IncomingMessage } from 'node:http';
import { ingestEvents, responseJson, type IngestResponse } from './pipeline.ts';
import { clientAddress, reduceUserAgent, trustedProxies } from './privacy.ts';
import type { Publisher } from './publisher.ts';
import { staticHasher, type IpHasher } from './ip-salt.ts';
import { LookupThrottled, type LocalBuckets } from './limits.ts';
import type { Dedupe, RateLimiter } from './redis-scripts.ts';
import { batchSkewMs } from './skew.ts';
import {
  mismatchedEvents,
  signIngestToken,
  tokenSigningKey,
  verifyIngestToken,
  type IngestTokenClaims,
} from './ingest-token.ts';
import type { RevocationCheck } from '../shared/token-revocations.ts';

export type IngestAppConfig = Pick<
  IngestConfig,
  | 'INGEST_MAX_BATCH_EVENTS'
  | 'INGEST_MAX_BODY_BYTES'
  | 'INGEST_SKEW_TOLERANCE_MS'
  | 'INGEST_MAX_EVENT_AGE_DAYS'
  | 'INGEST_MAX_FUTURE_MS'
  | 'INGEST_IP_SALT'
  | 'INGEST_TRUSTED_PROXIES'
> &
  Partial<Pick<IngestConfig, 'INGEST_TOKEN_SECRET' | 'INGEST_TOKEN_MAX_TTL_SEC'>>;

export type IngestDeps = {
  cfg: IngestAppConfig;
  log: Logger;
  registry: Registry;
  metrics: IngestMetrics;
  auth: Authenticator;
  rateLimiter: RateLimiter;
  dedupe: Dedupe;
  publisher: Publisher;
  checks: ReadinessCheck[];
  /** Hashes client IPs (ip-salt.ts: the daily rotating salt); default: INGEST_IP_SALT alone (tests). */
  ipHasher?: IpHasher;
  /**
   * While Redis (the shared rate limiter) is unreachable: 'local' limits per key in this process (the default),
   * 'open' lets everything through, 'closed' answers 503 (INGEST_RATE_LIMIT_REDIS_DOWN).
   */
  rateLimitRedisDown?: { mode: 'local' | 'open' | 'closed'; local?: LocalBuckets };
  /** Revoked ingest tokens (shared/token-revocations.ts, kind 'ingest'); omitted: none is (tests without PostgreSQL). */
  revocations?: RevocationCheck;
  /** Who may read /metrics and readiness errors (shared/http.ts opsAccess); omitted: anyone (tests). */
  opsToken?: OpsAccess;
  now?: () => number;
};

type Env = {
  Variables: {
    principal: ApiKeyPrincipal;
    ipHash: string | null;
    /** The ingest token's claims when the request carried one (always for client keys). */
    token: IngestTokenClaims | undefined;
  };
  Bindings: { incoming?: IncomingMessage };
};

/** The Node request when served by @hono/node-server (undefined under app.request() in tests). */
const incomingOf = (c: Context<Env>): IncomingMessage | undefined =>
  (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

const UNAVAILABLE_RETRY_AFTER_S = 2;

/** The ingest HTTP app (see openapi.ts for the contract). Testable with app.request(). */
export function createIngestApp(deps: IngestDeps): { app: Hono<Env>; stopAccepting: () => void } {
  const { cfg, log, metrics } = deps;
  const now = deps.now ?? Date.now;
  const app = new Hono<Env>();
  let accepting = true;
  const trusted = trustedProxies(cfg.INGEST_TRUSTED_PROXIES);
  const ipHasher = deps.ipHasher ?? staticHasher(cfg.INGEST_IP_SALT);
  const tokenKey = tokenSigningKey(cfg.INGEST_TOKEN_SECRET ?? '', cfg.INGEST_IP_SALT);
  const maxTokenTtl = cfg.INGEST_TOKEN_MAX_TTL_SEC ?? 900;
  mountOps(app as unknown as Hono, {
    registry: deps.registry,
    log,
    checks: deps.checks,
    opsToken: deps.opsToken,
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument(cfg)));

  const fail = (
    c: Context,
    status: 400 | 401 | 403 | 413 | 415 | 429 | 503,
    code: string,
    message: string,
    details?: unknown,
  ) => {
    metrics.errors.inc({ code });
    return c.json(errorBody(code, message, details), status);
  };
  const unavailable = (c: Context, message: string) => {
    c.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
    return fail(c, 503, 'unavailable', message);
  };
  const bodyError = (c: Context, e: BodyError) => fail(c, e.status, e.code, e.message, e.details);

  app.use('/v1/*', async (c, next) => {
    if (c.req.method !== 'POST') return next(); // no handler: 405 with Allow (shared/http.ts)
    if (!accepting) return unavailable(c, 'ingest is shutting down');
    const key = c.req.header('x-api-key');
    if (!key) return fail(c, 401, 'unauthenticated', 'missing X-API-Key header');
    const ip = clientAddress(peerOf(c), c.req.header('x-forwarded-for'), trusted);
    const ipHash = ip ? await ipHasher.hash(ip, now()) : null;
    c.set('ipHash', ipHash);
    let principal: ApiKeyPrincipal | undefined;
    try {
      principal = await deps.auth.authenticate(key, ipHash);
    } catch (err) {
      if (err instanceof LookupThrottled) {
        c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
        return fail(
          c,
          429,
          'too_many_key_lookups',
          'too many unknown API keys from this client; retry later',
        );
      }
      log.warn({ err: (err as Error).message }, 'API key lookup failed');
      return unavailable(c, 'API key store unavailable');
    }
    if (!principal) return fail(c, 401, 'unauthenticated', 'unknown or revoked API key');
    c.set('principal', principal);
    // A client key writes only with an ingest token, and only its student's events (checked per request below).
    // A server key may send one too, to act for one student only.
    const token = c.req.header('x-ingest-token');
    if (token !== undefined) {
      const checked = verifyIngestToken(tokenKey, token, Math.floor(now() / 1000));
      if (!checked.ok) return fail(c, 401, checked.code, checked.message);
      const revoked = await Promise.resolve(
        deps.revocations?.revoked({
          subject: checked.claims.userId,
          jti: checked.claims.jti,
          iat: checked.claims.iat,
        }) ?? false,
      ).then(
        (r) => r,
        (err: unknown) => {
          log.warn({ err: (err as Error).message }, 'ingest token revocation list unavailable');
          return undefined;
        },
      );
      if (revoked === undefined) return unavailable(c, 'token revocation list unavailable');
      if (revoked)
        return fail(c, 401, 'ingest_token_revoked', 'the ingest token has been revoked; fetch a new one');
      c.set('token', checked.claims);
    } else if (principal.scope === 'client' && c.req.path !== '/v1/tokens') {
      return fail(
        c,
        401,
        'ingest_token_required',
        'a client API key needs an X-Ingest-Token header (minted by the app backend: POST /v1/tokens)',
      );
    }
    await next();
  });

  /** Rate limit (counted in events) then the pipeline; maps outcomes to HTTP. */
  async function handle(c: Context<Env>, events: readonly unknown[], sentAt: number | undefined) {
    const principal = c.get('principal');
    const token = c.get('token');
    if (token) {
      const wrong = mismatchedEvents(events, token.userId);
      if (wrong.length > 0)
        return {
          error: fail(
            c,
            403,
            'user_id_mismatch',
            'the ingest token allows events of its own student only; nothing in this request was accepted',
            { indexes: wrong.slice(0, 100) },
          ),
        };
    }
    try {
      const decision = await deps.rateLimiter.take(principal.prefix, events.length);
      if (!decision.ok) {
        c.header('Retry-After', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
        return { error: fail(c, 429, 'rate_limited', `rate limit exceeded for API key ${principal.prefix}`) };
      }
    } catch (err) {
      metrics.degraded.inc({ dependency: 'redis' });
      const fallback = deps.rateLimitRedisDown ?? { mode: 'open' };
      log.warn({ err: (err as Error).message, fallback: fallback.mode }, 'rate limiter unavailable');
      if (fallback.mode === 'closed') return { error: unavailable(c, 'rate limiter unavailable') };
      const wait =
        fallback.mode === 'local' ? (fallback.local?.take(principal.prefix, events.length) ?? 0) : 0;
      if (wait > 0) {
        c.header('Retry-After', String(Math.max(1, Math.ceil(wait / 1000))));
        return { error: fail(c, 429, 'rate_limited', `rate limit exceeded for API key ${principal.prefix}`) };
      }
    }
    metrics.requestBatchSize.observe(events.length);
    const receivedAt = now();
    const outcome = await ingestEvents(
      events,
      {
        receivedAt,
        skewMs: batchSkewMs(receivedAt, sentAt, cfg.INGEST_SKEW_TOLERANCE_MS),
        ipHash: c.get('ipHash'),
        userAgent: reduceUserAgent(c.req.header('user-agent')),
      },
      { maxAgeMs: cfg.INGEST_MAX_EVENT_AGE_DAYS * 86_400_000, maxFutureMs: cfg.INGEST_MAX_FUTURE_MS },
      { dedupe: deps.dedupe, publisher: deps.publisher, metrics, log },
    );
    if (!outcome.ok) {
      log.warn({ err: outcome.error.message, events: events.length }, 'produce failed');
      return { error: unavailable(c, 'event store unavailable; retry with the same event_id') };
    }
    return { response: outcome.value };
  }

  /**
   * Mints a per-student ingest token (server keys only): the app's backend calls this for its signed-in student
   * and hands the token to the browser or mobile app.
   */
  app.post('/v1/tokens', async (c) => {
    const principal = c.get('principal');
    if (principal.scope !== 'server' || c.get('token'))
      return fail(
        c,
        403,
        'server_key_required',
        'only a server API key (without a token) mints ingest tokens',
      );
    const body = await readJsonBody(c.req.raw, 4096, incomingOf(c));
    if (!body.ok) return bodyError(c, body.error);
    const req = body.value as { user_id?: unknown; ttl_sec?: unknown } | null;
    const unknown =
      req && typeof req === 'object' && !Array.isArray(req)
        ? Object.keys(req).find((k) => k !== 'user_id' && k !== 'ttl_sec')
        : undefined;
    if (unknown !== undefined)
      return fail(c, 400, 'invalid_value', `${unknown}: unknown field`, { path: unknown });
    const userId = req && typeof req === 'object' && !Array.isArray(req) ? req.user_id : undefined;
    const ttl = req && typeof req === 'object' ? (req.ttl_sec ?? maxTokenTtl) : undefined;
    if (typeof userId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(userId))
      return fail(c, 400, 'invalid_value', 'user_id: 1-64 letters, digits, _ or -', { path: 'user_id' });
    if (!Number.isInteger(ttl) || (ttl as number) < 1 || (ttl as number) > maxTokenTtl)
      return fail(c, 400, 'invalid_value', `ttl_sec: an integer from 1 to ${maxTokenTtl}`, {
        path: 'ttl_sec',
      });
    const iat = Math.floor(now() / 1000);
    const exp = iat + (ttl as number);
    const jti = randomBytes(12).toString('base64url');
    const token = signIngestToken(tokenKey, { userId, keyPrefix: principal.prefix, iat, exp, jti });
    return c.json({ token, user_id: userId, expires_at: exp * 1000, jti }, 201);
  });

  app.post('/v1/events', async (c) => {
    const body = await readJsonBody(c.req.raw, cfg.INGEST_MAX_BODY_BYTES, incomingOf(c));
    if (!body.ok) return bodyError(c, body.error);
    const out = await handle(c, [body.value], undefined);
    if (out.error) return out.error;
    const r: IngestResponse = out.response;
    const status = r.accepted === 1 ? 202 : r.duplicates === 1 ? 200 : 422;
    return c.json(r, status);
  });

  app.post('/v1/events/batch', async (c) => {
    const body = await readJsonBody(c.req.raw, cfg.INGEST_MAX_BODY_BYTES, incomingOf(c));
    if (!body.ok) return bodyError(c, body.error);
    const envelope = parseBatchEnvelope(body.value, cfg.INGEST_MAX_BATCH_EVENTS);
    if (!envelope.ok) return bodyError(c, envelope.error);
    const out = await handle(c, envelope.value.events, envelope.value.sentAt);
    if (out.error) return out.error;
    c.header('Content-Type', 'application/json');
    return c.body(responseJson(out.response), 200);
  });

  mountErrorHandlers(app as unknown as Hono, log);
  return {
    app,
    stopAccepting: () => {
      accepting = false;
    },
  };
}

/** The socket peer's address (undefined under app.request() without a socket, in tests). */
function peerOf(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
