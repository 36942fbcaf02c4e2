/**
 * `studystream replay`: re-process a range of the event topics through one processor under its own consumer group
 * (`replay-<processor>-<timestamp>`, prefixed like every group by KAFKA_TOPIC_PREFIX), never touching the live
 * group's positions, and stop at the end of the range (end offsets fixed at start).
 *
 * Why it is safe while the live pipeline runs (nothing counts twice):
 *  - The range end is clamped, per partition, to the live processor's position (Kafka commit for the sink,
 *    PostgreSQL consumer_positions for mastery, Redis for sessions): a replay only re-reads records the live
 *    processor already made durable, so it never races the live consumer on the same records.
 *  - clickhouse-sink: rows are inserted only for event_ids the raw table does not hold (RawEventStore), so a replay
 *    fills gaps (e.g. after a partition drop or a deletion mistake) and is otherwise a no-op; rollups only see
 *    inserted rows.
 *  - mastery: positions are kept under the replay group, but event_id claims (processed_events) under the LIVE
 *    group (MasteryDeps.dedupeGroupId), so an event already applied live is skipped; after deleting a student's
 *    claims and rows, `replay --users` re-applies exactly that student's history.
 *  - sessions: the live processor's own steps with positions in a Redis hash of the replay's own
 *    (`sessions:pos:<group>`, deleted afterwards); every event finds itself in its session (live or written) and
 *    changes nothing, unless a session's row was lost, which the replay writes again from the range's events.
 */
import { subjectKeysFor } from '../shared/subjects.ts';
import type { Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import { createClickHouse } from '../shared/clickhouse.ts';
import { EventCodec } from '../shared/codec.ts';
import type { SharedConfig } from '../shared/config.ts';
import { topicNames } from '../shared/kafka.ts';
import type { Pool } from '../shared/postgres.ts';
import { createRegistry } from '../shared/registry.ts';
import { sinkEnv } from '../stream/index.ts';
import type { SerialisedRow } from '../stream/index.ts';
import { clickHouseSinkDefinition } from '../stream/index.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { RawEventStore } from '../stream/index.ts';
import { masteryEnv } from '../stream/index.ts';
import { createMasteryProcessor } from '../stream/index.ts';
import { loadItemCalibration } from '../stream/index.ts';
import { TopicTree } from '../stream/index.ts';
import type { ProcessorDefinition } from '../stream/index.ts';
import { invalidationChannel } from '../stream/index.ts';
import { sessionsEnv } from '../stream/index.ts';
import { createSessionsProcessor, positionField } from '../stream/index.ts';
import { kafkaPositions, postgresPositions, redisSessionPositions } from './offsets.ts';
import { rangeKey, type TopicPartitionRange } from './bounded.ts';
import type { ToolContext } from './context.ts';

export const PROCESSORS = ['clickhouse-sink', 'sessions', 'mastery'] as const;
export type ProcessorName = (typeof PROCESSORS)[number];

/** Topics a processor reads. */
export function processorTopics(cfg: SharedConfig, p: ProcessorName): string[] {
  const t = topicNames(cfg);
  return p === 'mastery'
    ? [t['question-attempts'], t['material-interactions']]
    : [t['study-events'], t['question-attempts'], t['material-interactions']];
}

/** A range bound: earliest, latest, an instant (Kafka record time), or per-partition offsets "0:120,1:98". */
export type Bound =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'time'; ms: number }
  | { kind: 'offsets'; offsets: Map<number, number> };

export function parseBound(text: string): Bound | undefined {
  if (text === 'earliest') return { kind: 'earliest' };
  if (text === 'latest') return { kind: 'latest' };
  if (/^\d+:\d+(,\d+:\d+)*$/.test(text)) {
    return {
      kind: 'offsets',
      offsets: new Map(text.split(',').map((pair) => pair.split(':').map(Number) as [number, number])),
    };
  }
  if (/^\d{12,}$/.test(text)) return { kind: 'time', ms: Number(text) };
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(text)) {
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    return Number.isFinite(ms) ? { kind: 'time', ms } : undefined;
  }
  return undefined;
}

async function resolveBound(admin: Admin, topic: string, bound: Bound, isEnd: boolean) {
  const marks = await admin.fetchTopicOffsets(topic);
  const out = new Map<number, number>();
  if (bound.kind === 'time') {
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, bound.ms))
      out.set(o.partition, Number(o.offset));
    return out;
  }
  for (const m of marks) {
    const low = Number(m.low);
    const high = Number(m.high);
    let v: number;
    if (bound.kind === 'earliest') v = low;
    else if (bound.kind === 'latest') v = high;
    else v = bound.offsets.get(m.partition) ?? (isEnd ? high : low);
    out.set(m.partition, Math.min(Math.max(v, low), high));
  }
  return out;
}

