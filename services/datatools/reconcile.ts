/**
 * `studystream reconcile`: does every event on the topics show up where it should? The raw history in ClickHouse
 * (the sink's copy of the topics, one row per event_id) is compared with what the stateful processors made of it:
 *  - sessions: every (student, session_id) of the history must be written (study_sessions) or live (Redis), with the
 *    same number of distinct events and answers; events without a session id are the processor's `no_session` drops;
 *  - mastery: the events it applied (its event_id claims) against the attempts and material events of the history;
 *  - the per-student read models of gaps and readiness (postgres/075) against the history (study-reads.ts);
 *  - late events by processor and reason, dead letters by processor and reason (the dead-letter topic).
 * A time range selects sessions by their first event and events by occurred_at.
 * The comparison is pure (compareSessions) and unit-tested; the reads are thin.
 */
import type { SessionState } from '../domain/sessions.ts';
import { chQuery, createClickHouse } from '../shared/clickhouse.ts';
import { ident, raw, sql } from '../shared/sql.ts';
import { readLive, liveKeys, writtenCounts } from '../stream/index.ts';
import { listDeadLetters } from './dlq.ts';
import type { ToolContext } from './context.ts';
import { compareStudyReads, type StudyReadsComparison } from './study-reads.ts';
import { compareReviewDays, type ReviewDaysComparison } from './review-days.ts';

export type Range = { from: number | null; to: number | null };
/** Per session: distinct events, answers among them, first event (ms). */
export type SessionCounts = { events: number; answers: number; first: number };

export type SessionsReconciliation = {
  inHistory: number;
  written: number;
  live: number;
  /** Sessions of the history neither written nor live. */
  missing: number;
  /** Sessions whose events or answers differ from the history. */
  differing: number;
  examples: string[];
  eventsInHistory: number;
  eventsInSessions: number;
  answersInHistory: number;
  answersInSessions: number;
};

export const inRange = (ms: number, r: Range): boolean =>
  (r.from === null || ms >= r.from) && (r.to === null || ms < r.to);

/** Compares the history's sessions (in range by their first event) with the written and live ones. */
export function compareSessions(
  history: ReadonlyMap<string, SessionCounts>,
  written: ReadonlyMap<string, SessionCounts>,
  live: ReadonlyMap<string, SessionCounts>,
  range: Range,
  maxExamples = 10,
): SessionsReconciliation {
  const out: SessionsReconciliation = {
    inHistory: 0,
    written: 0,
    live: 0,
    missing: 0,
    differing: 0,
    examples: [],
    eventsInHistory: 0,
    eventsInSessions: 0,
    answersInHistory: 0,
    answersInSessions: 0,
  };
  for (const [key, h] of [...history].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!inRange(h.first, range)) continue;
    out.inHistory++;
    out.eventsInHistory += h.events;
    out.answersInHistory += h.answers;
    const w = written.get(key);
    const l = live.get(key);
    const got = w ?? l;
    if (w) out.written++;
    else if (l) out.live++;
    if (!got) {
      out.missing++;
      if (out.examples.length < maxExamples) out.examples.push(`${key} missing`);
      continue;
    }
    out.eventsInSessions += got.events;
    out.answersInSessions += got.answers;
    if (got.events !== h.events || got.answers !== h.answers) {
      out.differing++;
      if (out.examples.length < maxExamples)
        out.examples.push(`${key} events ${got.events}/${h.events} answers ${got.answers}/${h.answers}`);
    }
  }
  return out;
}

export type Reconciliation = {
  range: Range;
  /** Records on each event topic (all time, client re-sends included), from the partitions' offsets. */
  topics: { topic: string; records: number }[];
  history: { family: string; events: number; withSession: number }[];
  sessions: SessionsReconciliation;
  mastery: {
    eventsInHistory: number;
    /** What the mastery decoder drops by design, counted from the history (its reasons). */
    dropped: { reason: string; n: number }[];
    deadLettered: number;
    /** eventsInHistory - dropped - deadLettered: what it must have applied. */
    expected: number;
    applied: number;
  };
  /**
   * The per-student read models (postgres/075) against the history under the mastery processor's rules; null
   * for a time range (they are all-time sums).
   */
  studyReads: StudyReadsComparison | null;
  /** The topic reviews behind review adherence (postgres/088) against the history; null for a time range. */
  reviews: ReviewDaysComparison | null;
  late: { processor: string; reason: string; n: number }[];
  deadLetters: { processor: string; reason: string; n: number }[];
  ok: boolean;
};

