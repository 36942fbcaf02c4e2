/**
 * A decode consults the subject keys and erasures in PostgreSQL (shared/subjects.ts). When PostgreSQL cannot answer
 * (here: nothing listens on the port, a real refused connection), the failure must be retriable, so the consumer
 * runtime retries the record rather than dead-lettering a good event as 'undecodable'. Regression of the cluster
 * profile's PostgreSQL restart test, where every record decoded during the restart was dead-lettered.
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isRetriable, SubjectStoreUnavailableError } from '../../../services/shared/errors.ts';
import { SubjectKeys } from '../../../services/shared/subjects.ts';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('subject keys while PostgreSQL is unreachable', () => {
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('a consumer lookup fails retriably (erasure refresh and pseudonym lookup)', async () => {
    const pool = new pg.Pool({ connectionString: `postgres://u:p@127.0.0.1:${await closedPort()}/db` });
    pool.on('error', () => undefined);
    pools.push(pool);
    const keys = new SubjectKeys(pool, { cacheMs: 1000 });
    // A plain id: the erasure list must be loaded first (refresh).
    const plain = await keys.userOf('stu_001').catch((err: unknown) => err);
    expect(plain).toBeInstanceOf(SubjectStoreUnavailableError);
    expect(isRetriable(plain)).toBe(true);
    // A pseudonym with a fresh erasure check: the lookup itself fails (resolve).
    const fresh = new SubjectKeys(pool, { cacheMs: 60_000 });
    (fresh as unknown as { checkedAt: number }).checkedAt = Date.now();
    const pseudonym = await fresh.userOf('~AAAAAAAAAAAAAAAAAAAAAA').catch((err: unknown) => err);
    expect(pseudonym).toBeInstanceOf(SubjectStoreUnavailableError);
    expect(isRetriable(pseudonym)).toBe(true);
  });
});
