/**
 * The sessions processor: study-events, question-attempts and material-interactions to live sessions in Redis and
 * closed sessions in study_sessions, exactly once. Reads top to bottom: decode (wire → Avro), validate
 * (→ SessionInput), read (Redis snapshot), apply (pure, step.ts), close due sessions (pure), write PostgreSQL
 * (idempotent), commit Redis (Lua compare-and-set on positions, watermarks and session versions).
 */
import { publishInvalidations } from '../runtime/invalidation.ts';
import type { Redis } from 'ioredis';
import type { EventCodec } from '../../shared/codec.ts';
import type { Logger } from '../../shared/logger.ts';
import { Counter, type Registry } from '../../shared/metrics.ts';
import { withTransaction, type Pool } from '../../shared/postgres.ts';
import type { OffsetStore, ProcessorDefinition } from '../runtime/processor.ts';
import { andThen, type StepResult } from '../runtime/step.ts';
import type { FlushBatch, InboundRecord } from '../runtime/types.ts';
import { lateEventsCounter, recordLateEvents, type LateEvent } from '../mastery/late-events.ts';
import { admitRecords, tpKey, type StoredPosition } from '../mastery/positions.ts';
import { decodeWire } from '../mastery/wire.ts';
import type { SessionsConfig } from './config.ts';
import { toSessionInput, type SessionInput } from './decode.ts';
import {
  applyEvents,
  closeDue,
  partitionWatermark,
  wmField,
  type LiveSession,
  type SessionOptions,
} from './step.ts';
import {
  closedSessions,
  commit,
  dueSessions,
  KEYS,
  readLive,
  readSnapshot,
  upsertSessions,
  type CommitPlan,
} from './store.ts';

export const SESSIONS_PROCESSOR = 'sessions';
const MAX_COMMIT_ATTEMPTS = 50;

export type SessionsDeps = {
  codec: EventCodec;
  pool: Pool;
  redis: Redis;
  config: SessionsConfig;
  topics: string[];
  /** Consumer group: the key of the stored positions (and the Kafka group unless kafkaGroupId is set). */
  groupId: string;
  /** Kafka consumer group when it differs from groupId (advisory only: progress lives with the state). */
  kafkaGroupId?: string;
  metrics: Registry;
  log: Logger;
  /** Channel for API cache invalidations; students whose sessions closed are announced after each commit. */
  invalidateChannel?: string;
};

export function sessionOptions(c: SessionsConfig): SessionOptions {
  return {
    allowedLatenessMs: c.SESSIONS_ALLOWED_LATENESS_MS,
    inactivityTimeoutMs: c.SESSIONS_INACTIVITY_TIMEOUT_MS,
    idleGapMs: c.SESSIONS_IDLE_GAP_MS,
  };
}

export function createSessionsProcessor(deps: SessionsDeps): ProcessorDefinition<SessionInput> {
  const late = lateEventsCounter(deps.metrics);
  const m = {
    closed: new Counter({
      name: 'sessions_closed_total',
      help: 'sessions written to study_sessions',
      registers: [deps.metrics],
    }),
    conflicts: new Counter({
      name: 'sessions_commit_conflicts_total',
      help: 'Redis commits refused because another instance moved first (the batch is recomputed)',
      registers: [deps.metrics],
    }),
  };
  const offsets: OffsetStore = {
    mode: 'external',
    load: async (assignment) => {
      const fields = assignment.flatMap((a) => a.partitions.map((p) => ({ topic: a.topic, p })));
      if (fields.length === 0) return [];
      const values = await deps.redis.hmget(KEYS.pos, ...fields.map((f) => wmField(f.topic, f.p)));
      return fields.flatMap((f, i) =>
        values[i] == null ? [] : [{ topic: f.topic, partition: f.p, offset: values[i] as string }],
      );
    },
  };
  return {
    name: SESSIONS_PROCESSOR,
    groupId: deps.kafkaGroupId ?? deps.groupId,
    topics: deps.topics,
    offsets,
    decode: async (record: InboundRecord): Promise<StepResult<SessionInput>> =>
      andThen(await decodeWire(deps.codec, record), ({ family, value }) => toSessionInput(family, value)),
    handleBatch: async (batch) => {
      for (let attempt = 1; ; attempt++) {
        const outcome = await tryBatch(batch, deps);
        if (outcome) {
          m.closed.inc(outcome.closed);
          if (deps.invalidateChannel)
            await publishInvalidations(deps.redis, deps.invalidateChannel, outcome.closedUsers, deps.log);
          for (const l of outcome.late) late.inc({ processor: SESSIONS_PROCESSOR, reason: l.reason });
          return;
        }
        m.conflicts.inc();
        if (attempt >= MAX_COMMIT_ATTEMPTS)
          throw new Error('sessions: Redis commit kept conflicting; retrying the batch later');
      }
    },
  };
}