const TABLES = [
  { family: 'study-events', table: 'study_events', answer: false },
  { family: 'question-attempts', table: 'question_attempts', answer: true },
  { family: 'material-interactions', table: 'material_interactions', answer: false },
] as const;

function occurredFilter(range: Range) {
  const parts = ['1 = 1'];
  if (range.from !== null) parts.push(sql`occurred_at >= toDateTime(${Math.floor(range.from / 1000)})`.text);
  if (range.to !== null) parts.push(sql`occurred_at < toDateTime(${Math.ceil(range.to / 1000)})`.text);
  return raw(parts.join(' AND '));
}

/** Per-session counts of the raw history (all of a session's events; its first event decides the range). */
async function historySessions(ctx: ToolContext): Promise<Map<string, SessionCounts>> {
  const ch = createClickHouse(ctx.cfg);
  try {
    const out = new Map<string, SessionCounts>();
    for (const t of TABLES) {
      const rows = await chQuery<{ u: string; s: string; n: string; first: string }>(
        ch,
        sql`SELECT user_id AS u, session_id AS s, uniqExact(event_id) AS n, toUInt32(min(occurred_at)) AS first
            FROM ${ident(t.table)} WHERE session_id != '' GROUP BY user_id, session_id`.text,
      );
      for (const r of rows) {
        const key = `${r.u}:${r.s}`;
        const c = out.get(key) ?? { events: 0, answers: 0, first: Infinity };
        c.events += Number(r.n);
        if (t.answer) c.answers += Number(r.n);
        c.first = Math.min(c.first, Number(r.first) * 1000);
        out.set(key, c);
      }
    }
    return out;
  } finally {
    await ch.close();
  }
}

async function historyTotals(ctx: ToolContext, range: Range) {
  const ch = createClickHouse(ctx.cfg);
  try {
    const out: Reconciliation['history'] = [];
    for (const t of TABLES) {
      const [r] = await chQuery<{ n: string; s: string }>(
        ch,
        sql`SELECT uniqExact(event_id) AS n, uniqExactIf(event_id, session_id != '') AS s
            FROM ${ident(t.table)} WHERE ${occurredFilter(range)}`.text,
      );
      out.push({ family: t.family, events: Number(r?.n ?? 0), withSession: Number(r?.s ?? 0) });
    }
    return out;
  } finally {
    await ch.close();
  }
}

const counts = (s: SessionState): SessionCounts => ({
  events: s.timeline.length,
  answers: s.questionsAnswered,
  first: s.startedAt,
});

