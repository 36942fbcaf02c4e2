import type { Redis } from '../shared/redis.ts';

/**
 * The Redis side of ingest: a per-key token bucket (rate limit counted in events) and the event_id
 * dedupe window. Both are Lua scripts so each check is one atomic round trip.
 */

/** Token bucket. KEYS[1] bucket; ARGV rate/s, capacity, n. Returns 0 when allowed, else ms until n tokens exist. */
const TOKEN_BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= n then tokens = tokens - n else wait = math.ceil((n - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap * 1000 / rate) + 1000)
return wait
`;

/**
 * Dedupe reservation. KEYS: one per event_id; ARGV[1] pending TTL in s. Per key returns
 * 0 = reserved now (value 'p'), 1 = reserved by a request still in flight, 2 = acknowledged before (duplicate).
 */
const RESERVE = `
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == 'a' then out[i] = 2
  elseif v then out[i] = 1
  else redis.call('SET', k, 'p', 'EX', ARGV[1]); out[i] = 0 end
end
return out
`;

/** Marks acknowledged events as seen for the window (ARGV[1] seconds): one command for a whole request. */
const COMMIT = `
for _, k in ipairs(KEYS) do redis.call('SET', k, 'a', 'EX', ARGV[1]) end
return 0
`;

/** Releases reservations that were never acknowledged (only keys still pending). */
const RELEASE = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == 'p' then redis.call('DEL', k) end
end
return 0
`;

type ScriptRedis = Redis & {
  ingestTokenBucket(key: string, rate: number, cap: number, n: number): Promise<number>;
  ingestReserve(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  ingestRelease(numKeys: number, ...keys: string[]): Promise<number>;
  ingestCommit(numKeys: number, ...args: Array<string | number>): Promise<number>;
};

function withScripts(redis: Redis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.ingestTokenBucket !== 'function') {
    redis.defineCommand('ingestTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    redis.defineCommand('ingestReserve', { lua: RESERVE });
    redis.defineCommand('ingestRelease', { lua: RELEASE });
    redis.defineCommand('ingestCommit', { lua: COMMIT });
  }
  return r;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  take(keyId: string, events: number): Promise<RateDecision>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: ScriptRedis;
  private readonly rate: number;
  private readonly capacity: number;

  constructor(redis: Redis, ratePerSec: number, maxBatch: number) {
    this.redis = withScripts(redis);
    this.rate = ratePerSec;
    this.capacity = Math.max(ratePerSec, maxBatch);
  }

  async take(keyId: string, events: number): Promise<RateDecision> {
    if (this.rate <= 0 || events === 0) return { ok: true };
    const wait = await this.redis.ingestTokenBucket(`ingest:rl:${keyId}`, this.rate, this.capacity, events);
    return wait === 0 ? { ok: true } : { ok: false, retryAfterMs: wait };
  }
}

/** 'new': reserved by this request; 'inflight': another request is producing it; 'duplicate': acknowledged before. */
export type Reservation = 'new' | 'inflight' | 'duplicate';

export interface Dedupe {
  reserve(eventIds: readonly string[]): Promise<Reservation[]>;
  /** Remembers acknowledged events for the dedupe window. */
  commit(eventIds: readonly string[]): Promise<void>;
  /** Forgets reservations whose produce failed, so a retry is accepted. */
  release(eventIds: readonly string[]): Promise<void>;
}

const RESERVATIONS: Reservation[] = ['new', 'inflight', 'duplicate'];

export class RedisDedupe implements Dedupe {
  private readonly redis: ScriptRedis;
  private readonly windowSec: number;
  private readonly pendingSec: number;

  constructor(redis: Redis, windowSec: number, pendingSec: number) {
    this.redis = withScripts(redis);
    this.windowSec = windowSec;
    this.pendingSec = pendingSec;
  }

  private key(id: string): string {
    return `ingest:seen:${id}`;
  }

  async reserve(eventIds: readonly string[]): Promise<Reservation[]> {
    if (eventIds.length === 0) return [];
    const keys = eventIds.map((id) => this.key(id));
    const codes = await this.redis.ingestReserve(keys.length, ...keys, this.pendingSec);
    return codes.map((c) => RESERVATIONS[c] ?? 'new');
  }

  async commit(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const keys = eventIds.map((id) => this.key(id));
    await this.redis.ingestCommit(keys.length, ...keys, this.windowSec);
  }

  async release(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const keys = eventIds.map((id) => this.key(id));
    await this.redis.ingestRelease(keys.length, ...keys);
  }
}
