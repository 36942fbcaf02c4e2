import { createHash } from 'node:crypto';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Pool } from '../../shared/postgres.ts';
import { fsrsRecallProbability, type FsrsState } from '../../domain/fsrs.ts';
import { sm2RecallProbability, type Sm2State } from '../../domain/sm2.ts';
import { MASTERY_WEIGHTS } from '../../domain/mastery.ts';
import { clamp01 } from '../../domain/stats.ts';
import { isoFromMs, round } from '../compute.ts';

/**
 * Reads of the processors' PostgreSQL state (postgres/021_topic_mastery.sql, 022_study_sessions.sql) and the
 * taxonomy (001_topics.sql). Values are bound as $n parameters only, after the route's zod validation.
 */

export type MasteryRow = {
  topicId: string;
  name: string;
  level: number;
  parentId: string | null;
  boardWeight: number;
  attempts: number;
  correct: number;
  accuracy: number | null;
  firstAttemptAccuracy: number | null;
  recentAccuracy: number | null;
  /** Figures as of the row's last event (as_of). */
  score: number;
  lower: number;
  upper: number;
  retrievalStrength: number;
  materialCompletion: number;
  trend: string | null;
  nextReviewAt: string | null;
  asOf: string | null;
  scheduler: 'sm2' | 'fsrs';
  sm2State: Sm2State | null;
  fsrsState: FsrsState | null;
};

/** A timestamptz as epoch milliseconds (float8): cheaper for the driver than parsing timestamp text into Dates. */
const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/**
 * The columns the mastery views show (a full list is ~250 rows: every column costs the driver a parse per row).
 * Name, level, parent and board weight come from the in-memory taxonomy, not from a join.
 */
const MASTERY_COLUMNS = `m.topic_id, m.attempts, m.correct, m.accuracy, m.first_attempt_accuracy, m.recent_accuracy,
  m.mastery_score, m.mastery_lower, m.mastery_upper, m.retrieval_strength, m.material_completion, m.trend,
  ${ms('m.next_review_at')} AS next_review_at, ${ms('m.as_of')} AS as_of, m.scheduler,
  CASE WHEN m.scheduler = 'sm2' THEN m.sm2_state END AS sm2_state,
  CASE WHEN m.scheduler = 'fsrs' THEN m.fsrs_state END AS fsrs_state`;

type Raw = Record<string, unknown>;

const iso = (v: unknown): string | null =>
  v instanceof Date ? v.toISOString() : typeof v === 'number' ? isoFromMs(v) : v == null ? null : String(v);

const names = new Map<string, string>();

/**
 * Runs a query as a named (server-side prepared) statement: PostgreSQL plans each distinct text once per
 * connection instead of on every request. Names derive from the text, so dynamic WHERE clauses stay distinct.
 */
