import { Hono } from 'hono';
import { createClickHouse } from '../shared/clickhouse.ts';
import { loadConfig } from '../shared/config.ts';
import { closeServer, listen, mountErrorHandlers, mountOps, type ReadinessCheck } from '../shared/http.ts';
import { createKafka } from '../shared/kafka.ts';
import { createLogger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { asRole, createPgPool } from '../shared/postgres.ts';
import { createRedis } from '../shared/redis.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { serverTls } from '../shared/tls.ts';
import { sinkEnv } from './clickhouse-sink/config.ts';
import { startClickHouseSink } from './clickhouse-sink/sink.ts';
import { startMasteryProcessor } from './mastery/start.ts';
import { startSessionsProcessor } from './sessions/start.ts';
import { streamEnv } from './runtime/config.ts';
import type { RunningProcessor } from './runtime/processor.ts';

/**
 * The stream service: runs the processors named in STREAM_PROCESSORS (default all three) on the shared runtime
 * and answers /healthz, /readyz and /metrics on STREAM_PORT. Every processor scales by running more processes
 * with the same settings: partitions are shared out by the consumer groups.
 */
const cfg = loadConfig();
const stream = streamEnv.load();
const log = createLogger('stream', cfg.LOG_LEVEL);
const metrics = createMetricsRegistry('stream');
const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
shutdown.installSignalHandlers();

const kafka = createKafka(cfg, log, 'stream');
const checks: ReadinessCheck[] = [];
const running: Array<{ name: string; processor: RunningProcessor }> = [];
const wanted = new Set(stream.STREAM_PROCESSORS);

// One Redis client: the live-state processors' state, and the API cache invalidations every processor announces
// (the sink only announces: without Redis it still works, so Redis is a readiness check of the other two only).
const redis = createRedis(cfg);
shutdown.add('redis', async () => void redis.disconnect());

if (wanted.has('clickhouse-sink')) {
  const sink = await startClickHouseSink({ cfg, stream, sink: sinkEnv.load(), kafka, log, metrics, redis });
  shutdown.add('clickhouse-sink', () => sink.stop());
  running.push({ name: 'clickhouse-sink', processor: sink.processor });
  const probe = createClickHouse(cfg);
  shutdown.add('clickhouse-probe', () => probe.close());
  checks.push({
    name: 'clickhouse',
    check: async () => (await probe.ping()).success || Promise.reject(new Error('ping failed')),
  });
}

if (wanted.has('sessions') || wanted.has('mastery')) {
  // The processors' least-privilege role (postgres/096): their own tables, no DELETE, no keys or audit log.
  const pool = createPgPool(cfg, asRole(stream.STREAM_PG_ROLE));
  // An idle client's error (the server restarted: "terminating connection due to administrator command") is the
  // pool's to drop; unhandled, it would kill the process. Flushes that meet the outage retry (runtime).
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client error'));
  shutdown.add('postgres', () => pool.end());
  checks.push({ name: 'postgres', check: () => pool.query('SELECT 1') });
  checks.push({ name: 'redis', check: () => redis.ping() });
  const deps = {
    cfg,
    stream,
    kafka,
    pool,
    redis,
    log,
    metrics,
    kafkaGroupSuffix: stream.STREAM_KAFKA_GROUP_SUFFIX || undefined,
  };
  if (wanted.has('mastery')) {
    const processor = await startMasteryProcessor(deps);
    shutdown.add('mastery', () => processor.stop());
    running.push({ name: 'mastery', processor });
  }
  if (wanted.has('sessions')) {
    const processor = await startSessionsProcessor(deps);
    shutdown.add('sessions', () => processor.stop());
    running.push({ name: 'sessions', processor });
  }
}

for (const { name, processor } of running) {
  checks.push({
    name,
    check: async () => {
      if (!processor.ready()) throw new Error('consumer not in its group');
    },
  });
}

const app = new Hono();
mountOps(app, { registry: metrics, log, checks });
mountErrorHandlers(app, log);
const server = await listen(app, stream.STREAM_PORT, cfg.HTTP_HOST, serverTls(cfg));
shutdown.add('http', () => closeServer(server));
log.info({ port: stream.STREAM_PORT, processors: running.map((r) => r.name) }, 'stream service running');
