import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SharedConfig } from './config.ts';
import { SubjectStoreUnavailableError } from './errors.ts';
import { withTransaction } from './postgres.ts';

/**
 * Crypto-shredding of the event topics (postgres/093_subject_keys.sql; issue 18, finding 4). Producers write a
 * random per-student pseudonym instead of the user id (the record's user_id and its Kafka key); consumers resolve
 * it back when they decode. Deleting the student's row in subject_keys destroys the only link: every copy of their
 * events (topics, dead letters, backups) becomes anonymous, and consumers drop them (`ERASED_USER_ID`).
 *
 * Mappings are cached in this process (a pseudonym never changes owner), so the hot paths (ingest, sink,
 * processors) ask PostgreSQL only for students they have not seen, in one query per batch. Every `cacheMs`
 * (SUBJECT_CACHE_MS) the process asks for the erasures since its last check (one small query) and evicts those
 * students: that is the bound after a deletion during which a running process may still resolve (or write) the
 * old pseudonym, and `delete-user` waits it out before it cleans the stores. An erased pseudonym is never reused.
 *
 * Records without a pseudonym (written before this, or with STUDYSTREAM_PSEUDONYMS=0) carry the plain id: they
 * resolve to themselves unless the id is in erased_subjects (SHA-256), then they are dropped too.
 */

/** What consumers see instead of a deleted student's id: drop the record. Never a valid user id. */
export const ERASED_USER_ID = '~erased';
const PSEUDONYM = /^~[A-Za-z0-9_-]{22}$/;

export const isPseudonym = (v: unknown): v is string => typeof v === 'string' && PSEUDONYM.test(v);
export const isErased = (record: { user_id?: unknown }): boolean => record.user_id === ERASED_USER_ID;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * A failed lookup is PostgreSQL's failure, not the record's: retriable, so the consumer runtime retries the record
 * instead of dead-lettering it (found by the cluster profile's PostgreSQL restart test: every record decoded while
 * the primary restarted went to the dead-letter topic as 'undecodable').
 */
function unavailable(err: unknown): SubjectStoreUnavailableError {
  const message = err instanceof Error ? err.message : String(err);
  return new SubjectStoreUnavailableError(`subject keys unavailable: ${message}`, { cause: err });
}

export class SubjectKeys {
  /** Producers write pseudonyms (STUDYSTREAM_PSEUDONYMS); consumers resolve them and drop erased students always. */
  readonly writePseudonyms: boolean;
  private readonly pool: pg.Pool;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly toPseudonym = new Map<string, string>();
  private readonly toUser = new Map<string, string>();
  private readonly erasedPseudonyms = new Set<string>();
  /** SHA-256 (base64) of every erased user id, and the verdict per plain id seen. */
  private readonly erasedHashes = new Set<string>();
  private readonly plainErased = new Map<string, boolean>();
  private checkedAt = -Infinity;
  private erasedSince = '-infinity';
  private refreshing: Promise<void> | undefined;
  private static readonly MAX_ENTRIES = 200_000;

