/**
 * The topic reviews of postgres/088 (topic_reviews), behind the cohort metric review adherence
 * (services/domain/review-adherence.ts). The mastery processor keeps them in its batch transaction from the answers
 * it applies; the rebuild's bulk build, the backfill from ClickHouse and reconcile use the same accumulator.
 *
 * `ReviewDays` accumulates, per (student, leaf topic, UTC day), the day's first answer in event time (a minimum:
 * duplicates and arrival order do not matter). `writeReviewDays` merges a batch into the stored rows: for each
 * touched topic it reads the rows from the last review before the batch's earliest day on, keeps the earlier answer
 * per day, recomputes the schedule from that review's stored state and upserts the rows that follow (the topic's
 * topic_mastery row is locked by the processor in the same transaction, so two writers never interleave).
 * `insertReviewDays` writes whole chains into empty tables (rebuild shadow, backfill).
 */
import type { Pool, PoolClient } from '../../shared/postgres.ts';
import {
  dayOfMs,
  isEarlier,
  scheduleReviews,
  type ReviewAnswer,
  type ReviewDay,
  type ScheduledReview,
} from '../../domain/review-adherence.ts';
import type { DailyFsrsState } from '../../domain/fsrs-daily.ts';
import type { MasteryInput } from './decode.ts';

const DAY_MS = 86_400_000;
const key = (a: string, b: string) => `${a}\u0000${b}`;
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const dayNumber = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

type TopicReviews = { userId: string; topicId: string; days: Map<number, ReviewAnswer> };

/** A stored row. */
export type StoredReview = ScheduledReview & { userId: string; topicId: string };

/** First answer per (student, leaf topic, UTC day). */
export class ReviewDays {
  readonly topics = new Map<string, TopicReviews>();

  /** Adds one answer (any order, duplicates allowed). */
  answer(userId: string, topicId: string, a: ReviewAnswer): void {
    const k = key(userId, topicId);
    let t = this.topics.get(k);
    if (!t) {
      t = { userId, topicId, days: new Map() };
      this.topics.set(k, t);
    }
    const day = dayOfMs(a.at);
    const held = t.days.get(day);
    if (held === undefined || isEarlier(a, held)) t.days.set(day, a);
  }

  /** An applied event: answers count (right = correct and not skipped, as mastery.ts counts it). */
  add(v: MasteryInput): void {
    if (v.kind !== 'attempt') return;
    const a = { at: v.occurredAt, id: v.eventId, correct: v.attempt.correct && v.attempt.answered !== false };
    for (const t of v.topicIds) this.answer(v.userId, t, a);
  }

  get empty(): boolean {
    return this.topics.size === 0;
  }

