import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Per-student ingest tokens (issue 18, finding 2). A browser or mobile app holds a public `client` API key; on its
 * own that key writes nothing. The app's backend, holding a `server` key, asks ingest for a token bound to the
 * signed-in student (POST /v1/tokens) and hands it to the app, which sends it as X-Ingest-Token beside its key.
 * Ingest then accepts only events whose user_id is that student's.
 *
 * Format: `sit_<payload>.<signature>`, both base64url; payload = JSON {u: user id, k: minting key prefix,
 * iat, exp (epoch seconds), j: token id (random; tokens minted before postgres/097 have none)}; signature = HMAC-SHA256(signing key, payload text). The signing key is
 * INGEST_TOKEN_SECRET, or when that is empty a key derived from INGEST_IP_SALT by HKDF with its own label (every
 * ingest instance already shares that secret, and the derived key reveals nothing about the salt). Verifying is
 * one HMAC (~2 µs). Its lifetime is bounded by INGEST_TOKEN_MAX_TTL_SEC (15 min by default); before that it can be
 * revoked (one token by its `j`, or every token of the student issued until then: shared/token-revocations.ts, checked
 * against a per-process list, not a store per request), and revoking the minting server key stops new ones.
 */

export type IngestTokenClaims = { userId: string; keyPrefix: string; iat: number; exp: number; jti?: string };

export type TokenCheck =
  | { ok: true; claims: IngestTokenClaims }
  | { ok: false; code: 'invalid_ingest_token' | 'ingest_token_expired'; message: string };

const TOKEN_FORMAT = /^sit_([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/;
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The HMAC key: INGEST_TOKEN_SECRET, or derived from INGEST_IP_SALT (HKDF-SHA256, label "ingest-token v1"). */
export function tokenSigningKey(tokenSecret: string, ipSalt: string): Buffer {
  if (tokenSecret !== '') return Buffer.from(tokenSecret, 'utf8');
  return Buffer.from(hkdfSync('sha256', ipSalt, 'studystream', 'ingest-token v1', 32));
}

export function signIngestToken(key: Buffer, claims: IngestTokenClaims): string {
  const payload = Buffer.from(
    JSON.stringify({
      u: claims.userId,
      k: claims.keyPrefix,
      iat: claims.iat,
      exp: claims.exp,
      ...(claims.jti !== undefined ? { j: claims.jti } : {}),
    }),
  ).toString('base64url');
  return `sit_${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** Checks signature, shape and expiry (`nowSec` with `leewaySec` of clock tolerance). */
export function verifyIngestToken(key: Buffer, token: string, nowSec: number, leewaySec = 5): TokenCheck {
  const invalid = {
    ok: false as const,
    code: 'invalid_ingest_token' as const,
    message: 'invalid ingest token',
  };
  const m = TOKEN_FORMAT.exec(token);
  if (!m) return invalid;
  const [, payload, sig] = m as unknown as [string, string, string];
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid;
  let body: { u?: unknown; k?: unknown; iat?: unknown; exp?: unknown; j?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    return invalid;
  }
  const { u, k, iat, exp, j } = body;
  if (
    typeof u !== 'string' ||
    !USER_ID.test(u) ||
    typeof k !== 'string' ||
    !Number.isInteger(iat) ||
    !Number.isInteger(exp) ||
    (j !== undefined && (typeof j !== 'string' || !TOKEN_ID.test(j)))
  )
    return invalid;
  if ((exp as number) + leewaySec <= nowSec)
    return {
      ok: false,
      code: 'ingest_token_expired',
      message: 'the ingest token has expired; fetch a new one',
    };
  if ((iat as number) - leewaySec > nowSec) return invalid;
  return {
    ok: true,
    claims: {
      userId: u,
      keyPrefix: k,
      iat: iat as number,
      exp: exp as number,
      ...(typeof j === 'string' ? { jti: j } : {}),
    },
  };
}

/**
 * The user ids of a request's raw events that differ from the token's student (indexes of the offending events).
 * Runs before decoding: an event whose user_id is not a string cannot match either.
 */
export function mismatchedEvents(events: readonly unknown[], userId: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const u = e !== null && typeof e === 'object' ? (e as { user_id?: unknown }).user_id : undefined;
    if (u !== userId) out.push(i);
  }
  return out;
}
