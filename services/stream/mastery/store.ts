/**
 * PostgreSQL adapter of the mastery processor: every statement of one batch runs on the transaction's client.
 * Rows travel as one jsonb parameter (jsonb_to_recordset), so a batch costs a handful of round trips.
 */
import type { PoolClient } from '../../shared/postgres.ts';
import { emptyMasteryState, type RetrievalScheduler } from '../../domain/mastery.ts';
import { learnerNow, type TopicFigures } from '../../domain/topic-figures.ts';
import type { TopicEvent, TopicMasteryState } from '../../domain/topic-mastery.ts';

export type RowKey = { userId: string; topicId: string };

/**
 * Storage format of a pending event inside topic_mastery.processor_state (jsonb): short field names, kept as they
 * were written so stored rows stay readable. The domain's TopicEvent is mapped at this adapter only.
 */
type StoredTopicEvent = {
  at: number;
  id: string;
  a?: TopicEvent['answer'];
  m?: { id: string; p: number };
};
type StoredTopicMastery = Omit<TopicMasteryState, 'pending'> & { pending: StoredTopicEvent[] };

const toStoredEvent = (e: TopicEvent): StoredTopicEvent =>
  e.answer
    ? { at: e.at, id: e.id, a: e.answer }
    : e.material
      ? { at: e.at, id: e.id, m: { id: e.material.materialId, p: e.material.progress } }
      : { at: e.at, id: e.id };
const fromStoredEvent = (e: StoredTopicEvent): TopicEvent =>
  e.a
    ? { at: e.at, id: e.id, answer: e.a }
    : e.m
      ? { at: e.at, id: e.id, material: { materialId: e.m.id, progress: e.m.p } }
      : { at: e.at, id: e.id };

function toStoredState(s: TopicMasteryState | null): StoredTopicMastery | null {
  return s === null ? null : { ...s, pending: s.pending.map(toStoredEvent) };
}
function fromStoredState(s: StoredTopicMastery | null): TopicMasteryState | null {
  return s === null ? null : { ...s, pending: s.pending.map(fromStoredEvent) };
}
export const rowKey = (userId: string, topicId: string): string => `${userId}\u0000${topicId}`;

/** Inserts the events not seen before and returns their ids (the rest are re-sent duplicates). */
export async function claimEvents(
  client: PoolClient,
  group: string,
  events: ReadonlyArray<{ eventId: string; occurredAt: number }>,
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const { rows } = await client.query<{ event_id: string }>(
    `INSERT INTO processed_events (consumer_group, event_id, occurred_at)
     SELECT $1, e, to_timestamp(t / 1000.0) FROM unnest($2::text[], $3::bigint[]) AS x(e, t)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [group, events.map((e) => e.eventId), events.map((e) => e.occurredAt)],
  );
  return new Set(rows.map((r) => r.event_id));
}

/** Creates missing rows and locks every row of `keys` (sorted: concurrent batches lock in the same order). */
export async function lockRows(
  client: PoolClient,
  keys: ReadonlyArray<RowKey>,
  level: number,
): Promise<Map<string, { processorState: TopicMasteryState | null; columns: TopicFigures }>> {
  const sorted = [...keys].sort((a, b) =>
    a.userId === b.userId ? (a.topicId < b.topicId ? -1 : 1) : a.userId < b.userId ? -1 : 1,
  );
  const users = sorted.map((k) => k.userId);
  const topics = sorted.map((k) => k.topicId);
  if (sorted.length === 0) return new Map();
  await client.query(
    `INSERT INTO topic_mastery (user_id, topic_id, topic_level)
     SELECT u, t, $3 FROM unnest($1::text[], $2::text[]) AS x(u, t) ON CONFLICT DO NOTHING`,
    [users, topics, level],
  );
  return selectRows(client, users, topics, true);
}

/** Reads rows (for parents: their children), optionally locking them. */
export async function selectRows(
  client: PoolClient,
  users: string[],
  topics: string[],
  forUpdate: boolean,
): Promise<Map<string, { processorState: TopicMasteryState | null; columns: TopicFigures }>> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT user_id, topic_id, attempts, correct, first_attempt_total, first_attempt_correct, accuracy,
            first_attempt_accuracy, recent_accuracy, retrieval_strength, stability_days, sm2_state, fsrs_state,
            (extract(epoch FROM next_review_at) * 1000)::bigint AS next_review_ms, material_completion,
            mastery_score, mastery_lower, mastery_upper, p_correct, p_correct_lower, p_correct_upper, trend,
            (extract(epoch FROM last_event_at) * 1000)::bigint AS last_event_ms,
            (extract(epoch FROM as_of) * 1000)::bigint AS as_of_ms, ${forUpdate ? 'processor_state' : 'NULL AS processor_state'}
     FROM topic_mastery
     WHERE (user_id, topic_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
     ORDER BY user_id, topic_id ${forUpdate ? 'FOR UPDATE' : ''}`,
    [users, topics],
  );
  const out = new Map<string, { processorState: TopicMasteryState | null; columns: TopicFigures }>();
  const PRIOR = learnerNow(emptyMasteryState(), 0);
  for (const r of rows) {
    out.set(rowKey(r.user_id as string, r.topic_id as string), {
      processorState: fromStoredState((r.processor_state as StoredTopicMastery | null) ?? null),
      columns: {
        attempts: r.attempts as number,
        correct: r.correct as number,
        firstAttemptTotal: r.first_attempt_total as number,
        firstAttemptCorrect: r.first_attempt_correct as number,
        accuracy: r.accuracy as number | null,
        firstAttemptAccuracy: r.first_attempt_accuracy as number | null,
        recentAccuracy: r.recent_accuracy as number | null,
        retrievalStrength: r.retrieval_strength as number,
        stabilityDays: r.stability_days as number | null,
        sm2State: r.sm2_state,
        fsrsState: r.fsrs_state,
        nextReviewAt: r.next_review_ms as number | null,
        materialCompletion: r.material_completion as number,
        masteryScore: r.mastery_score as number,
        masteryLower: r.mastery_lower as number,
        masteryUpper: r.mastery_upper as number,
        // Rows written before migration 060 have none until their next event: the prior of an unseen topic.
        pCorrect: (r.p_correct as number | null) ?? PRIOR.p,
        pCorrectLower: (r.p_correct_lower as number | null) ?? PRIOR.lower,
        pCorrectUpper: (r.p_correct_upper as number | null) ?? PRIOR.upper,
        learnerState: null,
        trend: r.trend as string | null,
        lastEventAt: r.last_event_ms as number | null,
        asOf: r.as_of_ms as number | null,
      },
    });
  }
  return out;
}

