import { createHash } from 'node:crypto';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Pool } from '../../shared/postgres.ts';
import { fsrsRecallProbability, type FsrsState } from '../../domain/fsrs.ts';
import { sm2RecallProbability, type Sm2State } from '../../domain/sm2.ts';
import { MASTERY_WEIGHTS } from '../../domain/mastery.ts';
import { clamp01 } from '../../domain/stats.ts';
import {
  LEARNER_PARAMS,
  pooledLearner,
  predictLearner,
  systemOf,
  type LearnerState,
  type PoolSums,
} from '../../domain/learner-model.ts';
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
  /** Learner model v2: P(correct) on a question of average difficulty as of asOf, 95% interval (null: none yet). */
  pCorrect: { p: number; lower: number; upper: number } | null;
  /** Leaves: the learner state (learner_state), to recompute P(correct) at request time. */
  learner: LearnerNowState | null;
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
  m.p_correct, m.p_correct_lower, m.p_correct_upper, m.learner_state, ${ms('m.next_review_at')} AS next_review_at, ${ms('m.as_of')} AS as_of, m.scheduler,
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
    pCorrect:
      r.p_correct == null
        ? null
        : { p: Number(r.p_correct), lower: Number(r.p_correct_lower), upper: Number(r.p_correct_upper) },
    learner: (r.learner_state as LearnerNowState | null) ?? null,
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

/** The API shape of the learner model's probability (null before the row has one). */
export function pCorrectView(
  p: unknown,
  lower: unknown,
  upper: unknown,
): { value: number; lower: number; upper: number; level: number } | null {
  if (p == null) return null;
  return {
    value: round(Number(p)) as number,
    lower: round(Number(lower)) as number,
    upper: round(Number(upper)) as number,
    level: 0.95,
  };
}

/** The part of learner_state a request-time prediction reads. */
export type LearnerNowState = Pick<LearnerState, 'mu' | 'v' | 's' | 'lastAt' | 'pg' | 'pi'> & {
  materialAt: number | null;
};

/**
 * A student's learner-model pooling sums (learner_state pg, pi over their leaf rows): in total and per organ
 * system (services/domain/learner-model.ts pooledLearner). One grouped read of the student's leaf rows.
 */
export type StudentPool = { student: PoolSums; systems: Map<string, PoolSums> };

export async function learnerPool(pg: Pool, user: string): Promise<StudentPool> {
  const { rows } = await prepared<unknown[]>(
    pg,
    `SELECT split_part(topic_id, '.', 1), coalesce(sum((learner_state->>'pg')::float8), 0),
       coalesce(sum((learner_state->>'pi')::float8), 0)
     FROM topic_mastery WHERE user_id = $1 AND topic_level = 2 GROUP BY 1 ORDER BY 1`,
    [user],
    'array',
  );
  const pool: StudentPool = { student: { g: 0, i: 0 }, systems: new Map() };
  for (const r of rows) {
    const sums = { g: Number(r[1]), i: Number(r[2]) };
    pool.systems.set(String(r[0]), sums);
    pool.student.g += sums.g;
    pool.student.i += sums.i;
  }
  return pool;
}

/**
 * The learner model's P(correct) on a question of average difficulty at `nowMs` (forgetting since the last event),
 * with the student's and the topic's organ system's pooled prior when `pooling` is given (what the eval scores).
 */
export function pCorrectNow(
  l: LearnerNowState,
  nowMs: number,
  pooling?: { topicId: string; pool: StudentPool },
): { value: number; lower: number; upper: number; level: number } | null {
  let state: LearnerState = { ...l, n: 0 };
  if (pooling)
    state = pooledLearner(
      state,
      pooling.pool.student,
      pooling.pool.systems.get(systemOf(pooling.topicId)) ?? { g: 0, i: 0 },
    );
  const p = predictLearner(state, nowMs, LEARNER_PARAMS.itemPriorMean, l.materialAt);
  return pCorrectView(p.p, p.lower, p.upper);
}

/**
 * pCorrect (as of the row's last event) and pCorrectNow of a row: a leaf with a learner state is predicted with the
 * student's pooled prior (as the eval scores it, the pool as of the request); otherwise (parents, rows written
 * before the learner model) the stored column as of asOf, and no pCorrectNow.
 */
