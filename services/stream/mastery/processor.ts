/**
 * The mastery processor: question-attempts and material-interactions to topic_mastery (+ daily history), exactly
 * once. Reads top to bottom: decode (wire → Avro), validate (→ MasteryInput), apply (pure row step, row.ts and
 * columns.ts), write (one PostgreSQL transaction per batch holding the rows, the roll-ups, late events, the
 * event_id claims and the consumer positions), then notify (Redis PUBLISH for the API cache).
 */
import { topicPartitionKey } from '../../shared/kafka.ts';
import { publishInvalidations } from '../runtime/invalidation.ts';
import type { Redis } from 'ioredis';
import type { EventCodec } from '../../shared/codec.ts';
import type { Logger } from '../../shared/logger.ts';
import { Counter, type Registry } from '../../shared/metrics.ts';
import { withTransaction, type Pool, type PoolClient } from '../../shared/postgres.ts';
import type { OffsetStore, ProcessorDefinition } from '../runtime/definition.ts';
import { andThen, type StepResult } from '../runtime/step.ts';
import type { Decoded, FlushBatch, InboundRecord } from '../runtime/types.ts';
import {
  leafFigures,
  parentFigures,
  unstudiedFigures,
  type TopicFigures,
} from '../../domain/topic-figures.ts';
import type { MasteryConfig } from './config.ts';
import { toMasteryInput, type MasteryInput } from './decode.ts';
import { lateEventsCounter, recordLateEvents, type LateEvent } from '../stateful/late-events.ts';
import {
  admitRecords,
  loadPositions,
  lockPositions,
  savePositions,
  type StoredPosition,
} from '../stateful/positions.ts';
import {
  applyTopicEventInPlace,
  emptyTopicMastery,
  type TopicMasteryState,
} from '../../domain/topic-mastery.ts';
import {
  claimEvents,
  lockRows,
  rowKey,
  selectRows,
  writeHistory,
  writeRows,
  type HistoryWrite,
  type RowKey,
  type RowWrite,
} from './store.ts';
import type { TopicTree } from './taxonomy.ts';
import { decodeWire } from '../stateful/wire.ts';
import { StudyReads, writeStudyReads } from './study-reads.ts';
import { ReviewDays, writeReviewDays } from './review-days.ts';
import { EMPTY_CALIBRATION, toTopicEvent, type ItemCalibration } from './items.ts';
import { BatchTracer, type BatchTrace } from '../stateful/trace.ts';

export const MASTERY_PROCESSOR = 'mastery';

export type MasteryDeps = {
  codec: EventCodec;
  pool: Pool;
  redis: Redis | null;
  tree: TopicTree;
  config: MasteryConfig;
  /** Kafka topic names of the two input families. */
  topics: { attempts: string; materials: string };
  /** Consumer group: the key of the stored positions (and the Kafka group unless kafkaGroupId is set). */
  groupId: string;
  /** Kafka consumer group when it differs from groupId (advisory only: progress lives with the state). */
  kafkaGroupId?: string;
  /**
   * Key of the event_id claims (processed_events) when it differs from groupId. `studystream replay` runs under its
   * own positions but claims under the live group, so an event already applied live is never applied again.
   */
  dedupeGroupId?: string;
  /** Channel for cache invalidations (`<REDIS_KEY_PREFIX>invalidate`). */
  invalidateChannel: string;
  /** The question-bank calibration (item_calibration, loaded at start); empty: difficulty field or bank mean. */
  items?: ItemCalibration;
  metrics: Registry;
  log: Logger;
  /** Per-batch timestamps (bench processors --trace); absent in production. */
  trace?: BatchTracer;
};

export function createMasteryProcessor(deps: MasteryDeps): ProcessorDefinition<MasteryInput> {
  const m = masteryMetrics(deps.metrics);
  const offsets: OffsetStore = {
    mode: 'external',
    load: (assignment) => loadPositions(deps.pool, deps.groupId, assignment),
  };
  return {
    name: MASTERY_PROCESSOR,
    groupId: deps.kafkaGroupId ?? deps.groupId,
    topics: [deps.topics.attempts, deps.topics.materials],
    offsets,
    decode: async (record: InboundRecord): Promise<StepResult<MasteryInput>> => {
      deps.trace?.decoded(MASTERY_PROCESSOR, record);
      return andThen(await decodeWire(deps.codec, record), ({ family, value }) =>
        toMasteryInput(family, value, (id) => deps.tree.kind(id)),
      );
    },
    handleBatch: async (batch) => {
      const trace = deps.trace?.start(MASTERY_PROCESSOR, 'batch', batch.items);
      const outcome = await withTransaction(deps.pool, (client) => {
        BatchTracer.mark(trace, 'connected');
        return applyBatch(client, batch, deps, trace);
      });
      BatchTracer.mark(trace, 'committed');
      m.applied.inc(outcome.applied);
      m.duplicates.inc(outcome.duplicates);
      m.skipped.inc(outcome.skipped);
      for (const l of outcome.late) m.late.inc({ processor: MASTERY_PROCESSOR, reason: l.reason });
      await publishInvalidations(deps.redis, deps.invalidateChannel, outcome.users, deps.log);
      BatchTracer.mark(trace, 'published');
    },
  };
}