export type RowWrite = RowKey & { columns: TopicFigures; processorState: TopicMasteryState | null };

function rowPayload(r: RowWrite) {
  return {
    user_id: r.userId,
    topic_id: r.topicId,
    attempts: r.columns.attempts,
    correct: r.columns.correct,
    first_attempt_total: r.columns.firstAttemptTotal,
    first_attempt_correct: r.columns.firstAttemptCorrect,
    accuracy: r.columns.accuracy,
    first_attempt_accuracy: r.columns.firstAttemptAccuracy,
    recent_accuracy: r.columns.recentAccuracy,
    retrieval_strength: r.columns.retrievalStrength,
    stability_days: r.columns.stabilityDays,
    sm2_state: r.columns.sm2State ?? null,
    fsrs_state: r.columns.fsrsState ?? null,
    next_review_ms: r.columns.nextReviewAt,
    material_completion: r.columns.materialCompletion,
    mastery_score: r.columns.masteryScore,
    mastery_lower: r.columns.masteryLower,
    mastery_upper: r.columns.masteryUpper,
    p_correct: r.columns.pCorrect,
    p_correct_lower: r.columns.pCorrectLower,
    p_correct_upper: r.columns.pCorrectUpper,
    learner_state: r.columns.learnerState,
    trend: r.columns.trend,
    last_event_ms: r.columns.lastEventAt,
    as_of_ms: r.columns.asOf,
    processor_state: toStoredState(r.processorState),
  };
}

/** The recordset of rowPayload objects (one jsonb parameter). */
const rowRecordset = (extra = '') => `jsonb_to_recordset($1::jsonb) AS r(${extra}
       user_id text, topic_id text, attempts int, correct int, first_attempt_total int, first_attempt_correct int,
       accuracy float8, first_attempt_accuracy float8, recent_accuracy float8, retrieval_strength float8,
       stability_days float8, sm2_state jsonb, fsrs_state jsonb, next_review_ms float8, material_completion float8,
       mastery_score float8, mastery_lower float8, mastery_upper float8, p_correct float8, p_correct_lower float8,
       p_correct_upper float8, learner_state jsonb, trend text, last_event_ms float8,
       as_of_ms float8, processor_state jsonb)`;

const msToTimestamp = (column: string) =>
  `CASE WHEN r.${column} IS NULL THEN NULL ELSE to_timestamp(r.${column} / 1000.0) END`;

