/**
 * The sessions processor: study-events, question-attempts and material-interactions to live sessions in Redis and
 * written sessions in study_sessions, exactly once. Reads top to bottom: decode (wire → Avro), validate
 * (→ SessionInput), read (Redis snapshot, written rows), apply (pure, step.ts), close due sessions (pure), write
 * PostgreSQL (upsert that never lowers a version), commit Redis (Lua compare-and-set on positions and session
 * versions). A tick closes the sessions of quiet students on the assigned partitions (no record would close them).
 */
import { topicPartitionKey } from '../../shared/kafka.ts';
import { publishInvalidations } from '../runtime/invalidation.ts';
import type { Redis } from 'ioredis';
import type { EventCodec } from '../../shared/codec.ts';
import type { Logger } from '../../shared/logger.ts';
import { Counter, type Registry } from '../../shared/metrics.ts';
import { withTransaction, type Pool } from '../../shared/postgres.ts';
import type { OffsetStore, ProcessorDefinition } from '../runtime/definition.ts';
import { andThen, type StepResult } from '../runtime/step.ts';
import type { Decoded, InboundRecord, TopicPartitionOffset } from '../runtime/types.ts';
import { admitRecords, type StoredPosition } from '../stateful/positions.ts';
import { decodeWire } from '../stateful/wire.ts';
import type { SessionsConfig } from './config.ts';
import { toSessionInput, type SessionInput } from './decode.ts';
import {
  amendedRows,
  applyEvents,
  closeDue,
  sessionKey,
  type ApplyOutcome,
  type LiveSession,
  type SessionOptions,
  type StepContext,
} from './step.ts';
import {
  commit,
  dueSessions,
  KEYS,
  readLive,
  readSnapshot,
  SessionRowConflict,
  upsertSessions,
  writtenSessions,
  type CommitPlan,
} from './store.ts';
import { BatchTracer, type BatchTrace } from '../stateful/trace.ts';

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
  /**
   * Redis hash of the positions (default `sessions:pos`, the live processor's). A replay keeps its own, so it
   * re-reads records the live processor already applied: they find their events in the sessions and change
   * nothing, unless a row was lost, which they write again.
   */
  positionsKey?: string;
  /** Per-batch timestamps (bench processors --trace); absent in production. */
  trace?: BatchTracer;
};

export function sessionOptions(c: SessionsConfig): SessionOptions {
  return {
    graceMs: c.SESSIONS_GRACE_MS,
    inactivityTimeoutMs: c.SESSIONS_INACTIVITY_TIMEOUT_MS,
    idleGapMs: c.SESSIONS_IDLE_GAP_MS,
    quietMs: c.SESSIONS_CLOSE_QUIET_MS,
  };
}

/** The position field of a topic-partition in Redis (`sessions:pos`). */
/** The field of a topic-partition in the Redis positions hash (the one topic-partition key). */
export const positionField = topicPartitionKey;

