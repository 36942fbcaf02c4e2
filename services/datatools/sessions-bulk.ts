/**
 * The build of `rebuild --store sessions`: the sessions processor's own pure steps (services/stream/sessions/step.ts
 * over services/domain/sessions.ts: applyEvents, then closeDue over the touched and due sessions) run over the
 * topics with the state the live processor keeps in Redis (positions, per topic-partition watermarks, live
 * sessions, the due index) held in memory, and the closed sessions and late events written to the shadow schema.
 *
 * Same result as the live processor: per batch, the same admission (records below the partition's position are
 * skipped), the same application order and the same closing rule (a session of a batch's partition is due once
 * the partition's watermark, the minimum over the topics, passed its finalizeAt). Which batch closes a session
 * cannot change the session (see step.ts), so the closed rows equal the live ones over the same range; `rebuild`
 * verifies it. A closed session is written once (last version per session_id, as the live upsert), a late event
 * once per event_id (recordLateEvents keeps the preferred row, as for the live processor).
 */
import type { EventCodec } from '../shared/codec.ts';
import type { Pool } from '../shared/postgres.ts';
import { recordLateEvents, type LateEvent } from '../stream/mastery/late-events.ts';
import { admitRecords, type StoredPosition } from '../stream/mastery/positions.ts';
import { decodeWireCached } from '../stream/mastery/wire.ts';
import type { ProcessorDefinition } from '../stream/runtime/processor.ts';
import type { FlushBatch } from '../stream/runtime/types.ts';
import { toSessionInput, type SessionInput } from '../stream/sessions/decode.ts';
import { SESSIONS_PROCESSOR } from '../stream/sessions/processor.ts';
import {
  applyEvents,
  closeDue,
  partitionWatermark,
  type FinalizedRow,
  type LiveSession,
  type SessionOptions,
} from '../stream/sessions/step.ts';
import { upsertSessions } from '../stream/sessions/store.ts';

const CHUNK = 5000;

export type SessionsBulkDeps = {
  codec: EventCodec;
  options: SessionOptions;
  /** The processor's topics (the watermark of a partition is the minimum over them). */
  topics: string[];
  groupId: string;
};

export class SessionsBulkBuild {
  private readonly deps: SessionsBulkDeps;
  private readonly live = new Map<string, LiveSession>();
  /** Live session ids per partition: the due index. */
  private readonly livePerPartition = new Map<number, Set<string>>();
  private readonly closed = new Map<string, { endedAt: number }>();
  private readonly watermarks = new Map<string, number>();
  private positions = new Map<string, StoredPosition>();
  /** Written by the next flush. */
  private rows = new Map<string, FinalizedRow>();
  private late: LateEvent[] = [];
  applyMs = 0;
  closedCount = 0;

  constructor(deps: SessionsBulkDeps) {
    this.deps = deps;
  }

  /** Next offset per topic-partition reached so far (key `topic|partition`). */
  reached(): Map<string, number> {
    return new Map([...this.positions.values()].map((p) => [`${p.topic}|${p.partition}`, p.next]));
  }

  definition(): ProcessorDefinition<SessionInput> {
    const { codec } = this.deps;
    return {
      name: 'sessions-rebuild',
      groupId: this.deps.groupId,
      topics: this.deps.topics,
      offsets: { mode: 'kafka' },
      fromBeginning: true,
      decode: (record) =>
        decodeWireCached(codec, record, ({ family, value }) => toSessionInput(family, value)),
      handleBatch: (batch) => {
        this.apply(batch);
        return Promise.resolve();
      },
    };
  }

  /** One batch, as the live processor's tryBatch computes it, against the in-memory state. */
  apply(batch: FlushBatch<SessionInput>): void {
    const started = performance.now();
    const o = this.deps.options;
    const partitions = [...new Set(batch.positions.map((p) => p.partition))].sort((a, b) => a - b);
    const { admitted, next } = admitRecords(batch.items, this.positions, batch.positions);
    const applied = applyEvents(
      { live: this.live, closed: this.closed, watermarks: this.watermarks },
      admitted,
      o,
    );
    for (const id of applied.changed) {
      const s = this.live.get(id) as LiveSession;
      let set = this.livePerPartition.get(s.p);
      if (!set) this.livePerPartition.set(s.p, (set = new Set()));
      set.add(id);
    }
    const wmOf = (p: number): number => partitionWatermark(this.watermarks, this.deps.topics, p);
    const due: string[] = [];
    for (const p of partitions) {
      const w = wmOf(p);
      if (!Number.isFinite(w)) continue;
      for (const id of this.livePerPartition.get(p) ?? [])
        if ((this.live.get(id) as LiveSession).finalizeAt <= w) due.push(id);
    }
    const partitionOf = new Map([...applied.changed, ...due].map((id) => [id, this.live.get(id)?.p]));
    const { rows, afterEnd } = closeDue(this.live, [...applied.changed, ...due], wmOf, o);
    for (const r of rows) {
      this.closed.set(r.sessionId, { endedAt: r.endedAt });
      this.livePerPartition.get(partitionOf.get(r.sessionId) as number)?.delete(r.sessionId);
      this.rows.set(r.sessionId, r);
    }
    this.closedCount += rows.length;
    // Every report is written; recordLateEvents keeps the preferred row per event, as for the live processor.
    this.late.push(...applied.late, ...afterEnd);
    this.positions = next;
    this.applyMs += performance.now() - started;
  }

  /** Writes what was closed since the last flush into `pool`'s schema (idempotent upserts). */
  async flush(pool: Pool): Promise<void> {
    const rows = [...this.rows.values()];
    const late = this.late;
    this.rows = new Map();
    this.late = [];
    const client = await pool.connect();
    try {
      for (let i = 0; i < rows.length; i += CHUNK) await upsertSessions(client, rows.slice(i, i + CHUNK));
      for (let i = 0; i < late.length; i += CHUNK)
        await recordLateEvents(client, SESSIONS_PROCESSOR, late.slice(i, i + CHUNK));
    } finally {
      client.release();
    }
  }
}
