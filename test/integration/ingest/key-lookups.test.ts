import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiKey, PgAuthenticator } from '../../../services/ingest/apikeys.ts';
import { LookupLimiter, LookupThrottled } from '../../../services/ingest/limits.ts';

/**
 * Issue 18, finding 8, against PostgreSQL: random well-formed keys cannot make ingest query PostgreSQL without
 * limit (the pre-authentication limit refuses them first), and a flood of them does not evict a key in use (an LRU,
 * where the cache used to be cleared wholesale when full).
 */
let iso: IsolatedEnv;
let pg: Pool;
let queries = 0;
const randomKey = () => `ssk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;

beforeAll(async () => {
  iso = isolatedEnv('keylookups');
  await provision(iso, { postgres: true });
  pg = createPgPool(iso.cfg);
  const query = pg.query.bind(pg) as (...args: unknown[]) => unknown;
  (pg as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    queries++;
    return query(...args);
  };
});

afterAll(async () => {
  await pg?.end();
  if (iso) await teardown(iso);
});

describe('API-key lookups', () => {
  it('a client sending random keys is refused before PostgreSQL once over its limit; others are not', async () => {
    const auth = new PgAuthenticator(pg, 60, new LookupLimiter(5, 1000));
    queries = 0;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      try {
        expect(await auth.authenticate(randomKey(), 'attacker-ip-hash')).toBeUndefined();
      } catch (err) {
        expect(err).toBeInstanceOf(LookupThrottled);
        refused++;
      }
    }
    expect(queries).toBeLessThanOrEqual(11); // the burst (2 x 5) and at most one refill
    expect(refused).toBeGreaterThanOrEqual(19);
    const { key } = await createApiKey(pg, 'legit');
    expect(await auth.authenticate(key, 'another-ip-hash')).toMatchObject({ name: 'legit' });
  });

  it('a key in use stays cached while a flood of unknown keys fills the cache (LRU)', async () => {
    const { key, prefix } = await createApiKey(pg, 'hot');
    const auth = new PgAuthenticator(pg, 60, undefined, 20);
    expect(await auth.authenticate(key)).toMatchObject({ prefix });
    for (let i = 0; i < 100; i++) {
      await auth.authenticate(randomKey());
      if (i % 5 === 0) await auth.authenticate(key);
    }
    queries = 0;
    expect(await auth.authenticate(key)).toMatchObject({ prefix });
    expect(queries).toBe(0);
  });
});