export function learnerFields(
  learner: LearnerNowState | null,
  stored: ReturnType<typeof pCorrectView>,
  topicId: string,
  asOfMs: number | null,
  nowMs: number,
  pool: StudentPool | undefined,
): { pCorrect: ReturnType<typeof pCorrectView>; pCorrectNow: ReturnType<typeof pCorrectView> } {
  if (learner === null) return { pCorrect: stored, pCorrectNow: null };
  const pooling = pool === undefined ? undefined : { topicId, pool };
  return {
    pCorrect: pool === undefined || asOfMs === null ? stored : pCorrectNow(learner, asOfMs, pooling),
    pCorrectNow: pCorrectNow(learner, nowMs, pooling),
  };
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
  'pCorrect',
  'pCorrectNow',
  'asOf',
  'now',
  'nextReviewAt',
  'scheduler',
] as const;
export type MasteryField = (typeof MASTERY_FIELDS)[number];

/** JSON of a string with every non-ASCII character escaped (\uXXXX): the same value, one-byte in V8. */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A position in the mastery list's order (topic level, then topic id bytewise): what a cursor encodes. */
export type MasteryCursor = { level: number; topicId: string };

/**
 * A mastery row as the list reads it: MasteryRow's figures without the scheduler states; instead `current`, what
 * masteryNow gives at the request time (computed from the two scheduler numbers the list reads). The name is the
 * topic's pre-encoded JSON (rawName). routes/mastery.ts masteryEntry builds the API entry from it.
 */
export type MasteryListRow = Omit<MasteryRow, 'name' | 'sm2State' | 'fsrsState'> & {
  name: unknown;
  current: { retrievalStrength: number; score: number } | null;
};

export type MasteryPage = {
  /** The rows, in list order. */
  rows: MasteryListRow[];
  /** Where the next page starts, or null when this page holds the last entry. */
  next: MasteryCursor | null;
};

/**
 * The list's columns, positional (rowMode 'array': no object per row). Timestamps arrive as epoch ms and the
 * scheduler state as the two numbers its recall function reads (no jsonb for the driver to JSON.parse).
 */
const LIST_COLUMNS = `m.topic_id, m.topic_level, m.attempts, m.correct, m.accuracy, m.first_attempt_accuracy,
  m.recent_accuracy, m.mastery_score, m.mastery_lower, m.mastery_upper, m.retrieval_strength, m.material_completion,
  m.trend, ${ms('m.as_of')}, ${ms('m.next_review_at')}, m.scheduler = 'sm2',
  CASE WHEN m.scheduler = 'sm2' THEN (m.sm2_state->>'intervalDays')::float8
       ELSE (m.fsrs_state->>'stability')::float8 END,
  CASE WHEN m.scheduler = 'sm2' THEN (m.sm2_state->>'lastReviewAt')::float8
       ELSE (m.fsrs_state->>'lastReviewAt')::float8 END,
  CASE WHEN m.scheduler = 'sm2' THEN m.sm2_state IS NOT NULL ELSE m.fsrs_state IS NOT NULL END,
  m.fsrs_state->>'state', m.p_correct, m.p_correct_lower, m.p_correct_upper,
  (m.learner_state->>'mu')::float8, (m.learner_state->>'v')::float8, (m.learner_state->>'s')::float8,
  (m.learner_state->>'lastAt')::float8, (m.learner_state->>'materialAt')::float8,
  (m.learner_state->>'pg')::float8, (m.learner_state->>'pi')::float8`;
const C = {
  id: 0,
  level: 1,
  attempts: 2,
  correct: 3,
  accuracy: 4,
  firstAttemptAccuracy: 5,
  recentAccuracy: 6,
  score: 7,
  lower: 8,
  upper: 9,
  retrievalStrength: 10,
  materialCompletion: 11,
  trend: 12,
  asOf: 13,
  nextReviewAt: 14,
  sm2: 15,
  stabilityOrInterval: 16,
  lastReviewAt: 17,
  hasState: 18,
  fsrsCardState: 19,
  pCorrect: 20,
  pCorrectLower: 21,
  pCorrectUpper: 22,
  learnerMu: 23,
  learnerV: 24,
  learnerS: 25,
  learnerLastAt: 26,
  learnerMaterialAt: 27,
  learnerPg: 28,
  learnerPi: 29,
} as const;

