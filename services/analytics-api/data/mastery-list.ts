import type { Pool } from '../../shared/postgres.ts';
import {
  learnerColumns,
  learnerOf,
  RECALL_WIDTH,
  recallColumns,
  recallOf,
  recallSchedulerOf,
} from '../../stream/index.ts';
import { decayedMastery, type MasteryRow } from './mastery.ts';
import { iso, ms, prepared } from './statements.ts';
import { topicIndex, type Topic } from './taxonomy.ts';

/**
 * The mastery list's read model: one page of a student's topic_mastery rows as lean positional rows (the list's
 * hot path: ~250 rows per full list). views/mastery-entry.ts masteryEntry shapes them.
 */

/** A position in the mastery list's order (topic level, then topic id bytewise): what a cursor encodes. */
export type MasteryCursor = { level: number; topicId: string };

/**
 * A mastery row as the list reads it: MasteryRow's figures without the scheduler's recall inputs; instead
 * `current`, what masteryNow gives at the request time. The name is the topic's pre-encoded JSON (rawName).
 */
export type MasteryListRow = Omit<MasteryRow, 'name' | 'recall'> & {
  name: unknown;
  current: { retrievalStrength: number; score: number } | null;
};

export type MasteryPage = {
  /** The rows, in list order. */
  rows: MasteryListRow[];
  /** Where the next page starts, or null when this page holds the last entry. */
  next: MasteryCursor | null;
  /**
   * Whether `rows` hold every leaf row of the student (no cursor, parent or other level, the last page, no row
   * dropped): then learner.ts poolOfLeaves gives the student's pooling sums from them, without a read.
   */
  allLeaves: boolean;
};

/**
 * The list's columns, positional (rowMode 'array': no object per row). Timestamps arrive as epoch ms, the
 * scheduler's recall inputs and the learner state as the numbers their readers take (the mastery processor's
 * projections: no jsonb for the driver to JSON.parse).
 */
const LIST_COLUMNS = `m.topic_id, m.topic_level, m.attempts, m.correct, m.accuracy, m.first_attempt_accuracy,
  m.recent_accuracy, m.mastery_score, m.mastery_lower, m.mastery_upper, m.retrieval_strength, m.material_completion,
  m.trend, ${ms('m.as_of')}, ${ms('m.next_review_at')}, m.p_correct, m.p_correct_lower, m.p_correct_upper,
  ${recallColumns('m')}, ${learnerColumns('m')}`;
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
  pCorrect: 15,
  pCorrectLower: 16,
  pCorrectUpper: 17,
  /** recallColumns, then learnerColumns. */
  recall: 18,
  learner: 18 + RECALL_WIDTH,
} as const;

/** JSON of a string with every non-ASCII character escaped (\uXXXX): the same value, one-byte in V8. */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

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
 * Whether a page asked for with these options can hold every leaf row of the student: a first page (no cursor), of
 * every parent, at level 2 or every level. It does when it is also the last page (MasteryPage.allLeaves).
 */
export function pageMayHoldEveryLeaf(opts: { level?: number; parent?: string; after?: unknown }): boolean {
  return (
    opts.after === undefined && opts.parent === undefined && (opts.level === undefined || opts.level === 2)
  );
}

/**
 * One page of the mastery list's rows, from a lean positional row (rowMode 'array': scalar columns, no jsonb for
 * the driver to JSON.parse); name, level, parent and board weight from the in-memory taxonomy. Order: topic level,
 * then topic id bytewise (COLLATE "C"), the order a cursor resumes from. Integration-tested against the topic view
 * (full row) on known rows.
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
    const score = r[C.score] as number;
    const retrievalStrength = r[C.retrievalStrength] as number;
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
      score,
      lower: r[C.lower] as number,
      upper: r[C.upper] as number,
      retrievalStrength,
      materialCompletion: r[C.materialCompletion] as number,
      pCorrect:
        r[C.pCorrect] == null
          ? null
          : {
              p: Number(r[C.pCorrect]),
              lower: Number(r[C.pCorrectLower]),
              upper: Number(r[C.pCorrectUpper]),
            },
      learner: learnerOf(r, C.learner),
      trend: (r[C.trend] as string | null) ?? null,
      nextReviewAt: iso(r[C.nextReviewAt]),
      asOf: iso(r[C.asOf]),
      scheduler: recallSchedulerOf(r, C.recall),
      current: decayedMastery(score, retrievalStrength, recallOf(r, C.recall), opts.nowMs),
    });
  }
  const last = rows[n - 1];
  return {
    rows: out,
    next:
      rows.length > opts.limit && last ? { level: Number(last[C.level]), topicId: String(last[C.id]) } : null,
    allLeaves: pageMayHoldEveryLeaf(opts) && rows.length <= opts.limit && out.length === n,
  };
}