async function prepared<R extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[],
  rowMode?: 'array',
): Promise<QueryResult<R>> {
  let name = names.get(text);
  if (!name) {
    name = `api_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return pool.query<R>({ name, text, values, ...(rowMode ? { rowMode } : {}) });
}
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
/** compute.ts round(x, 4) as JSON text. */
const round4 = (x: number): string => String(round(x) ?? null);

function toMastery(r: Raw, topic: Topic): MasteryRow {
  return {
    topicId: topic.id,
    name: topic.name,
    level: topic.level,
    parentId: topic.parentId,
    boardWeight: topic.boardWeight,
    attempts: Number(r.attempts),
    correct: Number(r.correct),
    accuracy: numOrNull(r.accuracy),
    firstAttemptAccuracy: numOrNull(r.first_attempt_accuracy),
    recentAccuracy: numOrNull(r.recent_accuracy),
    score: Number(r.mastery_score),
    lower: Number(r.mastery_lower),
    upper: Number(r.mastery_upper),
    retrievalStrength: Number(r.retrieval_strength),
    materialCompletion: Number(r.material_completion),
    trend: (r.trend as string | null) ?? null,
    nextReviewAt: iso(r.next_review_at),
    asOf: iso(r.as_of),
    scheduler: r.scheduler === 'sm2' ? 'sm2' : 'fsrs',
    sm2State: (r.sm2_state as Sm2State | null) ?? null,
    fsrsState: (r.fsrs_state as FsrsState | null) ?? null,
  };
}

/**
 * Retrieval strength decays after the last event; for a leaf row it is recomputed at `nowMs` from the
 * scheduler state, and the score moved by the retrieval term's weight. Parent rows (no scheduler state) keep
 * their as-of figures.
 */
export function masteryNow(
  row: Pick<MasteryRow, 'scheduler' | 'score' | 'retrievalStrength' | 'sm2State' | 'fsrsState'>,
  nowMs: number,
): { retrievalStrength: number; score: number } | null {
  const retrieval =
    row.scheduler === 'sm2'
      ? row.sm2State
        ? sm2RecallProbability(row.sm2State, nowMs)
        : null
      : row.fsrsState
        ? fsrsRecallProbability(row.fsrsState, nowMs)
        : null;
  if (retrieval === null) return null;
  const score = clamp01(row.score + MASTERY_WEIGHTS.retrievalStrength * (retrieval - row.retrievalStrength));
  return { retrievalStrength: retrieval, score };
}

export async function masteryRows(
  pg: Pool,
  user: string,
  filter: { level?: number; parent?: string; topics?: string[] } = {},
): Promise<MasteryRow[]> {
  const where = ['m.user_id = $1'];
  const values: unknown[] = [user];
  if (filter.level !== undefined) {
    values.push(filter.level);
    where.push(`m.topic_level = $${values.length}`);
  }
  let index = await topicIndex(pg);
  for (const topics of [
    filter.parent === undefined ? undefined : (index.children.get(filter.parent) ?? []).map((t) => t.id),
    filter.topics,
  ]) {
    if (topics === undefined) continue;
    values.push(topics);
    where.push(`m.topic_id = ANY($${values.length}::text[])`);
  }
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${MASTERY_COLUMNS} FROM topic_mastery m
     WHERE ${where.join(' AND ')} ORDER BY m.topic_level, m.topic_id`,
    values,
  );
  // topic_mastery references topics: an id missing from the index means the taxonomy changed since it was loaded.
  if (rows.some((r) => !index.byId.has(String(r.topic_id)))) index = await topicIndex(pg, Date.now(), true);
  return rows.flatMap((r) => {
    const topic = index.byId.get(String(r.topic_id));
    return topic ? [toMastery(r, topic)] : [];
  });
}

/** The fields of a mastery list entry, in response order (`topicId` is always sent). */
export const MASTERY_FIELDS = [
  'topicId',
  'name',
  'level',
  'parentId',
  'boardWeight',
  'score',
  'interval',
  'trend',
  'attempts',
  'correct',
  'accuracy',
  'firstAttemptAccuracy',
  'recentAccuracy',
  'retrievalStrength',
  'materialCompletion',
  'asOf',
  'now',
  'nextReviewAt',
  'scheduler',
] as const;
export type MasteryField = (typeof MASTERY_FIELDS)[number];

/**
 * compute.ts round(x, 4) in SQL, as JSON text: Math.round(y) is floor(y) + 1 when y - floor(y) >= 0.5 (ties up,
 * exact in float8), and float8 text is the shortest round-trip form, as JavaScript prints it. NULL, NaN and the
 * infinities become null.
 */
