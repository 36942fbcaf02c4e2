import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** The channel API instances listen on for "this student's state changed" (see services/analytics-api/cache.ts). */
export const invalidationChannel = (redisKeyPrefix: string): string => `${redisKeyPrefix}invalidate`;

/** Up to this many students are announced one message each; more travel as `{"users":[...]}` messages. */
export const SINGLE_MESSAGE_USERS = 16;
/** Students per `{"users":[...]}` message (the API's listener applies each message as one pipeline). */
export const USERS_PER_MESSAGE = 1000;

/**
 * Tells API caches that these students' state changed, after the change is committed: each student once per call,
 * all messages in one round trip. A few students are published as plain ids; a large batch (the clickhouse-sink
 * inserts rows of thousands of students at a time) as JSON messages of up to USERS_PER_MESSAGE ids, which every
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

/** The messages announcing `users` (distinct ids). */
export function invalidationMessages(users: readonly string[]): string[] {
  if (users.length <= SINGLE_MESSAGE_USERS) return [...users];
  const out: string[] = [];
  for (let i = 0; i < users.length; i += USERS_PER_MESSAGE) {
    out.push(JSON.stringify({ users: users.slice(i, i + USERS_PER_MESSAGE) }));
  }
  return out;
}