export async function writeRows(
  client: PoolClient,
  rows: readonly RowWrite[],
  scheduler: RetrievalScheduler,
): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `UPDATE topic_mastery t SET
       attempts = r.attempts, correct = r.correct, first_attempt_total = r.first_attempt_total,
       first_attempt_correct = r.first_attempt_correct, accuracy = r.accuracy,
       first_attempt_accuracy = r.first_attempt_accuracy, recent_accuracy = r.recent_accuracy,
       retrieval_strength = r.retrieval_strength, stability_days = r.stability_days, sm2_state = r.sm2_state,
       fsrs_state = r.fsrs_state, scheduler = $2,
       next_review_at = ${msToTimestamp('next_review_ms')},
       material_completion = r.material_completion, mastery_score = r.mastery_score,
       mastery_lower = r.mastery_lower, mastery_upper = r.mastery_upper, p_correct = r.p_correct,
       p_correct_lower = r.p_correct_lower, p_correct_upper = r.p_correct_upper, learner_state = r.learner_state,
       trend = r.trend,
       last_event_at = ${msToTimestamp('last_event_ms')},
       as_of = ${msToTimestamp('as_of_ms')},
       processor_state = r.processor_state, updated_at = now()
     FROM ${rowRecordset()}
     WHERE t.user_id = r.user_id AND t.topic_id = r.topic_id`,
    [JSON.stringify(rows.map(rowPayload)), scheduler],
  );
}

/**
 * Inserts complete rows that do not exist yet (a bulk load into empty tables: `rebuild --store mastery`); the
 * same columns and conversions as writeRows. A row that exists already is an error (primary key).
 */
export async function insertRows(
  client: PoolClient,
  rows: ReadonlyArray<RowWrite & { level: number }>,
  scheduler: RetrievalScheduler,
): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, first_attempt_total,
       first_attempt_correct, accuracy, first_attempt_accuracy, recent_accuracy, retrieval_strength, stability_days,
       sm2_state, fsrs_state, scheduler, next_review_at, material_completion, mastery_score, mastery_lower,
       mastery_upper, p_correct, p_correct_lower, p_correct_upper, learner_state, trend, last_event_at, as_of,
       processor_state)
     SELECT r.user_id, r.topic_id, r.topic_level, r.attempts, r.correct, r.first_attempt_total, r.first_attempt_correct,
       r.accuracy, r.first_attempt_accuracy, r.recent_accuracy, r.retrieval_strength, r.stability_days, r.sm2_state,
       r.fsrs_state, $2, ${msToTimestamp('next_review_ms')}, r.material_completion, r.mastery_score,
       r.mastery_lower, r.mastery_upper, r.p_correct, r.p_correct_lower, r.p_correct_upper, r.learner_state, r.trend,
       ${msToTimestamp('last_event_ms')}, ${msToTimestamp('as_of_ms')},
       r.processor_state
     FROM ${rowRecordset('topic_level smallint, ')}`,
    [JSON.stringify(rows.map((r) => ({ topic_level: r.level, ...rowPayload(r) }))), scheduler],
  );
}

export type HistoryWrite = RowKey & { day: number; columns: TopicFigures };

export async function writeHistory(client: PoolClient, rows: readonly HistoryWrite[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({
    user_id: r.userId,
    topic_id: r.topicId,
    day: new Date(r.day * 86_400_000).toISOString().slice(0, 10),
    attempts: r.columns.attempts,
    correct: r.columns.correct,
    accuracy: r.columns.accuracy,
    retrieval_strength: r.columns.retrievalStrength,
    material_completion: r.columns.materialCompletion,
    mastery_score: r.columns.masteryScore,
    mastery_lower: r.columns.masteryLower,
    mastery_upper: r.columns.masteryUpper,
  }));
  await client.query(
    `INSERT INTO topic_mastery_history (user_id, topic_id, day, attempts, correct, accuracy, retrieval_strength,
       material_completion, mastery_score, mastery_lower, mastery_upper)
     SELECT user_id, topic_id, day, attempts, correct, accuracy, retrieval_strength, material_completion,
            mastery_score, mastery_lower, mastery_upper
     FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, topic_id text, day date, attempts int, correct int,
       accuracy float8, retrieval_strength float8, material_completion float8, mastery_score float8,
       mastery_lower float8, mastery_upper float8)
     ON CONFLICT (user_id, topic_id, day) DO UPDATE SET attempts = EXCLUDED.attempts, correct = EXCLUDED.correct,
       accuracy = EXCLUDED.accuracy, retrieval_strength = EXCLUDED.retrieval_strength,
       material_completion = EXCLUDED.material_completion, mastery_score = EXCLUDED.mastery_score,
       mastery_lower = EXCLUDED.mastery_lower, mastery_upper = EXCLUDED.mastery_upper`,
    [JSON.stringify(payload)],
  );
}
