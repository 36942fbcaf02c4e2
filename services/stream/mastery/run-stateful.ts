/**
 * Dedicated entry running the stateful processors (sessions, mastery) without the rest of the stream service:
 * used by the kill tests and the benchmark as a child process. STATEFUL_PROCESSORS picks which (default both);
 * STATEFUL_KAFKA_GROUP_SUFFIX joins a fresh Kafka group over the same stored positions (see start.ts).
 *   node services/stream/mastery/run-stateful.ts
 */
import { loadConfig } from '../../shared/config.ts';
import { createKafka } from '../../shared/kafka.ts';
import { createLogger } from '../../shared/logger.ts';
import { createMetricsRegistry } from '../../shared/metrics.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { createRedis } from '../../shared/redis.ts';
import { Shutdown } from '../../shared/shutdown.ts';
import { streamEnv } from '../runtime/config.ts';
import { startMasteryProcessor, startSessionsProcessor } from './start.ts';

const cfg = loadConfig();
const log = createLogger('stream-stateful', cfg.LOG_LEVEL);
const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
shutdown.installSignalHandlers();
const pool = createPgPool(cfg);
const redis = createRedis(cfg);
shutdown.add('postgres', () => pool.end());
shutdown.add('redis', async () => void redis.disconnect());
const deps = {
  cfg,
  stream: streamEnv.load(),
  kafka: createKafka(cfg, log, 'stateful'),
  pool,
  redis,
  log,
  metrics: createMetricsRegistry('stream-stateful'),
  kafkaGroupSuffix: process.env.STATEFUL_KAFKA_GROUP_SUFFIX || undefined,
};
const which = (process.env.STATEFUL_PROCESSORS ?? 'sessions,mastery').split(',').map((s) => s.trim());
if (which.includes('mastery')) {
  const p = await startMasteryProcessor(deps);
  shutdown.add('mastery', () => p.stop());
}
if (which.includes('sessions')) {
  const p = await startSessionsProcessor(deps);
  shutdown.add('sessions', () => p.stop());
}
log.info({ processors: which }, 'stateful processors running');