/** One attempt at a batch; undefined when the Redis commit lost a race (nothing was committed to Redis). */
export async function tryBatch(
  batch: FlushBatch<SessionInput>,
  deps: Pick<SessionsDeps, 'pool' | 'redis' | 'config' | 'topics'>,
): Promise<{ closed: number; closedUsers: string[]; late: LateEvent[] } | undefined> {
  const o = sessionOptions(deps.config);
  // Read: positions and watermarks of every topic of the batch's partitions, live sessions of the batch.
  const partitions = [...new Set(batch.positions.map((p) => p.partition))].sort((a, b) => a - b);
  const fields = partitions.flatMap((p) => deps.topics.map((t) => wmField(t, p)));
  const sessionIds = [...new Set(batch.items.map((i) => i.value.sessionId))];
  const snap = await readSnapshot(deps.redis, fields, sessionIds);

  // Admit records at or above the stored positions.
  const stored = new Map<string, StoredPosition>();
  for (const p of batch.positions) {
    const v = snap.positions.get(wmField(p.topic, p.partition));
    stored.set(tpKey(p.topic, p.partition), {
      topic: p.topic,
      partition: p.partition,
      next: v === undefined ? 0 : Number(v),
      watermarkMs: null,
    });
  }
  const { admitted, next } = admitRecords(batch.items, stored, batch.positions);

  // Apply (pure).
  const notLive = [...new Set(admitted.map((i) => i.value.sessionId))].filter((id) => !snap.live.has(id));
  const closed = await closedSessions(deps.pool, notLive);
  const versions = new Map<string, { v: number; p: number }>();
  for (const [id, s] of snap.live) versions.set(id, { v: s.v, p: s.p });
  const watermarks = new Map(snap.watermarks);
  const live = new Map(snap.live);
  const applied = applyEvents({ live, closed, watermarks }, admitted, o);

  // Close what the watermarks now allow: touched sessions and those already waiting in the due index.
  const wmOf = (p: number): number => partitionWatermark(watermarks, deps.topics, p);
  const due = await dueSessions(deps.redis, new Map(partitions.map((p) => [p, wmOf(p)])));
  for (const [id, s] of await readLive(
    deps.redis,
    due.filter((id) => !live.has(id)),
  )) {
    live.set(id, s);
    versions.set(id, { v: s.v, p: s.p });
  }
  const { rows, afterEnd } = closeDue(live, [...applied.changed, ...due], wmOf, o);
  const late = [...applied.late, ...afterEnd];

  // Write PostgreSQL first (idempotent), then commit Redis atomically.
  if (rows.length > 0 || late.length > 0)
    await withTransaction(deps.pool, async (client) => {
      await upsertSessions(client, rows);
      await recordLateEvents(client, SESSIONS_PROCESSOR, late);
    });
  const plan: CommitPlan = { positions: [], watermarks: [], sessions: [] };
  for (const p of batch.positions) {
    const field = wmField(p.topic, p.partition);
    plan.positions.push({
      field,
      expected: snap.positions.get(field) ?? '',
      next: String(next.get(tpKey(p.topic, p.partition))?.next ?? p.offset),
    });
  }
  for (const field of fields) {
    const before = snap.watermarks.get(field);
    const after = watermarks.get(field);
    plan.watermarks.push({
      field,
      expected: before === undefined ? '' : String(before),
      next: after === undefined ? '' : String(after),
    });
  }
  const touched = new Set([...applied.changed, ...rows.map((r) => r.sessionId)]);
  const closedUser = new Map(rows.map((r) => [r.sessionId, r.userId]));
  for (const id of [...touched].sort()) {
    const s: LiveSession | undefined = live.get(id);
    const before = versions.get(id);
    plan.sessions.push({
      id,
      userId: s?.userId ?? closedUser.get(id) ?? '',
      p: s?.p ?? before?.p ?? 0,
      expectedV: before?.v ?? 0,
      val: s ?? null,
    });
  }
  // Sessions read but not written still guard against a concurrent write (their version must not move).
  for (const id of due)
    if (!touched.has(id) && versions.has(id)) plan.sessions.push(guard(id, versions, live));
  if (!(await commit(deps.redis, plan))) return undefined;
  return { closed: rows.length, closedUsers: rows.map((r) => r.userId), late };
}

function guard(id: string, versions: Map<string, { v: number; p: number }>, live: Map<string, LiveSession>) {
  const v = versions.get(id) as { v: number; p: number };
  const s = live.get(id) as LiveSession;
  // Writing the unchanged value back with v+1 keeps the check and the index consistent.
  return { id, userId: s.userId, p: v.p, expectedV: v.v, val: s };
}
