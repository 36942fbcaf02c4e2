import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studyEvent } from '../../support/ingest-events.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { revokeTokens } from '../../../services/analytics-api/server-checks.ts';
import { mintIngestToken } from '../../../services/sdk/index.ts';
import { postJson, startHarness, type Harness } from './harness.ts';

/**
 * Issue 18: a per-student ingest token can be revoked before it expires (postgres/097; `studystream token revoke
 * --ingest`): one token by its jti, or every token of the student issued until then. Each ingest process reloads the
 * revocation list every INGEST_TOKEN_REVOCATION_CACHE_MS, the bound after which the token is refused (401
 * ingest_token_revoked). Before the fix a revoked token kept writing until it expired (up to 15 minutes). Real ingest
 * (as its least-privilege role), PostgreSQL and Kafka.
 */
const BOUND_MS = 300;
let h: Harness;
let owner: Pool;
let clientKey: string;
const fetchApp: typeof fetch = (input, init) => Promise.resolve(h.service.app.request(String(input), init));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  h = await startHarness('tokrevoke', { INGEST_TOKEN_REVOCATION_CACHE_MS: String(BOUND_MS) });
  owner = createPgPool(h.iso.cfg);
  ({ key: clientKey } = await createApiKey(owner, 'phone app', 'client'));
});
afterAll(async () => {
  await owner?.end();
  await h?.close();
});

const mint = (userId: string) =>
  mintIngestToken({ endpoint: 'http://ingest', serverKey: h.apiKey, userId, fetch: fetchApp });
const send = async (userId: string, token: string) => {
  const res = await postJson(h, '/v1/events', studyEvent({ user_id: userId }), {
    'x-api-key': clientKey,
    'x-ingest-token': token,
  });
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
};

describe('ingest token revocation', () => {
  it('one token by its jti: refused within the bound, the student’s other tokens still work (regression)', async () => {
    const stolen = await mint('stu_r1');
    const other = await mint('stu_r1');
    expect(stolen.jti).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(stolen.jti).not.toBe(other.jti);
    expect(await send('stu_r1', stolen.token)).toEqual({ status: 202, code: undefined });

    await revokeTokens(owner, 'stu_r1', { kind: 'ingest', jti: stolen.jti, maxTtlSec: 900 });
    await sleep(BOUND_MS + 100);
    expect(await send('stu_r1', stolen.token)).toEqual({ status: 401, code: 'ingest_token_revoked' });
    expect(await send('stu_r1', other.token)).toEqual({ status: 202, code: undefined });
  });

  it('every token of a student issued until the revocation; tokens minted later work', async () => {
    const before = await mint('stu_r2');
    const bystander = await mint('stu_r3');
    await revokeTokens(owner, 'stu_r2', { kind: 'ingest', maxTtlSec: 900 });
    await sleep(BOUND_MS + 100);
    expect(await send('stu_r2', before.token)).toEqual({ status: 401, code: 'ingest_token_revoked' });
    expect(await send('stu_r3', bystander.token)).toEqual({ status: 202, code: undefined });
    // iat has whole seconds and a token of the revocation's second counts as revoked: mint in the next second.
    await sleep(1100);
    const after = await mint('stu_r2');
    expect(await send('stu_r2', after.token)).toEqual({ status: 202, code: undefined });
  });

  it('an analytics API revocation of the same subject leaves ingest tokens alone (kinds are apart)', async () => {
    const t = await mint('stu_r4');
    await revokeTokens(owner, 'stu_r4', { maxTtlSec: 3600 });
    await sleep(BOUND_MS + 100);
    expect(await send('stu_r4', t.token)).toEqual({ status: 202, code: undefined });
  });
});
