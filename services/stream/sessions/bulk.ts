/**
 * The build of `rebuild --store sessions`: the sessions processor's own pure steps (services/stream/sessions/step.ts
 * over services/domain/sessions.ts) run over the topics with the state held in memory, and the sessions written to
 * the shadow schema.
 *
 * Same result as the live processor: the same admission (records below the partition's position are skipped) and
 * the same application, so every session holds the same set of events, and a session's row is a pure function of
 * that set. Which sessions have a row is the live processor's business, not a function of the topics: it writes a
 * session once its clock passes the session's finalizeAt, and keeps the rest live in Redis. So the rebuild writes a
 * row for every session it built except those live in the live processor's Redis at the time of the write
 * (`flush(pool, liveKeys)`); those the live processor writes itself when it closes them.
 */
import { topicPartitionKey } from '../../shared/kafka.ts';
import type { SessionState } from '../../domain/sessions.ts';
import type { EventCodec } from '../../shared/codec.ts';
import type { Pool } from '../../shared/postgres.ts';
import { admitRecords, type StoredPosition } from '../stateful/positions.ts';
import { decodeWireCached } from '../stateful/wire.ts';
import type { ProcessorDefinition } from '../runtime/definition.ts';
import type { FlushBatch } from '../runtime/types.ts';
import { toSessionInput, type SessionInput } from './decode.ts';
import {
  applyEvents,
  splitSessionKey,
  toRow,
  type LiveSession,
  type SessionOptions,
  type StepContext,
} from './step.ts';
import { upsertSessions } from './store.ts';

const CHUNK = 5000;

export type SessionsBulkDeps = {
  codec: EventCodec;
  options: SessionOptions;
  topics: string[];
  groupId: string;
};

export class SessionsBulkBuild {
  private readonly deps: SessionsBulkDeps;
  /** Every session built so far (nothing is closed in memory: see the module comment). */
  private readonly ctx: StepContext;
  private positions = new Map<string, StoredPosition>();
  /** Sessions changed since they were last written to the shadow. */
  private dirty = new Set<string>();
  /** Sessions with a row in the shadow. */
  private readonly inShadow = new Set<string>();
  applyMs = 0;

  constructor(deps: SessionsBulkDeps) {
    this.deps = deps;
    this.ctx = {
      live: new Map<string, LiveSession>(),
      written: new Map<string, SessionState>(),
      options: deps.options,
      now: Date.now(),
    };
  }

  /** Next offset per topic-partition reached so far (key `topic|partition`). */
  reached(): Map<string, number> {
    return new Map(
      [...this.positions.values()].map((p) => [topicPartitionKey(p.topic, p.partition), p.next]),
    );
  }

  /** Sessions built so far. */
  get size(): number {
    return this.ctx.live.size;
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

  /** One batch, as the live processor's step applies it, against the in-memory state. */
  apply(batch: FlushBatch<SessionInput>): void {
    const started = performance.now();
    const { admitted, next } = admitRecords(batch.items, this.positions, batch.positions);
    const applied = applyEvents(this.ctx, admitted);
    for (const key of applied.changed) this.dirty.add(key);
    this.positions = next;
    this.applyMs += performance.now() - started;
  }

  /**
   * Writes into `pool`'s schema a row for every session changed since the last flush (or not yet written) that is
   * not live in the live processor (`liveKeys`); idempotent upserts. Returns the number of rows written.
   */
  async flush(pool: Pool, liveKeys: ReadonlySet<string>): Promise<number> {
    const keys = [...this.ctx.live.keys()].filter(
      (k) => !liveKeys.has(k) && (this.dirty.has(k) || !this.inShadow.has(k)),
    );
    const rows = keys
      .sort()
      .map((k) => toRow(splitSessionKey(k).userId, (this.ctx.live.get(k) as LiveSession).state));
    const client = await pool.connect();
    try {
      for (let i = 0; i < rows.length; i += CHUNK) await upsertSessions(client, rows.slice(i, i + CHUNK));
    } finally {
      client.release();
    }
    for (const k of keys) {
      this.dirty.delete(k);
      this.inShadow.add(k);
    }
    return rows.length;
  }
}