export function createSessionsProcessor(deps: SessionsDeps): ProcessorDefinition<SessionInput> {
  const m = {
    closed: new Counter({
      name: 'sessions_closed_total',
      help: 'live sessions written to study_sessions',
      registers: [deps.metrics],
    }),
    amended: new Counter({
      name: 'sessions_amended_total',
      help: 'written sessions amended by events that arrived after they closed',
      registers: [deps.metrics],
    }),
    conflicts: new Counter({
      name: 'sessions_commit_conflicts_total',
      help: 'steps refused because another writer moved first (a Redis commit, or a study_sessions row changed since read); the step is recomputed',
      registers: [deps.metrics],
    }),
  };
  const offsets: OffsetStore = {
    mode: 'external',
    load: async (assignment) => {
      const fields = assignment.flatMap((a) => a.partitions.map((p) => ({ topic: a.topic, p })));
      if (fields.length === 0) return [];
      const values = await deps.redis.hmget(
        deps.positionsKey ?? KEYS.pos,
        ...fields.map((f) => positionField(f.topic, f.p)),
      );
      return fields.flatMap((f, i) =>
        values[i] == null ? [] : [{ topic: f.topic, partition: f.p, offset: values[i] as string }],
      );
    },
  };
  const runWithRetry = async (
    items: ReadonlyArray<Decoded<SessionInput>>,
    positions: TopicPartitionOffset[],
    sweep: number[],
    trace?: BatchTrace,
  ) => {
    for (let attempt = 1; ; attempt++) {
      const outcome = await runStep(deps, items, positions, sweep, Date.now(), trace);
      if (outcome) {
        m.closed.inc(outcome.closed);
        m.amended.inc(outcome.amended);
        if (deps.invalidateChannel && outcome.users.length > 0)
          await publishInvalidations(deps.redis, deps.invalidateChannel, outcome.users, deps.log);
        BatchTracer.mark(trace, 'published');
        return outcome;
      }
      m.conflicts.inc();
      if (attempt >= MAX_COMMIT_ATTEMPTS)
        throw new Error('sessions: other writers kept moving first; retrying the batch later');
    }
  };
  return {
    name: SESSIONS_PROCESSOR,
    groupId: deps.kafkaGroupId ?? deps.groupId,
    topics: deps.topics,
    offsets,
    decode: async (record: InboundRecord): Promise<StepResult<SessionInput>> => {
      deps.trace?.decoded(SESSIONS_PROCESSOR, record);
      return andThen(await decodeWire(deps.codec, record), ({ family, value }) =>
        toSessionInput(family, value),
      );
    },
    handleBatch: async (batch) => {
      const trace = deps.trace?.start(SESSIONS_PROCESSOR, 'batch', batch.items);
      const partitions = [...new Set(batch.positions.map((p) => p.partition))].sort((a, b) => a - b);
      await runWithRetry(batch.items, batch.positions, partitions, trace);
    },
    tick: {
      everyMs: deps.config.SESSIONS_SWEEP_INTERVAL_MS,
      run: async (assignment) => {
        const partitions = [...new Set(assignment.flatMap((a) => a.partitions))].sort((a, b) => a - b);
        if (partitions.length === 0) return;
        // Steps of about SESSIONS_CLOSE_BATCH due sessions each (every await lets the other processors of the
        // process run), until a step closes none.
        const trace = deps.trace?.start(SESSIONS_PROCESSOR, 'tick', []);
        for (let step = 0; step < 1000; step++)
          if ((await runWithRetry([], [], partitions, trace)).closed === 0) break;
      },
    },
  };
}

/** Records applied between two yields to the event loop (applyInChunks). */
export const APPLY_CHUNK = 500;

/**
 * applyEvents over the records in chunks of APPLY_CHUNK, yielding to the event loop between chunks, so a large
 * batch of events on long session timelines does not hold up the other processors of the process (mastery's
 * batches, when both run in one process). The result is that of one applyEvents call: the context is updated in
 * place, in the same order, and the outcomes add up.
 */
export async function applyInChunks(
  ctx: StepContext,
  items: ReadonlyArray<Decoded<SessionInput>>,
): Promise<ApplyOutcome> {
  const out: ApplyOutcome = { changed: new Set(), amended: new Set(), duplicates: 0, applied: 0 };
  for (let i = 0; i < items.length; i += APPLY_CHUNK) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const o = applyEvents(ctx, items.slice(i, i + APPLY_CHUNK));
    for (const k of o.changed) out.changed.add(k);
    for (const k of o.amended) out.amended.add(k);
    out.duplicates += o.duplicates;
    out.applied += o.applied;
  }
  return out;
}

export type StepDeps = Pick<SessionsDeps, 'pool' | 'redis' | 'config' | 'positionsKey'>;

/**
 * One step: the records of a batch (admitted at or above the stored positions) and the due sessions of `sweep`
 * partitions at `now`. Undefined when it lost a race to another writer (a study_sessions row changed since it was
 * read: nothing written; or the Redis commit refused: rows written, nothing committed to Redis); then recompute.
 */
