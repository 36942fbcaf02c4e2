import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from '../shared/metrics.ts';
import type { Logger } from '../shared/logger.ts';
import { scanKeys } from '../shared/redis.ts';

/**
 * Read-through Redis cache for API responses: one entry per endpoint, subject (student or cohort) and
 * canonical parameters, TTL API_CACHE_TTL_SEC (5 minutes).
 *
 * Invalidation is by versioned keys, not by deleting entries. An entry's key embeds the subject's current
 * state version, read (one MGET) from:
 *   - `api:ver:<user>`: set to a fresh random value by every API instance when the processors announce a
 *     change of that student on the invalidation channel (see invalidation.ts), and
 *   - `api:epoch`: set to a fresh value whenever an API instance (re)subscribes, because messages published
 *     while it was disconnected are lost; a reconnect therefore invalidates everything once.
 * A changed version makes every old entry unreachable at once (they expire by TTL), across every API instance,
 * with no scan or delete, and without a race: a response computed from old data while the version changes is
 * stored under the old version, which no reader asks for any more. Versions are random, never counters, so a
 * version key that expires and restarts can never bring back an old entry.
 *
 * Redis is optional for correctness: when it is not connected the cache is bypassed without a round trip; when
 * it is slow every operation is abandoned after API_CACHE_TIMEOUT_MS and the request is answered uncached.
 */

export type CacheOutcome = 'hit' | 'miss' | 'bypass' | 'error';

/** A hit's value is the stored UTF-8 bytes: served as they are, never decoded and re-encoded. */
export type CacheLookup = { value: Buffer | null; key: string | null; outcome: CacheOutcome };

export const epochKey = 'api:epoch';
export const userVersionKey = (user: string) => `api:ver:${user}`;
/** How long a user's version key lives: longer than any entry's TTL (see the note on random versions). */
export const VERSION_TTL_SEC = 24 * 3600;

export function newVersion(): string {
  return `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

export class TimeoutError extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export type CacheOptions = { ttlSec: number; timeoutMs: number };

export class ResponseCache {
  private readonly redis: Redis | null;
  private readonly opts: CacheOptions;
  private readonly log: Logger;
  private readonly lookups: Counter<'endpoint' | 'outcome'>;
  private lastWarn = 0;

  constructor(redis: Redis | null, opts: CacheOptions, registry: Registry, log: Logger) {
    this.redis = redis;
    this.opts = opts;
    this.log = log;
    this.lookups = new Counter({
      name: 'api_cache_lookups_total',
      help: 'API response cache lookups by endpoint and outcome (hit, miss, bypass = Redis unavailable, error)',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    });
  }

  private usable(): boolean {
    return this.redis !== null && this.opts.ttlSec > 0 && this.redis.status === 'ready';
  }

  private warn(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      `cache ${what} failed; answering uncached`,
    );
  }

  /**
   * Looks up an entry. `subject` is the student (versioned) or a cohort key (`cohort:<id>`, TTL only);
   * `params` must already be validated (their text is part of the key).
   */
  async get(
    endpoint: string,
    subject: { user?: string; other?: string },
    params: Record<string, unknown>,
  ): Promise<CacheLookup> {
    if (!this.usable()) {
      this.lookups.inc({ endpoint, outcome: 'bypass' });
      return { value: null, key: null, outcome: 'bypass' };
    }
    const redis = this.redis!;
    try {
      const versionKeys = subject.user ? [epochKey, userVersionKey(subject.user)] : [epochKey];
      const versions = await withTimeout(redis.mget(...versionKeys), this.opts.timeoutMs);
      const key = entryKey(endpoint, subject, versions.map((v) => v ?? '0').join('.'), params);
      const value = await withTimeout(redis.getBuffer(key), this.opts.timeoutMs);
      const outcome: CacheOutcome = value === null ? 'miss' : 'hit';
      this.lookups.inc({ endpoint, outcome });
      return { value, key, outcome };
    } catch (err) {
      this.warn(err, 'read');
      this.lookups.inc({ endpoint, outcome: 'error' });
      return { value: null, key: null, outcome: 'error' };
    }
  }

  /** Stores an entry under the key a miss returned; never fails the request. */
  async set(key: string | null, value: string | Buffer): Promise<void> {
    if (key === null || !this.usable()) return;
    try {
      await withTimeout(this.redis!.set(key, value, 'EX', this.opts.ttlSec), this.opts.timeoutMs);
    } catch (err) {
      this.warn(err, 'write');
    }
  }
}

/**
 * Removes a student's cached answers (every endpoint, version and parameters: entryKey's layout) and version key
 * (`delete-user`). `prefix` is the client's REDIS_KEY_PREFIX (SCAN patterns are not prefixed by the client).
 * Returns how many cached answers were removed.
 */
export async function deleteCachedAnswersOf(redis: Redis, prefix: string, user: string): Promise<number> {
  const cached = await scanKeys(redis, prefix, `api:c:*:u=${user}:*`);
  const multi = redis.multi();
  for (const k of cached) multi.del(k);
  multi.del(userVersionKey(user));
  await multi.exec();
  return cached.length;
}

/** `api:c:<endpoint>:<subject>:<version>:<k=v&...>` with parameters sorted by name. */
export function entryKey(
  endpoint: string,
  subject: { user?: string; other?: string },
  version: string,
  params: Record<string, unknown>,
): string {
  const canonical = Object.keys(params)
    .filter((k) => params[k] !== undefined && k !== 'user')
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join('&');
  const who = subject.user !== undefined ? `u=${subject.user}` : `o=${subject.other ?? ''}`;
  return `api:c:${endpoint}:${who}:${version}:${canonical}`;
}