export async function reconcile(ctx: ToolContext, range: Range): Promise<Reconciliation> {
  const pool = ctx.pool();
  const redis = await ctx.redis();
  const partitions = (await ctx.admin.fetchTopicMetadata({ topics: ctx.eventTopics })).topics.flatMap((t) =>
    t.partitions.map((p) => p.partitionId),
  );
  const liveState = await readLive(redis, [...(await liveKeys(redis, [...new Set(partitions)]))]);
  const live = new Map([...liveState].map(([k, s]) => [k, counts(s.state)]));
  const written = await writtenCounts(pool);
  const sessions = compareSessions(await historySessions(ctx), written, live, range);
  const history = await historyTotals(ctx, range);

  const params = [
    range.from === null ? null : new Date(range.from),
    range.to === null ? null : new Date(range.to),
  ];
  const { rows: claims } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM processed_events WHERE consumer_group = $1
       AND ($2::timestamptz IS NULL OR occurred_at >= $2) AND ($3::timestamptz IS NULL OR occurred_at < $3)`,
    [ctx.groups.mastery, ...params],
  );
  const { rows: late } = await pool.query<{ processor: string; reason: string; n: number }>(
    `SELECT processor, reason, count(*)::int AS n FROM late_events
     WHERE ($1::timestamptz IS NULL OR occurred_at >= $1) AND ($2::timestamptz IS NULL OR occurred_at < $2)
     GROUP BY processor, reason ORDER BY processor, reason`,
    params,
  );
  const dl = new Map<string, number>();
  for (const d of await listDeadLetters(ctx.kafka, ctx.deadLetterTopic)) {
    const key = `${d.processor}\u0000${d.reason}`;
    dl.set(key, (dl.get(key) ?? 0) + 1);
  }
  const masteryHistory = history
    .filter((h) => h.family !== 'study-events')
    .reduce((sum, h) => sum + h.events, 0);
  const { rows: leafRows } = await pool.query<{ id: string }>(
    'SELECT id FROM topics t WHERE NOT EXISTS (SELECT 1 FROM topics c WHERE c.parent_id = t.id) ORDER BY id',
  );
  const dropped = await masteryDrops(
    ctx,
    range,
    leafRows.map((r) => r.id),
  );
  const masteryDlq = [...dl]
    .filter(([k]) => k.startsWith('mastery\u0000'))
    .reduce((sum, [, n]) => sum + n, 0);
  const mastery = {
    eventsInHistory: masteryHistory,
    dropped,
    deadLettered: masteryDlq,
    expected: masteryHistory - dropped.reduce((sum, d) => sum + d.n, 0) - masteryDlq,
    applied: claims[0]?.n ?? 0,
  };
  const studyReads = range.from === null && range.to === null ? await compareStudyReads(ctx.cfg, pool) : null;
  const reviews = range.from === null && range.to === null ? await compareReviewDays(ctx.cfg, pool) : null;
  const topics: Reconciliation['topics'] = [];
  for (const topic of ctx.eventTopics) {
    const offsets = await ctx.admin.fetchTopicOffsets(topic);
    topics.push({ topic, records: offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0) });
  }
  return {
    range,
    topics,
    history,
    sessions,
    mastery,
    studyReads,
    reviews,
    late,
    deadLetters: [...dl]
      .map(([k, n]) => {
        const [processor, reason] = k.split('\u0000') as [string, string];
        return { processor, reason, n };
      })
      .sort((a, b) => (a.processor + a.reason < b.processor + b.reason ? -1 : 1)),
    ok:
      sessions.missing === 0 &&
      sessions.differing === 0 &&
      mastery.expected === mastery.applied &&
      (studyReads?.differing ?? 0) === 0 &&
      (reviews?.differing ?? 0) === 0,
  };
}

/**
 * The mastery decoder's drops, counted in the history by its own rules (services/stream/mastery/decode.ts): no topic
 * tag (no_topic), only parent topics (parent_topic_only), a material event without progress (no_progress).
 */
async function masteryDrops(ctx: ToolContext, range: Range, leaves: readonly string[]) {
  const ch = createClickHouse(ctx.cfg);
  const anyLeaf = sql`hasAny(topic_ids, ${leaves.length > 0 ? leaves : ['']})`;
  try {
    const [a] = await chQuery<{ no_topic: string; parent_only: string }>(
      ch,
      sql`SELECT uniqExactIf(event_id, length(topic_ids) = 0) AS no_topic,
                 uniqExactIf(event_id, length(topic_ids) > 0 AND NOT ${anyLeaf}) AS parent_only
          FROM question_attempts WHERE ${occurredFilter(range)}`.text,
    );
    const [m] = await chQuery<{ no_topic: string; parent_only: string; no_progress: string }>(
      ch,
      sql`SELECT uniqExactIf(event_id, length(topic_ids) = 0) AS no_topic,
                 uniqExactIf(event_id, length(topic_ids) > 0 AND NOT ${anyLeaf}) AS parent_only,
                 uniqExactIf(event_id, ${anyLeaf} AND isNull(progress)) AS no_progress
          FROM material_interactions WHERE ${occurredFilter(range)}`.text,
    );
    return [
      { reason: 'no_topic', n: Number(a?.no_topic ?? 0) + Number(m?.no_topic ?? 0) },
      { reason: 'parent_topic_only', n: Number(a?.parent_only ?? 0) + Number(m?.parent_only ?? 0) },
      { reason: 'no_progress', n: Number(m?.no_progress ?? 0) },
    ];
  } finally {
    await ch.close();
  }
}
