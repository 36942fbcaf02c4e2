import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { isolatedEnv } from '../../support/isolated.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { DailySaltHasher } from '../../../services/ingest/ip-salt.ts';
import { hashIp } from '../../../services/ingest/privacy.ts';

/**
 * Issue 18, finding 5, against Redis: client IPs are hashed with a random salt of the day shared by the ingest
 * instances and deleted after 48 h, so a hash cannot be reversed with a known salt (it used to be SHA-256 of a fixed,
 * by default public, salt and the IP, forever).
 */
const iso = isolatedEnv('ipsalt');
const redis = createRedis(iso.cfg);
const log = createLogger('test', 'silent');
const DAY = 86_400_000;
const T = Date.parse('2026-03-10T12:00:00Z');

beforeAll(async () => {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
});

afterAll(async () => {
  const keys = await redis.keys(`${iso.cfg.REDIS_KEY_PREFIX}*`);
  if (keys.length) await redis.del(...keys.map((k) => k.slice(iso.cfg.REDIS_KEY_PREFIX.length)));
  redis.disconnect();
});

describe('DailySaltHasher', () => {
  it('instances share the day salt; days differ; the salt expires after 48 h; not the static salt', async () => {
    const a = new DailySaltHasher(redis, 'secret', log);
    const b = new DailySaltHasher(redis, 'secret', log);
    const h = await a.hash('203.0.113.7', T);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(await b.hash('203.0.113.7', T + 3600_000)).toBe(h);
    expect(await a.hash('203.0.113.8', T)).not.toBe(h);
    expect(await a.hash('203.0.113.7', T + DAY)).not.toBe(h);
    expect(h).not.toBe(hashIp('secret', '203.0.113.7'));
    const ttl = await redis.ttl('ingest:ip-salt:2026-03-10');
    expect(ttl).toBeGreaterThan(47 * 3600);
    expect(ttl).toBeLessThanOrEqual(48 * 3600);
    const salt = await redis.get('ingest:ip-salt:2026-03-10');
    expect(salt).toMatch(/^[0-9a-f]{64}$/);
    expect(await b.hash('203.0.113.7', T)).toBe(hashIp(`secret:${salt}`, '203.0.113.7'));
  });

  it('with Redis down it hashes with a local random salt (never a fixed one)', async () => {
    const down = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    down.on('error', () => undefined);
    const a = new DailySaltHasher(down, 'secret', log);
    const b = new DailySaltHasher(down, 'secret', log);
    const h = await a.hash('203.0.113.7', T);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(await a.hash('203.0.113.7', T + 1000)).toBe(h);
    expect(await b.hash('203.0.113.7', T)).not.toBe(h);
    down.disconnect();
  });
});
