/**
 * The per-student read models (postgres/075: student_study_days, student_materials) computed from the raw history
 * in ClickHouse with the mastery processor's own rules (services/stream/mastery/decode.ts): answers and material
 * events whose topic ids all exist in the taxonomy and include a leaf; material events only with a progress
 * value (clamped to 0..1); a material's topics are its leaf topics, sorted. One row per event_id in the raw
 * tables (the sink's pre-insert check, clickhouse/001).
 *
 *  - `backfillStudyReads` (`studystream backfill-study-reads`) replaces the tables with it, for data that reached
 *    the stores before postgres/075 or without the processor (the API benchmark's dataset). Run it, like the
 *    ClickHouse backfills, when the mastery processor has applied what the sink stored (caught up, or stopped
 *    after both drained): it holds the processor's position rows locked while it writes, so no batch lands in
 *    between, but an event the sink stored and the processor has not applied yet would be counted by both.
 *  - `compareStudyReads` (`studystream reconcile`) reports the students whose stored rows differ from it.
 */
import { chQuery, createClickHouse } from '../shared/clickhouse.ts';
import type { SharedConfig } from '../shared/config.ts';
import { withTransaction, type Pool, type PoolClient } from '../shared/postgres.ts';
import { sql } from '../shared/sql.ts';
import { insertStudyReads, StudyReads, type StudyDay, type StudyMaterial } from '../stream/index.ts';

type Taxonomy = { all: string[]; leaves: string[] };

/** Every topic id and the leaves (the mastery decoder's rules: all ids known, at least one leaf). */
export async function taxonomy(pool: Pool): Promise<Taxonomy> {
  const { rows } = await pool.query<{ id: string; leaf: boolean }>(
    `SELECT t.id, NOT EXISTS (SELECT 1 FROM topics c WHERE c.parent_id = t.id) AS leaf FROM topics t ORDER BY t.id`,
  );
  return { all: rows.map((r) => r.id), leaves: rows.filter((r) => r.leaf).map((r) => r.id) };
}

const n = (v: unknown): number => (v == null ? 0 : Number(v));
const key = (a: string, b: string) => `${a}\u0000${b}`;

/** The read models the history implies (optionally for one student). */
export async function studyReadsFromHistory(
  cfg: SharedConfig,
  pool: Pool,
  user: string | null = null,
): Promise<StudyReads> {
  const t = await taxonomy(pool);
  const leafSet = new Set(t.leaves);
  const applies = sql`arrayAll(x -> has(${t.all.length > 0 ? t.all : ['']}, x), topic_ids)
    AND hasAny(topic_ids, ${t.leaves.length > 0 ? t.leaves : ['']})`;
  const who = user === null ? sql`1 = 1` : sql`user_id = ${user}`;
  const ch = createClickHouse(cfg);
  const reads = new StudyReads();
  const day = (u: string, d: string): StudyDay => reads.day(u, d);
  try {
    const attempts = await chQuery<Record<string, unknown>>(
      ch,
      sql`SELECT user_id AS u, toString(toDate(occurred_at)) AS d, count() AS n, sum(is_correct) AS c,
            sum(attempt_number = 1) AS fa, sum(attempt_number = 1 AND is_correct = 1) AS fac,
            sum(toInt64(ifNull(time_to_answer_ms, 0))) AS ms
          FROM question_attempts WHERE ${who} AND ${applies}
          GROUP BY u, d`.text,
    );
    for (const r of attempts) {
      const row = day(String(r.u), String(r.d));
      row.events += n(r.n);
      row.questions += n(r.n);
      row.correct += n(r.c);
      row.firstAttempts += n(r.fa);
      row.firstAttemptCorrect += n(r.fac);
      row.answerMs += n(r.ms);
    }
    const materialDays = await chQuery<Record<string, unknown>>(
      ch,
      sql`SELECT user_id AS u, toString(toDate(occurred_at)) AS d, count() AS n,
            sum(toInt64(ifNull(active_ms, 0))) AS ms
          FROM material_interactions WHERE ${who} AND ${applies} AND isNotNull(progress)
          GROUP BY u, d`.text,
    );
    for (const r of materialDays) {
      const row = day(String(r.u), String(r.d));
      row.events += n(r.n);
      row.materialActiveMs += n(r.ms);
    }
    const materials = await chQuery<Record<string, unknown>>(
      ch,
      sql`SELECT user_id AS u, material_id AS m, any(topic_ids) AS t, max(progress) AS p
          FROM material_interactions WHERE ${who} AND ${applies} AND isNotNull(progress)
          GROUP BY u, m`.text,
    );
    for (const r of materials) {
      const topicIds = [...new Set(((r.t as string[] | null) ?? []).filter((id) => leafSet.has(id)))].sort();
      const m: StudyMaterial = {
        userId: String(r.u),
        materialId: String(r.m),
        topicIds,
        progress: Math.min(1, Math.max(0, n(r.p))),
      };
      reads.materials.set(key(m.userId, m.materialId), m);
    }
    return reads;
  } finally {
    await ch.close();
  }
}

/**
 * Replaces the read models with the history's (see the module comment for when). The mastery processor's
 * consumer_positions rows are locked for the whole transaction, which pauses its batches.
 */
