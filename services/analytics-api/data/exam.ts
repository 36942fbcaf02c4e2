import type { Pool } from '../../shared/postgres.ts';
import {
  boardWeightScale,
  MATERIAL_DONE,
  topicGraph,
  type TopicGraph,
  type TopicNode,
} from '../../domain/gaps.ts';
import { learnerColumns, learnerOf, recallColumns, recallOf, RECALL_WIDTH } from '../../stream/index.ts';
import type { MasteryRow } from './mastery.ts';
import { addDays } from '../compute.ts';

/**
 * Reads behind the knowledge-gaps and exam-readiness endpoints: the exam's leaf topics with their prerequisite
 * graph (PostgreSQL `topics`, `topic_relationships`, in memory per process like the taxonomy index), and the
 * student's study totals, pace and material progress from the per-student read models the mastery processor
 * maintains (postgres/075: student_study_days, student_materials), so a request reads PostgreSQL only (ClickHouse
 * took 13-39 ms per read under load). Values reach SQL as $n parameters, after the route's zod validation.
 */

export type ExamLeaf = {
  id: string;
  name: string;
  system: string;
  discipline: string | null;
  /** Share of the exam (stored weight; leaves sum to 1). */
  share: number;
  /** Seed 0-10 scale (boardWeightScale). */
  weight: number;
};

export type ExamGraph = {
  leaves: ExamLeaf[];
  byId: Map<string, ExamLeaf>;
  graph: TopicGraph;
  systems: Map<string, string>;
};

export const EXAM_GRAPH_TTL_MS = 5 * 60_000;
const graphs = new WeakMap<Pool, { at: number; value: Promise<ExamGraph> }>();

/** The exam's leaf topics (level 2) and their prerequisite graph on the seed's 0-10 weight scale. */
export function examGraph(pg: Pool, nowMs = Date.now()): Promise<ExamGraph> {
  const cached = graphs.get(pg);
  if (cached && nowMs - cached.at < EXAM_GRAPH_TTL_MS) return cached.value;
  const value = loadExamGraph(pg);
  graphs.set(pg, { at: nowMs, value });
  value.catch(() => graphs.delete(pg));
  return value;
}

async function loadExamGraph(pg: Pool): Promise<ExamGraph> {
  const [topics, edges] = await Promise.all([
    pg.query<{
      id: string;
      name: string;
      level: number;
      system: string;
      discipline: string | null;
      w: number;
    }>('SELECT id, name, level, system, discipline, board_weight AS w FROM topics ORDER BY id'),
    pg.query<{ f: string; t: string; s: number }>(
      `SELECT from_topic_id AS f, to_topic_id AS t, strength AS s FROM topic_relationships
       WHERE kind = 'prerequisite' ORDER BY 1, 2`,
    ),
  ]);
  const systems = new Map<string, string>();
  for (const t of topics.rows) if (Number(t.level) === 0) systems.set(t.system, t.name);
  const leafRows = topics.rows.filter((t) => Number(t.level) === 2);
  const scale = boardWeightScale(leafRows.map((t) => Number(t.w)));
  const leaves = leafRows.map((t) => ({
    id: t.id,
    name: t.name,
    system: t.system,
    discipline: t.discipline,
    share: Number(t.w),
    weight: scale(Number(t.w)),
  }));
  const prerequisites = new Map<string, Record<string, number>>();
  for (const e of edges.rows) {
    const into = prerequisites.get(e.t) ?? {};
    into[e.f] = Number(e.s);
    prerequisites.set(e.t, into);
  }
  return {
    leaves,
    byId: new Map(leaves.map((l) => [l.id, l])),
    graph: topicGraph(leaves.map((l) => examNode(l, prerequisites.get(l.id) ?? {}))),
    systems,
  };
}

