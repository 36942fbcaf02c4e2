/**
 * Adapters of the sessions processor.
 *
 * Redis (keys under REDIS_KEY_PREFIX):
 *   sessions:pos                 hash  "<topic>|<partition>" -> next offset to apply (the authoritative position)
 *   sessions:wm                  hash  "<topic>|<partition>" -> event-time watermark (max occurred_at seen)
 *   sessions:live:<session_id>   string JSON {v, userId, p, finalizeAt, state}; v is bumped on every write
 *   sessions:due:<partition>     zset  session_id scored by finalizeAt (which live sessions a watermark closes)
 *   sessions:user:<user_id>      zset  the student's live session ids scored by their last event (ms): the index the
 *                                      analytics API reads instead of scanning events; written in the same script
 *                                      as the live keys (added with them, removed when they are finalized), and
 *                                      expiring USER_INDEX_TTL_SEC after the student's last write, so it cannot leak
 * A batch commits through one Lua script (COMMIT_SCRIPT) that checks the positions and watermarks it read, and
 * the version of every session it writes, and only then writes everything and advances the positions; if any
 * check fails (another instance moved on) nothing is written and the batch is recomputed from a fresh read.
 *
 * PostgreSQL: closed sessions (study_sessions) and late_events, written BEFORE the Redis commit with idempotent
 * upserts whose content is a pure function of the events, so a crash between the two (or a lost race) at worst
 * rewrites identical rows when the batch is redone.
 */
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from '../../shared/postgres.ts';
import type { FinalizedRow, LiveSession } from './step.ts';

export const KEYS = {
  pos: 'sessions:pos',
  wm: 'sessions:wm',
  live: (sessionId: string) => `sessions:live:${sessionId}`,
  due: (p: number) => `sessions:due:${p}`,
  user: (userId: string) => `sessions:user:${userId}`,
};

/**
 * Expiry of a student's live-session index, renewed on every write of one of their sessions. A session the
 * processor has not touched for this long (its partition's watermark stalled) drops out of the index, not out
 * of the live state: the API stops showing a "live" session whose last event is a day old.
 */
export const USER_INDEX_TTL_SEC = 86_400;

export type Snapshot = {
  positions: Map<string, string>;
  watermarks: Map<string, number>;
  live: Map<string, LiveSession>;
};

function parseLive(text: string | null): LiveSession | undefined {
  return text === null ? undefined : (JSON.parse(text) as LiveSession);
}