export async function runStep(
  deps: StepDeps,
  items: ReadonlyArray<Decoded<SessionInput>>,
  positions: TopicPartitionOffset[],
  sweep: readonly number[],
  now: number,
  trace?: BatchTrace,
): Promise<{ closed: number; amended: number; users: string[] } | undefined> {
  const options = sessionOptions(deps.config);
  // Read: positions of the batch's topic-partitions, live sessions of the batch and due ones, their written rows.
  const fields = positions.map((p) => positionField(p.topic, p.partition));
  const itemKeys = [...new Set(items.map((i) => sessionKey(i.value.userId, i.value.sessionId)))];
  const positionsKey = deps.positionsKey ?? KEYS.pos;
  const snap = await readSnapshot(deps.redis, positionsKey, fields, itemKeys);
  const due = (await dueSessions(deps.redis, sweep, now, deps.config.SESSIONS_CLOSE_BATCH)).filter(
    (k) => !snap.live.has(k),
  );
  for (const [k, s] of await readLive(deps.redis, due)) snap.live.set(k, s);
  const read = [...new Set([...itemKeys, ...due])];
  BatchTracer.mark(trace, 'redis read');
  const written = await writtenSessions(deps.pool, read, options.idleGapMs);
  BatchTracer.mark(trace, 'sessions read');

  // Admit records at or above the stored positions.
  const stored = new Map<string, StoredPosition>();
  for (const p of positions) {
    const v = snap.positions.get(positionField(p.topic, p.partition));
    stored.set(topicPartitionKey(p.topic, p.partition), {
      topic: p.topic,
      partition: p.partition,
      next: v === undefined ? 0 : Number(v),
      watermarkMs: null,
    });
  }
  const { admitted, next } = admitRecords(items, stored, positions);

  // Apply and close (pure).
  const versions = new Map<string, { v: number; p: number; userId: string }>();
  for (const [k, s] of snap.live) versions.set(k, { v: s.v, p: s.p, userId: s.userId });
  const ctx: StepContext = { live: new Map(snap.live), written, options, now };
  const applied = await applyInChunks(ctx, admitted);
  const rows = closeDue(ctx, [...applied.changed, ...due], now);
  rows.push(...amendedRows(ctx, applied.amended));
  BatchTracer.mark(trace, 'applied');

  // Write PostgreSQL first (never lowers a version), then commit Redis atomically.
  if (rows.length > 0)
    try {
      await withTransaction(deps.pool, (client) => upsertSessions(client, rows));
    } catch (err) {
      if (err instanceof SessionRowConflict) return undefined;
      throw err;
    }
  BatchTracer.mark(trace, 'sessions written');
  const plan: CommitPlan = { positions: [], sessions: [] };
  for (const p of positions) {
    const field = positionField(p.topic, p.partition);
    plan.positions.push({
      field,
      expected: snap.positions.get(field) ?? '',
      next: String(next.get(topicPartitionKey(p.topic, p.partition))?.next ?? p.offset),
    });
  }
  // Every live session read is written back (changed, closed, or unchanged with v+1 as a guard against a
  // concurrent writer: its version must not have moved).
  const touched = new Set([...applied.changed, ...versions.keys()]);
  for (const key of [...touched].sort()) {
    const s: LiveSession | undefined = ctx.live.get(key);
    const before = versions.get(key);
    plan.sessions.push({
      key,
      userId: s?.userId ?? (before?.userId as string),
      p: s?.p ?? (before?.p as number),
      expectedV: before?.v ?? 0,
      val: s ?? null,
    });
  }
  if (plan.positions.length === 0 && plan.sessions.length === 0) return { closed: 0, amended: 0, users: [] };
  if (!(await commit(deps.redis, positionsKey, plan, options))) return undefined;
  BatchTracer.mark(trace, 'redis committed');
  const closedCount = rows.length - applied.amended.size;
  return {
    closed: closedCount,
    amended: applied.amended.size,
    users: [...new Set(rows.map((r) => r.userId))].sort(),
  };
}
