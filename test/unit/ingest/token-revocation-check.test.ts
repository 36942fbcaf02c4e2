import { describe, expect, it } from 'vitest';
import { signIngestToken, tokenSigningKey } from '../../../services/ingest/ingest-token.ts';
import { PgTokenRevocations } from '../../../services/shared/token-revocations.ts';
import type { Pool } from '../../../services/shared/postgres.ts';
import { studyEvent } from '../../support/ingest-events.ts';
import { fakeApp, post } from './fakes.ts';

/**
 * Ingest fails closed on the ingest-token revocation check (the list itself: test/unit/shared/token-revocations.test.ts;
 * the real table: test/integration/ingest/token-revocation.test.ts): when the list cannot be loaded, a request with a
 * token is refused with 503.
 */
describe('ingest token revocation check', () => {
  it('a request with a token gets 503 while the list cannot be loaded (fails closed)', async () => {
    const pool = {
      query: async () => {
        throw new Error('connection refused');
      },
    } as unknown as Pool;
    const { app, publisher } = fakeApp({ revocations: new PgTokenRevocations(pool, 'ingest', 5_000) });
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
