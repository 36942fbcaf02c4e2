import { Counter, type Registry } from '../../shared/metrics.ts';
import type { PoolClient } from '../../shared/postgres.ts';

/** One row of late_events (see postgres/020_processor_state.sql). */
export type LateEvent = {
  eventId: string;
  userId: string;
  sessionId: string | null;
  topic: string | null;
  partition: number | null;
  offset: string | null;
  occurredAt: number;
  watermarkAt: number | null;
  reason: 'too_late' | 'after_session_end';
  handling: 'recorded_only' | 'counts_applied';
};

/**
 * One row per (processor, event_id), whatever reached it first. A re-sent event can be reported twice with
 * different reasons (its first copy found after its session's end, a later copy arriving too late), and which
 * report is written first depends on batching and on how the input topics interleaved. So the stored row is the
 * one of highest rank, and among equal ranks the first (copies share a partition, so that is the lowest offset):
 * the same row in every run, crash and replay.
 */
const REASON_RANK: Record<LateEvent['reason'], number> = {
  too_late: 1,
  after_session_end: 2,
};

/** Whether `candidate` replaces `stored` as the row of their event. */
export function outranks(candidate: LateEvent, stored: LateEvent): boolean {
  return REASON_RANK[candidate.reason] > REASON_RANK[stored.reason];
}

/** The rows to write: one per event, by outranks(). */
export function preferredLateRows(events: readonly LateEvent[]): LateEvent[] {
  const byId = new Map<string, LateEvent>();
  for (const e of events) {
    const stored = byId.get(e.eventId);
    if (stored === undefined || outranks(e, stored)) byId.set(e.eventId, e);
  }
  return [...byId.values()];
}

const RANK_SQL = (column: string) =>
  `CASE ${column} ${Object.entries(REASON_RANK)
    .map(([reason, rank]) => `WHEN '${reason}' THEN ${rank}`)
    .join(' ')} ELSE 0 END`; // ELSE: 'session_finalized', written by earlier versions, gives way to any row

/** Records late events; idempotent per (processor, event_id), keeping the preferred row (see outranks). */
export async function recordLateEvents(
  client: PoolClient,
  processor: string,
  events: readonly LateEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const payload = preferredLateRows(events).map((e) => ({
    event_id: e.eventId,
    user_id: e.userId,
    session_id: e.sessionId,
    topic: e.topic,
    partition: e.partition,
    offset: e.offset === null ? null : Number(e.offset),
    occurred_ms: e.occurredAt,
    watermark_ms: e.watermarkAt,
    lateness_ms: e.watermarkAt === null ? null : e.watermarkAt - e.occurredAt,
    reason: e.reason,
    handling: e.handling,
  }));
  await client.query(
    `INSERT INTO late_events (processor, event_id, user_id, session_id, topic, partition, "offset", occurred_at,
       watermark_at, lateness_ms, reason, handling)
     SELECT $1, event_id, user_id, session_id, topic, partition, "offset", to_timestamp(occurred_ms / 1000.0),
       CASE WHEN watermark_ms IS NULL THEN NULL ELSE to_timestamp(watermark_ms / 1000.0) END, lateness_ms, reason, handling
     FROM jsonb_to_recordset($2::jsonb) AS r(event_id text, user_id text, session_id text, topic text, partition int,
       "offset" bigint, occurred_ms float8, watermark_ms float8, lateness_ms bigint, reason text, handling text)
     ON CONFLICT (processor, event_id) DO UPDATE SET user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,
       topic = EXCLUDED.topic, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset",
       occurred_at = EXCLUDED.occurred_at, watermark_at = EXCLUDED.watermark_at, lateness_ms = EXCLUDED.lateness_ms,
       reason = EXCLUDED.reason, handling = EXCLUDED.handling
     WHERE ${RANK_SQL('EXCLUDED.reason')} > ${RANK_SQL('late_events.reason')}`,
    [processor, JSON.stringify(payload)],
  );
}

const lateCounters = new WeakMap<Registry, Counter<'processor' | 'reason'>>();

/** stream_late_events_total{processor, reason}: shared by the processors, created once per registry. */
export function lateEventsCounter(registry: Registry): Counter<'processor' | 'reason'> {
  let c = lateCounters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'stream_late_events_total',
      help: 'events later than the allowed lateness or for a finished session (recorded in late_events)',
      labelNames: ['processor', 'reason'],
      registers: [registry],
    });
    lateCounters.set(registry, c);
  }
  return c;
}