const r4 = (col: string) => {
  const y = `(${col} * 10000::float8)`;
  return `CASE WHEN ${col} IS NULL OR ${col} IN ('NaN', 'Infinity', '-Infinity') THEN 'null'
    ELSE ((floor(${y}) + CASE WHEN ${y} - floor(${y}) >= 0.5 THEN 1 ELSE 0 END) / 10000::float8)::text END`;
};
/** A timestamptz as Date.toISOString() text (quoted), or null. */
const isoText = (col: string) =>
  `coalesce('"' || to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;
const jsonText = (expr: string) => `coalesce(to_json(${expr})::text, 'null')`;

/** Fields whose JSON Node writes itself: `name` (from the in-memory taxonomy, kept ASCII) and `now`. */
type NodeField = 'name' | 'now';
type SqlField = Exclude<MasteryField, NodeField>;
const isNodeField = (f: MasteryField): f is NodeField => f === 'name' || f === 'now';

/** Each field's JSON value as SQL text (the same values masteryView gives). */
const FIELD_SQL: Record<SqlField, string> = {
  topicId: 'to_json(t.id)::text',
  level: 't.level::text',
  parentId: jsonText('t.parent_id'),
  boardWeight: 't.board_weight::float8::text',
  score: r4('m.mastery_score'),
  interval: `'{"lower":' || ${r4('m.mastery_lower')} || ',"upper":' || ${r4('m.mastery_upper')} || ',"level":0.95}'`,
  trend: jsonText('m.trend'),
  attempts: 'm.attempts::text',
  correct: 'm.correct::text',
  accuracy: r4('m.accuracy'),
  firstAttemptAccuracy: r4('m.first_attempt_accuracy'),
  recentAccuracy: r4('m.recent_accuracy'),
  retrievalStrength: r4('m.retrieval_strength'),
  materialCompletion: r4('m.material_completion'),
  asOf: isoText('m.as_of'),
  nextReviewAt: isoText('m.next_review_at'),
  scheduler: `CASE WHEN t.level = 2 THEN ${jsonText('m.scheduler')} ELSE 'null' END`,
};

/**
 * An entry as SQL text segments around the fields Node writes: `'{"topicId":' || <id> || ',"name":'`, then
 * `',"level":' || ... || ',"now":'`, then `',"nextReviewAt":' || ... || '}'` for every field. Only constant field
 * names and column expressions, never request text.
 */
function segmentsSql(fields: readonly MasteryField[]): string[] {
  const segments: string[] = [];
  let current: string[] = [];
  fields.forEach((f, i) => {
    current.push(`'${i === 0 ? '{' : ','}"${f}":'`);
    if (isNodeField(f)) {
      segments.push(current.join(' || '));
      current = [];
    } else current.push(FIELD_SQL[f]);
  });
  current.push(`'}'`);
  segments.push(current.join(' || '));
  return segments;
}

/** JSON of a string with every non-ASCII character escaped (\uXXXX): the same value, one-byte in V8. */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A position in the mastery list's order (topic level, then topic id bytewise): what a cursor encodes. */
export type MasteryCursor = { level: number; topicId: string };

export type MasteryPage = {
  /** Each entry as JSON text, in list order. */
  entries: string[];
  /** Where the next page starts, or null when this page holds the last entry. */
  next: MasteryCursor | null;
};

/**
 * One page of the mastery list as JSON text, built by PostgreSQL: each row arrives as a few text segments of the
 * entry and the numbers `now` needs, so the driver parses ~9 values per row instead of ~17 and Node neither builds
 * row objects nor serialises them. Node writes two fields itself: `now` (retrieval strength and score at request
 * time, with the domain's scheduler functions: masteryNow) and `name` (from the in-memory taxonomy, non-ASCII
 * escaped), so the whole body stays ASCII: V8 keeps it in one-byte strings, which are decoded, joined and encoded
 * to UTF-8 about three times faster than the two-byte strings a single "—" in a topic name turned it into.
 * Order: topic level, then topic id bytewise (COLLATE "C"), the order a cursor resumes from. Values equal
 * masteryView's (integration-tested).
 */
export async function masteryListPage(
  pg: Pool,
  user: string,
  opts: {
    level?: number;
    parent?: string;
    after?: MasteryCursor;
    limit: number;
    fields?: readonly MasteryField[];
    nowMs: number;
  },
): Promise<MasteryPage> {
  const fields = opts.fields ?? MASTERY_FIELDS;
  const nodeFields = fields.filter(isNodeField);
  const withNow = nodeFields.includes('now');
  const where = ['m.user_id = $1'];
  const values: unknown[] = [user];
  if (opts.level !== undefined) {
    values.push(opts.level);
    where.push(`t.level = $${values.length}`);
  }
  if (opts.parent !== undefined) {
    values.push(opts.parent);
    where.push(`t.parent_id = $${values.length}`);
  }
  if (opts.after !== undefined) {
    values.push(opts.after.level, opts.after.topicId);
    where.push(`(t.level, t.id COLLATE "C") > ($${values.length - 1}, $${values.length})`);
  }
  values.push(opts.limit + 1);
  const shape = `${fields.join(',')}|${where.join(' AND ')}`;
  let text = listTexts.get(shape);
  if (text === undefined) {
    const nowColumns = withNow
      ? `, m.scheduler = 'sm2', m.mastery_score, m.retrieval_strength,
         CASE WHEN m.scheduler = 'sm2' THEN (m.sm2_state->>'intervalDays')::float8
              ELSE (m.fsrs_state->>'stability')::float8 END,
         CASE WHEN m.scheduler = 'sm2' THEN (m.sm2_state->>'lastReviewAt')::float8
              ELSE (m.fsrs_state->>'lastReviewAt')::float8 END,
         CASE WHEN m.scheduler = 'sm2' THEN m.sm2_state IS NOT NULL ELSE m.fsrs_state IS NOT NULL END,
         m.fsrs_state->>'state'`
      : '';
    text = `SELECT t.level, t.id${withNow ? nowColumns : ''}, ${segmentsSql(fields).join(', ')}
      FROM topic_mastery m JOIN topics t ON t.id = m.topic_id
      WHERE ${where.join(' AND ')}
      ORDER BY t.level, t.id COLLATE "C" LIMIT $${values.length}`;
    // Bounded: 4 filter shapes for the full entry; `fields` subsets are not kept (2^17 of them).
    if (opts.fields === undefined) listTexts.set(shape, text);
  }
  // The full entry is one statement, prepared once per connection; a `fields` subset runs unnamed (2^17 subsets
  // must not become 2^17 prepared statements per connection).
  const [index, { rows }] = await Promise.all([
    nodeFields.includes('name') ? asciiNames(pg) : undefined,
    opts.fields === undefined
      ? prepared<unknown[]>(pg, text, values, 'array')
      : pg.query<unknown[]>({ text, values, rowMode: 'array' }),
  ]);
  let names = index;
  // topic_mastery references topics: an id missing from the index means the taxonomy changed since it was loaded.
  if (names && rows.some((r) => !names!.has(r[1] as string))) names = await asciiNames(pg, true);
  const first = withNow ? 9 : 2; // the first segment's column
  const n = Math.min(rows.length, opts.limit);
  const entries = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    let entry = r[first] as string;
    for (let k = 0; k < nodeFields.length; k++) {
      const value =
        nodeFields[k] === 'now'
          ? r[7]
            ? (recallNow(r, opts.nowMs) ?? 'null')
            : 'null'
          : (names!.get(r[1] as string) ?? asciiJson(r[1] as string));
      entry += value + (r[first + k + 1] as string);
    }
    entries[i] = entry;
  }
  const last = rows[n - 1];
  return {
    entries,
    next: rows.length > opts.limit && last ? { level: Number(last[0]), topicId: String(last[1]) } : null,
  };
}

const listTexts = new Map<string, string>();
const asciiNameCache = new WeakMap<object, Map<string, string>>();

/** Topic id -> its name as ASCII JSON, per loaded taxonomy (topicIndex). */
async function asciiNames(pg: Pool, reload = false): Promise<Map<string, string>> {
  const index = await topicIndex(pg, Date.now(), reload);
  let names = asciiNameCache.get(index);
  if (!names) {
    names = new Map([...index.byId].map(([id, t]) => [id, asciiJson(t.name)]));
    asciiNameCache.set(index, names);
  }
  return names;
}

/**
 * `now` of a list row as JSON text, from the columns masteryListPage selects: the same computation as masteryNow
 * (the domain's recall functions on the scheduler state's fields they read), rounded as masteryView rounds.
 */
function recallNow(r: unknown[], nowMs: number): string | null {
  // Columns: 2 scheduler is sm2, 3 mastery_score, 4 retrieval_strength, 5 intervalDays | stability,
  // 6 lastReviewAt, 7 has state, 8 FSRS card state.
  const sm2 = r[2] === true;
  const a = r[5] === null ? undefined : Number(r[5]);
  const lastReviewAt = r[6] === null ? undefined : Number(r[6]);
  const current = masteryNow(
    {
      scheduler: sm2 ? 'sm2' : 'fsrs',
      score: Number(r[3]),
      retrievalStrength: Number(r[4]),
      sm2State: sm2 ? ({ intervalDays: a, lastReviewAt } as Sm2State) : null,
      fsrsState: sm2 ? null : ({ stability: a, lastReviewAt, state: r[8] } as FsrsState),
    },
    nowMs,
  );
  if (current === null) return null;
  const rs = round4(current.retrievalStrength);
  const score = round4(current.score);
  return `{"retrievalStrength":${rs},"score":${score}}`;
}

export type SummaryTopic = {
  topicId: string;
  name: string;
  score: number;
  trend: string | null;
  attempts: number;
};

/** The dashboard's mastery summary over the student's studied leaves, aggregated by PostgreSQL. */
export type MasterySummaryData = {
  /** Studied leaves per (band, trend): count, sum of scores, sum of attempts. */
  groups: Array<{
    band: 'mastered' | 'developing' | 'weak';
    trend: string | null;
    n: number;
    scoreSum: number;
    attempts: number;
  }>;
  /** The 3 lowest and the 3 highest scores (ties by topic id, bytewise). */
  weakest: SummaryTopic[];
  strongest: SummaryTopic[];
  /** Level-0 (system) roll-ups, by topic id. */
  systems: SummaryTopic[];
};

/**
 * What the dashboard's mastery summary needs, in one statement of at most ~35 rows: the studied leaves grouped by
 * band and trend, the 3 weakest and strongest, the level-0 roll-ups. (Returning every studied leaf, ~230 rows, cost
 * the driver more CPU than the rest of the request.) `mastered`/`developing` are the band thresholds of compute.ts.
 */
export async function masterySummaryData(
  pg: Pool,
  user: string,
  thresholds: { mastered: number; developing: number },
): Promise<MasterySummaryData> {
  const [index, { rows }] = await Promise.all([
    topicIndex(pg),
    prepared<Raw>(
      pg,
      `WITH l AS (
         SELECT topic_id, mastery_score, trend, attempts FROM topic_mastery
         WHERE user_id = $1 AND topic_level = 2 AND attempts > 0)
       (SELECT 'g' AS k, NULL AS topic_id,
          CASE WHEN mastery_score >= $2 THEN 'mastered' WHEN mastery_score >= $3 THEN 'developing' ELSE 'weak' END
            AS band, trend, count(*)::float8 AS n, sum(mastery_score) AS score, sum(attempts)::float8 AS attempts
        FROM l GROUP BY 3, 4)
       UNION ALL
       (SELECT 'w', topic_id, NULL, trend, 1, mastery_score, attempts
        FROM l ORDER BY mastery_score, topic_id COLLATE "C" LIMIT 3)
       UNION ALL
       (SELECT 's', topic_id, NULL, trend, 1, mastery_score, attempts
        FROM l ORDER BY mastery_score DESC, topic_id COLLATE "C" DESC LIMIT 3)
       UNION ALL
       (SELECT 'y', topic_id, NULL, trend, 1, mastery_score, attempts
        FROM topic_mastery WHERE user_id = $1 AND topic_level = 0 ORDER BY topic_id)`,
      [user, thresholds.mastered, thresholds.developing],
    ),
  ]);
  const out: MasterySummaryData = { groups: [], weakest: [], strongest: [], systems: [] };
  for (const r of rows) {
    const trend = (r.trend as string | null) ?? null;
    if (r.k === 'g') {
      out.groups.push({
        band: r.band as 'mastered' | 'developing' | 'weak',
        trend,
        n: Number(r.n),
        scoreSum: Number(r.score),
        attempts: Number(r.attempts),
      });
      continue;
    }
    const id = String(r.topic_id);
    const t = {
      topicId: id,
      name: index.byId.get(id)?.name ?? id,
      score: Number(r.score),
      trend,
      attempts: Number(r.attempts),
    };
    (r.k === 'w' ? out.weakest : r.k === 's' ? out.strongest : out.systems).push(t);
  }
  return out;
}

export type Topic = {
  id: string;
  name: string;
  level: number;
  parentId: string | null;
  boardWeight: number;
  system: string;
  discipline: string | null;
};

/** The taxonomy changes only with a deployment of the loader: kept in memory for TOPICS_TTL_MS per process. */
export const TOPICS_TTL_MS = 5 * 60_000;
const topicCache = new WeakMap<
  Pool,
  { at: number; byId: Map<string, Topic>; children: Map<string, Topic[]> }
>();
const topicLoads = new WeakMap<Pool, Promise<void>>();

async function topicIndex(pg: Pool, nowMs = Date.now(), reload = false) {
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

export type HistoryPoint = {
  day: string;
  attempts: number;
  correct: number;
  accuracy: number | null;
  score: number;
  lower: number;
  upper: number;
  retrievalStrength: number;
};

/** Daily end-of-day snapshots of one leaf topic since `from` (inclusive). */
export async function masteryHistory(
  pg: Pool,
  user: string,
  topic: string,
  from: string,
): Promise<HistoryPoint[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, attempts, correct, accuracy, mastery_score, mastery_lower, mastery_upper,
            retrieval_strength
     FROM topic_mastery_history WHERE user_id = $1 AND topic_id = $2 AND day >= $3::date ORDER BY day`,
    [user, topic, from],
  );
  return rows.map((r) => ({
    day: String(r.day),
    attempts: Number(r.attempts),
    correct: Number(r.correct),
    accuracy: numOrNull(r.accuracy),
    score: Number(r.mastery_score),
    lower: Number(r.mastery_lower),
    upper: Number(r.mastery_upper),
    retrievalStrength: Number(r.retrieval_strength),
  }));
}

