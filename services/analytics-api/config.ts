import { z } from 'zod';
import { defineEnv, devModeOn, envBool, envInt, sharedEnv } from '../shared/config.ts';
import { pgRoleSetting } from '../shared/postgres.ts';
import { checkJwksUrl } from './auth.ts';

/** Environment variables of the analytics API (on top of the shared ones), with defaults and meaning. */
export const apiEnv = defineEnv(
  'analytics-api',
  {
    JWT_SECRET: {
      default: '',
      doc: 'HS256 secret for API tokens, at least 32 bytes; required unless JWT_JWKS_URL is set (only in development mode, STUDYSTREAM_DEV_MODE or API_DEV_MODE, does an empty value fall back to a fixed, public dev secret)',
    },
    JWT_JWKS_URL: {
      default: '',
      doc: 'JWKS URL of the identity provider; when set, tokens are verified with its asymmetric keys (RS256/ES256/EdDSA) instead of JWT_SECRET',
    },
    JWT_ISSUER: { default: 'studystream', doc: 'expected iss claim (empty: not checked)' },
    JWT_AUDIENCE: { default: 'studystream-api', doc: 'expected aud claim (empty: not checked)' },
    JWT_CLOCK_TOLERANCE_SEC: { default: '5', doc: 'clock skew tolerated on exp/nbf' },
    JWT_MAX_TTL_SEC: {
      default: '86400',
      doc: 'longest accepted token lifetime (exp - iat, seconds); longer tokens are refused, and `studystream token` will not mint them',
    },
    API_SERVER_CHECKS_CACHE_MS: {
      default: '5000',
      doc: "how old the data of the API's server-side token checks may be (PostgreSQL): each API process reloads its list of revoked API tokens with one query this often (in the background at half this age; no query per request) and caches an educator's cohort assignments this long; a revocation or unassignment takes effect within this bound, and when PostgreSQL cannot answer past it requests fail (500) rather than skip the check",
    },
    API_CACHE_TTL_SEC: {
      default: '300',
      doc: 'Redis cache TTL per endpoint and student (seconds); 0 disables',
    },
    API_CACHE_TIMEOUT_MS: {
      default: '50',
      doc: 'a cache read or write slower than this is abandoned and the request answered uncached',
    },
    API_AUDIT_FLUSH_MS: {
      default: '1000',
      doc: 'audit records are written to PostgreSQL at least this often',
    },
    API_AUDIT_BATCH_ROWS: { default: '500', doc: 'audit buffer size that triggers an immediate flush' },
    API_AUDIT_MAX_BUFFER: {
      default: '100000',
      doc: 'audit records held while PostgreSQL is unreachable; beyond this the oldest are dropped (counted and logged)',
    },
    API_STATEMENT_TIMEOUT_MS: {
      default: '5000',
      doc: "PostgreSQL statement_timeout of the API's connections (ms)",
    },
    API_CLICKHOUSE_MAX_CONCURRENT: {
      default: '8',
      doc: 'per-student ClickHouse reads one API process runs at once; more wait their turn (each query runs on one ClickHouse thread, so on a small host more only queue inside ClickHouse, and the server refuses queries past its max_concurrent_queries, 100 by default, across all API processes)',
    },
    API_CLICKHOUSE_WAIT_MS: {
      default: '1000',
      doc: 'longest wait for a ClickHouse read slot (ms); a request that cannot get one is answered 503 `overloaded` (details.reason clickhouse_queue_timeout) with Retry-After: 1, as is a query ClickHouse refuses with "too many simultaneous queries" (clickhouse_too_many_queries)',
    },
    API_WORKERS: {
      default: '1',
      doc: 'API processes sharing the port (node:cluster; /metrics aggregates all of them); more than 1 lets a slow request (a full mastery list) stop holding up the others on a multi-core host',
    },
    API_DEV_MODE: {
      default: '0',
      doc: 'development mode (1; `npm start` sets it): the dashboard offers demo sign-in with tokens minted by the API and a practice page that sends events through the API to ingest (/api/dev/*; 404 otherwise); refused with NODE_ENV=production or JWT_JWKS_URL',
    },
    API_PG_ROLE: {
      default: 'studystream_api',
      doc: 'PostgreSQL role the API acts as (SET ROLE at connection start; created by postgres/070_audit_hardening.sql: reads the serving tables, may only INSERT into audit_log). Empty: the connecting user. Not used in development mode (API_DEV_MODE), whose practice page creates an API key',
    },
    PG_READ_URL: {
      default: '',
      doc: "PostgreSQL connection string of a read replica (streaming standby) for the endpoints that accept staleness (each endpoint's `reads` in services/analytics-api/README.md); empty: DATABASE_URL. Token revocations, educator cohorts, cohort membership checks, cohort releases and the audit log always use DATABASE_URL (the primary)",
    },
    API_REPLICA_SETTLE_MS: {
      default: '1000',
      doc: 'with PG_READ_URL: each cache invalidation is applied again this long after the first, so an answer computed from a replica that had not yet replayed the change is cached at most this long (keep it above the replica lag)',
    },
    API_WEB_DIST: {
      default: 'services/web/dist',
      doc: 'folder of the built web dashboard served at / (relative to the repository root)',
    },
    API_DEMO_USER: {
      default: '',
      doc: 'user id in the demo token `npm start` prints (default: the student with the most answers)',
    },
  },
  {
    JWT_SECRET: z.string(),
    JWT_JWKS_URL: z.union([
      z.literal(''),
      z.url().refine((u) => {
        try {
          checkJwksUrl(u);
          return true;
        } catch {
          return false;
        }
      }, 'must be an https URL (http only on a loopback address)'),
    ]),
    JWT_ISSUER: z.string(),
    JWT_AUDIENCE: z.string(),
    JWT_CLOCK_TOLERANCE_SEC: envInt('JWT_CLOCK_TOLERANCE_SEC').pipe(z.number().min(0)),
    JWT_MAX_TTL_SEC: envInt('JWT_MAX_TTL_SEC').pipe(z.number().min(60)),
    API_CACHE_TTL_SEC: envInt('API_CACHE_TTL_SEC').pipe(z.number().min(0)),
    API_SERVER_CHECKS_CACHE_MS: envInt('API_SERVER_CHECKS_CACHE_MS').pipe(z.number().min(0).max(60_000)),
    API_CACHE_TIMEOUT_MS: envInt('API_CACHE_TIMEOUT_MS').pipe(z.number().min(1)),
    API_AUDIT_FLUSH_MS: envInt('API_AUDIT_FLUSH_MS').pipe(z.number().min(10)),
    API_AUDIT_BATCH_ROWS: envInt('API_AUDIT_BATCH_ROWS').pipe(z.number().min(1)),
    API_AUDIT_MAX_BUFFER: envInt('API_AUDIT_MAX_BUFFER').pipe(z.number().min(1)),
    API_STATEMENT_TIMEOUT_MS: envInt('API_STATEMENT_TIMEOUT_MS').pipe(z.number().min(100)),
    API_CLICKHOUSE_MAX_CONCURRENT: envInt('API_CLICKHOUSE_MAX_CONCURRENT').pipe(z.number().min(1).max(1000)),
    API_CLICKHOUSE_WAIT_MS: envInt('API_CLICKHOUSE_WAIT_MS').pipe(z.number().min(0).max(60_000)),
    API_WORKERS: envInt('API_WORKERS').pipe(z.number().min(1).max(64)),
    API_DEV_MODE: envBool('API_DEV_MODE'),
    API_PG_ROLE: pgRoleSetting,
    PG_READ_URL: z.string(),
    API_REPLICA_SETTLE_MS: envInt('API_REPLICA_SETTLE_MS').pipe(z.number().min(0).max(60_000)),
    API_WEB_DIST: z.string().min(1),
    API_DEMO_USER: z.string(),
  },
);