  constructor(pool: pg.Pool, opts: { cacheMs: number; writePseudonyms?: boolean; now?: () => number }) {
    this.pool = pool;
    this.cacheMs = opts.cacheMs;
    this.writePseudonyms = opts.writePseudonyms ?? true;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Whether the caches may answer: the erasure list was checked less than cacheMs ago. Mappings themselves never
   * expire (a pseudonym never changes owner); an erasure found by the periodic check evicts its student.
   */
  private valid(): boolean {
    return this.now() - this.checkedAt < this.cacheMs;
  }

  /** One query: the erasures since the last check (with a minute of overlap for transactions committing late). */
  async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const started = this.now();
      const { rows } = await this.pool
        .query<{ user_sha256: Buffer | null; since: string }>(
          `SELECT user_sha256, (now() - interval '1 minute')::text AS since
             FROM erased_subjects WHERE erased_at > $1::timestamptz
           UNION ALL SELECT NULL, (now() - interval '1 minute')::text`,
          [this.erasedSince],
        )
        .catch((err: { code?: string }) => {
          // A database without postgres/093 (not migrated, e.g. a tool on a bare namespace) has erased no one.
          if (err.code === '42P01') return { rows: [{ user_sha256: null, since: '-infinity' }] };
          throw unavailable(err);
        });
      const fresh: string[] = [];
      for (const r of rows) {
        if (r.user_sha256 === null) continue;
        const h = r.user_sha256.toString('base64');
        if (!this.erasedHashes.has(h)) fresh.push(h);
        this.erasedHashes.add(h);
      }
      if (fresh.length > 0) this.evict(new Set(fresh));
      this.erasedSince = rows[rows.length - 1]!.since;
      this.checkedAt = started;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private evict(hashes: Set<string>): void {
    for (const [user, pseudonym] of this.toPseudonym) {
      if (!hashes.has(sha256(user).toString('base64'))) continue;
      this.toPseudonym.delete(user);
      this.toUser.delete(pseudonym);
      this.erasedPseudonyms.add(pseudonym);
    }
    for (const [pseudonym, user] of this.toUser) {
      if (!hashes.has(sha256(user).toString('base64'))) continue;
      this.toUser.delete(pseudonym);
      this.erasedPseudonyms.add(pseudonym);
    }
    this.plainErased.clear();
  }

  // --- producers ---

  /**
   * What a producer writes for this user (pseudonym or plain id), or undefined (then call `prepare`). One Map lookup:
   * the erasure check runs in `prepare`, once per batch (a producer that wrote an erased student's old pseudonym
   * within the bound only loses those events: consumers drop them).
   */
  cachedWireId(userId: string): string | undefined {
    return this.writePseudonyms ? this.toPseudonym.get(userId) : userId;
  }

  /** Makes sure every user has a pseudonym (created when missing) in the cache: one round trip for the misses. */
  async prepare(userIds: Iterable<string>): Promise<void> {
    if (!this.writePseudonyms) return;
    if (!this.valid()) await this.refresh();
    const missing = [...new Set(userIds)].filter((u) => !this.toPseudonym.has(u));
    if (missing.length === 0) return;
    const candidates = missing.map(() => `~${randomBytes(16).toString('base64url').slice(0, 22)}`);
    const { rows } = await this.pool.query<{ user_id: string; pseudonym: string }>(
      `WITH ins AS (
         INSERT INTO subject_keys (user_id, pseudonym) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (user_id) DO NOTHING RETURNING user_id, pseudonym)
       SELECT user_id, pseudonym FROM ins
       UNION ALL SELECT user_id, pseudonym FROM subject_keys WHERE user_id = ANY($1::text[])`,
      [missing, candidates],
    );
    this.trim();
    for (const r of rows) {
      this.toPseudonym.set(r.user_id, r.pseudonym);
      this.toUser.set(r.pseudonym, r.user_id);
    }
  }

  // --- consumers ---

  /**
   * The user id a record's user_id stands for, from the cache: the user, ERASED_USER_ID, or undefined when
   * PostgreSQL must be asked first (`resolve`).
   */
  cachedUser(wireUserId: string): string | undefined {
    return this.valid() ? this.known(wireUserId) : undefined;
  }

  /** What the cache knows of a wire id, however old the erasure check (after `resolve`, which just refreshed it). */
  private known(wireUserId: string): string | undefined {
    if (isPseudonym(wireUserId)) {
      if (this.erasedPseudonyms.has(wireUserId)) return ERASED_USER_ID;
      return this.toUser.get(wireUserId);
    }
    if (this.erasedHashes.size === 0) return wireUserId;
    let erased = this.plainErased.get(wireUserId);
    if (erased === undefined) {
      erased = this.erasedHashes.has(sha256(wireUserId).toString('base64'));
      if (this.plainErased.size > SubjectKeys.MAX_ENTRIES) this.plainErased.clear();
      this.plainErased.set(wireUserId, erased);
    }
    return erased ? ERASED_USER_ID : wireUserId;
  }

  /** Loads what `cachedUser` needs for these wire ids: the erasure check, and one query for unknown pseudonyms. */
  async resolve(wireUserIds: Iterable<string>): Promise<void> {
    if (!this.valid()) await this.refresh();
    const pseudonyms = [...new Set(wireUserIds)].filter((id) => this.known(id) === undefined);
    if (pseudonyms.length === 0) return;
    const { rows } = await this.pool
      .query<{ user_id: string; pseudonym: string }>(
        'SELECT user_id, pseudonym FROM subject_keys WHERE pseudonym = ANY($1::text[])',
        [pseudonyms],
      )
      .catch((err: unknown) => {
        throw unavailable(err);
      });
    this.trim();
    const found = new Set<string>();
    for (const r of rows) {
      found.add(r.pseudonym);
      this.toUser.set(r.pseudonym, r.user_id);
    }
    for (const p of pseudonyms) if (!found.has(p)) this.erasedPseudonyms.add(p);
  }

  /** The user id behind a wire id (ERASED_USER_ID when deleted), asking PostgreSQL when the cache cannot answer. */
  async userOf(wireUserId: string): Promise<string> {
    const cached = this.cachedUser(wireUserId);
    if (cached !== undefined) return cached;
    await this.resolve([wireUserId]);
    // Not cachedUser: a refresh slower than cacheMs (PostgreSQL restarting, a loaded host) leaves the check already
    // expired, and a live student would come out as erased and be dropped (found by the cluster PostgreSQL restart
    // test: one answer missing from mastery, one from a session, positions past them).
    return this.known(wireUserId) ?? ERASED_USER_ID;
  }

  private trim(): void {
    if (this.toUser.size > SubjectKeys.MAX_ENTRIES) this.toUser.clear();
    if (this.toPseudonym.size > SubjectKeys.MAX_ENTRIES) this.toPseudonym.clear();
    if (this.erasedPseudonyms.size > SubjectKeys.MAX_ENTRIES) this.erasedPseudonyms.clear();
  }
}

/**
 * Destroys a student's key and records the erasure (one transaction). Returns whether a key existed. Callers must
 * then wait `cacheMs` before cleaning the stores, so no running process still resolves the old pseudonym.
 */
export async function eraseSubject(pool: pg.Pool, userId: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query('DELETE FROM subject_keys WHERE user_id = $1', [userId]);
    await client.query('INSERT INTO erased_subjects (user_sha256) VALUES ($1) ON CONFLICT DO NOTHING', [
      sha256(userId),
    ]);
    return (rowCount ?? 0) > 0;
  });
}

