/**
 * The topic reviews of postgres/088 (topic_reviews, behind review adherence) computed from the raw history in
 * ClickHouse with the mastery processor's rules (services/stream/mastery/decode.ts and review-days.ts): answers
 * whose topic ids all exist in the taxonomy, on each of their leaf topics; per (student, leaf topic, UTC day) the
 * first answer in event time (occurred_at with its milliseconds, then event id), right when is_correct and an answer
 * was selected. The schedule after each is then recomputed by the same code as the processor's.
 *
 *  - `backfillReviewDays` (run by `studystream backfill-study-reads`) replaces the table with it, under the same
 *    conditions as the study reads' backfill (study-reads.ts): the mastery processor caught up or stopped.
 *  - `compareReviewDays` (`studystream reconcile`) reports the students whose stored rows differ from it.
 */
import { chQuery, createClickHouse } from '../shared/clickhouse.ts';
import type { SharedConfig } from '../shared/config.ts';
import type { Pool } from '../shared/postgres.ts';
import { sql } from '../shared/sql.ts';
import { insertReviewDays, readReviewDays, ReviewDays, type StoredReview } from '../stream/index.ts';
import { replaceWhileMasteryPaused, StudentDiff, taxonomy } from './study-reads.ts';

/** The reviews the history implies (optionally for one student). */
export async function reviewDaysFromHistory(
  cfg: SharedConfig,
  pool: Pool,
  user: string | null = null,
): Promise<ReviewDays> {
  const t = await taxonomy(pool);
  const applies = sql`arrayAll(x -> has(${t.all.length > 0 ? t.all : ['']}, x), topic_ids)
    AND hasAny(topic_ids, ${t.leaves.length > 0 ? t.leaves : ['']})`;
  const who = user === null ? sql`1 = 1` : sql`user_id = ${user}`;
  const answers = sql`SELECT user_id AS u, topic, toUInt64(occurred_at) * 1000 + occurred_ms AS t,
      toString(event_id) AS id, if(is_correct = 1 AND selected_answer != '', 1, 0) AS c
    FROM question_attempts ARRAY JOIN topic_ids AS topic
    WHERE ${who} AND ${applies} AND has(${t.leaves.length > 0 ? t.leaves : ['']}, topic)`;
  const ch = createClickHouse(cfg);
  const reviews = new ReviewDays();
  try {
    // The first answer of each (student, topic, day): its time, then the smallest event id at that time.
    const rows = await chQuery<{ u: string; topic: string; t: string; first_id: string; first_c: string }>(
      ch,
      sql`SELECT u, topic, t, min(id) AS first_id, argMin(c, id) AS first_c FROM (${answers})
          WHERE (u, topic, t) IN (SELECT u, topic, min(t) FROM (${answers}) GROUP BY u, topic, intDiv(t, 86400000))
          GROUP BY u, topic, t`.text,
    );
    for (const r of rows)
      reviews.answer(String(r.u), String(r.topic), {
        at: Number(r.t),
        id: String(r.first_id),
        correct: Number(r.first_c) === 1,
      });
    return reviews;
  } finally {
    await ch.close();
  }
}

/** Replaces topic_reviews with the history's (the processor's positions locked meanwhile, as the study reads'). */
export async function backfillReviewDays(
  cfg: SharedConfig,
  pool: Pool,
  masteryGroup: string,
): Promise<{ reviews: number; topics: number }> {
  const reviews = await reviewDaysFromHistory(cfg, pool);
  await replaceWhileMasteryPaused(pool, masteryGroup, ['topic_reviews'], (client) =>
    insertReviewDays(client, reviews),
  );
  let n = 0;
  for (const t of reviews.topics.values()) n += t.days.size;
  return { reviews: n, topics: reviews.topics.size };
}

export type ReviewDaysComparison = { students: number; differing: number; examples: string[] };

const rowText = (r: StoredReview) =>
  [r.day, r.at, r.id, r.correct, r.state.s, r.state.d, r.dueAt, r.nextDay].join(',');

/** Pure comparison: students with a review row missing, extra or different. */
export function diffReviewDays(
  expected: readonly StoredReview[],
  stored: readonly StoredReview[],
  maxExamples = 10,
): ReviewDaysComparison {
  const byKey = (rows: readonly StoredReview[]) =>
    new Map(rows.map((r) => [`${r.userId}\u0000${r.topicId} day ${r.day}`, r]));
  const diff = new StudentDiff();
  diff.compare(byKey(expected), byKey(stored), rowText, 'review');
  return diff.result(maxExamples);
}

/** The stored rows against the history's. */
export async function compareReviewDays(cfg: SharedConfig, pool: Pool): Promise<ReviewDaysComparison> {
  const expected = (await reviewDaysFromHistory(cfg, pool)).chains();
  return diffReviewDays(expected, await readReviewDays(pool));
}
