import { Hono } from 'hono';
import { createClickHouse, createClickHouseReader } from '../shared/clickhouse.ts';
import { closeServer, listen, mountErrorHandlers, mountOps } from '../shared/http.ts';
import { createLogger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { asRole, createPgPool } from '../shared/postgres.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { serverTls } from '../shared/tls.ts';
import { loadJobsConfig } from './config.ts';
import { jobDefinitions } from './jobs.ts';
import { runnerOptions } from './options.ts';
import { startRunner } from './runner.ts';

/**
 * The jobs service: a BullMQ worker for every job of jobs.ts on the stack's Redis, the schedules upserted on start
 * (idempotent across instances), /healthz, /readyz and /metrics on JOBS_PORT, graceful shutdown (the running job
 * finishes or, past the grace period, is taken over by another instance after its lock expires).
 */
const cfg = loadJobsConfig();
const log = createLogger('jobs', cfg.LOG_LEVEL);
const registry = createMetricsRegistry('jobs');
const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);

// Its least-privilege role (postgres/096): reads the serving tables, writes only the jobs' results.
const pg = createPgPool(cfg, asRole(cfg.JOBS_PG_ROLE));
pg.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client error'));
shutdown.add('postgres', () => pg.end());
const ch = createClickHouse(cfg);
shutdown.add('clickhouse', () => ch.close());
const chRows = createClickHouseReader(cfg);
shutdown.add('clickhouse-reader', async () => chRows.close());

const runner = await startRunner({
  ...runnerOptions(cfg),
  definitions: jobDefinitions({ cfg, pg, ch, chRows }),
  registry,
  log,
});
shutdown.add('jobs', () => runner.close());

const app = new Hono();
mountOps(app, {
  registry,
  log,
  checks: [
    { name: 'postgres', check: () => pg.query('SELECT 1') },
    { name: 'redis', check: () => runner.queue.getJobCounts('active') },
  ],
});
mountErrorHandlers(app, log);
const server = await listen(app, cfg.JOBS_PORT, cfg.HTTP_HOST, serverTls(cfg));
shutdown.add('http', () => closeServer(server));
shutdown.installSignalHandlers();
log.info({ port: cfg.JOBS_PORT, queue: cfg.JOBS_QUEUE }, 'jobs service running');
