import { describe, expect, it } from 'vitest';
import { signIngestToken, tokenSigningKey } from '../../../services/ingest/ingest-token.ts';
import { PgIngestRevocations } from '../../../services/ingest/token-revocations.ts';
import type { Pool } from '../../../services/shared/postgres.ts';
import { studyEvent } from '../../support/ingest-events.ts';
import { fakeApp, post } from './fakes.ts';

/**
 * The ingest-token revocation check without PostgreSQL (the real table: test/integration/ingest/token-revocation.test.ts):
 * the list is reloaded at most once per bound however many requests arrive, a request never uses a list older than
 * the bound, and when the list cannot be loaded a request with a token is refused with 503 (fails closed).
 */
type Row = { subject: string; jti: string | null; at: number };
function fakePool(rows: () => Row[] | Error) {
  let queries = 0;
  const pool = {
    query: async () => {
      queries++;
      const r = rows();
      if (r instanceof Error) throw r;
      return { rows: r };
    },
  } as unknown as Pool;
  return { pool, queries: () => queries };
}

describe('PgIngestRevocations', () => {
  it('one query per bound, a revocation holds once the list is older than the bound', async () => {
    let clock = 1_000_000;
    let rows: Row[] = [];
    const { pool, queries } = fakePool(() => rows);
    const check = new PgIngestRevocations(pool, 5_000, () => clock);
    const claims = { userId: 'stu_1', keyPrefix: 'k', iat: 900, exp: 2_000, jti: 'j1' };
    for (let i = 0; i < 50; i++) expect(await check.revoked(claims)).toBe(false);
    expect(queries()).toBe(1);
    rows = [{ subject: 'stu_1', jti: 'j1', at: 1_000 }];
    clock += 5_000;
    expect(await check.revoked(claims)).toBe(true);
    expect(await check.revoked({ ...claims, jti: 'j2' })).toBe(false);
    rows = [{ subject: 'stu_1', jti: null, at: 950.5 }];
    clock += 5_000;
    expect(await check.revoked({ ...claims, jti: 'j2' })).toBe(true); // issued before the revocation
    expect(await check.revoked({ ...claims, jti: 'j2', iat: 950 })).toBe(true); // the same second
    expect(await check.revoked({ ...claims, jti: 'j2', iat: 951 })).toBe(false); // minted afterwards
  });

  it('a request with a token gets 503 while the list cannot be loaded (fails closed)', async () => {
    const { pool } = fakePool(() => new Error('connection refused'));
    const { app, publisher } = fakeApp({ revocations: new PgIngestRevocations(pool, 5_000) });
    const key = tokenSigningKey('', 'salt');
    const now = Math.floor(Date.now() / 1000);
    const token = signIngestToken(key, {
      userId: 'stu_1',
      keyPrefix: '0123456789ab',
      iat: now,
      exp: now + 60,
    });
    const res = await post(app, '/v1/events', studyEvent({ user_id: 'stu_1' }), { 'x-ingest-token': token });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(publisher.published).toHaveLength(0);
  });
});
