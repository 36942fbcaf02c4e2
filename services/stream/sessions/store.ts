/**
 * Adapters of the sessions processor. The read model other services use is live-read-model.ts (readers never spell
 * these keys or this JSON).
 *
 * Redis (keys under REDIS_KEY_PREFIX):
 *   sessions:pos                          hash  "<topic>|<partition>" -> next offset to apply (authoritative)
 *   sessions:live:<user_id>:<session_id>  string JSON {v, userId, p, finalizeAt, touchedAt, state}; v is bumped on every write
 *   sessions:due:<partition>              zset  "<user_id>:<session_id>" scored by closableAt (when a clock may close it)
 *   sessions:user:<user_id>               zset  the student's live session ids scored by their last event (ms): the
 *                                               index the analytics API reads; written in the same script as the live
 *                                               keys and expiring USER_INDEX_TTL_SEC after the student's last write
 * A step commits through one Lua script (COMMIT_SCRIPT) that checks the positions it read and the version of every
 * session it read, and only then writes everything and advances the positions; if any check fails (another
 * instance moved on) nothing is written and the step is recomputed from a fresh read.
 *
 * PostgreSQL: written sessions (study_sessions, keyed by (user_id, session_id), with their timeline so a late event
 * can amend them), written BEFORE the Redis commit. A row is replaced only by a larger version (its number of
 * distinct events) or by the same timeline, so a crash between the two at worst rewrites the same row; a row that
 * another writer changed since the step read it refuses the step (SessionRowConflict), which is recomputed.
 */
import { RetriableError } from '../../shared/errors.ts';
import type { Redis } from 'ioredis';
import { scanKeys } from '../../shared/redis.ts';
import type { Pool, PoolClient } from '../../shared/postgres.ts';
import type { SessionState, TimelineEntry } from '../../domain/sessions.ts';
import { sessionFromTimeline } from '../../domain/sessions.ts';
import {
  closableAt,
  sessionKey,
  splitSessionKey,
  type LiveSession,
  type SessionOptions,
  type SessionRow,
} from './step.ts';

export const KEYS = {
  pos: 'sessions:pos',
  /** By sessionKey (step.ts): `<user_id>:<session_id>`. */
  live: (key: string) => `sessions:live:${key}`,
  /** By partition; `*` in a SCAN pattern. */
  due: (p: number | '*') => `sessions:due:${p}`,
  user: (userId: string) => `sessions:user:${userId}`,
};

/**
 * Expiry of a student's live-session index, renewed on every write of one of their sessions. A session the
 * processor has not touched for this long drops out of the index, not out
 * of the live state: the API stops showing a "live" session whose last event is a day old.
 */
export const USER_INDEX_TTL_SEC = 86_400;

export type Snapshot = {
  positions: Map<string, string>;
  live: Map<string, LiveSession>;
};

/** The stored JSON text of a live session at version `v` (first: COMMIT_SCRIPT reads it by pattern). */
function liveText(v: number, s: LiveSession): string {
  return JSON.stringify({
    v,
    userId: s.userId,
    p: s.p,
    finalizeAt: s.finalizeAt,
    touchedAt: s.touchedAt,
    state: s.state,
  });
}

/** A live session from its stored JSON text (liveText), or undefined for a missing key. */
export function parseLive(text: string | null): LiveSession | undefined {
  return text === null ? undefined : (JSON.parse(text) as LiveSession);
}