function examNode(leaf: ExamLeaf, strengths: Record<string, number>): TopicNode {
  return {
    topicId: leaf.id,
    boardExamWeight: leaf.weight,
    prerequisites: Object.keys(strengths),
    prerequisiteStrengths: strengths,
  };
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * A student's exam leaf row (topic_mastery, level 2) as knowledge gaps and exam readiness read it: the figures as of
 * the row's last event, the scheduler's recall inputs (masteryNow and the recall at the exam date) and the learner
 * model's state, both through the mastery processor's read model: MasteryRow's fields that gaps and readiness read.
 */
export type ExamLeafRow = Pick<
  MasteryRow,
  | 'topicId'
  | 'attempts'
  | 'correct'
  | 'recentAccuracy'
  | 'materialCompletion'
  | 'score'
  | 'retrievalStrength'
  | 'recall'
  | 'learner'
>;

const EXAM_FIGURES = 7;
const EXAM_LEARNER_AT = EXAM_FIGURES + RECALL_WIDTH;

/**
 * The student's exam leaf rows, lean: positional scalar columns (rowMode 'array': no object per row, no jsonb for the
 * driver to JSON.parse; the states' numbers come from the read model's SQL projections) instead of the full mastery
 * row. Measured with `bench api-cpu` (README, Benchmarks).
 */
export async function examLeafRows(pg: Pool, user: string): Promise<ExamLeafRow[]> {
  const { rows } = await pg.query<unknown[]>({
    name: 'exam_leaf_rows',
    text: `SELECT m.topic_id, m.attempts, m.correct, m.recent_accuracy, m.material_completion, m.mastery_score,
             m.retrieval_strength, ${recallColumns('m')}, ${learnerColumns('m')}
           FROM topic_mastery m WHERE m.user_id = $1 AND m.topic_level = 2`,
    values: [user],
    rowMode: 'array',
  });
  return rows.map((r) => ({
    topicId: r[0] as string,
    attempts: r[1] as number,
    correct: r[2] as number,
    recentAccuracy: r[3] as number | null,
    materialCompletion: r[4] as number,
    score: r[5] as number,
    retrievalStrength: r[6] as number,
    recall: recallOf(r, EXAM_FIGURES),
    learner: learnerOf(r, EXAM_LEARNER_AT),
  }));
}

export type OpenedMaterial = { materialId: string; topicIds: string[]; progress: number };

/**
 * Every material the student has opened and not yet completed (highest progress reached below MATERIAL_DONE, the
 * learning path's own rule), with that progress (0..1). Completed ones are left in PostgreSQL: on the bench dataset
 * they are 73% of the rows, each a text[] for the driver to parse.
 */
export async function openedMaterials(pg: Pool, user: string): Promise<OpenedMaterial[]> {
  const { rows } = await pg.query<{ m: string; t: string[]; p: number }>({
    name: 'exam_unfinished_materials',
    text: `SELECT material_id AS m, topic_ids AS t, progress AS p FROM student_materials
           WHERE user_id = $1 AND progress < $2::float8 ORDER BY material_id`,
    values: [user, MATERIAL_DONE],
  });
  return rows.map((r) => ({ materialId: r.m, topicIds: r.t, progress: num(r.p) }));
}

export type StudyTotals = {
  /** First day with an answer or material progress, or null. */
  firstDay: string | null;
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  activeMinutes: number;
  questions30d: number;
  correct30d: number;
  /** Mean answer time over the last 90 days (minutes per answer); null without answers. */
  minutesPerQuestion: number | null;
};

/**
 * All-time study totals, the last 30 days' answers and the last 90 days' pace, from the per-student daily sums
 * (postgres/075, maintained by the mastery processor): one indexed range read of the student's rows.
 */
export async function studyTotals(pg: Pool, user: string, today: string): Promise<StudyTotals> {
  const { rows } = await pg.query<Record<string, unknown>>({
    name: 'exam_study_totals',
    text: `SELECT to_char(min(day), 'YYYY-MM-DD') AS first_day, sum(questions) AS q, sum(correct) AS c,
             sum(first_attempts) AS fa, sum(first_attempt_correct) AS fac,
             sum(answer_ms + material_active_ms) AS active_ms,
             sum(questions) FILTER (WHERE day >= $2::date) AS q30, sum(correct) FILTER (WHERE day >= $2::date) AS c30,
             sum(questions) FILTER (WHERE day >= $3::date) AS q90, sum(answer_ms) FILTER (WHERE day >= $3::date) AS ms90
           FROM student_study_days WHERE user_id = $1 AND day <= $4::date`,
    values: [user, addDays(today, -29), addDays(today, -89), today],
  });
  const r = rows[0] ?? {};
  const q90 = num(r.q90);
  return {
    firstDay: r.first_day == null ? null : String(r.first_day),
    questions: num(r.q),
    correct: num(r.c),
    firstAttempts: num(r.fa),
    firstAttemptCorrect: num(r.fac),
    activeMinutes: num(r.active_ms) / 60_000,
    questions30d: num(r.q30),
    correct30d: num(r.c30),
    minutesPerQuestion: q90 > 0 ? num(r.ms90) / q90 / 60_000 : null,
  };
}

export const COHORT_PACE_TTL_MS = 5 * 60_000;
const paces = new WeakMap<Pool, { at: number; value: Promise<number | null> }>();

/**
 * The cohort's measured time per answer (minutes, every student's answers of the last 90 days), for students
 * without answers of their own; per process, refreshed every COHORT_PACE_TTL_MS. Null without any answers.
 */
export async function cohortMinutesPerQuestion(
  pg: Pool,
  today: string,
  nowMs = Date.now(),
): Promise<number | null> {
  // async: a failure to even start the query rejects like a failed query, so a caller's Promise.all still
  // handles the other reads it started (a synchronous throw left them rejected and unhandled).
  const cached = paces.get(pg);
  if (cached && nowMs - cached.at < COHORT_PACE_TTL_MS) return cached.value;
  const value = pg
    .query<{ q: string | null; ms: string | null }>(
      `SELECT sum(questions) AS q, sum(answer_ms) AS ms FROM student_study_days
       WHERE day >= $1::date AND day <= $2::date`,
      [addDays(today, -89), today],
    )
    .then(({ rows }) => {
      const q = num(rows[0]?.q);
      return q > 0 ? num(rows[0]?.ms) / q / 60_000 : null;
    });
  paces.set(pg, { at: nowMs, value });
  value.catch(() => paces.delete(pg));
  return value;
}
