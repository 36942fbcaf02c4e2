import type { EventFamily } from '../../shared/kafka.ts';
import { utcOffsetMinutes } from '../../shared/timezone.ts';
import type { Result } from '../../shared/result.ts';

/**
 * Pure mapping from decoded Avro records (avsc, wrapUnions 'auto': unions are plain values or null, enums are
 * symbols, timestamp-millis are numbers) to rows of the raw ClickHouse tables (clickhouse/001_raw_events.sql).
 * A record that passed Avro decoding can still be invalid for storage (time out of range, malformed UUID);
 * such records are reported as errors and dead-lettered by the sink.
 */

export const TABLE_OF: Record<EventFamily, RawTable> = {
  'study-events': 'study_events',
  'question-attempts': 'question_attempts',
  'material-interactions': 'material_interactions',
};
export type RawTable = 'study_events' | 'question_attempts' | 'material_interactions';
export const RAW_TABLES: readonly RawTable[] = ['study_events', 'question_attempts', 'material_interactions'];

/** The key columns every raw row has (used for de-duplication before insert). */
export type RowKey = { event_id: string; user_id: string; occurred_at: number };
export type RawRow = RowKey & Record<string, unknown>;
export type MappedRow = { table: RawTable; row: RawRow };
export type MapResult = Result<MappedRow, string>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** DateTime in 18.16 is a UInt32 of seconds: 1970 to 2106. We accept 2000-01-01 to 2100-01-01. */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

type Rec = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const nullableNum = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): number => (v === true ? 1 : 0);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

function clientColumns(client: unknown): Rec {
  const c = (client && typeof client === 'object' ? client : {}) as Rec;
  return {
    platform: str(c.platform) || (client ? 'UNKNOWN' : ''),
    app_version: str(c.app_version),
    ip_hash: str(c.ip_hash),
    browser: str(c.browser),
    os: str(c.os),
    offline_synced: bool(c.offline_synced),
    clock_skew_ms: num(c.clock_skew_ms),
  };
}

function common(r: Rec): { ok: true; cols: RawRow } | { ok: false; error: string } {
  const eventId = r.event_id;
  if (typeof eventId !== 'string' || !UUID.test(eventId))
    return { ok: false, error: 'event_id is not a UUID' };
  const userId = r.user_id;
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
    return { ok: false, error: 'user_id is empty or longer than 256 characters' };
  }
  const occurred = r.occurred_at;
  if (typeof occurred !== 'number' || !Number.isFinite(occurred) || occurred < MIN_MS || occurred >= MAX_MS) {
    return { ok: false, error: 'occurred_at is outside 2000-01-01..2100-01-01' };
  }
  // time_zone (an IANA name, optional since the schemas' second version): stored with its offset at occurred_at.
  // A record without one (an older producer) or with a name the runtime does not know stores '' and offset 0;
  // readers apply the documented fallback (the student's most recent known zone, else UTC).
  const offset = typeof r.time_zone === 'string' ? utcOffsetMinutes(r.time_zone, occurred) : undefined;
  const received =
    typeof r.received_at === 'number' && Number.isFinite(r.received_at) ? r.received_at : occurred;
  return {
    ok: true,
    cols: {
      event_id: eventId.toLowerCase(),
      user_id: userId,
      occurred_at: Math.floor(occurred / 1000),
      occurred_ms: Math.floor(occurred) % 1000,
      received_at: Math.floor(Math.min(Math.max(received, MIN_MS), MAX_MS - 1) / 1000),
      schema_version: num(r.schema_version),
      session_id: str(r.session_id),
      topic_ids: strings(r.topic_ids),
      time_zone: offset === undefined ? '' : (r.time_zone as string),
      utc_offset_min: offset ?? 0,
    },
  };
}

