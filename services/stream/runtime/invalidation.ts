import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** The channel API instances listen on for "this student's state changed" (see services/analytics-api/cache.ts). */
export const invalidationChannel = (redisKeyPrefix: string): string => `${redisKeyPrefix}invalidate`;

/**
 * Tells API caches that these students' state changed, after the change is committed. Fire-and-forget: a lost
 * message only means the cache's 5-minute TTL applies.
 */
export async function publishInvalidations(
  redis: Redis | null | undefined,
  channel: string,
  users: Iterable<string>,
  log: Logger,
): Promise<void> {
  const unique = [...new Set(users)];
  if (!redis || unique.length === 0) return;
  try {
    const pipeline = redis.pipeline();
    for (const user of unique) pipeline.publish(channel, user);
    await pipeline.exec();
  } catch (err) {
    log.warn({ err }, 'cache invalidation publish failed (cache TTL applies)');
  }
}
