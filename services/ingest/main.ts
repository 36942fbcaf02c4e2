import {
  isClusterPrimary,
  isClusterWorker,
  runClusterPrimary,
  serveClusterMetrics,
} from '../shared/cluster.ts';
import { createLogger } from '../shared/logger.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { loadIngestConfig } from './config.ts';
import { buildIngest } from './service.ts';

const cfg = loadIngestConfig();
const log = createLogger('ingest', cfg.LOG_LEVEL);

if (isClusterPrimary(cfg.INGEST_WORKERS)) {
  // INGEST_WORKERS > 1: this process only forks the workers (services/shared/cluster.ts); each worker shuts down
  // gracefully on the forwarded signal (stops accepting, flushes its producer).
  runClusterPrimary({ service: 'ingest', workers: cfg.INGEST_WORKERS, log });
  log.info(
    { url: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}`, workers: cfg.INGEST_WORKERS },
    'ingest listening',
  );
} else {
  if (cfg.ipSaltIsDefault && !isClusterWorker())
    log.warn(
      'development mode (STUDYSTREAM_DEV_MODE): INGEST_IP_SALT is not set, using the public development salt',
    );

  const service = await buildIngest(cfg, log);
  // /metrics of any worker answers with the series of all workers (aggregated by the primary).
  serveClusterMetrics('ingest', service.registry);
  const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
  // Shutdown runs closers in reverse registration order; buildIngest lists them in shutdown order.
  for (const closer of [...service.closers].reverse()) shutdown.add(closer.name, closer.close);
  shutdown.installSignalHandlers();
  await service.start();
  if (!isClusterWorker()) log.info({ url: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}` }, 'ingest listening');
}
