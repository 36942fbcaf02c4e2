import { createClickHouse, createClickHouseReader } from '../shared/clickhouse.ts';
import {
  isClusterPrimary,
  isClusterWorker,
  runClusterPrimary,
  serveClusterMetrics,
} from '../shared/cluster.ts';
import { closeServer, listen, opsAccess } from '../shared/http.ts';
import { createLogger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { createPgPool } from '../shared/postgres.ts';
import { createRedis } from '../shared/redis.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { serverTls } from '../shared/tls.ts';
import { createApiApp } from './app.ts';
import { PgAuditLog } from './audit.ts';
import { createVerifier } from './auth.ts';
import { withServerChecks } from './server-checks.ts';
import { DEV_JWT_SECRET, loadApiConfig } from './config.ts';
import { kAnonymity } from '../analytics/index.ts';
import { startInvalidationListener } from './invalidation.ts';
import { webOptions } from './web.ts';

/**
 * The analytics API process: real clients, the app, the invalidation listener, graceful shutdown. With
 * API_WORKERS > 1 this process only forks that many such processes, which share the port (services/shared/
 * cluster.ts): each has its own pools, cache client, invalidation subscription and audit buffer, and /metrics of
 * any of them sums the series of all.
 */
const cfg = loadApiConfig();
const log = createLogger('analytics-api', cfg.LOG_LEVEL);
const url = `http://${cfg.HTTP_HOST}:${cfg.API_PORT}`;
if (cfg.JWT_SECRET === DEV_JWT_SECRET && !isClusterWorker()) {
  log.warn('development mode: JWT_SECRET is not set, tokens are verified with the public development secret');
}
if (isClusterPrimary(cfg.API_WORKERS)) {
  runClusterPrimary({ service: 'analytics-api', workers: cfg.API_WORKERS, log });
  log.info({ url, workers: cfg.API_WORKERS }, 'analytics API listening (docs at /docs)');
} else {
  await startApi();
}

async function startApi(): Promise<void> {
  const registry = createMetricsRegistry('analytics-api');
  serveClusterMetrics('analytics-api', registry);
  const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);

  // The least-privilege role (no UPDATE/DELETE on anything, INSERT only into audit_log), except in development
  // mode, whose practice page creates an API key.
  const role = cfg.API_DEV_MODE || cfg.API_PG_ROLE === '' ? undefined : cfg.API_PG_ROLE;
  const apiPool = (url: string, applicationName: string) => {
    const pool = createPgPool({ ...cfg, DATABASE_URL: url }, { role, applicationName });
    // Sent as a startup parameter of every new connection (no extra round trip, no race with the first query).
    pool.options.statement_timeout = cfg.API_STATEMENT_TIMEOUT_MS;
    pool.on('error', (err) =>
      log.warn({ err: err.message, pool: applicationName }, 'idle PostgreSQL client error'),
    );
    shutdown.add(`postgres (${applicationName})`, () => pool.end());
    return pool;
  };
  // The primary (auth facts, audit, releases, membership checks) and, with PG_READ_URL, a read replica for the
  // routes that accept staleness (RouteSpec.reads; the table in services/analytics-api/README.md).
  const pg = apiPool(cfg.DATABASE_URL, 'studystream-api');
  const replica = cfg.PG_READ_URL !== '' && cfg.PG_READ_URL !== cfg.DATABASE_URL;
  const pgRead = replica ? apiPool(cfg.PG_READ_URL, 'studystream-api-replica') : pg;

  const ch = createClickHouse(cfg);
  shutdown.add('clickhouse', () => ch.close());
  const chRows = createClickHouseReader(cfg);
  shutdown.add('clickhouse-reader', async () => chRows.close());

  const redis = createRedis(cfg);
  redis.on('error', () => {
    /* logged by the cache at most every 10 s; the API answers uncached meanwhile */
  });
  shutdown.add('redis', () => redis.quit().catch(() => redis.disconnect()));

  const listener = startInvalidationListener({
    redisUrl: cfg.REDIS_URL,
    tls: cfg,
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    redis,
    registry,
    log,
    replicaSettleMs: replica ? cfg.API_REPLICA_SETTLE_MS : 0,
  });
  shutdown.add('invalidation', () => listener.close());

  const audit = new PgAuditLog(
    pg,
    {
      flushMs: cfg.API_AUDIT_FLUSH_MS,
      batchRows: cfg.API_AUDIT_BATCH_ROWS,
      maxBuffer: cfg.API_AUDIT_MAX_BUFFER,
    },
    registry,
    log,
  );
  shutdown.add('audit', () => audit.close());

  const app = createApiApp({
    pg,
    pgRead,
    ch,
    chRows,
    redis,
    log,
    registry,
    audit,
    verify: withServerChecks(
      createVerifier({
        secret: cfg.JWT_SECRET,
        jwksUrl: cfg.JWT_JWKS_URL || undefined,
        issuer: cfg.JWT_ISSUER,
        audience: cfg.JWT_AUDIENCE,
        clockToleranceSec: cfg.JWT_CLOCK_TOLERANCE_SEC,
        maxLifetimeSec: cfg.JWT_MAX_TTL_SEC,
      }),
      pg,
      { cacheMs: cfg.API_SERVER_CHECKS_CACHE_MS },
    ),
    clickhouseGate: { maxConcurrent: cfg.API_CLICKHOUSE_MAX_CONCURRENT, waitMs: cfg.API_CLICKHOUSE_WAIT_MS },
    cacheTtlSec: cfg.API_CACHE_TTL_SEC,
    cacheTimeoutMs: cfg.API_CACHE_TIMEOUT_MS,
    kAnonymity: kAnonymity(),
    web: webOptions(cfg),
    opsToken: opsAccess(cfg),
    checks: [
      { name: 'postgres', check: () => pg.query('SELECT 1') },
      ...(replica ? [{ name: 'postgres-replica', check: () => pgRead.query('SELECT 1') }] : []),
      {
        name: 'clickhouse',
        check: () => ch.ping().then((r) => (r.success ? r : Promise.reject(new Error('ping failed')))),
      },
    ],
  });

  const server = await listen(app, cfg.API_PORT, cfg.HTTP_HOST, serverTls(cfg));
  shutdown.add('http', () => closeServer(server));
  shutdown.installSignalHandlers();
  if (!isClusterWorker())
    log.info({ url, auth: cfg.JWT_JWKS_URL ? 'jwks' : 'hs256' }, 'analytics API listening (docs at /docs)');
}
