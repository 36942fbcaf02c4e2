import type { Pool } from '../../shared/postgres.ts';
import type { Raw } from './statements.ts';

/**
 * The taxonomy (postgres/001_topics.sql) as the API's read models use it: in memory per process, so a mastery read
 * joins names, levels, parents and board weights without SQL.
 */

export type Topic = {
  id: string;
  name: string;
  level: number;
  parentId: string | null;
  boardWeight: number;
  system: string;
  discipline: string | null;
};

export type TopicIndex = { at: number; byId: Map<string, Topic>; children: Map<string, Topic[]> };

/** The taxonomy changes only with a deployment of the loader: kept in memory for TOPICS_TTL_MS per process. */
export const TOPICS_TTL_MS = 5 * 60_000;
const topicCache = new WeakMap<Pool, TopicIndex>();
const topicLoads = new WeakMap<Pool, Promise<void>>();

/**
 * The in-memory taxonomy (`reload`: now, whatever its age; topic_mastery references topics, so a row whose topic is
 * missing from the index means the taxonomy changed since it was loaded).
 */
export async function topicIndex(pg: Pool, nowMs = Date.now(), reload = false): Promise<TopicIndex> {
  const cached = topicCache.get(pg);
  if (cached && !reload && nowMs - cached.at < TOPICS_TTL_MS) return cached;
  let loading = topicLoads.get(pg);
  if (!loading) {
    loading = pg
      .query<Raw>(
        'SELECT id, name, level, parent_id, board_weight, system, discipline FROM topics ORDER BY level, id',
      )
      .then(({ rows }) => {
        const byId = new Map<string, Topic>();
        const children = new Map<string, Topic[]>();
        for (const r of rows) {
          const t: Topic = {
            id: String(r.id),
            name: String(r.name),
            level: Number(r.level),
            parentId: (r.parent_id as string | null) ?? null,
            boardWeight: Number(r.board_weight),
            system: String(r.system),
            discipline: (r.discipline as string | null) ?? null,
          };
          byId.set(t.id, t);
          if (t.parentId !== null) children.set(t.parentId, [...(children.get(t.parentId) ?? []), t]);
        }
        topicCache.set(pg, { at: Date.now(), byId, children });
      })
      .finally(() => topicLoads.delete(pg));
    topicLoads.set(pg, loading);
  }
  await loading;
  return topicCache.get(pg)!;
}

/** A topic and its direct children (in-memory taxonomy), or null for an unknown id. */
export async function topicWithChildren(
  pg: Pool,
  topic: string,
): Promise<{ topic: Topic; children: Topic[] } | null> {
  const index = await topicIndex(pg);
  const self = index.byId.get(topic);
  if (!self) return null;
  return { topic: self, children: index.children.get(topic) ?? [] };
}