function studyEvent(r: Rec, cols: RawRow): RawRow {
  const ai = (r.ai_coach ?? null) as Rec | null;
  const api = (r.api_call ?? null) as Rec | null;
  return {
    ...cols,
    event_type: str(r.event_type),
    material_id: str(r.material_id),
    material_type: str(r.material_type),
    duration_ms: nullableNum(r.duration_ms),
    end_reason: str(r.end_reason),
    ai_interaction: ai ? str(ai.interaction) : '',
    ai_prompt_tokens: ai ? num(ai.prompt_tokens) : 0,
    ai_response_tokens: ai ? num(ai.response_tokens) : 0,
    ai_helpful: ai && typeof ai.helpful === 'boolean' ? bool(ai.helpful) : null,
    api_method: api ? str(api.method) : '',
    api_route: api ? str(api.route) : '',
    api_status: api ? num(api.status) : 0,
    api_duration_ms: api ? num(api.duration_ms) : 0,
    ...clientColumns(r.client),
  };
}

function questionAttempt(r: Rec, cols: RawRow): RawRow {
  return {
    ...cols,
    question_id: str(r.question_id),
    selected_answer: str(r.selected_answer),
    is_correct: bool(r.is_correct),
    attempt_number: num(r.attempt_number),
    time_to_answer_ms: Math.max(0, num(r.time_to_answer_ms)),
    confidence: nullableNum(r.confidence),
    difficulty: nullableNum(r.difficulty),
    exam_section: str(r.exam_section),
    mode: str(r.mode),
    ...clientColumns(r.client),
  };
}

function materialInteraction(r: Rec, cols: RawRow): RawRow {
  const active = nullableNum(r.active_ms);
  return {
    ...cols,
    material_id: str(r.material_id),
    material_type: str(r.material_type),
    interaction_type: str(r.interaction_type),
    progress: nullableNum(r.progress),
    position_ms: nullableNum(r.position_ms),
    active_ms: active === null ? null : Math.max(0, active),
    text_length: nullableNum(r.text_length),
    ...clientColumns(r.client),
  };
}

/** Maps one decoded record of a family to its raw table row, or explains why it cannot be stored. */
export function mapRecord(family: EventFamily, record: Rec): MapResult {
  const base = common(record);
  if (!base.ok) return base;
  const table = TABLE_OF[family];
  switch (family) {
    case 'study-events':
      return { ok: true, value: { table, row: studyEvent(record, base.cols) } };
    case 'question-attempts':
      if (typeof record.is_correct !== 'boolean') return { ok: false, error: 'is_correct missing' };
      return { ok: true, value: { table, row: questionAttempt(record, base.cols) } };
    case 'material-interactions':
      return { ok: true, value: { table, row: materialInteraction(record, base.cols) } };
  }
}

/**
 * A row serialised for insertion (its JSONEachRow line) with the key columns the store de-duplicates on. The sink
 * keeps these in its batches instead of decoded records and row objects: one flat string per row instead of dozens
 * of small objects, far less for the garbage collector to trace and copy while a batch waits.
 */
export type SerialisedRow = RowKey & { table: RawTable; json: string };

export function serialiseRow({ table, row }: MappedRow): SerialisedRow {
  return {
    table,
    event_id: row.event_id,
    user_id: row.user_id,
    occurred_at: row.occurred_at,
    json: JSON.stringify(row),
  };
}

/** Keeps the first row of each event_id (a batch may hold the same event twice: re-sends, replays). */
export function dedupeWithinBatch<R extends RowKey>(rows: readonly R[]): R[] {
  const seen = new Set<string>();
  const out: R[] = [];
  for (const row of rows) {
    if (seen.has(row.event_id)) continue;
    seen.add(row.event_id);
    out.push(row);
  }
  return out;
}

/** Groups mapped rows by table, keeping order. */
export function groupByTable(rows: readonly MappedRow[]): Map<RawTable, RawRow[]> {
  const out = new Map<RawTable, RawRow[]>();
  for (const { table, row } of rows) {
    const list = out.get(table);
    if (list) list.push(row);
    else out.set(table, [row]);
  }
  return out;
}