/**
 * A topic name as JSON.rawJSON of its ASCII JSON text (non-ASCII as \uXXXX), once per loaded taxonomy: the same
 * value, but JSON.stringify copies it verbatim, so the response text stays one-byte in V8. One "—" in a raw name
 * made the whole serialised list a two-byte string, slower to build and to encode to UTF-8 (microbenchmark of a
 * 319-entry list, stringify + Buffer.from: 1.6-2.1 ms two-byte, 1.2-1.6 ms with ASCII raw names).
 */
const rawNames = new WeakMap<Topic, unknown>();
const rawJSON = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;
function rawName(t: Topic): unknown {
  let out = rawNames.get(t);
  if (out === undefined) {
    out = rawJSON(asciiJson(t.name));
    rawNames.set(t, out);
  }
  return out;
}

/**
 * One page of the mastery list's rows (routes/mastery.ts masteryEntry shapes them), from a lean positional row (rowMode 'array': ~20 scalar
 * columns, no jsonb for the driver to JSON.parse); name, level, parent and board
 * weight from the in-memory taxonomy. Order: topic level, then topic id bytewise (COLLATE "C"), the order a cursor
 * resumes from. Integration-tested against the topic view (full row) on known rows.
 */
export async function masteryListPage(
  pg: Pool,
  user: string,
  opts: {
    level?: number;
    parent?: string;
    after?: MasteryCursor;
    limit: number;
    nowMs: number;
  },
): Promise<MasteryPage> {
  let index = await topicIndex(pg);
  const where = ['m.user_id = $1'];
  const values: unknown[] = [user];
  if (opts.level !== undefined) {
    values.push(opts.level);
    where.push(`m.topic_level = $${values.length}`);
  }
  if (opts.parent !== undefined) {
    values.push((index.children.get(opts.parent) ?? []).map((t) => t.id));
    where.push(`m.topic_id = ANY($${values.length}::text[])`);
  }
  if (opts.after !== undefined) {
    values.push(opts.after.level, opts.after.topicId);
    where.push(`(m.topic_level, m.topic_id COLLATE "C") > ($${values.length - 1}, $${values.length})`);
  }
  values.push(opts.limit + 1);
  const { rows } = await prepared<unknown[]>(
    pg,
    `SELECT ${LIST_COLUMNS} FROM topic_mastery m WHERE ${where.join(' AND ')}
     ORDER BY m.topic_level, m.topic_id COLLATE "C" LIMIT $${values.length}`,
    values,
    'array',
  );
  const n = Math.min(rows.length, opts.limit);
  // topic_mastery references topics: an id missing from the index means the taxonomy changed since it was loaded.
  for (let i = 0; i < n; i++) {
    if (!index.byId.has(rows[i]![C.id] as string)) {
      index = await topicIndex(pg, Date.now(), true);
      break;
    }
  }
  const out: MasteryListRow[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const t = index.byId.get(r[C.id] as string);
    if (!t) continue;
    out.push({
      topicId: t.id,
      name: rawName(t),
      level: t.level,
      parentId: t.parentId,
      boardWeight: t.boardWeight,
      attempts: r[C.attempts] as number,
      correct: r[C.correct] as number,
      accuracy: r[C.accuracy] as number | null,
      firstAttemptAccuracy: r[C.firstAttemptAccuracy] as number | null,
      recentAccuracy: r[C.recentAccuracy] as number | null,
      score: r[C.score] as number,
      lower: r[C.lower] as number,
      upper: r[C.upper] as number,
      retrievalStrength: r[C.retrievalStrength] as number,
      materialCompletion: r[C.materialCompletion] as number,
      pCorrect:
        r[C.pCorrect] == null
          ? null
          : {
              p: Number(r[C.pCorrect]),
              lower: Number(r[C.pCorrectLower]),
              upper: Number(r[C.pCorrectUpper]),
            },
      learner:
        r[C.learnerMu] == null
          ? null
          : {
              mu: r[C.learnerMu] as number,
              v: r[C.learnerV] as number,
              s: r[C.learnerS] as number,
              lastAt: (r[C.learnerLastAt] as number | null) ?? null,
              materialAt: (r[C.learnerMaterialAt] as number | null) ?? null,
              pg: (r[C.learnerPg] as number | null) ?? 0,
              pi: (r[C.learnerPi] as number | null) ?? 0,
            },
      trend: (r[C.trend] as string | null) ?? null,
      nextReviewAt: iso(r[C.nextReviewAt]),
      asOf: iso(r[C.asOf]),
      scheduler: r[C.sm2] === true ? 'sm2' : 'fsrs',
      current: recallNow(r, opts.nowMs),
    });
  }
  const last = rows[n - 1];
  return {
    rows: out,
    next:
      rows.length > opts.limit && last ? { level: Number(last[C.level]), topicId: String(last[C.id]) } : null,
  };
}

