/**
 * Consumer positions and lag across the three places progress lives:
 *  - Kafka committed offsets (every group; authoritative for the ClickHouse sink, advisory for the stateful ones),
 *  - PostgreSQL `consumer_positions` (mastery: the authoritative position, stored with the effect),
 *  - Redis `<prefix>sessions:pos` (sessions: the authoritative position, checked by its commit script).
 * `offsets reset` plans new positions (earliest, latest, or the first offset at/after a timestamp), prints the
 * plan, and applies it only with --execute and only when the Kafka group has no active member.
 */
import { topicPartitionKey } from '../shared/kafka.ts';
import type { Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Pool } from '../shared/postgres.ts';

export type PositionSource = 'kafka' | 'postgres' | 'redis';

export type LagRow = {
  group: string;
  source: PositionSource;
  topic: string;
  partition: number;
  /** Next offset to consume; null when nothing is committed for the partition. */
  committed: number | null;
  low: number;
  high: number;
  lag: number;
};

export type Watermarks = Map<string, Array<{ partition: number; low: number; high: number }>>;

export async function watermarks(admin: Admin, topics: readonly string[]): Promise<Watermarks> {
  const out: Watermarks = new Map();
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    out.set(
      topic,
      offsets
        .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
        .sort((a, b) => a.partition - b.partition),
    );
  }
  return out;
}

/** Lag of one position: what is left to read; a missing commit counts from the low watermark. */
export function lagOf(committed: number | null, low: number, high: number): number {
  const at = committed === null || committed < 0 ? low : Math.max(committed, low);
  return Math.max(0, high - at);
}

export function lagRows(
  group: string,
  source: PositionSource,
  positions: ReadonlyArray<{ topic: string; partition: number; offset: number | null }>,
  marks: Watermarks,
): LagRow[] {
  const rows: LagRow[] = [];
  const byKey = new Map(positions.map((p) => [topicPartitionKey(p.topic, p.partition), p.offset]));
  const topics = [...new Set(positions.map((p) => p.topic))].sort();
  for (const topic of topics) {
    for (const w of marks.get(topic) ?? []) {
      const committed = byKey.get(topicPartitionKey(topic, w.partition)) ?? null;
      rows.push({
        group,
        source,
        topic,
        partition: w.partition,
        committed,
        low: w.low,
        high: w.high,
        lag: lagOf(committed, w.low, w.high),
      });
    }
  }
  return rows;
}

/** Kafka-committed positions of a group on the given topics (offset null where nothing is committed). */
export async function kafkaPositions(
  admin: Admin,
  group: string,
  topics: readonly string[],
): Promise<Array<{ topic: string; partition: number; offset: number | null }>> {
  const fetched = await admin.fetchOffsets({ groupId: group, topics: [...topics] });
  return fetched.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.topic,
      partition: p.partition,
      offset: p.offset === '-1' || p.offset === '' ? null : Number(p.offset),
    })),
  );
}

/** Groups that committed anything on the given topics (our prefix), sorted. */
export async function groupsOnTopics(admin: Admin, topics: readonly string[]): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const out: string[] = [];
  for (const g of groups) {
    const positions = await kafkaPositions(admin, g.groupId, topics).catch(() => []);
    if (positions.some((p) => p.offset !== null)) out.push(g.groupId);
  }
  return out.sort();
}

/** PostgreSQL consumer_positions rows, by group (empty when the table does not exist in the schema). */
export async function postgresPositions(
  pool: Pool,
  group?: string,
): Promise<Map<string, Array<{ topic: string; partition: number; offset: number }>>> {
  const exists = await pool.query<{ t: string | null }>(
    `SELECT to_regclass('consumer_positions')::text AS t`,
  );
  const out = new Map<string, Array<{ topic: string; partition: number; offset: number }>>();
  if (!exists.rows[0]?.t) return out;
  const { rows } = await pool.query<{
    consumer_group: string;
    topic: string;
    partition: number;
    next_offset: number;
  }>(
    `SELECT consumer_group, topic, partition, next_offset FROM consumer_positions
     WHERE $1::text IS NULL OR consumer_group = $1 ORDER BY consumer_group, topic, partition`,
    [group ?? null],
  );
  for (const r of rows) {
    const list = out.get(r.consumer_group) ?? [];
    list.push({ topic: r.topic, partition: r.partition, offset: Number(r.next_offset) });
    out.set(r.consumer_group, list);
  }
  return out;
}

/** The sessions processor's Redis positions (`sessions:pos`, fields "<topic>|<partition>"). */
export async function redisSessionPositions(
  redis: Redis,
): Promise<Array<{ topic: string; partition: number; offset: number }>> {
  const all = await redis.hgetall('sessions:pos');
  return Object.entries(all)
    .map(([field, value]) => {
      const i = field.lastIndexOf('|');
      return { topic: field.slice(0, i), partition: Number(field.slice(i + 1)), offset: Number(value) };
    })
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

export type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; ms: number };

export type PlannedPosition = {
  topic: string;
  partition: number;
  current: number | null;
  target: number;
};

/** Target offsets per partition of each topic for a reset target. */
export async function targetOffsets(
  admin: Admin,
  topics: readonly string[],
  target: ResetTarget,
): Promise<Array<{ topic: string; partition: number; offset: number }>> {
  const out: Array<{ topic: string; partition: number; offset: number }> = [];
  for (const topic of topics) {
    if (target.kind === 'timestamp') {
      for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, target.ms))
        out.push({ topic, partition: o.partition, offset: Number(o.offset) });
    } else {
      for (const o of await admin.fetchTopicOffsets(topic))
        out.push({
          topic,
          partition: o.partition,
          offset: Number(target.kind === 'earliest' ? o.low : o.high),
        });
    }
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

export function planReset(
  current: ReadonlyArray<{ topic: string; partition: number; offset: number | null }>,
  targets: ReadonlyArray<{ topic: string; partition: number; offset: number }>,
): PlannedPosition[] {
  const byKey = new Map(current.map((c) => [topicPartitionKey(c.topic, c.partition), c.offset]));
  return targets.map((t) => ({
    topic: t.topic,
    partition: t.partition,
    current: byKey.get(topicPartitionKey(t.topic, t.partition)) ?? null,
    target: t.offset,
  }));
}

/** Refuses when the group has members (a running consumer would overwrite or race the reset). */
export async function assertGroupInactive(admin: Admin, group: string): Promise<void> {
  const { groups } = await admin.describeGroups([group]);
  const g = groups[0];
  if (g && g.members.length > 0) {
    throw new Error(
      `group ${group} has ${g.members.length} active member(s) (state ${g.state}); stop its consumers first`,
    );
  }
}

/** Writes the plan into Kafka (setOffsets per topic). */
export async function applyKafkaReset(admin: Admin, group: string, plan: readonly PlannedPosition[]) {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const p of plan) {
    const list = byTopic.get(p.topic) ?? [];
    list.push({ partition: p.partition, offset: String(p.target) });
    byTopic.set(p.topic, list);
  }
  for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId: group, topic, partitions });
}

/**
 * Writes the plan into PostgreSQL consumer_positions (one transaction). Moving a mastery position backwards
 * re-reads records that processed_events then skips by event_id (nothing counts twice); moving it forwards
 * skips records for good (they are not applied unless replayed).
 */
export async function applyPostgresReset(pool: Pool, group: string, plan: readonly PlannedPosition[]) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset)
       SELECT $1, t, p, n FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, n)
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,
         updated_at = now()`,
      [group, plan.map((p) => p.topic), plan.map((p) => p.partition), plan.map((p) => p.target)],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
