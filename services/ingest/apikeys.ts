import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Lru } from '../shared/lru.ts';
import type { Pool } from '../shared/postgres.ts';
import type { LookupLimiter } from './limits.ts';

/**
 * API keys: "ssk_<12 hex prefix>_<43 char base64url secret>". The prefix is the public id (primary key of
 * api_keys); the table stores SHA-256 of the secret only. Verified keys are cached in memory for a short time
 * so PostgreSQL is not on the hot path; unknown keys are cached briefly too. The cache is an LRU (a flood of random
 * keys evicts the coldest entries, never the whole cache), and lookups that miss it pass the pre-authentication
 * limit first (limits.ts LookupLimiter: per client and per process), so random keys cannot load PostgreSQL.
 */

/**
 * What a key may write (postgres/090): `server` keys (an app's backend) any student's events, and they mint ingest
 * tokens; `client` keys (public, inside a browser or mobile app) only with an ingest token, and only that token's
 * student (ingest-token.ts).
 */
export const KEY_SCOPES = ['server', 'client'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export type ApiKeyPrincipal = { prefix: string; name: string; scope: KeyScope };

const KEY_FORMAT = /^ssk_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function generateApiKey(): { key: string; prefix: string; secretSha256: Buffer } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `ssk_${prefix}_${secret}`, prefix, secretSha256: sha256(secret) };
}

/** Creates a key and stores its hash; returns the full key (shown once, never stored). */
export async function createApiKey(
  pool: Pool,
  name: string,
  scope: KeyScope = 'server',
): Promise<{ key: string; prefix: string }> {
  const { key, prefix, secretSha256 } = generateApiKey();
  await pool.query('INSERT INTO api_keys (prefix, name, secret_sha256, scope) VALUES ($1, $2, $3, $4)', [
    prefix,
    name,
    secretSha256,
    scope,
  ]);
  return { key, prefix };
}

export interface Authenticator {
  /** `client`: the hashed client IP (pre-authentication limit); throws LookupThrottled when refused. */
  authenticate(key: string, client?: string | null): Promise<ApiKeyPrincipal | undefined>;
}

/** Verifies keys against api_keys in PostgreSQL with an in-memory cache. */
export class PgAuthenticator implements Authenticator {
  private readonly pool: Pool;
  private readonly ttlMs: number;
  private readonly cache: Lru<string, { principal: ApiKeyPrincipal | undefined; expires: number }>;
  private readonly limiter: LookupLimiter | undefined;
  static readonly MAX_CACHE = 10_000;
  private static readonly NEGATIVE_TTL_MS = 5_000;

  constructor(pool: Pool, ttlSec: number, limiter?: LookupLimiter, maxCache = PgAuthenticator.MAX_CACHE) {
    this.pool = pool;
    this.ttlMs = ttlSec * 1000;
    this.limiter = limiter;
    this.cache = new Lru(maxCache);
  }

  async authenticate(key: string, client: string | null = null): Promise<ApiKeyPrincipal | undefined> {
    const match = KEY_FORMAT.exec(key);
    if (!match) return undefined;
    const cacheKey = sha256(key).toString('base64');
    const hit = this.cache.get(cacheKey);
    const now = Date.now();
    if (hit && hit.expires > now) return hit.principal;
    this.limiter?.check(client);
    const [, prefix, secret] = match as unknown as [string, string, string];
    const { rows } = await this.pool.query<{ name: string; secret_sha256: Buffer; scope: KeyScope }>(
      'SELECT name, secret_sha256, scope FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL',
      [prefix],
    );
    const row = rows[0];
    const principal =
      row && timingSafeEqual(row.secret_sha256, sha256(secret))
        ? { prefix, name: row.name, scope: row.scope }
        : undefined;
    this.cache.set(cacheKey, {
      principal,
      expires: now + (principal ? this.ttlMs : Math.min(this.ttlMs, PgAuthenticator.NEGATIVE_TTL_MS)),
    });
    return principal;
  }
}