/** Per-partition [from, to) of the topics, computed once at start. */
export async function computeRanges(
  admin: Admin,
  topics: readonly string[],
  from: Bound,
  to: Bound,
): Promise<TopicPartitionRange[]> {
  const out: TopicPartitionRange[] = [];
  for (const topic of topics) {
    const starts = await resolveBound(admin, topic, from, false);
    const ends = await resolveBound(admin, topic, to, true);
    for (const [partition, start] of starts)
      out.push({ topic, partition, from: start, to: Math.max(start, ends.get(partition) ?? start) });
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

/** The live processor's positions (next offset to apply) per topic-partition. */
export async function livePositions(ctx: ToolContext, p: ProcessorName): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const topics = processorTopics(ctx.cfg, p);
  if (p === 'clickhouse-sink') {
    for (const pos of await kafkaPositions(ctx.admin, ctx.groups.sink, topics))
      out.set(rangeKey(pos.topic, pos.partition), pos.offset ?? 0);
  } else if (p === 'mastery') {
    const pg = (await postgresPositions(ctx.pool(), ctx.groups.mastery)).get(ctx.groups.mastery) ?? [];
    for (const pos of pg) out.set(rangeKey(pos.topic, pos.partition), pos.offset);
  } else {
    for (const pos of await redisSessionPositions(await ctx.redis()))
      out.set(rangeKey(pos.topic, pos.partition), pos.offset);
  }
  return out;
}

/** Clamps every range end to the live position (missing position = 0: the live processor read nothing there). */
export function clampToLive(
  ranges: readonly TopicPartitionRange[],
  live: Map<string, number>,
): { ranges: TopicPartitionRange[]; clamped: number } {
  let clamped = 0;
  const out = ranges.map((r) => {
    const limit = live.get(rangeKey(r.topic, r.partition)) ?? 0;
    if (r.to <= limit) return r;
    clamped++;
    return { ...r, to: Math.max(r.from, limit) };
  });
  return { ranges: out, clamped };
}

/** The ClickHouse sink's definition (the live sink's own, shared) writing into `database` (live, or a shadow). */
export function sinkDefinition(
  cfg: SharedConfig,
  env: NodeJS.ProcessEnv,
  groupId: string,
  database: string,
): { def: ProcessorDefinition<SerialisedRow>; close: () => Promise<void> } {
  const clickhouse = createClickHouse(cfg, database);
  return {
    def: clickHouseSinkDefinition({
      codec: new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg)),
      store: new RawEventStore(clickhouse, sinkEnv.load(env).SINK_DEDUP_WINDOW_S),
      groupId,
      topics: processorTopics(cfg, 'clickhouse-sink'),
      metrics: createMetricsRegistry('datatools'),
    }),
    close: () => clickhouse.close(),
  };
}

/**
 * The mastery processor's definition over `pool` (whose search_path picks the schema): positions under
 * `groupId`, event_id claims under `dedupeGroupId`. No cache invalidations (redis null) unless given.
 */
export async function masteryDefinition(
  cfg: SharedConfig,
  env: NodeJS.ProcessEnv,
  pool: Pool,
  groupId: string,
  dedupeGroupId: string,
  log: ToolContext['log'],
) {
  const t = topicNames(cfg);
  return createMasteryProcessor({
    codec: new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg)),
    pool,
    redis: null,
    tree: await TopicTree.load(pool),
    items: await loadItemCalibration(pool),
    config: masteryEnv.load(env),
    topics: { attempts: t['question-attempts'], materials: t['material-interactions'] },
    groupId,
    dedupeGroupId,
    invalidateChannel: `${cfg.REDIS_KEY_PREFIX}invalidate`,
    metrics: createMetricsRegistry('datatools'),
    log,
  });
}

/** The sessions processor's definition for a replay under `groupId`, its positions in `positionsKey`. */
export function sessionsReplayDefinition(
  cfg: SharedConfig,
  env: NodeJS.ProcessEnv,
  pool: Pool,
  redis: Redis,
  groupId: string,
  positionsKey: string,
  log: ToolContext['log'],
) {
  return createSessionsProcessor({
    codec: new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg)),
    pool,
    redis,
    config: sessionsEnv.load(env),
    topics: processorTopics(cfg, 'sessions'),
    groupId,
    positionsKey,
    invalidateChannel: invalidationChannel(cfg.REDIS_KEY_PREFIX),
    metrics: createMetricsRegistry('datatools'),
    log,
  });
}

/** Stores the range starts as a sessions replay's Redis positions (the runtime seeks there after assignment). */
export async function seedRedisPositions(
  redis: Redis,
  positionsKey: string,
  ranges: readonly TopicPartitionRange[],
): Promise<void> {
  if (ranges.length === 0) return;
  await redis.hset(
    positionsKey,
    Object.fromEntries(ranges.map((r) => [positionField(r.topic, r.partition), String(r.from)])),
  );
}

/** Stores the range starts as the group's PostgreSQL positions (the runtime seeks there after assignment). */
export async function seedPostgresPositions(
  pool: Pool,
  group: string,
  ranges: readonly TopicPartitionRange[],
) {
  await pool.query(
    `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset)
     SELECT $1, t, p, n FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, n)
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
    [group, ranges.map((r) => r.topic), ranges.map((r) => r.partition), ranges.map((r) => r.from)],
  );
}

export function timestampTag(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
}
