import { describe, expect, it } from 'vitest';
import {
  mismatchedEvents,
  signIngestToken,
  tokenSigningKey,
  verifyIngestToken,
} from '../../../services/ingest/ingest-token.ts';

const key = tokenSigningKey('', 'a salt of the deployment');
const claims = { userId: 'stu_1', keyPrefix: '0123456789ab', iat: 1_000, exp: 1_900 };

describe('ingest tokens', () => {
  it('verify within their lifetime, and carry their claims', () => {
    const token = signIngestToken(key, claims);
    expect(verifyIngestToken(key, token, 1_500)).toEqual({ ok: true, claims });
  });

  it('are refused once expired, before they were issued, with another key, or altered', () => {
    const token = signIngestToken(key, claims);
    expect(verifyIngestToken(key, token, 1_906)).toMatchObject({ ok: false, code: 'ingest_token_expired' });
    expect(verifyIngestToken(key, token, 990)).toMatchObject({ ok: false, code: 'invalid_ingest_token' });
    expect(verifyIngestToken(tokenSigningKey('', 'another salt'), token, 1_500).ok).toBe(false);
    expect(
      verifyIngestToken(tokenSigningKey('x'.repeat(32), 'a salt of the deployment'), token, 1_500).ok,
    ).toBe(false);
    const forged = signIngestToken(key, { ...claims, userId: 'stu_2' });
    const spliced = `${forged.split('.')[0]}.${token.split('.')[1]}`;
    expect(verifyIngestToken(key, spliced, 1_500)).toMatchObject({ ok: false, code: 'invalid_ingest_token' });
    expect(verifyIngestToken(key, 'sit_.' + 'a'.repeat(43), 1_500).ok).toBe(false);
  });

  it('the derived key is not the salt, and an explicit secret wins', () => {
    expect(key.equals(Buffer.from('a salt of the deployment'))).toBe(false);
    expect(tokenSigningKey('s'.repeat(32), 'salt').toString()).toBe('s'.repeat(32));
  });

  it('mismatchedEvents lists every event that is not the token student’s, malformed ones included', () => {
    expect(
      mismatchedEvents([{ user_id: 'a' }, { user_id: 'b' }, null, 'x', {}, { user_id: 'a' }], 'a'),
    ).toEqual([1, 2, 3, 4]);
  });
});