export type BatchOutcome = {
  applied: number;
  duplicates: number;
  skipped: number;
  late: LateEvent[];
  users: string[];
};

/** One batch, in the caller's transaction. Exported for tests and the benchmark. */
export async function applyBatch(
  client: PoolClient,
  batch: FlushBatch<MasteryInput>,
  deps: Pick<MasteryDeps, 'groupId' | 'tree' | 'config' | 'dedupeGroupId' | 'items'>,
  trace?: BatchTrace,
): Promise<BatchOutcome> {
  const L = deps.config.MASTERY_ALLOWED_LATENESS_MS;
  const scheduler = deps.config.MASTERY_SCHEDULER;

  // 1. Positions: lock, skip what was applied before.
  const tps = batch.positions.map((p) => ({ topic: p.topic, partition: p.partition }));
  const stored = await lockPositions(client, deps.groupId, tps);
  const { admitted, skipped, next } = admitRecords(batch.items, stored, batch.positions);
  BatchTracer.mark(trace, 'positions locked');

  // 2. event_id dedupe (re-sent events at other offsets; copies within this batch).
  const firstCopies = firstCopiesById(admitted);
  const claimed = await claimEvents(
    client,
    deps.dedupeGroupId ?? deps.groupId,
    firstCopies.map((i) => i.value),
  );
  const fresh = firstCopies.filter((i) => claimed.has(i.value.eventId));
  BatchTracer.mark(trace, 'claimed');

  // 3. Leaf rows: lock, apply in batch order (per partition = per student order), derive columns.
  const keys = leafKeysOf(fresh);
  const loaded = await lockRows(client, [...keys.values()], 2);
  BatchTracer.mark(trace, 'rows locked');
  const { rows, history, late } = applyFresh(
    fresh,
    (k) => loaded.get(k)?.processorState ?? emptyTopicMastery(),
    next,
    L,
    scheduler,
    deps.items,
  );
  const writes: RowWrite[] = [];
  for (const [k, row] of rows) {
    const key = keys.get(k) as { userId: string; topicId: string };
    writes.push({ ...key, columns: leafFigures(row.visible, scheduler), processorState: row });
  }
  await writeRows(client, writes, scheduler);
  await writeHistory(client, [...history.values()]);
  // The per-student read models (postgres/075) from the same fresh events, in the same transaction.
  const reads = new StudyReads();
  for (const i of fresh) reads.add(i.value);
  await writeStudyReads(client, reads);
  // The topic reviews behind review adherence (postgres/088), same events, same transaction, rows locked above.
  const reviews = new ReviewDays();
  for (const i of fresh) reviews.add(i.value);
  await writeReviewDays(client, reviews);
  await recordLateEvents(client, MASTERY_PROCESSOR, late);
  BatchTracer.mark(trace, 'rows written');

  // 4. Roll-ups: level-1 parents of the touched leaves, then their level-0 parents.
  let touched = [...keys.values()];
  for (const level of [1, 0]) touched = await rollUp(client, deps.tree, touched, level, scheduler);
  BatchTracer.mark(trace, 'rolled up');

  await savePositions(client, deps.groupId, next.values());
  BatchTracer.mark(trace, 'positions saved');
  return {
    applied: fresh.length,
    duplicates: admitted.length - fresh.length,
    skipped,
    late,
    users: [...new Set(fresh.map((i) => i.value.userId))].sort(),
  };
}

/** The first record of each event_id, in batch order (a batch may hold an event twice: re-sends, replays). */
export function firstCopiesById<R extends { value: { eventId: string } }>(items: readonly R[]): R[] {
  const out: R[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.value.eventId)) continue;
    seen.add(item.value.eventId);
    out.push(item);
  }
  return out;
}

/** The leaf rows (student, topic) the events touch, keyed by rowKey, in first-touch order. */
export function leafKeysOf(fresh: ReadonlyArray<Decoded<MasteryInput>>): Map<string, RowKey> {
  const keys = new Map<string, RowKey>();
  for (const { value } of fresh)
    for (const t of value.topicIds) keys.set(rowKey(value.userId, t), { userId: value.userId, topicId: t });
  return keys;
}

/**
 * The pure apply step of a batch: fresh (deduplicated, admitted) events applied in batch order to their leaf
 * rows. `rowOf` gives a row's state the first time the batch touches it (the returned rows are updated in place);
 * `next` (the batch's advanced positions) gets the event-time watermarks. Returns the touched rows (first-touch
 * order), the history rows to upsert (last write per student, topic and day) and the late events.
 */
