import { Redis } from 'ioredis';
import type { SharedConfig } from './config.ts';
import { redisTls, type TlsSettings } from './tls.ts';

export { Redis };

/**
 * A Redis client with the configured key prefix. Commands fail fast while Redis is down
 * (no offline queue) so callers can degrade instead of hanging. A rediss:// URL connects over TLS (shared/tls.ts).
 */
export function createRedis(
  cfg: Pick<SharedConfig, 'REDIS_URL' | 'REDIS_KEY_PREFIX'> & TlsSettings,
  opts: { lazy?: boolean } = {},
): Redis {
  return new Redis(cfg.REDIS_URL, {
    ...redisTls(cfg.REDIS_URL, cfg),
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    lazyConnect: opts.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

/** Resolves once the client is connected and ready (commands issued before that fail: there is no offline queue). */
export function redisReady(redis: Redis, timeoutMs = 5000): Promise<Redis> {
  if (redis.status === 'ready') return Promise.resolve(redis);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(redis);
    };
    redis.once('ready', onReady);
  });
}

/**
 * Every key matching `pattern` (SCAN, 1000 per step), without `prefix`. SCAN patterns are not prefixed by the
 * client, so `prefix` (the client's REDIS_KEY_PREFIX) is added to the pattern here and removed from the keys.
 */
export async function scanKeys(redis: Redis, prefix: string, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', prefix + pattern, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) out.push(k.slice(prefix.length));
  } while (cursor !== '0');
  return out;
}
