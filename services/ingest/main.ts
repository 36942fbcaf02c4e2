import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { createLogger } from '../shared/logger.ts';
import { Shutdown } from '../shared/shutdown.ts';
import { loadIngestConfig } from './config.ts';
import { buildIngest } from './service.ts';

const cfg = loadIngestConfig();
const log = createLogger('ingest', cfg.LOG_LEVEL);
const METRICS_REQ = 'ingest:metrics-req';
const METRICS_RES = 'ingest:metrics-res';

if (cfg.INGEST_WORKERS > 1 && cluster.isPrimary) {
  // INGEST_WORKERS > 1: this process only forks the workers (which share the port through node:cluster),
  // aggregates their metrics for /metrics, restarts a worker that died, and forwards SIGTERM/SIGINT so
  // every worker shuts down gracefully (stops accepting, flushes its producer).
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (msg: { type?: string; id?: number }) => {
      if (msg?.type !== METRICS_REQ) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_RES, id: msg.id, text }),
        (err: Error) => worker.send({ type: METRICS_RES, id: msg.id, error: err.message }),
      );
    });
  };
  for (let i = 0; i < cfg.INGEST_WORKERS; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'ingest worker exited; restarting it');
    setTimeout(fork, 1000);
  });
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'stopping ingest workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info(
    { url: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}`, workers: cfg.INGEST_WORKERS },
    'ingest listening',
  );
} else {
  if (cfg.ipSaltIsDefault && !cluster.isWorker)
    log.warn('INGEST_IP_SALT is not set: using the fixed development salt (never in production)');

  const service = await buildIngest(cfg, log);
  if (cluster.isWorker) {
    // /metrics of any worker answers with the series of all workers (aggregated by the primary). prom-client
    // installs a worker's answer to the primary's metrics request only when an AggregatorRegistry is
    // constructed in that worker; without it every aggregation timed out and /metrics answered 500.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([service.registry]);
    let nextId = 0;
    const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
    process.on('message', (msg: { type?: string; id: number; text?: string; error?: string }) => {
      if (msg?.type !== METRICS_RES) return;
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error !== undefined) w?.reject(new Error(msg.error));
      else w?.resolve(msg.text ?? '');
    });
    service.registry.metrics = () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        process.send!({ type: METRICS_REQ, id });
      });
  }
  const shutdown = new Shutdown(log, cfg.SHUTDOWN_TIMEOUT_MS);
  // Shutdown runs closers in reverse registration order; buildIngest lists them in shutdown order.
  for (const closer of [...service.closers].reverse()) shutdown.add(closer.name, closer.close);
  shutdown.installSignalHandlers();
  await service.start();
  if (!cluster.isWorker) log.info({ url: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}` }, 'ingest listening');
}