export type ReviewItem = {
  topicId: string;
  name: string;
  nextReviewAt: string;
  score: number;
  retrievalStrength: number;
};

/** Leaf topics due for review by `untilMs` (overdue first), the total due now, and per-day counts. */
export async function reviewSchedule(
  pg: Pool,
  user: string,
  nowMs: number,
  untilMs: number,
  limit: number,
): Promise<{
  due: ReviewItem[];
  dueCount: number;
  upcoming: ReviewItem[];
  upcomingCount: number;
  calendar: Array<{ day: string; count: number }>;
}> {
  const now = new Date(nowMs);
  const until = new Date(untilMs);
  const item = (r: Raw): ReviewItem => ({
    topicId: String(r.topic_id),
    name: String(r.name),
    nextReviewAt: iso(r.next_review_at)!,
    score: Number(r.mastery_score),
    retrievalStrength: Number(r.retrieval_strength),
  });
  const list = (cond: string) =>
    prepared<Raw>(
      pg,
      `SELECT m.topic_id, t.name, m.next_review_at, m.mastery_score, m.retrieval_strength
       FROM topic_mastery m JOIN topics t ON t.id = m.topic_id
       WHERE m.user_id = $1 AND m.topic_level = 2 AND ${cond}
       ORDER BY m.next_review_at, m.topic_id LIMIT $4`,
      [user, now, until, limit],
    );
  const [due, upcoming, counts] = await Promise.all([
    list('m.next_review_at <= $2 AND $3::timestamptz IS NOT NULL'),
    list('m.next_review_at > $2 AND m.next_review_at <= $3'),
    prepared<Raw>(
      pg,
      `SELECT to_char(greatest(m.next_review_at, $2::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
              count(*)::int AS n, bool_or(m.next_review_at <= $2) AS overdue
       FROM topic_mastery m
       WHERE m.user_id = $1 AND m.topic_level = 2 AND m.next_review_at <= $3
       GROUP BY 1, (m.next_review_at <= $2) ORDER BY 1`,
      [user, now, until],
    ),
  ]);
  let dueCount = 0;
  let upcomingCount = 0;
  const perDay = new Map<string, number>();
  for (const r of counts.rows) {
    if (r.overdue) dueCount += Number(r.n);
    else upcomingCount += Number(r.n);
    perDay.set(String(r.day), (perDay.get(String(r.day)) ?? 0) + Number(r.n));
  }
  return {
    due: due.rows.map(item),
    dueCount,
    upcoming: upcoming.rows.map(item),
    upcomingCount,
    calendar: [...perDay.entries()].map(([day, count]) => ({ day, count })),
  };
}

