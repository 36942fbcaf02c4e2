import { Redis } from 'ioredis';
import { Counter, type Registry } from '../shared/metrics.ts';
import type { Logger } from '../shared/logger.ts';
import { invalidationChannel, usersInMessage } from '../shared/invalidation.ts';
import { redisTls, type TlsSettings } from '../shared/tls.ts';
import { epochKey, newVersion, userVersionKey, VERSION_TTL_SEC, withTimeout } from './cache.ts';

/**
 * Listens on the processors' invalidation channel `<REDIS_KEY_PREFIX>invalidate` and turns each message into a
 * new cache version for that student (cache.ts). The channel and message format are defined once with their writer
 * in services/shared/invalidation.ts. Unknown shapes are counted and ignored.
 *
 * Pub/sub loses messages sent while a subscriber is disconnected, so every (re)subscription moves the global
 * epoch: all cached entries become unreachable once, and nothing stale can survive an outage.
 *
 * With a read replica (PG_READ_URL), a request that follows the first version change can still read the replica
 * before it has replayed the processor's commit, and cache that stale answer under the new version. So each
 * message's versions are changed a second time `replicaSettleMs` later (API_REPLICA_SETTLE_MS): an answer cached
 * from a lagging replica lives at most that long, as long as the replica's lag stays below it.
 */

export { invalidationChannel, usersInMessage };

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
  /** > 0: apply every message again after this many ms (the read replica's bound on lag; see above). */
  replicaSettleMs?: number;
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
  const settleMs = opts.replicaSettleMs ?? 0;
  const settling = new Set<NodeJS.Timeout>();
  function apply(users: string[]) {
    const pipeline = opts.redis.pipeline();
    for (const user of users) pipeline.set(userVersionKey(user), newVersion(), 'EX', VERSION_TTL_SEC);
    withTimeout(pipeline.exec(), timeoutMs).then(
      () => received.inc({ result: 'applied' }, users.length),
      (err: unknown) => {
        received.inc({ result: 'failed' }, users.length);
        opts.log.warn({ err: (err as Error).message }, 'could not apply a cache invalidation');
      },
    );
  }
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    const users = usersInMessage(message);
    if (users.length === 0) {
      received.inc({ result: 'ignored' });
      return;
    }
    apply(users);
    if (settleMs > 0) {
      const timer = setTimeout(() => {
        settling.delete(timer);
        apply(users);
      }, settleMs);
      settling.add(timer);
    }
  });
  return {
    close: async () => {
      for (const t of settling) clearTimeout(t);
      settling.clear();
      sub.disconnect();
    },
  };
}
