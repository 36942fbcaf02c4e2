import { USER_ID } from './events.ts';

/**
 * The cache-invalidation contract between the processors (writers, services/stream/runtime/invalidation.ts) and
 * the API instances (reader, services/analytics-api/invalidation.ts), defined once: the channel and the message
 * format. A message is either one user id, or JSON `{"users": [...ids]}` for a batch.
 */

/** The Redis pub/sub channel: "this student's state changed". */
export const invalidationChannel = (redisKeyPrefix: string): string => `${redisKeyPrefix}invalidate`;

/** The field of a batch message that lists the students. */
export const INVALIDATION_USERS_FIELD = 'users';

/** Up to this many students are announced one message each; more travel as `{"users":[...]}` messages. */
export const SINGLE_MESSAGE_USERS = 16;
/** Students per `{"users":[...]}` message (the API's listener applies each message as one pipeline). */
export const USERS_PER_MESSAGE = 1000;

/** The messages announcing `users` (distinct ids). */
export function invalidationMessages(users: readonly string[]): string[] {
  if (users.length <= SINGLE_MESSAGE_USERS) return [...users];
  const out: string[] = [];
  for (let i = 0; i < users.length; i += USERS_PER_MESSAGE) {
    out.push(JSON.stringify({ [INVALIDATION_USERS_FIELD]: users.slice(i, i + USERS_PER_MESSAGE) }));
  }
  return out;
}

/** The user ids named by one invalidation message (the shapes invalidationMessages writes; anything else: none). */
export function usersInMessage(message: string): string[] {
  const text = message.trim();
  if (USER_ID.test(text)) return [text];
  if (!text.startsWith('{')) return [];
  try {
    const users = (JSON.parse(text) as Record<string, unknown>)[INVALIDATION_USERS_FIELD];
    return Array.isArray(users)
      ? users.filter((u): u is string => typeof u === 'string' && USER_ID.test(u))
      : [];
  } catch {
    return [];
  }
}
