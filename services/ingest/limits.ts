import { Lru } from '../shared/lru.ts';

/**
 * In-process token buckets, one per key (LRU-bounded, so a flood of distinct keys costs bounded memory): `rate`
 * tokens per second up to `capacity`. `take` answers 0 when the tokens were taken, else the ms until they would be.
 * Used before authentication (API-key lookups per client and in total) and as the per-key rate limit while Redis is
 * unreachable (INGEST_RATE_LIMIT_REDIS_DOWN=local).
 */
export class LocalBuckets {
  private readonly buckets: Lru<string, { tokens: number; at: number }>;
  private readonly rate: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(opts: { rate: number; capacity: number; maxKeys?: number; now?: () => number }) {
    this.rate = opts.rate;
    this.capacity = opts.capacity;
    this.buckets = new Lru(opts.maxKeys ?? 100_000);
    this.now = opts.now ?? Date.now;
  }

  take(key: string, n = 1): number {
    if (this.rate <= 0) return 0;
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    let wait = 0;
    if (b.tokens >= n) b.tokens -= n;
    else wait = Math.ceil(((Math.min(n, this.capacity) - b.tokens) / this.rate) * 1000);
    this.buckets.set(key, b);
    return wait;
  }
}

/** Thrown by the authenticator when a key lookup is refused before it reaches PostgreSQL. */
export class LookupThrottled extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('too many API key lookups');
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The pre-authentication limit: API-key lookups that miss the key cache (each costs a PostgreSQL query) per
 * client (the hashed IP) and in total per process. Cached keys never count, so a busy known key is unaffected.
 */
export class LookupLimiter {
  private readonly perClient: LocalBuckets;
  private readonly total: LocalBuckets;

  constructor(perClientPerSec: number, totalPerSec: number, now?: () => number) {
    this.perClient = new LocalBuckets({ rate: perClientPerSec, capacity: perClientPerSec * 2, now });
    this.total = new LocalBuckets({ rate: totalPerSec, capacity: totalPerSec * 2, now });
  }

  /** Throws LookupThrottled when this client, or the process, has used up its lookups. */
  check(client: string | null): void {
    const wait = this.perClient.take(client ?? 'unknown') || this.total.take('all');
    if (wait > 0) throw new LookupThrottled(wait);
  }
}
