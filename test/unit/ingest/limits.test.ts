import { describe, expect, it } from 'vitest';
import { Lru } from '../../../services/shared/lru.ts';
import { LocalBuckets, LookupLimiter, LookupThrottled } from '../../../services/ingest/limits.ts';
import { loadIngestConfig } from '../../../services/ingest/config.ts';
import { API_KEY, fakeApp, post } from './fakes.ts';
import { studyEvent } from '../../support/ingest-events.ts';

/** Issue 18, finding 8: pre-authentication limits, an LRU key cache, a configurable Redis-down rate limit. */
describe('Lru', () => {
  it('evicts the least recently used entry, never everything', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('d', 4);
    expect(lru.has('b')).toBe(false);
    expect([lru.has('a'), lru.has('c'), lru.has('d')]).toEqual([true, true, true]);
    expect(lru.size).toBe(3);
  });
});

describe('LocalBuckets', () => {
  it('allows the burst, then the rate, and says how long to wait', () => {
    let t = 0;
    const b = new LocalBuckets({ rate: 10, capacity: 20, now: () => t });
    expect(b.take('k', 20)).toBe(0);
    expect(b.take('k', 1)).toBe(100);
    expect(b.take('other', 1)).toBe(0);
    t += 500;
    expect(b.take('k', 5)).toBe(0);
    expect(b.take('k', 1)).toBeGreaterThan(0);
  });
});

describe('LookupLimiter (pre-authentication)', () => {
  it('limits cache-missing key lookups per client and in total', () => {
    let t = 0;
    const l = new LookupLimiter(2, 5, () => t);
    for (let i = 0; i < 4; i++) l.check('ip-a'); // burst 2 x 2
    expect(() => l.check('ip-a')).toThrow(LookupThrottled);
    l.check('ip-b');
    l.check('ip-b');
    l.check('ip-c');
    l.check('ip-c');
    l.check('ip-d');
    l.check('ip-d'); // 10 in total = the process burst (5 x 2)
    expect(() => l.check('ip-e')).toThrow(LookupThrottled);
    t += 1000;
    l.check('ip-a');
  });
});

describe('ingest app: limits before authentication and while Redis is down', () => {
  it('429 with Retry-After when the key lookup is throttled, before any key is checked', async () => {
    const { app } = fakeApp({
      auth: {
        authenticate: async () => {
          throw new LookupThrottled(1500);
        },
      },
    });
    const r = await post(app, '/v1/events', studyEvent());
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(await r.json()).toMatchObject({ error: { code: 'too_many_key_lookups' } });
  });

  const redisDown = { take: () => Promise.reject(new Error('ECONNREFUSED')) };

  it('Redis down, closed: 503 with Retry-After', async () => {
    const { app } = fakeApp({ rateLimiter: redisDown, rateLimitRedisDown: { mode: 'closed' } });
    const r = await post(app, '/v1/events', studyEvent(), { 'x-api-key': API_KEY });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });

  it('Redis down, local: the key is limited in process', async () => {
    const local = new LocalBuckets({ rate: 2, capacity: 2 });
    const { app } = fakeApp({ rateLimiter: redisDown, rateLimitRedisDown: { mode: 'local', local } });
    expect((await post(app, '/v1/events', studyEvent())).status).toBe(202);
    expect((await post(app, '/v1/events', studyEvent())).status).toBe(202);
    const third = await post(app, '/v1/events', studyEvent());
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('Redis down, open: allowed (the documented opt-in)', async () => {
    const { app } = fakeApp({ rateLimiter: redisDown, rateLimitRedisDown: { mode: 'open' } });
    expect((await post(app, '/v1/events', studyEvent())).status).toBe(202);
  });

  it('the defaults: local limiting while Redis is down, a per-key rate sized from the seed (not 50,000/s)', () => {
    const cfg = loadIngestConfig({ INGEST_IP_SALT: 'x' });
    expect(cfg.INGEST_RATE_LIMIT_REDIS_DOWN).toBe('local');
    expect(cfg.INGEST_RATE_LIMIT_PER_SEC).toBe(2000);
    expect(cfg.INGEST_KEY_LOOKUPS_PER_CLIENT_PER_SEC).toBeGreaterThan(0);
  });
});