export function applyFresh(
  fresh: ReadonlyArray<Decoded<MasteryInput>>,
  rowOf: (key: string) => TopicMasteryState,
  next: Map<string, StoredPosition>,
  L: number,
  scheduler: MasteryConfig['MASTERY_SCHEDULER'],
  items: ItemCalibration = EMPTY_CALIBRATION,
): { rows: Map<string, TopicMasteryState>; history: Map<string, HistoryWrite>; late: LateEvent[] } {
  const rows = new Map<string, TopicMasteryState>();
  const history = new Map<string, HistoryWrite>();
  const late: LateEvent[] = [];
  for (const { record, value } of fresh) {
    const e = toTopicEvent(value, items);
    let wasLate: { foldPoint: number | null } | undefined;
    for (const topicId of value.topicIds) {
      const k = rowKey(value.userId, topicId);
      let row = rows.get(k);
      if (row === undefined) {
        row = rowOf(k);
        rows.set(k, row);
      }
      const result = applyTopicEventInPlace(row, e, L, scheduler);
      if (result.late) wasLate ??= { foldPoint: result.foldPoint };
      for (const h of result.history)
        history.set(`${k}\u0000${h.day}`, { userId: value.userId, topicId, ...h });
      const wm = next.get(topicPartitionKey(record.topic, record.partition));
      if (wm) wm.watermarkMs = Math.max(wm.watermarkMs ?? value.occurredAt, value.occurredAt);
    }
    if (wasLate)
      late.push({
        eventId: value.eventId,
        userId: value.userId,
        sessionId: null,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        occurredAt: value.occurredAt,
        watermarkAt: wasLate.foldPoint === null ? null : wasLate.foldPoint + L,
        reason: 'too_late',
        handling: 'counts_applied',
      });
  }
  return { rows, history, late };
}

/** The parents at `level` of `children` (keyed by rowKey). */
export function parentsAt(tree: TopicTree, children: Iterable<RowKey>, level: number): Map<string, RowKey> {
  const parents = new Map<string, RowKey>();
  for (const c of children) {
    const parentId = tree.nodes.get(c.topicId)?.parentId;
    if (parentId && tree.nodes.get(parentId)?.level === level)
      parents.set(rowKey(c.userId, parentId), { userId: c.userId, topicId: parentId });
  }
  return parents;
}

/** A parent row's columns from all its children's (taxonomy order; a child without a row is unstudied). */
export function rolledUpColumns(
  tree: TopicTree,
  parent: RowKey,
  columnsOf: (key: string) => TopicFigures | undefined,
): TopicFigures {
  return parentFigures(
    (tree.nodes.get(parent.topicId)?.children ?? []).map((id) => ({
      weight: tree.nodes.get(id)?.weight ?? 0,
      columns: columnsOf(rowKey(parent.userId, id)) ?? unstudiedFigures(),
    })),
  );
}

/** Recomputes the parents (at `level`) of `children` from all their children's rows (live processor and rebuild); returns the parents. */
export async function rollUp(
  client: PoolClient,
  tree: TopicTree,
  children: ReadonlyArray<{ userId: string; topicId: string }>,
  level: number,
  scheduler: MasteryConfig['MASTERY_SCHEDULER'],
): Promise<Array<{ userId: string; topicId: string }>> {
  const parents = parentsAt(tree, children, level);
  if (parents.size === 0) return [];
  await lockRows(client, [...parents.values()], level);
  const users: string[] = [];
  const topics: string[] = [];
  for (const p of parents.values())
    for (const child of tree.nodes.get(p.topicId)?.children ?? []) {
      users.push(p.userId);
      topics.push(child);
    }
  const childRows = await selectRows(client, users, topics, false);
  const writes: RowWrite[] = [];
  for (const p of parents.values())
    writes.push({
      ...p,
      columns: rolledUpColumns(tree, p, (k) => childRows.get(k)?.columns),
      processorState: null,
    });
  await writeRows(client, writes, scheduler);
  return [...parents.values()];
}

const metricsCache = new WeakMap<Registry, ReturnType<typeof createMetrics>>();
function masteryMetrics(registry: Registry) {
  let m = metricsCache.get(registry);
  if (!m) {
    m = createMetrics(registry);
    metricsCache.set(registry, m);
  }
  return m;
}
function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    applied: new Counter({
      name: 'mastery_events_applied_total',
      help: 'events applied to topic_mastery',
      registers,
    }),
    duplicates: new Counter({
      name: 'mastery_events_duplicate_total',
      help: 'events skipped because their event_id was already applied (client re-sends)',
      registers,
    }),
    skipped: new Counter({
      name: 'mastery_records_below_position_total',
      help: 'records skipped because their offset was below the stored consumer position (re-delivery)',
      registers,
    }),
    late: lateEventsCounter(registry),
  };
}
