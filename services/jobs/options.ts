import type { JobsConfig } from './config.ts';

/** The runner settings of a configuration (service and CLI use the same queue and key prefix). */
export function runnerOptions(cfg: JobsConfig) {
  return {
    redisUrl: cfg.REDIS_URL,
    tls: { TLS_CA_FILE: cfg.TLS_CA_FILE },
    prefix: `${cfg.REDIS_KEY_PREFIX}bull`,
    queue: cfg.JOBS_QUEUE,
    attempts: cfg.JOBS_ATTEMPTS,
    backoffMs: cfg.JOBS_BACKOFF_MS,
    lockMs: cfg.JOBS_LOCK_MS,
    deadKeep: cfg.JOBS_DEAD_KEEP,
    concurrency: cfg.JOBS_CONCURRENCY,
  };
}
