import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { invalidationChannel, invalidationMessages } from '../../shared/invalidation.ts';

/** The channel and the message format are defined once, in services/shared/invalidation.ts. */
export { invalidationChannel, invalidationMessages };

/**
 * Tells API caches that these students' state changed, after the change is committed: each student once per call,
 * all messages in one round trip. A few students are published as plain ids; a large batch (the clickhouse-sink
 * inserts rows of thousands of students at a time) as JSON messages of up to USERS_PER_MESSAGE ids (shared/invalidation.ts), which every
 * API instance applies with one pipeline instead of one per student (services/analytics-api/invalidation.ts reads
 * both shapes). Fire-and-forget: a lost message only means the cache's 5-minute TTL applies; never throws.
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
    for (const message of invalidationMessages(unique)) pipeline.publish(channel, message);
    await pipeline.exec();
  } catch (err) {
    log.warn({ err }, 'cache invalidation publish failed (cache TTL applies)');
  }
}
