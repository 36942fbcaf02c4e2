import { createLogger } from '../shared/logger.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { loadIngestConfig } from './config.ts';
import { buildIngest } from './service.ts';

const cfg = loadIngestConfig();
const log = createLogger('ingest', cfg.LOG_LEVEL);
if (cfg.ipSaltIsDefault)
  log.warn('INGEST_IP_SALT is not set: using the fixed development salt (never in production)');

const service = await buildIngest(cfg, log);
const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
// Shutdown runs closers in reverse registration order; buildIngest lists them in shutdown order.
for (const closer of [...service.closers].reverse()) shutdown.add(closer.name, closer.close);
shutdown.installSignalHandlers();
await service.start();
log.info({ url: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}` }, 'ingest listening');
