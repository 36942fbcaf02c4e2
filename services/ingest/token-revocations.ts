import type { Pool } from '../shared/postgres.ts';
import type { IngestTokenClaims } from './ingest-token.ts';

/**
 * Ingest tokens revoked before they expire (postgres/097: token_revocations rows of kind 'ingest', written by
 * `studystream token revoke --ingest`). A row with a jti revokes that one token; a row without one every token of the
 * student issued at or before its time.
 *
 * Each ingest process holds the whole list of unexpired ingest revocations (few: a row expires with the longest token
 * it can cover, INGEST_TOKEN_MAX_TTL_SEC) and reloads it with one query every `refreshMs`
 * (INGEST_TOKEN_REVOCATION_CACHE_MS): checking a token is a Map lookup, never a query per request. The list is
 * reloaded in the background once it is half that old; a request that finds it older than `refreshMs` waits for the
 * reload, so a revocation holds on every process within `refreshMs` of its commit. When PostgreSQL cannot answer by
 * then, the check throws and ingest answers 503 (fails closed): a revoked token is never accepted past the bound.
 */
export interface RevocationCheck {
  revoked(claims: IngestTokenClaims): Promise<boolean>;
}

type Entry = { before: number; jtis: Set<string> };

export class PgIngestRevocations implements RevocationCheck {
  private list = new Map<string, Entry>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private readonly pool: Pool;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(pool: Pool, refreshMs: number, now: () => number = Date.now) {
    this.pool = pool;
    this.refreshMs = refreshMs;
    this.now = now;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      const started = this.now();
      const { rows } = await this.pool.query<{ subject: string; jti: string | null; at: number }>(
        `SELECT subject, jti, extract(epoch FROM revoked_at)::float8 AS at
           FROM token_revocations WHERE kind = 'ingest' AND expires_at > now()`,
      );
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
      this.loading = undefined;
    });
    return this.loading;
  }

  async revoked(claims: IngestTokenClaims): Promise<boolean> {
    const age = this.now() - this.loadedAt;
    if (age >= this.refreshMs) await this.reload();
    else if (age >= this.refreshMs / 2) this.reload().catch(() => undefined); // the next stale request reports it
    const e = this.list.get(claims.userId);
    if (!e) return false;
    if (claims.jti !== undefined && e.jtis.has(claims.jti)) return true;
    // Revocation times have sub-second precision, iat whole seconds: a token of the same second is revoked too.
    return claims.iat <= Math.floor(e.before);
  }
}