/** Positions of the given fields (in hash `positionsKey`) and the live sessions of the given keys (one MULTI). */
export async function readSnapshot(
  redis: Redis,
  positionsKey: string,
  fields: string[],
  keys: string[],
): Promise<Snapshot> {
  const multi = redis.multi();
  if (fields.length > 0) multi.hmget(positionsKey, ...fields);
  if (keys.length > 0) multi.mget(...keys.map(KEYS.live));
  const res = (await multi.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  const pos = (fields.length > 0 ? res[0]?.[1] : []) as Array<string | null>;
  const lives = (keys.length > 0 ? res[fields.length > 0 ? 1 : 0]?.[1] : []) as Array<string | null>;
  const snapshot: Snapshot = { positions: new Map(), live: new Map() };
  fields.forEach((f, i) => {
    if (pos[i] != null) snapshot.positions.set(f, pos[i] as string);
  });
  keys.forEach((k, i) => {
    const s = parseLive(lives[i] ?? null);
    if (s) snapshot.live.set(k, s);
  });
  return snapshot;
}

/**
 * Live sessions of the given partitions that may be closed before `clock` (their closableAt), at most about `limit`
 * (spread over the partitions, earliest first), so one step's work stays bounded.
 */
export async function dueSessions(
  redis: Redis,
  partitions: readonly number[],
  clock: number,
  limit: number,
): Promise<string[]> {
  if (partitions.length === 0) return [];
  const perPartition = Math.max(1, Math.ceil(limit / partitions.length));
  const multi = redis.multi();
  for (const p of partitions) multi.zrangebyscore(KEYS.due(p), '-inf', `(${clock}`, 'LIMIT', 0, perPartition);
  const res = (await multi.exec()) ?? [];
  const keys: string[] = [];
  for (const [err, value] of res) {
    if (err) throw err;
    keys.push(...(value as string[]));
  }
  return keys;
}

/** Every live session key of the given partitions (the rebuild compares only what the live processor wrote). */
export async function liveKeys(redis: Redis, partitions: readonly number[]): Promise<Set<string>> {
  const multi = redis.multi();
  for (const p of partitions) multi.zrange(KEYS.due(p), '0', '-1');
  const res = (await multi.exec()) ?? [];
  const keys = new Set<string>();
  for (const [err, value] of res) {
    if (err) throw err;
    for (const k of value as string[]) keys.add(k);
  }
  return keys;
}

export async function readLive(redis: Redis, keys: string[]): Promise<Map<string, LiveSession>> {
  const out = new Map<string, LiveSession>();
  if (keys.length === 0) return out;
  const values = await redis.mget(...keys.map(KEYS.live));
  keys.forEach((k, i) => {
    const s = parseLive(values[i] ?? null);
    if (s) out.set(k, s);
  });
  return out;
}

/**
 * Removes a student's live state (`delete-user`): their live sessions, those sessions' entries in every partition's
 * due set, the per-student index, and due entries whose live key was already gone (a crash between the two).
 * `prefix` is the client's REDIS_KEY_PREFIX (SCAN patterns are not prefixed by the client). Returns how many live
 * sessions were removed.
 */
export async function deleteLiveSessionsOf(redis: Redis, prefix: string, userId: string): Promise<number> {
  const live = await scanKeys(redis, prefix, KEYS.live(sessionKey(userId, '*')));
  const dueSets = await scanKeys(redis, prefix, KEYS.due('*'));
  const liveKeyPrefix = KEYS.live('').length;
  const multi = redis.multi();
  for (const k of live) multi.del(k);
  for (const due of dueSets) {
    for (const k of live) multi.zrem(due, k.slice(liveKeyPrefix));
  }
  multi.del(KEYS.user(userId));
  await multi.exec();
  const mine = sessionKey(userId, '');
  for (const due of dueSets) {
    const members = await redis.zrangebyscore(due, '-inf', '+inf');
    const left = members.filter((m) => m.startsWith(mine));
    if (left.length > 0) await redis.zrem(due, ...left);
  }
  return live.length;
}

/**
 * KEYS[1] positions hash, KEYS[2..] session, due and user-index keys referenced by index.
 * ARGV[1] JSON: {pf: fields, pe: expected ('' = absent), pn: new, ttl,
 *   s: [{k, d, u, m, id, v, val, score, last}]} (m: the due-index member, id: the user-index member; val: the
 *   index in ARGV of the session's new JSON text, or false to delete it).
 * The session texts travel as their own ARGV entries, not inside ARGV[1]: a long timeline is then neither escaped
 * a second time by the processor nor decoded by the script (cjson), which only checks versions and copies them.
 * Returns 1 when committed, 0 when a check failed (nothing written).
 */
const COMMIT_SCRIPT = `
local a = cjson.decode(ARGV[1])
for i, f in ipairs(a.pf) do
  if (redis.call('HGET', KEYS[1], f) or '') ~= a.pe[i] then return 0 end
end
for _, s in ipairs(a.s) do
  local cur = redis.call('GET', KEYS[s.k])
  local ver = 0
  if cur then ver = tonumber(string.match(cur, '^{"v":(%d+)')) end
  if ver ~= s.v then return 0 end
end
for i, f in ipairs(a.pf) do redis.call('HSET', KEYS[1], f, a.pn[i]) end
for _, s in ipairs(a.s) do
  if s.val then
    redis.call('SET', KEYS[s.k], ARGV[s.val])
    redis.call('ZADD', KEYS[s.d], s.score, s.m)
    redis.call('ZADD', KEYS[s.u], s.last, s.id)
    redis.call('EXPIRE', KEYS[s.u], a.ttl)
  else
    redis.call('DEL', KEYS[s.k])
    redis.call('ZREM', KEYS[s.d], s.m)
    redis.call('ZREM', KEYS[s.u], s.id)
  end
end
return 1
`;

export type CommitPlan = {
  positions: Array<{ field: string; expected: string; next: string }>;
  /**
   * Sessions (by sessionKey) to write (val = new LiveSession) or delete (val = null), each with the version read,
   * its partition and its student (whose live-session index gains or loses the id).
   */
  sessions: Array<{ key: string; userId: string; p: number; expectedV: number; val: LiveSession | null }>;
};

export async function commit(
  redis: Redis,
  positionsKey: string,
  plan: CommitPlan,
  options: SessionOptions,
): Promise<boolean> {
  const keys: string[] = [positionsKey];
  const index = (key: string): number => {
    let i = keys.indexOf(key);
    if (i < 0) i = keys.push(key) - 1;
    return i + 1;
  };
  const values: string[] = [];
  const s = plan.sessions.map((x) => ({
    k: index(KEYS.live(x.key)),
    d: index(KEYS.due(x.p)),
    u: index(KEYS.user(x.userId)),
    m: x.key,
    id: splitSessionKey(x.key).sessionId,
    v: x.expectedV,
    // ARGV[1] is the plan; the first session text is ARGV[2].
    val: x.val === null ? false : values.push(liveText(x.expectedV + 1, x.val)) + 1,
    score: x.val === null ? '0' : String(closableAt(x.val, options)),
    last: x.val === null ? '0' : String(x.val.state.lastEventAt),
  }));
  const arg = JSON.stringify({
    pf: plan.positions.map((p) => p.field),
    pe: plan.positions.map((p) => p.expected),
    pn: plan.positions.map((p) => p.next),
    ttl: USER_INDEX_TTL_SEC,
    s,
  });
  const result = await redis.eval(COMMIT_SCRIPT, keys.length, ...keys, arg, ...values);
  return result === 1;
}

/** Written sessions (study_sessions rows) of the given keys, as states to amend. */
export async function writtenSessions(
  db: Pool | PoolClient,
  keys: readonly string[],
  idleGapMs: number,
): Promise<Map<string, SessionState>> {
  if (keys.length === 0) return new Map();
  const parts = keys.map(splitSessionKey);
  const { rows } = await db.query<{ user_id: string; session_id: string; timeline: TimelineEntry[] }>(
    `SELECT user_id, session_id, timeline FROM study_sessions
     WHERE (user_id, session_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [parts.map((p) => p.userId), parts.map((p) => p.sessionId)],
  );
  const out = new Map<string, SessionState>();
  for (const r of rows) {
    const state = sessionFromTimeline(r.session_id, r.timeline, idleGapMs);
    if (state) out.set(`${r.user_id}:${r.session_id}`, state);
  }
  return out;
}

/** Distinct events, answers and first event (ms) of every written session (for `reconcile`). */
export async function writtenCounts(
  db: Pool,
): Promise<Map<string, { events: number; answers: number; first: number }>> {
  const { rows } = await db.query<{ user_id: string; session_id: string; e: number; a: number; f: number }>(
    `SELECT user_id, session_id, event_count AS e, questions_answered AS a,
       (extract(epoch FROM started_at) * 1000)::float8 AS f FROM study_sessions`,
  );
  return new Map(
    rows.map((r) => [`${r.user_id}:${r.session_id}`, { events: r.e, answers: r.a, first: r.f }]),
  );
}

export async function upsertSessions(client: PoolClient, rows: readonly SessionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({
    session_id: r.sessionId,
    user_id: r.userId,
    started_ms: r.startedAt,
    ended_ms: r.endedAt,
    end_reason: r.endReason,
    duration_ms: r.durationMs,
    active_ms: r.activeMs,
    idle_ms: r.idleMs,
    pause_count: r.pauseCount,
    focus_score: r.focusScore,
    questions_answered: r.questionsAnswered,
    questions_correct: r.questionsCorrect,
    materials_opened: r.materialsOpened,
    notes: r.notes,
    highlights: r.highlights,
    ai_coach_interactions: r.aiCoachInteractions,
    event_count: r.eventCount,
    version: r.version,
    timeline: r.timeline,
  }));
  const result = await client.query(
    `INSERT INTO study_sessions (session_id, user_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms,
       pause_count, focus_score, questions_answered, questions_correct, materials_opened, notes, highlights,
       ai_coach_interactions, event_count, version, timeline)
     SELECT session_id, user_id, to_timestamp(started_ms / 1000.0), to_timestamp(ended_ms / 1000.0), end_reason,
       duration_ms, active_ms, idle_ms, pause_count, focus_score, questions_answered, questions_correct,
       materials_opened, notes, highlights, ai_coach_interactions, event_count, version, timeline
     FROM jsonb_to_recordset($1::jsonb) AS r(session_id text, user_id text, started_ms float8, ended_ms float8,
       end_reason text, duration_ms bigint, active_ms bigint, idle_ms bigint, pause_count int, focus_score float8,
       questions_answered int, questions_correct int, materials_opened int, notes int, highlights int,
       ai_coach_interactions int, event_count int, version int, timeline jsonb)
     ON CONFLICT (user_id, session_id) DO UPDATE SET started_at = EXCLUDED.started_at,
       ended_at = EXCLUDED.ended_at, end_reason = EXCLUDED.end_reason, duration_ms = EXCLUDED.duration_ms,
       active_ms = EXCLUDED.active_ms, idle_ms = EXCLUDED.idle_ms, pause_count = EXCLUDED.pause_count,
       focus_score = EXCLUDED.focus_score, questions_answered = EXCLUDED.questions_answered,
       questions_correct = EXCLUDED.questions_correct, materials_opened = EXCLUDED.materials_opened,
       notes = EXCLUDED.notes, highlights = EXCLUDED.highlights,
       ai_coach_interactions = EXCLUDED.ai_coach_interactions, event_count = EXCLUDED.event_count,
       version = EXCLUDED.version, timeline = EXCLUDED.timeline, updated_at = now()
     WHERE study_sessions.version < EXCLUDED.version OR study_sessions.timeline = EXCLUDED.timeline
     RETURNING 1`,
    [JSON.stringify(payload)],
  );
  // A row not written holds events this step did not read (another instance, or a stale one, wrote it meanwhile):
  // writing ours would lose them. The caller's transaction rolls back and the step is recomputed from fresh reads.
  if (result.rowCount !== rows.length) throw new SessionRowConflict(rows.length - (result.rowCount ?? 0));
}

/** study_sessions rows changed under a step (see upsertSessions): recompute the step. */
export class SessionRowConflict extends RetriableError {
  readonly rows: number;
  constructor(rows: number) {
    super(`sessions: ${rows} study_sessions row(s) changed by another writer; recomputing the step`);
    this.rows = rows;
  }
}