/**
 * What the dashboard shows of the review schedule, in one statement (reviewSchedule needs three): leaf topics due
 * now (next_review_at <= nowMs), due later until `untilMs`, and the first `limit` of both in due order (overdue
 * first, as reviewSchedule's due list followed by its upcoming list). The window counts run before the LIMIT.
 */
export async function reviewSummary(
  pg: Pool,
  user: string,
  nowMs: number,
  untilMs: number,
  limit: number,
): Promise<{ dueCount: number; upcomingCount: number; next: ReviewItem[] }> {
  const [index, { rows }] = await Promise.all([
    topicIndex(pg),
    prepared<Raw>(
      pg,
      `SELECT m.topic_id, ${ms('m.next_review_at')} AS next_review_at, m.mastery_score, m.retrieval_strength,
              count(*) FILTER (WHERE m.next_review_at <= $2) OVER () AS due_count, count(*) OVER () AS total
       FROM topic_mastery m
       WHERE m.user_id = $1 AND m.topic_level = 2 AND m.next_review_at <= $3
       ORDER BY m.next_review_at, m.topic_id LIMIT $4`,
      [user, new Date(nowMs), new Date(untilMs), limit],
    ),
  ]);
  const dueCount = rows.length > 0 ? Number(rows[0]!.due_count) : 0;
  const total = rows.length > 0 ? Number(rows[0]!.total) : 0;
  return {
    dueCount,
    upcomingCount: total - dueCount,
    next: rows.map((r) => ({
      topicId: String(r.topic_id),
      name: index.byId.get(String(r.topic_id))?.name ?? String(r.topic_id),
      nextReviewAt: iso(r.next_review_at)!,
      score: Number(r.mastery_score),
      retrievalStrength: Number(r.retrieval_strength),
    })),
  };
}

