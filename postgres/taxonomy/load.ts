/**
 * Idempotent loader for the curriculum taxonomy (services/domain-data/taxonomy.ts) into PostgreSQL.
 *
 * Assumes the tables `topics` and `topic_relationships` exist (created by the migrations) and are reachable
 * on the connection's search_path.
 *
 *  - Topics are upserted level by level (parents before children), in batches, with
 *    INSERT ... ON CONFLICT (id) DO UPDATE; rows whose content is unchanged are not rewritten, so
 *    `updated_at` only moves when a topic actually changes. Topics removed from the data are NOT deleted
 *    (other tables such as topic_mastery may reference them).
 *  - Relationships are upserted the same way, then relationships no longer in the data are deleted.
 *
 * Every value travels as a bind parameter (arrays unnested server-side); no SQL is built from data.
 *
 * Transactions: given a Pool, the loader takes one connection and runs everything in one transaction.
 * Given a PoolClient, it runs its statements on that client and leaves transaction control to the caller
 * (wrap the call in BEGIN/COMMIT, e.g. with withTransaction, for an all-or-nothing load).
 */
import pg from 'pg';
import type { PoolClient, Pool } from 'pg';
import { TOPIC_RELATIONSHIPS, TOPICS } from '../../services/domain-data/taxonomy.ts';
import type { Topic, TopicRelationship } from '../../services/domain-data/taxonomy.ts';

/** Rows per INSERT statement. */
const BATCH_SIZE = 500;

const UPSERT_TOPICS_SQL = `
INSERT INTO topics (id, name, parent_id, level, system, discipline, board_weight, description, updated_at)
SELECT t.id, t.name, t.parent_id, t.level, t.system, t.discipline, t.board_weight, t.description, now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[],
            $7::double precision[], $8::text[])
  AS t(id, name, parent_id, level, system, discipline, board_weight, description)
ON CONFLICT (id) DO UPDATE SET
  name = EXCLUDED.name,
  parent_id = EXCLUDED.parent_id,
  level = EXCLUDED.level,
  system = EXCLUDED.system,
  discipline = EXCLUDED.discipline,
  board_weight = EXCLUDED.board_weight,
  description = EXCLUDED.description,
  updated_at = now()
WHERE (topics.name, topics.parent_id, topics.level, topics.system, topics.discipline,
       topics.board_weight, topics.description)
  IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.parent_id, EXCLUDED.level, EXCLUDED.system, EXCLUDED.discipline,
       EXCLUDED.board_weight, EXCLUDED.description)`;

const UPSERT_RELATIONSHIPS_SQL = `
INSERT INTO topic_relationships (from_topic_id, to_topic_id, kind, strength)
SELECT r.from_topic_id, r.to_topic_id, r.kind, r.strength
FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[])
  AS r(from_topic_id, to_topic_id, kind, strength)
ON CONFLICT (from_topic_id, to_topic_id, kind) DO UPDATE SET
  strength = EXCLUDED.strength
WHERE topic_relationships.strength IS DISTINCT FROM EXCLUDED.strength`;

const DELETE_STALE_RELATIONSHIPS_SQL = `
DELETE FROM topic_relationships tr
WHERE NOT EXISTS (
  SELECT 1
  FROM unnest($1::text[], $2::text[], $3::text[]) AS k(from_topic_id, to_topic_id, kind)
  WHERE k.from_topic_id = tr.from_topic_id AND k.to_topic_id = tr.to_topic_id AND k.kind = tr.kind
)`;

export interface LoadTaxonomyResult {
  /** Topics in the data set (all upserted; unchanged rows are left as they are). */
  readonly topics: number;
  /** Relationships in the data set (all upserted). */
  readonly relationships: number;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function upsertTopics(client: PoolClient, topics: readonly Topic[]): Promise<void> {
  // Parents before children: one pass per level, so every parent_id already exists when referenced.
  const levels = [...new Set(topics.map((t) => t.level))].sort((a, b) => a - b);
  for (const level of levels) {
    for (const batch of chunks(
      topics.filter((t) => t.level === level),
      BATCH_SIZE,
    )) {
      await client.query(UPSERT_TOPICS_SQL, [
        batch.map((t) => t.id),
        batch.map((t) => t.name),
        batch.map((t) => t.parentId),
        batch.map((t) => t.level),
        batch.map((t) => t.system),
        batch.map((t) => t.discipline),
        batch.map((t) => t.boardWeight),
        batch.map((t) => t.description),
      ]);
    }
  }
}

async function upsertRelationships(client: PoolClient, rels: readonly TopicRelationship[]): Promise<void> {
  for (const batch of chunks(rels, BATCH_SIZE)) {
    await client.query(UPSERT_RELATIONSHIPS_SQL, [
      batch.map((r) => r.from),
      batch.map((r) => r.to),
      batch.map((r) => r.kind),
      batch.map((r) => r.strength),
    ]);
  }
  await client.query(DELETE_STALE_RELATIONSHIPS_SQL, [
    rels.map((r) => r.from),
    rels.map((r) => r.to),
    rels.map((r) => r.kind),
  ]);
}

async function load(client: PoolClient): Promise<LoadTaxonomyResult> {
  await upsertTopics(client, TOPICS);
  await upsertRelationships(client, TOPIC_RELATIONSHIPS);
  return { topics: TOPICS.length, relationships: TOPIC_RELATIONSHIPS.length };
}

/**
 * Upserts the taxonomy into `topics` and `topic_relationships` and removes relationships no longer in the
 * data. Safe to run repeatedly. See the module comment for transaction behaviour.
 */
export async function loadTaxonomy(client: PoolClient | Pool): Promise<LoadTaxonomyResult> {
  if (!(client instanceof pg.Pool)) return load(client);
  const conn = await client.connect();
  try {
    await conn.query('BEGIN');
    const result = await load(conn);
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}