export async function backfillStudyReads(
  cfg: SharedConfig,
  pool: Pool,
  masteryGroup: string,
): Promise<{ days: number; materials: number; students: number }> {
  const reads = await studyReadsFromHistory(cfg, pool);
  await replaceWhileMasteryPaused(pool, masteryGroup, ['student_study_days', 'student_materials'], (client) =>
    insertStudyReads(client, reads),
  );
  return {
    days: reads.days.size,
    materials: reads.materials.size,
    students: new Set([...reads.days.values()].map((d) => d.userId)).size,
  };
}

/**
 * Empties `tables` and writes their new rows in one transaction that holds the mastery processor's consumer_positions
 * rows locked (which pauses its batches: each locks them first).
 */
export async function replaceWhileMasteryPaused(
  pool: Pool,
  masteryGroup: string,
  tables: readonly ('student_study_days' | 'student_materials' | 'topic_reviews')[],
  write: (client: PoolClient) => Promise<void>,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      'SELECT 1 FROM consumer_positions WHERE consumer_group = $1 ORDER BY topic, partition FOR UPDATE',
      [masteryGroup],
    );
    for (const t of tables) await client.query(`DELETE FROM ${t}`);
    await write(client);
  });
}

/** Students whose rows differ between the history's and the stored, over one or more tables. */
export class StudentDiff {
  private readonly students = new Set<string>();
  private readonly differing = new Map<string, string>();

  /** Rows keyed `<user>\u0000<rest>` (`rest` names the row in the example), compared by `text`. */
  compare<T extends { userId: string }>(
    expected: ReadonlyMap<string, T>,
    stored: ReadonlyMap<string, T>,
    text: (v: T) => string,
    what: string,
  ): void {
    for (const [k, v] of expected) {
      this.students.add(v.userId);
      const other = stored.get(k);
      if (!other || text(other) !== text(v))
        if (!this.differing.has(v.userId))
          this.differing.set(
            v.userId,
            `${v.userId}: ${what} ${k.split('\u0000')[1]} ${text(v)} vs ${other ? text(other) : 'missing'}`,
          );
    }
    for (const [k, v] of stored) {
      this.students.add(v.userId);
      if (!expected.has(k) && !this.differing.has(v.userId))
        this.differing.set(v.userId, `${v.userId}: ${what} ${k.split('\u0000')[1]} not in the history`);
    }
  }

  result(maxExamples: number): { students: number; differing: number; examples: string[] } {
    return {
      students: this.students.size,
      differing: this.differing.size,
      examples: [...this.differing.keys()]
        .sort()
        .slice(0, maxExamples)
        .map((u) => this.differing.get(u) as string),
    };
  }
}

export type StudyReadsComparison = {
  students: number;
  differing: number;
  examples: string[];
};

/** Per student, the stored rows against the history's; a student with any differing row counts once. */
export async function compareStudyReads(
  cfg: SharedConfig,
  pool: Pool,
  maxExamples = 10,
): Promise<StudyReadsComparison> {
  const expected = await studyReadsFromHistory(cfg, pool);
  const stored = new StudyReads();
  const { rows: days } = await pool.query<Record<string, unknown>>(
    `SELECT user_id, to_char(day, 'YYYY-MM-DD') AS day, events, questions, correct, first_attempts,
            first_attempt_correct, answer_ms, material_active_ms FROM student_study_days`,
  );
  for (const r of days) {
    const d: StudyDay = {
      userId: String(r.user_id),
      day: String(r.day),
      events: n(r.events),
      questions: n(r.questions),
      correct: n(r.correct),
      firstAttempts: n(r.first_attempts),
      firstAttemptCorrect: n(r.first_attempt_correct),
      answerMs: n(r.answer_ms),
      materialActiveMs: n(r.material_active_ms),
    };
    stored.days.set(key(d.userId, d.day), d);
  }
  const { rows: mats } = await pool.query<{
    user_id: string;
    material_id: string;
    topic_ids: string[];
    progress: number;
  }>('SELECT user_id, material_id, topic_ids, progress FROM student_materials');
  for (const r of mats)
    stored.materials.set(key(r.user_id, r.material_id), {
      userId: r.user_id,
      materialId: r.material_id,
      topicIds: r.topic_ids,
      progress: Number(r.progress),
    });
  return diffStudyReads(expected, stored, maxExamples);
}

const dayText = (d: StudyDay) =>
  [
    d.events,
    d.questions,
    d.correct,
    d.firstAttempts,
    d.firstAttemptCorrect,
    d.answerMs,
    d.materialActiveMs,
  ].join(',');
const materialText = (m: StudyMaterial) => `${m.topicIds.join('|')}@${m.progress}`;

/** Pure comparison (unit-tested): students with a row missing, extra or different in either table. */
export function diffStudyReads(
  expected: StudyReads,
  stored: StudyReads,
  maxExamples = 10,
): StudyReadsComparison {
  const diff = new StudentDiff();
  diff.compare(expected.days, stored.days, dayText, 'day');
  diff.compare(expected.materials, stored.materials, materialText, 'material');
  return diff.result(maxExamples);
}