export type SessionRow = {
  sessionId: string;
  startedAt: string;
  endedAt: string;
  endReason: string;
  durationMs: number;
  activeMs: number;
  idleMs: number;
  pauseCount: number;
  focusScore: number | null;
  questionsAnswered: number;
  questionsCorrect: number;
  materialsOpened: number;
  notes: number;
  highlights: number;
  aiCoachInteractions: number;
};

function toSession(r: Raw): SessionRow {
  return {
    sessionId: String(r.session_id),
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at)!,
    endReason: String(r.end_reason),
    durationMs: Number(r.duration_ms),
    activeMs: Number(r.active_ms),
    idleMs: Number(r.idle_ms),
    pauseCount: Number(r.pause_count),
    focusScore: numOrNull(r.focus_score),
    questionsAnswered: Number(r.questions_answered),
    questionsCorrect: Number(r.questions_correct),
    materialsOpened: Number(r.materials_opened),
    notes: Number(r.notes),
    highlights: Number(r.highlights),
    aiCoachInteractions: Number(r.ai_coach_interactions),
  };
}

const SESSION_COLUMNS = `session_id, started_at, ended_at, end_reason, duration_ms, active_ms, idle_ms, pause_count,
  focus_score, questions_answered, questions_correct, materials_opened, notes, highlights, ai_coach_interactions`;