/** Used when JWT_SECRET is empty in development mode only: public, so never accepted anywhere else. */
export const DEV_JWT_SECRET = 'studystream-dev-jwt-secret-not-for-production';

export type ApiConfig = ReturnType<typeof sharedEnv.load> & ReturnType<typeof apiEnv.load>;

/**
 * Shared and API settings. Outside development mode (STUDYSTREAM_DEV_MODE or API_DEV_MODE) either JWT_JWKS_URL or
 * a JWT_SECRET of at least 32 bytes is required: the API refuses to start rather than verify tokens with a secret
 * anyone can read in the source. Development mode is refused with NODE_ENV=production or JWT_JWKS_URL.
 */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const cfg = { ...sharedEnv.load(env), ...apiEnv.load(env) };
  const dev = devModeOn('analytics-api', env, {
    STUDYSTREAM_DEV_MODE: cfg.STUDYSTREAM_DEV_MODE,
    API_DEV_MODE: cfg.API_DEV_MODE,
  });
  if (cfg.API_DEV_MODE && cfg.JWT_JWKS_URL !== '') {
    throw new Error(
      'invalid configuration (analytics-api):\n  API_DEV_MODE: development mode mints tokens; not allowed with NODE_ENV=production or JWT_JWKS_URL',
    );
  }
  if (cfg.JWT_JWKS_URL !== '') return cfg;
  if (cfg.JWT_SECRET === '') {
    if (dev) return { ...cfg, JWT_SECRET: DEV_JWT_SECRET };
    throw new Error(
      'invalid configuration (analytics-api):\n  JWT_SECRET or JWT_JWKS_URL: required (a random secret of at least 32 bytes, e.g. `openssl rand -hex 32`); set STUDYSTREAM_DEV_MODE=1 to use the public development secret on a development machine',
    );
  }
  if (Buffer.byteLength(cfg.JWT_SECRET) < 32 && !dev) {
    throw new Error('invalid configuration (analytics-api):\n  JWT_SECRET: at least 32 bytes');
  }
  return cfg;
}