/** Positions and watermarks of the given fields, and the live sessions of the given ids (one MULTI). */
export async function readSnapshot(redis: Redis, fields: string[], sessionIds: string[]): Promise<Snapshot> {
  const multi = redis.multi();
  multi.hmget(KEYS.pos, ...fields);
  multi.hmget(KEYS.wm, ...fields);
  if (sessionIds.length > 0) multi.mget(...sessionIds.map(KEYS.live));
  const res = (await multi.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  const pos = res[0]?.[1] as Array<string | null>;
  const wm = res[1]?.[1] as Array<string | null>;
  const lives = (sessionIds.length > 0 ? res[2]?.[1] : []) as Array<string | null>;
  const snapshot: Snapshot = { positions: new Map(), watermarks: new Map(), live: new Map() };
  fields.forEach((f, i) => {
    if (pos[i] != null) snapshot.positions.set(f, pos[i] as string);
    if (wm[i] != null) snapshot.watermarks.set(f, Number(wm[i]));
  });
  sessionIds.forEach((id, i) => {
    const s = parseLive(lives[i] ?? null);
    if (s) snapshot.live.set(id, s);
  });
  return snapshot;
}

/** Live sessions of partition p whose finalizeAt is at or before `upTo`. */
export async function dueSessions(redis: Redis, partitions: Map<number, number>): Promise<string[]> {
  const multi = redis.multi();
  const list = [...partitions].filter(([, w]) => Number.isFinite(w));
  if (list.length === 0) return [];
  for (const [p, w] of list) multi.zrangebyscore(KEYS.due(p), '-inf', String(w));
  const res = (await multi.exec()) ?? [];
  const ids: string[] = [];
  for (const [err, value] of res) {
    if (err) throw err;
    ids.push(...(value as string[]));
  }
  return ids;
}

export async function readLive(redis: Redis, ids: string[]): Promise<Map<string, LiveSession>> {
  const out = new Map<string, LiveSession>();
  if (ids.length === 0) return out;
  const values = await redis.mget(...ids.map(KEYS.live));
  ids.forEach((id, i) => {
    const s = parseLive(values[i] ?? null);
    if (s) out.set(id, s);
  });
  return out;
}

/**
 * KEYS[1] positions hash, KEYS[2] watermarks hash, KEYS[3..] session, due and user-index keys referenced by index.
 * ARGV[1] JSON: {pf: fields, pe: expected ('' = absent), pn: new, wf, we, wn, ttl,
 *   s: [{k, d, u, id, v, val, score, last}]}.
 * Returns 1 when committed, 0 when a check failed (nothing written).
 */
const COMMIT_SCRIPT = `
local a = cjson.decode(ARGV[1])
for i, f in ipairs(a.pf) do
  if (redis.call('HGET', KEYS[1], f) or '') ~= a.pe[i] then return 0 end
end
for i, f in ipairs(a.wf) do
  if (redis.call('HGET', KEYS[2], f) or '') ~= a.we[i] then return 0 end
end
for _, s in ipairs(a.s) do
  local cur = redis.call('GET', KEYS[s.k])
  local ver = 0
  if cur then ver = tonumber(string.match(cur, '^{"v":(%d+)')) end
  if ver ~= s.v then return 0 end
end
for i, f in ipairs(a.pf) do redis.call('HSET', KEYS[1], f, a.pn[i]) end
for i, f in ipairs(a.wf) do if a.wn[i] ~= '' then redis.call('HSET', KEYS[2], f, a.wn[i]) end end
for _, s in ipairs(a.s) do
  if s.val then
    redis.call('SET', KEYS[s.k], s.val)
    redis.call('ZADD', KEYS[s.d], s.score, s.id)
    redis.call('ZADD', KEYS[s.u], s.last, s.id)
    redis.call('EXPIRE', KEYS[s.u], a.ttl)
  else
    redis.call('DEL', KEYS[s.k])
    redis.call('ZREM', KEYS[s.d], s.id)
    redis.call('ZREM', KEYS[s.u], s.id)
  end
end
return 1
`;

export type CommitPlan = {
  positions: Array<{ field: string; expected: string; next: string }>;
  watermarks: Array<{ field: string; expected: string; next: string }>;
  /**
   * Sessions to write (val = new LiveSession) or delete (val = null), each with the version read and the student
   * (whose live-session index gains or loses the id).
   */
  sessions: Array<{ id: string; userId: string; p: number; expectedV: number; val: LiveSession | null }>;
};

export async function commit(redis: Redis, plan: CommitPlan): Promise<boolean> {
  const keys: string[] = [KEYS.pos, KEYS.wm];
  const index = (key: string): number => {
    let i = keys.indexOf(key);
    if (i < 0) i = keys.push(key) - 1;
    return i + 1;
  };
  const s = plan.sessions.map((x) => ({
    k: index(KEYS.live(x.id)),
    d: index(KEYS.due(x.p)),
    u: index(KEYS.user(x.val?.userId ?? x.userId)),
    id: x.id,
    v: x.expectedV,
    val:
      x.val === null
        ? false
        : JSON.stringify({
            v: x.expectedV + 1,
            userId: x.val.userId,
            p: x.val.p,
            finalizeAt: x.val.finalizeAt,
            state: x.val.state,
          }),
    score: x.val === null ? '0' : String(x.val.finalizeAt),
    last: x.val === null ? '0' : String(x.val.state.lastEventAt),
  }));
  const arg = JSON.stringify({
    pf: plan.positions.map((p) => p.field),
    pe: plan.positions.map((p) => p.expected),
    pn: plan.positions.map((p) => p.next),
    wf: plan.watermarks.map((w) => w.field),
    we: plan.watermarks.map((w) => w.expected),
    wn: plan.watermarks.map((w) => w.next),
    ttl: USER_INDEX_TTL_SEC,
    s,
  });
  const result = await redis.eval(COMMIT_SCRIPT, keys.length, ...keys, arg);
  return result === 1;
}

/** study_sessions ids already closed, with their end (ms). */
export async function closedSessions(pool: Pool, ids: string[]): Promise<Map<string, { endedAt: number }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ session_id: string; ended_ms: number }>(
    `SELECT session_id, (extract(epoch FROM ended_at) * 1000)::bigint AS ended_ms FROM study_sessions
     WHERE session_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.session_id, { endedAt: r.ended_ms }]));
}

export async function upsertSessions(client: PoolClient, rows: readonly FinalizedRow[]): Promise<void> {
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
  }));
  await client.query(
    `INSERT INTO study_sessions (session_id, user_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms,
       pause_count, focus_score, questions_answered, questions_correct, materials_opened, notes, highlights,
       ai_coach_interactions, event_count)
     SELECT session_id, user_id, to_timestamp(started_ms / 1000.0), to_timestamp(ended_ms / 1000.0), end_reason,
       duration_ms, active_ms, idle_ms, pause_count, focus_score, questions_answered, questions_correct,
       materials_opened, notes, highlights, ai_coach_interactions, event_count
     FROM jsonb_to_recordset($1::jsonb) AS r(session_id text, user_id text, started_ms float8, ended_ms float8,
       end_reason text, duration_ms bigint, active_ms bigint, idle_ms bigint, pause_count int, focus_score float8,
       questions_answered int, questions_correct int, materials_opened int, notes int, highlights int,
       ai_coach_interactions int, event_count int)
     ON CONFLICT (session_id) DO UPDATE SET user_id = EXCLUDED.user_id, started_at = EXCLUDED.started_at,
       ended_at = EXCLUDED.ended_at, end_reason = EXCLUDED.end_reason, duration_ms = EXCLUDED.duration_ms,
       active_ms = EXCLUDED.active_ms, idle_ms = EXCLUDED.idle_ms, pause_count = EXCLUDED.pause_count,
       focus_score = EXCLUDED.focus_score, questions_answered = EXCLUDED.questions_answered,
       questions_correct = EXCLUDED.questions_correct, materials_opened = EXCLUDED.materials_opened,
       notes = EXCLUDED.notes, highlights = EXCLUDED.highlights,
       ai_coach_interactions = EXCLUDED.ai_coach_interactions, event_count = EXCLUDED.event_count,
       updated_at = now()`,
    [JSON.stringify(payload)],
  );
}
