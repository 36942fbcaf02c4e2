/**
 * Consumer positions in PostgreSQL (table consumer_positions): the runtime's `external` offset store.
 * A batch's transaction locks its partitions' rows first (sorted, so concurrent instances cannot deadlock on
 * them), skips records below next_offset, applies the rest and advances next_offset in the same transaction.
 */
import { topicPartitionKey } from '../../shared/kafka.ts';
import type { Pool, PoolClient } from '../../shared/postgres.ts';
import type { TopicPartitionOffset } from '../runtime/types.ts';

export type StoredPosition = { topic: string; partition: number; next: number; watermarkMs: number | null };

export async function lockPositions(
  client: PoolClient,
  group: string,
  tps: ReadonlyArray<{ topic: string; partition: number }>,
): Promise<Map<string, StoredPosition>> {
  const sorted = [...tps].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
  const topics = sorted.map((t) => t.topic);
  const partitions = sorted.map((t) => t.partition);
  await client.query(
    `INSERT INTO consumer_positions (consumer_group, topic, partition)
     SELECT $1, t, p FROM unnest($2::text[], $3::int[]) AS x(t, p)
     ON CONFLICT DO NOTHING`,
    [group, topics, partitions],
  );
  const { rows } = await client.query<{
    topic: string;
    partition: number;
    next_offset: number;
    watermark_ms: number | null;
  }>(
    `SELECT topic, partition, next_offset, watermark_ms FROM consumer_positions
     WHERE consumer_group = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
     ORDER BY topic, partition FOR UPDATE`,
    [group, topics, partitions],
  );
  return new Map(
    rows.map((r) => [
      topicPartitionKey(r.topic, r.partition),
      { topic: r.topic, partition: r.partition, next: r.next_offset, watermarkMs: r.watermark_ms },
    ]),
  );
}

export async function savePositions(
  client: PoolClient,
  group: string,
  positions: Iterable<StoredPosition>,
): Promise<void> {
  const list = [...positions];
  if (list.length === 0) return;
  await client.query(
    `UPDATE consumer_positions c SET next_offset = x.n, watermark_ms = x.w, updated_at = now()
     FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[]) AS x(t, p, n, w)
     WHERE c.consumer_group = $1 AND c.topic = x.t AND c.partition = x.p`,
    [
      group,
      list.map((p) => p.topic),
      list.map((p) => p.partition),
      list.map((p) => p.next),
      list.map((p) => p.watermarkMs),
    ],
  );
}

/** The runtime's `load`: where to seek after an assignment (partitions without a stored position are left alone). */
export async function loadPositions(
  pool: Pool,
  group: string,
  assignment: Array<{ topic: string; partitions: number[] }>,
): Promise<TopicPartitionOffset[]> {
  const topics: string[] = [];
  const partitions: number[] = [];
  for (const a of assignment)
    for (const p of a.partitions) {
      topics.push(a.topic);
      partitions.push(p);
    }
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
    `SELECT topic, partition, next_offset FROM consumer_positions
     WHERE consumer_group = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
    [group, topics, partitions],
  );
  return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: String(r.next_offset) }));
}

/**
 * Filters a batch against the locked positions: returns the records at or above each partition's position (in
 * batch order; a record re-fetched twice in one batch is kept once) and the advanced positions.
 */
export function admitRecords<T extends { record: { topic: string; partition: number; offset: string } }>(
  items: readonly T[],
  stored: Map<string, StoredPosition>,
  batchPositions: readonly TopicPartitionOffset[],
): { admitted: T[]; skipped: number; next: Map<string, StoredPosition> } {
  const next = new Map<string, StoredPosition>();
  for (const [k, v] of stored) next.set(k, { ...v });
  const admitted: T[] = [];
  let skipped = 0;
  for (const item of items) {
    const { topic, partition } = item.record;
    const k = topicPartitionKey(topic, partition);
    const pos = next.get(k) ?? { topic, partition, next: 0, watermarkMs: null };
    const offset = Number(item.record.offset);
    if (offset < pos.next) {
      skipped++;
      continue;
    }
    admitted.push(item);
    pos.next = offset + 1;
    next.set(k, pos);
  }
  for (const p of batchPositions) {
    const k = topicPartitionKey(p.topic, p.partition);
    const pos = next.get(k) ?? { topic: p.topic, partition: p.partition, next: 0, watermarkMs: null };
    pos.next = Math.max(pos.next, Number(p.offset));
    next.set(k, pos);
  }
  return { admitted, skipped, next };
}
