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
 * Commits then reservations of several requests in one atomic call (see RedisDedupe: concurrent requests'
 * operations are coalesced). No KEYS: the key prefix is sent once and the event ids as plain arguments, so a
 * request of 100 events costs one small command instead of two with 100 full keys each.
 * ARGV: key prefix, pending TTL s, window TTL s, number of commits c, then c committed ids, then reserved ids.
 * Returns one code per reserved id: 0 = reserved now (value 'p'), 1 = reserved by a request still in flight,
 * 2 = acknowledged before (duplicate).
 */
const APPLY = `
local prefix = ARGV[1]
local pending = ARGV[2]
local window = ARGV[3]
local c = tonumber(ARGV[4])
for i = 5, 4 + c do redis.call('SET', prefix .. ARGV[i], 'a', 'EX', window) end
local out = {}
for i = 5 + c, #ARGV do
  local k = prefix .. ARGV[i]
  local v = redis.call('GET', k)
  if v == 'a' then out[#out + 1] = 2
  elseif v then out[#out + 1] = 1
  else redis.call('SET', k, 'p', 'EX', pending); out[#out + 1] = 0 end
end
return out
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
  ingestRelease(numKeys: number, ...keys: string[]): Promise<number>;
  ingestApply(...args: Array<string | number>): Promise<number[]>;
};

function withScripts(redis: Redis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.ingestTokenBucket !== 'function') {
    redis.defineCommand('ingestTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    redis.defineCommand('ingestRelease', { lua: RELEASE });
    redis.defineCommand('ingestApply', { numberOfKeys: 0, lua: APPLY });
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

type ReserveOp = { ids: readonly string[]; resolve: (r: Reservation[]) => void; reject: (e: Error) => void };
type CommitOp = { ids: readonly string[]; resolve: () => void; reject: (e: Error) => void };

/**
 * Reservations and commits of concurrent requests are queued and sent together once per event-loop turn
 * (setImmediate): one Redis round trip serves every request parsed or acknowledged in the same turn. Each
 * caller still gets its own answer and waits for its own operation (a 2xx is never sent before its commit).
 */
export class RedisDedupe implements Dedupe {
  private readonly redis: ScriptRedis;
  private readonly windowSec: number;
  private readonly pendingSec: number;
  private readonly prefix: string;
  private reserves: ReserveOp[] = [];
  private commits: CommitOp[] = [];
  private scheduled = false;

  constructor(redis: Redis, windowSec: number, pendingSec: number) {
    this.redis = withScripts(redis);
    this.windowSec = windowSec;
    this.pendingSec = pendingSec;
    this.prefix = `${redis.options.keyPrefix ?? ''}ingest:seen:`;
  }

  private key(id: string): string {
    return `ingest:seen:${id}`;
  }

  reserve(eventIds: readonly string[]): Promise<Reservation[]> {
    if (eventIds.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.reserves.push({ ids: eventIds, resolve, reject });
      this.schedule();
    });
  }

  commit(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.commits.push({ ids: eventIds, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const reserves = this.reserves;
    const commits = this.commits;
    this.reserves = [];
    this.commits = [];
    const args: Array<string | number> = [this.prefix, this.pendingSec, this.windowSec, 0];
    let committed = 0;
    for (const op of commits) {
      for (const id of op.ids) args.push(id);
      committed += op.ids.length;
    }
    args[3] = committed;
    for (const op of reserves) for (const id of op.ids) args.push(id);
    this.redis.ingestApply(...args).then(
      (codes) => {
        for (const op of commits) op.resolve();
        let at = 0;
        for (const op of reserves) {
          const out = new Array<Reservation>(op.ids.length);
          for (let i = 0; i < op.ids.length; i++) out[i] = RESERVATIONS[codes[at++]!] ?? 'new';
          op.resolve(out);
        }
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const op of commits) op.reject(error);
        for (const op of reserves) op.reject(error);
      },
    );
  }

  async release(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const keys = eventIds.map((id) => this.key(id));
    await this.redis.ingestRelease(keys.length, ...keys);
  }
}
