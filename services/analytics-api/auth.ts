import { createRemoteJWKSet, jwtVerify, SignJWT, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { cohortId, userId } from './params.ts';

/**
 * API authentication: a bearer JWT whose claims say who is asking and in which role.
 *
 * - `sub`: the user id (the same pseudonymous id the events carry);
 * - `role`: student (own data only), educator (aggregates of the cohorts in `cohorts`, never individual rows)
 *   or admin (anything, individual students addressed with ?user=);
 * - `cohorts`: the educator's cohort ids (ignored for other roles);
 * - `exp` is required; `iss`/`aud` are checked when configured.
 *
 * Keys: locally HS256 with JWT_SECRET (`studystream token` mints such tokens). In production set JWT_JWKS_URL
 * to the identity provider's JWKS endpoint: tokens are then verified with its public keys (RS256, ES256, EdDSA,
 * chosen by the key's `alg`/`kid`, keys cached and refreshed on an unknown kid by jose), and HS256 is refused,
 * so a leaked shared secret cannot mint tokens. Nothing else changes: the claims contract is the same.
 */

export const ROLES = ['student', 'educator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Principal = {
  sub: string;
  role: Role;
  cohorts: string[];
  /** The token's `jti` and `iat` (epoch s), for the revocation check (server-checks.ts); absent in tests. */
  jti?: string;
  iat?: number;
};

const claimsSchema = z.object({
  sub: userId,
  role: z.enum(ROLES),
  cohorts: z.array(cohortId).max(200).optional(),
  exp: z.number(),
  iat: z.number(),
  jti: z.string().min(1).max(200).optional(),
});

export type AuthFailure = 'missing_token' | 'invalid_token' | 'token_expired' | 'token_revoked';

export class AuthError extends Error {
  readonly code: AuthFailure;
  constructor(code: AuthFailure, message: string) {
    super(message);
    this.code = code;
  }
}

export type TokenVerifier = (token: string) => Promise<Principal>;

export type VerifierOptions = {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSec?: number;
  /** Longest accepted token lifetime, exp - iat (default MAX_TOKEN_LIFETIME_SEC). */
  maxLifetimeSec?: number;
};

/** Default longest token lifetime: a stolen token is useful for a day at most. */
export const MAX_TOKEN_LIFETIME_SEC = 86_400;

/**
 * Keys come over https, except from a loopback address (local identity providers and tests): a JWKS fetched over
 * plain http can be swapped by anyone on the path, and with it every token.
 */
export function checkJwksUrl(text: string): URL {
  const url = new URL(text);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Error(`JWT_JWKS_URL must be an https URL (http only on a loopback address): ${url.origin}`);
  return url;
}

/** Builds the verifier: JWKS (asymmetric algorithms only) when jwksUrl is set, else HS256 with the secret. */
export function createVerifier(opts: VerifierOptions): TokenVerifier {
  const verifyOpts = {
    issuer: opts.issuer || undefined,
    audience: opts.audience || undefined,
    clockTolerance: opts.clockToleranceSec ?? 5,
    requiredClaims: ['exp', 'sub', 'iat'],
  };
  const maxLifetimeSec = opts.maxLifetimeSec ?? MAX_TOKEN_LIFETIME_SEC;
  let verify: (token: string) => ReturnType<typeof jwtVerify>;
  if (opts.jwksUrl) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(checkJwksUrl(opts.jwksUrl), { timeoutDuration: 3000 });
    const algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
    verify = (token) => jwtVerify(token, jwks, { ...verifyOpts, algorithms });
  } else {
    if (!opts.secret) throw new Error('createVerifier: a secret or a JWKS URL is required');
    // One CryptoKey for every token: given the secret's bytes, jose imports a key (a WebCrypto job) per verification,
    // as much CPU as the verification itself (bench api-cpu).
    const key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(opts.secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    verify = async (token) => jwtVerify(token, await key, { ...verifyOpts, algorithms: ['HS256'] });
  }
  return async (token) => {
    let payload: unknown;
    try {
      ({ payload } = await verify(token));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError('token_expired', 'the token has expired');
      throw new AuthError('invalid_token', 'the token is invalid');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthError('invalid_token', 'the token claims are invalid');
    if (claims.data.exp - claims.data.iat > maxLifetimeSec)
      throw new AuthError('invalid_token', `the token lives longer than ${maxLifetimeSec} s`);
    const { sub, role, cohorts, jti, iat } = claims.data;
    return { sub, role, cohorts: role === 'educator' ? (cohorts ?? []) : [], jti, iat };
  };
}

/** Extracts the bearer token from an Authorization header, or throws missing_token. */
export function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!match) throw new AuthError('missing_token', 'an Authorization: Bearer <token> header is required');
  return match[1]!;
}

/** Parses "90s", "15m", "1h", "7d" (or plain seconds) into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`invalid ttl ${JSON.stringify(text)} (use e.g. 90s, 15m, 1h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) throw new Error('ttl must be positive');
  return seconds;
}

/** Mints an HS256 token (local development and tests; production tokens come from the identity provider). */
export async function signToken(
  principal: { sub: string; role: Role; cohorts?: string[] },
  opts: { secret: string; ttlSec: number; issuer?: string; audience?: string; nowSec?: number },
): Promise<string> {
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({
    role: principal.role,
    ...(principal.cohorts && principal.cohorts.length > 0 ? { cohorts: principal.cohorts } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(crypto.randomUUID())
    .setSubject(principal.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + opts.ttlSec);
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}