/** @public A student who comes back after a deletion: their plain-id records are accepted again (new pseudonym anyway). */
export async function forgetErasure(pool: pg.Pool, userId: string): Promise<void> {
  await pool.query('DELETE FROM erased_subjects WHERE user_sha256 = $1', [sha256(userId)]);
}

const shared = new Map<string, SubjectKeys>();

/**
 * The process-wide SubjectKeys of a deployment (one per database, schema and role; with STUDYSTREAM_PSEUDONYMS=0 it
 * writes plain ids but still drops erased students when decoding). Its small pool lets the process exit when idle, so nobody has to close it.
 * `role`: the service's least-privilege role (INGEST_PG_ROLE, STREAM_PG_ROLE; postgres/096), empty for the
 * connecting user (the data tools).
 */
export function subjectKeysFor(
  cfg: Pick<SharedConfig, 'DATABASE_URL' | 'PG_SCHEMA' | 'STUDYSTREAM_PSEUDONYMS' | 'SUBJECT_CACHE_MS'>,
  role = '',
): SubjectKeys {
  if (role !== '' && !/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error('invalid role name');
  const id = `${cfg.DATABASE_URL}|${cfg.PG_SCHEMA}|${cfg.SUBJECT_CACHE_MS}|${cfg.STUDYSTREAM_PSEUDONYMS}|${role}`;
  let keys = shared.get(id);
  if (!keys) {
    const pool = new pg.Pool({
      connectionString: cfg.DATABASE_URL,
      max: 2,
      allowExitOnIdle: true,
      idleTimeoutMillis: 5_000,
      options: `-c search_path=${cfg.PG_SCHEMA},public${role ? ` -c role=${role}` : ''}`,
    });
    pool.on('error', () => undefined); // an idle client's error; the next query reports it
    keys = new SubjectKeys(pool, {
      cacheMs: cfg.SUBJECT_CACHE_MS,
      writePseudonyms: cfg.STUDYSTREAM_PSEUDONYMS,
    });
    shared.set(id, keys);
  }
  return keys;
}
