import type { Pool } from '../../shared/postgres.ts';
import { iso, ms, prepared, type Raw } from './statements.ts';
import { topicIndex } from './taxonomy.ts';

/** The review-schedule read model: a student's leaf topics by next review (topic_mastery.next_review_at). */

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
