import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { createApiKey, PgAuthenticator, sha256 } from '../../../services/ingest/apikeys.ts';
import { RedisDedupe, RedisRateLimiter } from '../../../services/ingest/redis-scripts.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('ingestredis');
const redis = createRedis(iso.cfg);
const pool = createPgPool(iso.cfg);

beforeAll(async () => {
  await provision(iso, { postgres: true });
});
afterAll(async () => {
  redis.disconnect();
  await pool.end();
  await teardown(iso);
});

describe('Redis dedupe window', () => {
  it('reserves, reports in-flight and acknowledged ids, and forgets released ones', async () => {
    const d = new RedisDedupe(redis, 60, 10);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    expect(await d.reserve([a, b])).toEqual(['new', 'new']);
    expect(await d.reserve([a])).toEqual(['inflight']);
    await d.commit([a]);
    await d.release([b]);
    expect(await d.reserve([a, b])).toEqual(['duplicate', 'new']);
    // release never forgets an acknowledged id
    await d.release([a]);
    expect(await d.reserve([a])).toEqual(['duplicate']);
    // keys carry the configured prefix and a TTL
    const keys = await redis.keys(`${iso.cfg.REDIS_KEY_PREFIX}ingest:seen:*`);
    expect(keys.length).toBe(2);
    const ttl = await redis.ttl(`ingest:seen:${a}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});

describe('Redis token bucket', () => {
  it('counts events, refuses beyond the burst with a wait, and refills', async () => {
    const rl = new RedisRateLimiter(redis, 100, 10); // 100 events/s, burst 100
    expect(await rl.take('k1', 60)).toEqual({ ok: true });
    expect(await rl.take('k1', 40)).toEqual({ ok: true });
    const refused = await rl.take('k1', 50);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(await rl.take('k2', 100)).toEqual({ ok: true }); // per key
    await new Promise((r) => setTimeout(r, 550));
    expect(await rl.take('k1', 50)).toEqual({ ok: true });
  });
});

/**
 * The secret part of "ssk_<prefix>_<secret>". Not `split('_')`: a base64url secret may hold '_' itself (CI of
 * 2026-12-06 drew one: the check then looked for the fragment "v", which "revoked_at" contains).
 */
function secretOf(key: string, prefix: string): string {
  const secret = key.slice(`ssk_${prefix}_`.length);
  expect(secret).toHaveLength(43);
  return secret;
}

describe('API keys', () => {
  it('a secret holding "_" (the counterexample above) is stored as its hash only and verifies', async () => {
    const prefix = randomBytes(6).toString('hex');
    const key = `ssk_${prefix}_v_${'A'.repeat(41)}`;
    await pool.query('INSERT INTO api_keys (prefix, name, secret_sha256, scope) VALUES ($1, $2, $3, $4)', [
      prefix,
      'underscore',
      sha256(secretOf(key, prefix)),
      'server',
    ]);
    const { rows } = await pool.query('SELECT * FROM api_keys WHERE prefix = $1', [prefix]);
    expect(JSON.stringify(rows)).not.toContain(secretOf(key, prefix));
    expect(await new PgAuthenticator(pool, 60).authenticate(key)).toEqual({
      prefix,
      name: 'underscore',
      scope: 'server',
    });
  });

  it('stores only the hash and verifies keys', async () => {
    const { key, prefix } = await createApiKey(pool, 'app');
    const { rows } = await pool.query('SELECT * FROM api_keys WHERE prefix = $1', [prefix]);
    expect(JSON.stringify(rows)).not.toContain(secretOf(key, prefix));
    const auth = new PgAuthenticator(pool, 60);
    expect(await auth.authenticate(key)).toEqual({ prefix, name: 'app', scope: 'server' });
    expect(await auth.authenticate(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await auth.authenticate('garbage')).toBeUndefined();
    await pool.query('UPDATE api_keys SET revoked_at = now() WHERE prefix = $1', [prefix]);
    expect(await new PgAuthenticator(pool, 60).authenticate(key)).toBeUndefined();
  });
});