  /** Every topic's whole chain (for an empty table: the accumulator holds all of each topic's reviews). */
  chains(): StoredReview[] {
    const out: StoredReview[] = [];
    for (const [, t] of [...this.topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      for (const r of scheduleReviews(sortedDays(t.days)))
        out.push({ ...r, userId: t.userId, topicId: t.topicId });
    return out;
  }
}

function sortedDays(days: ReadonlyMap<number, ReviewAnswer>): ReviewDay[] {
  return [...days].sort(([a], [b]) => a - b).map(([day, a]) => ({ ...a, day }));
}

/**
 * The rows to write for one topic, given its stored rows from the last review before the batch's earliest day on
 * (ascending) and the batch's first answers per day: none when the batch changes no day's first answer. Pure.
 */
export function mergeTopic(
  stored: readonly StoredReview[],
  batch: ReadonlyMap<number, ReviewAnswer>,
): ScheduledReview[] {
  const from = Math.min(...batch.keys());
  const prev = stored.length > 0 && stored[0]!.day < from ? stored[0]! : null;
  const days = new Map<number, ReviewAnswer>();
  for (const r of stored) if (r !== prev) days.set(r.day, { at: r.at, id: r.id, correct: r.correct });
  let changed = false;
  for (const [day, a] of batch) {
    const held = days.get(day);
    if (held === undefined || isEarlier(a, held)) {
      days.set(day, a);
      changed = true;
    }
  }
  if (!changed) return [];
  const chain = scheduleReviews(sortedDays(days), prev?.state ?? null);
  return prev === null ? chain : [{ ...prev, nextDay: chain[0]?.day ?? null }, ...chain];
}

/** Merges a batch's first answers into topic_reviews (see the module comment). */
export async function writeReviewDays(client: PoolClient, reviews: ReviewDays): Promise<void> {
  if (reviews.empty) return;
  const topics = [...reviews.topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT r.user_id, r.topic_id, to_char(r.day, 'YYYY-MM-DD') AS day, r.first_at, r.first_event_id, r.correct,
            r.stability, r.difficulty, r.due_at, to_char(r.next_day, 'YYYY-MM-DD') AS next_day
       FROM unnest($1::text[], $2::text[], $3::date[]) AS x(u, t, d)
       JOIN LATERAL (
         SELECT * FROM topic_reviews r WHERE r.user_id = x.u AND r.topic_id = x.t AND r.day >= coalesce(
           (SELECT max(p.day) FROM topic_reviews p WHERE p.user_id = x.u AND p.topic_id = x.t AND p.day < x.d), x.d)
       ) r ON true
      ORDER BY r.user_id, r.topic_id, r.day`,
    [
      topics.map((t) => t.userId),
      topics.map((t) => t.topicId),
      topics.map((t) => isoDay(Math.min(...t.days.keys()))),
    ],
  );
  const stored = new Map<string, StoredReview[]>();
  for (const r of rows) {
    const s = fromRow(r);
    const k = key(s.userId, s.topicId);
    const list = stored.get(k) ?? [];
    list.push(s);
    stored.set(k, list);
  }
  const writes: StoredReview[] = [];
  for (const t of topics)
    for (const r of mergeTopic(stored.get(key(t.userId, t.topicId)) ?? [], t.days))
      writes.push({ ...r, userId: t.userId, topicId: t.topicId });
  await upsertReviews(client, writes);
}

/** Writes every topic's whole chain into an empty table, in chunks. */
export async function insertReviewDays(client: PoolClient, reviews: ReviewDays, chunk = 5000): Promise<void> {
  const all = reviews.chains();
  for (let i = 0; i < all.length; i += chunk) await upsertReviews(client, all.slice(i, i + chunk));
}

function fromRow(r: Record<string, unknown>): StoredReview {
  const day = dayNumber(String(r.day));
  const at = Number(r.first_at);
  const state: DailyFsrsState = { s: Number(r.stability), d: Number(r.difficulty), day, lastAt: at };
  const dueAt = Number(r.due_at);
  return {
    userId: String(r.user_id),
    topicId: String(r.topic_id),
    day,
    at,
    id: String(r.first_event_id),
    correct: r.correct === true,
    state,
    dueAt,
    dueDay: dayOfMs(dueAt),
    nextDay: r.next_day === null ? null : dayNumber(String(r.next_day)),
  };
}

/** Reads the stored reviews (all, or of one student), for reconcile. */
export async function readReviewDays(
  client: Pool | PoolClient,
  userId: string | null = null,
): Promise<StoredReview[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT user_id, topic_id, to_char(day, 'YYYY-MM-DD') AS day, first_at, first_event_id, correct, stability,
            difficulty, due_at, to_char(next_day, 'YYYY-MM-DD') AS next_day
       FROM topic_reviews WHERE $1::text IS NULL OR user_id = $1 ORDER BY user_id, topic_id, day`,
    [userId],
  );
  return rows.map(fromRow);
}

async function upsertReviews(client: PoolClient, rows: readonly StoredReview[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO topic_reviews AS r (user_id, topic_id, day, first_at, first_event_id, correct, stability,
       difficulty, due_at, due_day, next_day)
     SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::text[], $6::boolean[],
       $7::float8[], $8::float8[], $9::bigint[], $10::date[], $11::date[])
     ON CONFLICT (user_id, topic_id, day) DO UPDATE SET first_at = EXCLUDED.first_at,
       first_event_id = EXCLUDED.first_event_id, correct = EXCLUDED.correct, stability = EXCLUDED.stability,
       difficulty = EXCLUDED.difficulty, due_at = EXCLUDED.due_at, due_day = EXCLUDED.due_day,
       next_day = EXCLUDED.next_day`,
    [
      rows.map((r) => r.userId),
      rows.map((r) => r.topicId),
      rows.map((r) => isoDay(r.day)),
      rows.map((r) => r.at),
      rows.map((r) => r.id),
      rows.map((r) => r.correct),
      rows.map((r) => r.state.s),
      rows.map((r) => r.state.d),
      rows.map((r) => r.dueAt),
      rows.map((r) => isoDay(r.dueDay)),
      rows.map((r) => (r.nextDay === null ? null : isoDay(r.nextDay))),
    ],
  );
}
