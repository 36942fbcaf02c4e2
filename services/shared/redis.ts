import { Redis } from 'ioredis';
import type { SharedConfig } from './config.ts';

export { Redis };

/**
 * A Redis client with the configured key prefix. Commands fail fast while Redis is down
 * (no offline queue) so callers can degrade instead of hanging.
 */
export function createRedis(
  cfg: Pick<SharedConfig, 'REDIS_URL' | 'REDIS_KEY_PREFIX'>,
  opts: { lazy?: boolean } = {},
): Redis {
  return new Redis(cfg.REDIS_URL, {
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    lazyConnect: opts.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