/** `current` of a list row: masteryNow (the domain's recall functions) on the columns it reads. */
function recallNow(r: unknown[], nowMs: number): { retrievalStrength: number; score: number } | null {
  if (r[C.hasState] !== true) return null;
  const sm2 = r[C.sm2] === true;
  const a = r[C.stabilityOrInterval] === null ? undefined : (r[C.stabilityOrInterval] as number);
  const lastReviewAt = r[C.lastReviewAt] === null ? undefined : (r[C.lastReviewAt] as number);
  const current = masteryNow(
    {
      scheduler: sm2 ? 'sm2' : 'fsrs',
      score: r[C.score] as number,
      retrievalStrength: r[C.retrievalStrength] as number,
      sm2State: sm2 ? ({ intervalDays: a, lastReviewAt } as Sm2State) : null,
      fsrsState: sm2 ? null : ({ stability: a, lastReviewAt, state: r[C.fsrsCardState] } as FsrsState),
    },
    nowMs,
  );
  return current;
}

export type SummaryTopic = {
  topicId: string;
  name: string;
  score: number;
  trend: string | null;
  attempts: number;
  /** Learner model v2 P(correct) as of the row's last event (null on rows without one). */
  pCorrect: number | null;
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
    /** Sum of p_correct over the group's rows that have one, and how many have one. */
    pCorrectSum: number;
    pCorrectN: number;
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
         SELECT topic_id, mastery_score, trend, attempts, p_correct FROM topic_mastery
         WHERE user_id = $1 AND topic_level = 2 AND attempts > 0)
       (SELECT 'g' AS k, NULL AS topic_id,
          CASE WHEN mastery_score >= $2 THEN 'mastered' WHEN mastery_score >= $3 THEN 'developing' ELSE 'weak' END
            AS band, trend, count(*)::float8 AS n, sum(mastery_score) AS score, sum(attempts)::float8 AS attempts,
          sum(p_correct) AS pc, count(p_correct)::float8 AS pcn
        FROM l GROUP BY 3, 4)
       UNION ALL
       (SELECT 'w', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
        FROM l ORDER BY mastery_score, topic_id COLLATE "C" LIMIT 3)
       UNION ALL
       (SELECT 's', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
        FROM l ORDER BY mastery_score DESC, topic_id COLLATE "C" DESC LIMIT 3)
       UNION ALL
       (SELECT 'y', topic_id, NULL, trend, 1, mastery_score, attempts, p_correct, 1
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
        pCorrectSum: Number(r.pc ?? 0),
        pCorrectN: Number(r.pcn ?? 0),
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
      pCorrect: numOrNull(r.pc),
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

export async function cohortExists(pg: Pool, cohort: string): Promise<boolean> {
  const { rows } = await prepared(pg, 'SELECT 1 FROM cohorts WHERE id = $1', [cohort]);
  return rows.length > 0;
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

export type CohortLeafSums = {
  studied: number;
  scoreSum: number;
  below: number;
  recentSum: number;
  recentN: number;
};

/** Per leaf topic over `members`: students with a row, sum of mastery, rows below 0.8, recent accuracy sums. */
export async function cohortLeafMastery(pg: Pool, members: string[]): Promise<Map<string, CohortLeafSums>> {
  const { rows } = await prepared<Raw>(
    pg,
    `SELECT topic_id, count(*)::float8 AS n, sum(mastery_score) AS s, count(*) FILTER (WHERE mastery_score < 0.8)::float8 AS b,
            sum(recent_accuracy) AS rs, count(recent_accuracy)::float8 AS rn
     FROM topic_mastery WHERE user_id = ANY($1::text[]) AND topic_level = 2 GROUP BY topic_id`,
    [members],
  );
  return new Map(
    rows.map((r) => [
      String(r.topic_id),
      {
        studied: Number(r.n),
        scoreSum: Number(r.s),
        below: Number(r.b),
        recentSum: Number(r.rs ?? 0),
        recentN: Number(r.rn),
      },
    ]),
  );
}
