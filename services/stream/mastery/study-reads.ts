/**
 * The per-student read models of postgres/075 (student_study_days, student_materials), maintained by the mastery
 * processor in its batch transaction from the events it applies, so the knowledge-gaps and exam-readiness
 * endpoints read PostgreSQL only. `StudyReads` accumulates (pure; the live batch, the rebuild's whole drain and the
 * backfill from ClickHouse all use it); `writeStudyReads` adds a batch's sums to the stored rows (idempotence comes
 * from the processor: only events it claimed for the first time reach it).
 */
import type { PoolClient } from '../../shared/postgres.ts';
import type { MasteryInput } from './decode.ts';

export type StudyDay = {
  userId: string;
  /** UTC day of occurred_at, YYYY-MM-DD. */
  day: string;
  events: number;
  questions: number;
  correct: number;
  firstAttempts: number;
  firstAttemptCorrect: number;
  answerMs: number;
  materialActiveMs: number;
};

export type StudyMaterial = { userId: string; materialId: string; topicIds: string[]; progress: number };

const DAY_MS = 86_400_000;
export const utcDayOf = (ms: number): string =>
  new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const key = (a: string, b: string) => `${a}\u0000${b}`;

/** Sums of applied events per (student, day) and the highest progress per (student, material). */
export class StudyReads {
  readonly days = new Map<string, StudyDay>();
  readonly materials = new Map<string, StudyMaterial>();

  /** The (student, day) row, created empty when missing. */
  day(userId: string, day: string): StudyDay {
    const k = key(userId, day);
    let d = this.days.get(k);
    if (!d) {
      d = {
        userId,
        day,
        events: 0,
        questions: 0,
        correct: 0,
        firstAttempts: 0,
        firstAttemptCorrect: 0,
        answerMs: 0,
        materialActiveMs: 0,
      };
      this.days.set(k, d);
    }
    return d;
  }

  add(v: MasteryInput): void {
    const d = this.day(v.userId, utcDayOf(v.occurredAt));
    d.events++;
    if (v.kind === 'attempt') {
      d.questions++;
      if (v.attempt.correct) d.correct++;
      if (v.attempt.attemptNumber === 1) {
        d.firstAttempts++;
        if (v.attempt.correct) d.firstAttemptCorrect++;
      }
      d.answerMs += Math.round(v.attempt.responseTimeMs ?? 0);
      return;
    }
    d.materialActiveMs += Math.round(v.activeMs ?? 0);
    const mk = key(v.userId, v.materialId);
    const m = this.materials.get(mk);
    if (!m)
      this.materials.set(mk, {
        userId: v.userId,
        materialId: v.materialId,
        topicIds: [...v.topicIds],
        progress: v.progress,
      });
    else if (v.progress > m.progress) m.progress = v.progress;
  }

  get empty(): boolean {
    return this.days.size === 0;
  }
}

const byKey = <T>(map: ReadonlyMap<string, T>): T[] =>
  [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * Adds the sums to the stored rows (creating missing ones) and raises material progress. Rows in key order, so
 * concurrent writers (two instances of the processor, a replay beside live) lock in the same order.
 */
export async function writeStudyReads(client: PoolClient, reads: StudyReads): Promise<void> {
  if (reads.empty) return;
  const days = byKey(reads.days);
  await client.query(
    `INSERT INTO student_study_days AS s (user_id, day, events, questions, correct, first_attempts,
       first_attempt_correct, answer_ms, material_active_ms)
     SELECT * FROM unnest($1::text[], $2::date[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[],
       $8::bigint[], $9::bigint[])
     ON CONFLICT (user_id, day) DO UPDATE SET
       events = s.events + EXCLUDED.events,
       questions = s.questions + EXCLUDED.questions,
       correct = s.correct + EXCLUDED.correct,
       first_attempts = s.first_attempts + EXCLUDED.first_attempts,
       first_attempt_correct = s.first_attempt_correct + EXCLUDED.first_attempt_correct,
       answer_ms = s.answer_ms + EXCLUDED.answer_ms,
       material_active_ms = s.material_active_ms + EXCLUDED.material_active_ms`,
    [
      days.map((d) => d.userId),
      days.map((d) => d.day),
      days.map((d) => d.events),
      days.map((d) => d.questions),
      days.map((d) => d.correct),
      days.map((d) => d.firstAttempts),
      days.map((d) => d.firstAttemptCorrect),
      days.map((d) => d.answerMs),
      days.map((d) => d.materialActiveMs),
    ],
  );
  if (reads.materials.size === 0) return;
  const materials = byKey(reads.materials);
  await client.query(
    `INSERT INTO student_materials AS s (user_id, material_id, topic_ids, progress)
     SELECT u, m, string_to_array(t, E'\\x1f'), p FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) AS x(u, m, t, p)
     ON CONFLICT (user_id, material_id) DO UPDATE SET progress = GREATEST(s.progress, EXCLUDED.progress)`,
    [
      materials.map((m) => m.userId),
      materials.map((m) => m.materialId),
      materials.map((m) => m.topicIds.join('\u001f')),
      materials.map((m) => m.progress),
    ],
  );
}

/** Writes whole rows into empty tables (rebuild shadow, backfill after a delete), in chunks. */
export async function insertStudyReads(client: PoolClient, reads: StudyReads, chunk = 5000): Promise<void> {
  const days = byKey(reads.days);
  const materials = byKey(reads.materials);
  for (let i = 0; i < Math.max(days.length, materials.length); i += chunk) {
    const part = new StudyReads();
    for (const d of days.slice(i, i + chunk)) part.days.set(key(d.userId, d.day), d);
    for (const m of materials.slice(i, i + chunk)) part.materials.set(key(m.userId, m.materialId), m);
    await writeStudyReads(client, part);
  }
}
