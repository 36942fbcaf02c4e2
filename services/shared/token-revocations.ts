import type { Pool } from './postgres.ts';

/**
 * Tokens revoked before they expire (postgres/092 and 097: token_revocations, written by `studystream token revoke`),
 * for one kind of token: the analytics API's ('api', checked by analytics-api/server-checks.ts) or the per-student
 * ingest tokens ('ingest', `token revoke --ingest`, checked by ingest/app.ts). A row with a jti revokes that one
 * token; a row without one every token of the subject issued at or before its time.
 *
 * Each process holds the whole list of unexpired revocations of its kind (few: a row expires with the longest token
 * it can cover, JWT_MAX_TTL_SEC or INGEST_TOKEN_MAX_TTL_SEC) and reloads it with one query every `refreshMs`
 * (API_SERVER_CHECKS_CACHE_MS, INGEST_TOKEN_REVOCATION_CACHE_MS): checking a token is a Map lookup, never a query
 * per request. The list is reloaded in the background once it is half that old; a request that finds it older than
 * `refreshMs` waits for a reload that started less than `refreshMs` before it (joining one in flight if that one
 * did), so a revocation holds on every process within `refreshMs` of its commit. When PostgreSQL cannot answer by
 * then, the check throws (the caller fails closed: ingest answers 503, the API as on any PostgreSQL error): a
 * revoked token is never accepted past the bound. With `refreshMs` 0 every check reads the table.
 */

export type TokenKind = 'api' | 'ingest';

/** What a check needs of a token: its subject, its id if it has one, when it was issued (epoch s). */
export type RevocableClaims = {
  subject: string;
  jti?: string;
  /** Absent: issued at an unknown time, so a revocation of all the subject's tokens covers it. */
  iat?: number;
};

export interface RevocationCheck {
  revoked(claims: RevocableClaims): Promise<boolean>;
}

type Entry = { before: number; jtis: Set<string> };

export class PgTokenRevocations implements RevocationCheck {
  private list = new Map<string, Entry>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private loadingFrom = -Infinity;
  private readonly pool: Pool;
  private readonly kind: TokenKind;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(pool: Pool, kind: TokenKind, refreshMs: number, now: () => number = Date.now) {
    this.pool = pool;
    this.kind = kind;
    this.refreshMs = refreshMs;
    this.now = now;
  }

  private reload(): Promise<void> {
    const started = this.now();
    const load = (async () => {
      const { rows } = await this.pool.query<{ subject: string; jti: string | null; at: number }>(
        `SELECT subject, jti, extract(epoch FROM revoked_at)::float8 AS at
           FROM token_revocations WHERE kind = $1 AND expires_at > now()`,
        [this.kind],
      );
      if (started < this.loadedAt) return; // a later load already answered
      const next = new Map<string, Entry>();
      for (const r of rows) {
        let e = next.get(r.subject);
        if (!e) next.set(r.subject, (e = { before: -Infinity, jtis: new Set() }));
        if (r.jti !== null) e.jtis.add(r.jti);
        else e.before = Math.max(e.before, r.at);
      }
      this.list = next;
      this.loadedAt = started;
    })().finally(() => {
      if (this.loading === load) this.loading = undefined;
    });
    this.loading = load;
    this.loadingFrom = started;
    return load;
  }

  /** Resolves once the list is no older than the bound (measured from the start of the query that loaded it). */
  private fresh(): Promise<void> | undefined {
    const t = this.now();
    const age = t - this.loadedAt;
    if (age < this.refreshMs) {
      // The next request that finds the list stale reports a failure of this one.
      if (age >= this.refreshMs / 2 && !this.loading) this.reload().catch(() => undefined);
      return undefined;
    }
    if (this.loading && t - this.loadingFrom < this.refreshMs) return this.loading;
    return this.reload();
  }

  /** Which revocation covers the token: its own (by jti), the subject's (issued before it), or none. */
  async revocation(claims: RevocableClaims): Promise<'token' | 'subject' | undefined> {
    const pending = this.fresh();
    if (pending) await pending;
    const e = this.list.get(claims.subject);
    if (!e) return undefined;
    if (claims.jti !== undefined && e.jtis.has(claims.jti)) return 'token';
    // Revocation times have sub-second precision, iat whole seconds: a token of the same second is revoked too.
    if (e.before !== -Infinity && (claims.iat ?? -Infinity) <= Math.floor(e.before)) return 'subject';
    return undefined;
  }

  async revoked(claims: RevocableClaims): Promise<boolean> {
    return (await this.revocation(claims)) !== undefined;
  }
}
