import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/**
 * N processes of one HTTP service sharing its port (node:cluster), for the services whose work is CPU-bound in
 * one event loop (ingest: INGEST_WORKERS, analytics API: API_WORKERS). The primary only forks the workers,
 * aggregates their metrics for /metrics, restarts a worker that died and forwards SIGTERM/SIGINT so every worker
 * shuts down gracefully (its own Shutdown: stop accepting, finish in-flight requests, flush, close clients).
 *
 *   if (isClusterPrimary(workers)) runClusterPrimary({ service, workers, log });
 *   else { ...build the service...; serveClusterMetrics(service, registry); ...listen... }
 */

/** True in the process that must fork `workers` > 1 workers instead of serving. */
export function isClusterPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/** True in a worker forked by runClusterPrimary (one of several; log "listening" once, from the primary). */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

const messages = (service: string) => ({ req: `${service}:metrics-req`, res: `${service}:metrics-res` });

/** The primary: forks the workers and serves their aggregated metrics; exits 0 once they all stopped on a signal. */
export function runClusterPrimary(opts: { service: string; workers: number; log: Logger }): void {
  const { service, workers, log } = opts;
  const msg = messages(service);
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (m: { type?: string; id?: number }) => {
      if (m?.type !== msg.req) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: msg.res, id: m.id, text }),
        (err: Error) => worker.send({ type: msg.res, id: m.id, error: err.message }),
      );
    });
  };
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, `${service} worker exited; restarting it`);
    setTimeout(fork, 1000);
  });
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, `stopping ${service} workers`);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * In a worker (no-op otherwise): `registry.metrics()`, hence /metrics of any worker, answers with the series of
 * all workers, aggregated by the primary (counters and histograms summed). prom-client installs a worker's answer
 * to the primary's metrics request only when an AggregatorRegistry is constructed in that worker; without it every
 * aggregation timed out and /metrics answered 500.
 */
export function serveClusterMetrics(service: string, registry: Registry): void {
  if (!cluster.isWorker) return;
  const msg = messages(service);
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let nextId = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: { type?: string; id: number; text?: string; error?: string }) => {
    if (m?.type !== msg.res) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.text ?? '');
  });
  registry.metrics = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      process.send!({ type: msg.req, id });
    });
}
