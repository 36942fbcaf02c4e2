import { Redis } from 'ioredis';
import { Counter, type Registry } from '../shared/metrics.ts';
import type { Logger } from '../shared/logger.ts';
import { redisTls, type TlsSettings } from '../shared/tls.ts';
import { epochKey, newVersion, userVersionKey, VERSION_TTL_SEC, withTimeout } from './cache.ts';

/**
 * Listens on the processors' invalidation channel `<REDIS_KEY_PREFIX>invalidate` and turns each message into a
 * new cache version for that student (cache.ts). A message is a user id, or JSON carrying `user_id`/`userId`
 * or a `users` array (several processors batch their announcements). Unknown shapes are counted and ignored.
 *
 * Pub/sub loses messages sent while a subscriber is disconnected, so every (re)subscription moves the global
 * epoch: all cached entries become unreachable once, and nothing stale can survive an outage.
 */

const USER = /^[A-Za-z0-9_-]{1,64}$/;

export function invalidationChannel(prefix: string): string {
  return `${prefix}invalidate`;
}

/** The user ids named by one invalidation message. */
export function usersInMessage(message: string): string[] {
  const text = message.trim();
  if (USER.test(text)) return [text];
  try {
    const parsed = JSON.parse(text) as unknown;
    const out: unknown[] = [];
    const collect = (v: unknown) => {
      if (typeof v === 'string') out.push(v);
      else if (Array.isArray(v)) out.push(...v);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        for (const k of ['user_id', 'userId', 'user']) if (typeof o[k] === 'string') out.push(o[k]);
        for (const k of ['users', 'user_ids', 'userIds'])
          if (Array.isArray(o[k])) out.push(...(o[k] as unknown[]));
      }
    };
    collect(parsed);
    return out.filter((u): u is string => typeof u === 'string' && USER.test(u));
  } catch {
    return [];
  }
}

export type InvalidationListener = { close: () => Promise<void> };

export function startInvalidationListener(opts: {
  redisUrl: string;
  /** The CA a rediss:// URL is verified against (shared/tls.ts). */
  tls?: TlsSettings;
  keyPrefix: string;
  /** The prefixed client used for cache keys. */
  redis: Redis;
  registry: Registry;
  log: Logger;
  timeoutMs?: number;
}): InvalidationListener {
  const received = new Counter({
    name: 'api_cache_invalidations_total',
    help: 'invalidation messages received, by result (applied, ignored, failed)',
    labelNames: ['result'],
    registers: [opts.registry],
  });
  const timeoutMs = opts.timeoutMs ?? 1000;
  const channel = invalidationChannel(opts.keyPrefix);
  // Channels are not keys: the subscriber has no keyPrefix and names the prefixed channel itself.
  const sub = new Redis(opts.redisUrl, {
    ...redisTls(opts.redisUrl, opts.tls ?? {}),
    lazyConnect: false,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  const bumpEpoch = () =>
    withTimeout(opts.redis.set(epochKey, newVersion()), timeoutMs).catch((err: unknown) =>
      opts.log.warn({ err: (err as Error).message }, 'could not move the cache epoch'),
    );
  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => {
        opts.log.info({ channel }, 'listening for cache invalidations');
        void bumpEpoch();
      },
      (err: unknown) => opts.log.warn({ err: (err as Error).message }, 'subscribe failed'),
    );
  });
  sub.on('error', () => {
    /* reconnects by itself; the cache degrades meanwhile */
  });
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    const users = usersInMessage(message);
    if (users.length === 0) {
      received.inc({ result: 'ignored' });
      return;
    }
    const pipeline = opts.redis.pipeline();
    for (const user of users) pipeline.set(userVersionKey(user), newVersion(), 'EX', VERSION_TTL_SEC);
    withTimeout(pipeline.exec(), timeoutMs).then(
      () => received.inc({ result: 'applied' }, users.length),
      (err: unknown) => {
        received.inc({ result: 'failed' }, users.length);
        opts.log.warn({ err: (err as Error).message }, 'could not apply a cache invalidation');
      },
    );
  });
  return {
    close: async () => {
      sub.disconnect();
    },
  };
}
