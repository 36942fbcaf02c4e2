import { SignJWT, generateKeyPair, exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  bearerToken,
  checkJwksUrl,
  createVerifier,
  MAX_TOKEN_LIFETIME_SEC,
  parseTtl,
} from '../../../services/analytics-api/auth.ts';
import { AUDIENCE, ISSUER, SECRET, tokenFor } from './helpers.ts';

const verify = createVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, clockToleranceSec: 0 });
const fail = async (token: string) => {
  try {
    await verify(token);
  } catch (err) {
    return (err as AuthError).code;
  }
  return 'accepted';
};

describe('token verification (HS256)', () => {
  it('accepts a valid token and returns the principal', async () => {
    expect(await verify(await tokenFor('s1', 'student'))).toMatchObject({
      sub: 's1',
      role: 'student',
      cohorts: [],
      iat: expect.any(Number),
    });
    expect(await verify(await tokenFor('e1', 'educator', { cohorts: ['c1'] }))).toMatchObject({
      sub: 'e1',
      role: 'educator',
      cohorts: ['c1'],
    });
  });

  // Security regression (issue 18, finding 12): `studystream token --ttl 3650d` was accepted, and so was its token.
  it('refuses a token that lives longer than the maximum, or that says nothing of when it was issued', async () => {
    expect(await fail(await tokenFor('s1', 'student', { ttlSec: 3650 * 86_400 }))).toBe('invalid_token');
    expect(await fail(await tokenFor('s1', 'student', { ttlSec: MAX_TOKEN_LIFETIME_SEC + 1 }))).toBe(
      'invalid_token',
    );
    expect(await fail(await tokenFor('s1', 'student', { ttlSec: MAX_TOKEN_LIFETIME_SEC }))).toBe('accepted');
    const noIat = await new SignJWT({ role: 'student' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('s1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    expect(await fail(noIat)).toBe('invalid_token');
    const short = createVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, maxLifetimeSec: 600 });
    await expect(short(await tokenFor('s1', 'student', { ttlSec: 601 }))).rejects.toMatchObject({
      code: 'invalid_token',
    });
  });

  it('fetches JWKS keys over https only (plain http on a loopback address only)', () => {
    expect(() => createVerifier({ jwksUrl: 'http://idp.example.org/jwks.json' })).toThrow(/https/);
    expect(() => checkJwksUrl('http://10.1.2.3/jwks.json')).toThrow(/https/);
    expect(checkJwksUrl('https://idp.example.org/.well-known/jwks.json').protocol).toBe('https:');
    expect(checkJwksUrl('http://127.0.0.1:8000/jwks.json').hostname).toBe('127.0.0.1');
  });

  it('rejects an expired token as token_expired', async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    expect(await fail(await tokenFor('s1', 'student', { nowSec: old, ttlSec: 60 }))).toBe('token_expired');
  });

  it('rejects a token signed with another secret, a tampered payload and alg=none', async () => {
    expect(await fail(await tokenFor('s1', 'student', { secret: 'another-secret-another-secret-xx' }))).toBe(
      'invalid_token',
    );
    const [h, , s] = (await tokenFor('s1', 'student')).split('.');
    const forged = Buffer.from(
      JSON.stringify({ sub: 's2', role: 'admin', exp: 9999999999, iss: ISSUER, aud: AUDIENCE }),
    ).toString('base64url');
    expect(await fail(`${h}.${forged}.${s}`)).toBe('invalid_token');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(await fail(`${none}.${forged}.`)).toBe('invalid_token');
  });

  it('rejects unknown roles, bad subjects, missing exp, wrong audience or issuer', async () => {
    const key = new TextEncoder().encode(SECRET);
    const base = () =>
      new SignJWT({ role: 'student' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE);
    expect(await fail(await base().setSubject('s1').sign(key))).toBe('invalid_token'); // no exp
    expect(
      await fail(
        await new SignJWT({ role: 'root' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('s1')
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(key),
      ),
    ).toBe('invalid_token');
    expect(await fail(await base().setSubject("x' OR 1=1 --").setExpirationTime('1h').sign(key))).toBe(
      'invalid_token',
    );
    expect(
      await fail(await base().setSubject('s1').setAudience('other').setExpirationTime('1h').sign(key)),
    ).toBe('invalid_token');
    expect(
      await fail(await base().setSubject('s1').setIssuer('evil').setExpirationTime('1h').sign(key)),
    ).toBe('invalid_token');
  });

  it('ignores cohorts claimed by a non-educator', async () => {
    const p = await verify(await tokenFor('s1', 'student', { cohorts: ['c1'] }));
    expect(p.cohorts).toEqual([]);
  });
});

describe('token verification (JWKS)', () => {
  it('verifies RS256 tokens against a JWKS endpoint and refuses HS256 tokens', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const { createServer } = await import('node:http');
    const server = createServer((_, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const jwks = createVerifier({
        jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      const rs = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('a1')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      expect(await jwks(rs)).toMatchObject({ sub: 'a1', role: 'admin', cohorts: [] });
      await expect(jwks(await tokenFor('a1', 'admin'))).rejects.toMatchObject({ code: 'invalid_token' });
    } finally {
      server.close();
    }
  });
});

describe('bearer header and ttl parsing', () => {
  it('extracts a bearer token or throws missing_token', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    for (const h of [undefined, '', 'Basic Zm9vOmJhcg==', 'Bearer', 'Bearer a b']) {
      expect(() => bearerToken(h)).toThrow(AuthError);
    }
  });
  it('parses ttls', () => {
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('7d')).toBe(604800);
    expect(() => parseTtl('1w')).toThrow();
    expect(() => parseTtl('0')).toThrow();
  });
});
