import type { RowReader } from '../../shared/clickhouse.ts';
import type { Pool } from '../../shared/postgres.ts';
import { raw, sql } from '../../shared/sql.ts';
import { boardWeightScale, topicGraph, type TopicGraph, type TopicNode } from '../../domain/gaps.ts';
import { addDays } from '../compute.ts';
import { PER_STUDENT } from './history.ts';

/**
 * Reads behind the knowledge-gaps and exam-readiness endpoints: the exam's leaf topics with their prerequisite
 * graph (PostgreSQL `topics`, `topic_relationships`, in memory per process like the taxonomy index), the
 * student's pace and study totals (ClickHouse per-student rollups) and the materials the student opened
 * (ClickHouse raw material_interactions, keyed by user). Values reach SQL as $n parameters (PostgreSQL) or
 * through services/shared/sql.ts (ClickHouse), after the route's zod validation.
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

/** Mean answer time (minutes per answered question) over the last 90 days; null without answers. */
export async function minutesPerQuestion(ch: RowReader, user: string, today: string): Promise<number | null> {
  const [row] = await ch.rows<Record<string, unknown>>(
    sql`SELECT sum(questions) AS q, sum(answer_ms) AS ms
        FROM daily_user_topic_sums
        PREWHERE user_id = ${user}
        WHERE day >= toDate(${addDays(today, -89)}) AND day <= toDate(${today})
        ${raw(PER_STUDENT)}`.text,
  );
  const q = num(row?.q);
  return q > 0 ? num(row?.ms) / q / 60_000 : null;
}

export type OpenedMaterial = { materialId: string; type: string; topicIds: string[]; progress: number };

/** Every material the student opened, with the highest progress reached (0..1). */
export async function openedMaterials(ch: RowReader, user: string): Promise<OpenedMaterial[]> {
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT material_id AS m, any(material_type) AS t, any(topic_ids) AS topics, max(ifNull(progress, 0)) AS p
        FROM material_interactions
        PREWHERE user_id = ${user}
        WHERE material_id != ''
        GROUP BY material_id ORDER BY material_id
        ${raw(PER_STUDENT)}`.text,
  );
  return rows.map((r) => ({
    materialId: String(r.m),
    type: String(r.t),
    topicIds: (r.topics as string[] | null) ?? [],
    progress: num(r.p),
  }));
}

export type StudyTotals = {
  /** First day with any activity, or null. */
  firstDay: string | null;
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  activeMinutes: number;
  questions30d: number;
  correct30d: number;
};

/** All-time study totals and the last 30 days' answers, from the per-student daily sums. */
export async function studyTotals(ch: RowReader, user: string, today: string): Promise<StudyTotals> {
  const rows = await ch.rows<Record<string, unknown>>(
    sql`SELECT toString(day) AS d, sum(events) AS events, sum(active_ms) AS active_ms, sum(questions) AS questions,
          sum(correct) AS correct, sum(first_attempts) AS fa, sum(first_attempt_correct) AS fac
        FROM daily_user_sums
        PREWHERE user_id = ${user}
        WHERE day <= toDate(${today})
        GROUP BY day
        ${raw(PER_STUDENT)}`.text,
  );
  const from30 = addDays(today, -29);
  const out: StudyTotals = {
    firstDay: null,
    questions: 0,
    correct: 0,
    firstAttempts: 0,
    firstAttemptCorrect: 0,
    activeMinutes: 0,
    questions30d: 0,
    correct30d: 0,
  };
  for (const r of rows) {
    const day = String(r.d);
    if (num(r.events) > 0 && (out.firstDay === null || day < out.firstDay)) out.firstDay = day;
    out.questions += num(r.questions);
    out.correct += num(r.correct);
    out.firstAttempts += num(r.fa);
    out.firstAttemptCorrect += num(r.fac);
    out.activeMinutes += num(r.active_ms) / 60_000;
    if (day >= from30) {
      out.questions30d += num(r.questions);
      out.correct30d += num(r.correct);
    }
  }
  return out;
}