export async function recentSessions(pg: Pool, user: string, limit: number): Promise<SessionRow[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${SESSION_COLUMNS} FROM study_sessions WHERE user_id = $1 ORDER BY started_at DESC, session_id LIMIT $2`,
    [user, limit],
  );
  return rows.map(toSession);
}

export async function sessionsSince(pg: Pool, user: string, fromMs: number): Promise<SessionRow[]> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT ${SESSION_COLUMNS} FROM study_sessions WHERE user_id = $1 AND started_at >= $2 ORDER BY started_at`,
    [user, new Date(fromMs)],
  );
  return rows.map(toSession);
}

export async function cohortsOf(pg: Pool, user: string): Promise<string[]> {
  const { rows } = await prepared<{ cohort_id: string }>(
    pg,
    'SELECT cohort_id FROM cohort_members WHERE user_id = $1 ORDER BY cohort_id',
    [user],
  );
  return rows.map((r) => r.cohort_id);
}

export async function cohortMembers(pg: Pool, cohort: string): Promise<string[] | null> {
  const { rows } = await prepared<{ user_id: string | null }>(
    pg,
    `SELECT m.user_id FROM cohorts c LEFT JOIN cohort_members m ON m.cohort_id = c.id WHERE c.id = $1 ORDER BY m.user_id`,
    [cohort],
  );
  if (rows.length === 0) return null;
  return rows.map((r) => r.user_id).filter((u): u is string => u !== null);
}
