import { Hono } from 'hono';
import { createClickHouse } from '../shared/clickhouse.ts';
import { loadConfig } from '../shared/config.ts';
import { closeServer, listen, mountErrorHandlers, mountOps } from '../shared/http.ts';
import { createKafka } from '../shared/kafka.ts';
import { createLogger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { sinkEnv } from './clickhouse-sink/config.ts';
import { startClickHouseSink } from './clickhouse-sink/sink.ts';
import { streamEnv } from './runtime/config.ts';

/**
 * The stream service: starts every processor that exists (for now the ClickHouse sink; the sessions and mastery
 * processors join here on the same runtime) and answers /healthz, /readyz and /metrics on STREAM_PORT.
 */
const cfg = loadConfig();
const stream = streamEnv.load();
const log = createLogger('stream', cfg.LOG_LEVEL);
const metrics = createMetricsRegistry('stream');
const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
shutdown.installSignalHandlers();

const kafka = createKafka(cfg, log, 'stream');
const sink = await startClickHouseSink({ cfg, stream, sink: sinkEnv.load(), kafka, log, metrics });
shutdown.add('clickhouse-sink', () => sink.stop());

const probe = createClickHouse(cfg);
shutdown.add('clickhouse-probe', () => probe.close());
const app = new Hono();
mountOps(app, {
  registry: metrics,
  log,
  checks: [
    {
      name: 'clickhouse',
      check: async () => (await probe.ping()).success || Promise.reject(new Error('ping failed')),
    },
    {
      name: 'clickhouse-sink',
      check: async () => {
        if (!sink.processor.ready()) throw new Error('consumer not in its group');
      },
    },
  ],
});
mountErrorHandlers(app, log);
const server = await listen(app, stream.STREAM_PORT, cfg.HTTP_HOST);
shutdown.add('http', () => closeServer(server));
log.info({ port: stream.STREAM_PORT }, 'stream service listening');
