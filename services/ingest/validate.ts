import type avro from 'avsc';
import { familyType } from '../shared/codec.ts';
import { isEventFamily, USER_ID, type EventFamily } from '../shared/events.ts';
import { isTimeZone } from '../shared/timezone.ts';

/**
 * Decoding and validation of one event of the HTTP contract: `{"family": ..., ...fields in snake_case}`.
 * decodeEvent turns the JSON value into a candidate Avro record (defaults filled, unknown fields reported,
 * occurred_at parsed, server-owned fields dropped); validateEvent checks it against the Avro schema itself
 * and the semantic rules. Neither throws for bad data: each returns a typed result with field paths.
 */

export type RejectCode =
  | 'not_object'
  | 'unknown_family'
  | 'unknown_field'
  | 'missing_field'
  | 'invalid_type'
  | 'invalid_value'
  | 'too_old'
  | 'in_future'
  | 'personal_data';

export type FieldError = { path: string; code: RejectCode; reason: string };

export type CandidateEvent = {
  family: EventFamily;
  /** The Avro-shaped record; client context holds only what the client may set until the apply step. */
  record: Record<string, unknown> & { event_id: string; user_id: string; occurred_at: number };
};

export type DecodeResult =
  | { ok: true; event: CandidateEvent }
  | { ok: false; family?: string; eventId?: string; errors: FieldError[] };

export type ValidateResult = { ok: true; event: CandidateEvent } | { ok: false; errors: FieldError[] };

export type ValidationContext = {
  receivedAt: number;
  /** Shift added to occurred_at by the batch clock-skew rule. */
  skewMs: number;
  maxAgeMs: number;
  maxFutureMs: number;
};

/** Client-context fields the server sets; a client value is ignored (documented in the README). */
const SERVER_CONTEXT_FIELDS = new Set(['ip_hash', 'browser', 'os', 'offline_synced', 'clock_skew_ms']);
const CLIENT_CONTEXT_FIELDS = new Set(['platform', 'app_version']);

/**
 * The patterns and limits the checks below apply, exported as data so the OpenAPI document (openapi.ts) states
 * exactly these (the document is generated from the Avro schemas and this table, never written apart).
 */
export const EVENT_RULES = {
  iso8601: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  userId: USER_ID,
  maxTopics: 64,
  /** Inclusive ranges of numeric fields, per family ('a.b': field b of record field a). */
  ranges: {
    'question-attempts': {
      attempt_number: [1, Infinity],
      time_to_answer_ms: [0, Infinity],
      confidence: [1, 5],
      difficulty: [0, 1],
    },
    'material-interactions': {
      progress: [0, 1],
      position_ms: [0, Infinity],
      active_ms: [0, Infinity],
      text_length: [0, Infinity],
    },
    'study-events': {
      duration_ms: [0, Infinity],
      'ai_coach.prompt_tokens': [0, Infinity],
      'ai_coach.response_tokens': [0, Infinity],
      'api_call.status': [100, 599],
      'api_call.duration_ms': [0, Infinity],
    },
  } as Record<EventFamily, Record<string, readonly [number, number]>>,
  /** study-events api_call.route: a route pattern starting with /, without query or fragment, at most 256. */
  apiRoute: { pattern: '^/[^?#]*$', maxLength: 256 },
  schemaVersionMin: 1,
  appVersionMaxLength: 64,
} as const;
const ISO_8601 = EVENT_RULES.iso8601;
const UUID = EVENT_RULES.uuid;
const MAX_ID_LENGTH = 128;
const MAX_TOPICS = EVENT_RULES.maxTopics;

/**
 * The free-text policy (issue 18, finding 13): the fields a client fills with its own identifiers (session_id,
 * question_id, material_id, exam_section, selected_answer, each of topic_ids) carry ids, never personal data or
 * prose: 1-128 characters (selected_answer 1-64), letters, digits and `. _ : / -`, starting with a letter or digit.
 * No spaces, no `@`: an e-mail address is refused with its own reason. The OpenAPI document states the same pattern
 * and lengths (openapi.ts imports these).
 */
export const FREE_TEXT_POLICY = {
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
  maxLength: { default: MAX_ID_LENGTH, selected_answer: 64 } as Record<string, number>,
  fields: ['session_id', 'question_id', 'material_id', 'exam_section', 'selected_answer'],
} as const;
const FREE_TEXT = new RegExp(FREE_TEXT_POLICY.pattern);
const EMAIL_LIKE = /[^\s@]+@[^\s@]+/;

/** Why `value` breaks the free-text policy for `field`, or null when it complies. */
export function freeTextViolation(field: string, value: string): string | null {
  const max = FREE_TEXT_POLICY.maxLength[field] ?? MAX_ID_LENGTH;
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `longer than ${max}`;
  if (EMAIL_LIKE.test(value)) return 'looks like an e-mail address: ids only, never personal data';
  if (!FREE_TEXT.test(value))
    return 'must be an id: letters, digits and . _ : / - only, starting with a letter or digit (no spaces)';
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const joinPath = (base: string, key: string) => (base ? `${base}.${key}` : key);

function formatPath(segments: readonly string[]): string {
  return segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : joinPath(acc, s)), '');
}

/** Parses occurred_at: an integer epoch ms, or an ISO-8601 timestamp with a zone. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && ISO_8601.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

type FieldPlan = { name: string; type: avro.Type; defaultValue: () => unknown; record?: RecordPlan };
type RecordPlan = { fields: FieldPlan[]; known: Set<string> };
const plans = new WeakMap<avro.Type, RecordPlan | null>();

/** The record type an Avro type holds an object of (a record, or the record branch of a union), if any. */
function recordPlan(type: avro.Type): RecordPlan | undefined {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = null;
    let record: avro.Type | undefined = type.typeName === 'record' ? type : undefined;
    if (type.typeName === 'union:unwrapped') {
      record = (type as unknown as { types: avro.Type[] }).types.find((t) => t.typeName === 'record');
    }
    if (record) {
      const fields = (
        record as unknown as { fields: Array<{ name: string; type: avro.Type; defaultValue(): unknown }> }
      ).fields;
      plan = { fields: [], known: new Set(fields.map((f) => f.name)) };
      plans.set(type, plan);
      for (const f of fields) {
        plan.fields.push({
          name: f.name,
          type: f.type,
          defaultValue: () => f.defaultValue(),
          record: recordPlan(f.type),
        });
      }
    }
    plans.set(type, plan);
  }
  return plan ?? undefined;
}

/** Copies a record value with schema defaults filled in and unknown fields reported (recursing into records). */
function fillRecord(
  plan: RecordPlan,
  value: Record<string, unknown>,
  path: string,
  errors: FieldError[],
): unknown {
  for (const key in value) {
    if (!plan.known.has(key))
      errors.push({ path: joinPath(path, key), code: 'unknown_field', reason: 'unknown field' });
  }
  const out: Record<string, unknown> = {};
  for (const f of plan.fields) {
    let v = Object.hasOwn(value, f.name) ? value[f.name] : undefined;
    if (v === undefined) v = f.defaultValue();
    out[f.name] = f.record && isObject(v) ? fillRecord(f.record, v, joinPath(path, f.name), errors) : v;
  }
  return out;
}

function describe(type: avro.Type): string {
  const name = type.typeName;
  if (name === 'union:unwrapped' || name === 'union:wrapped') {
    return (type as unknown as { types: avro.Type[] }).types.map(describe).join(' or ');
  }
  if (name === 'enum') return `one of ${(type as unknown as { symbols: string[] }).symbols.join(', ')}`;
  if (name === 'int' || name === 'long') return 'an integer';
  if (name === 'float' || name === 'double') return 'a number';
  if (name === 'array') return 'an array';
  if (name === 'record') return 'an object';
  return `a ${name}`;
}

/** Step 1: JSON value → candidate record of its family (no semantic checks yet). */
export function decodeEvent(raw: unknown, receivedAt: number): DecodeResult {
  if (!isObject(raw)) {
    return {
      ok: false,
      errors: [{ path: '', code: 'not_object', reason: 'an event must be a JSON object' }],
    };
  }
  const eventId = typeof raw.event_id === 'string' ? raw.event_id : undefined;
  const family = raw.family;
  if (!isEventFamily(family)) {
    return {
      ok: false,
      eventId,
      family: typeof family === 'string' ? family : undefined,
      errors: [
        {
          path: 'family',
          code: family === undefined ? 'missing_field' : 'unknown_family',
          reason: 'must be one of study-events, question-attempts, material-interactions',
        },
      ],
    };
  }
  const errors: FieldError[] = [];
  const type = familyType(family);
  const plan = recordPlan(type)!;
  for (const key in raw) {
    if (!plan.known.has(key) && key !== 'family')
      errors.push({ path: key, code: 'unknown_field', reason: 'unknown field' });
  }

  let occurredAt: unknown = raw.occurred_at;
  if (occurredAt === undefined) {
    errors.push({ path: 'occurred_at', code: 'missing_field', reason: 'required field is missing' });
  } else {
    const parsed = parseTimestamp(occurredAt);
    if (parsed === undefined) {
      errors.push({
        path: 'occurred_at',
        code: 'invalid_type',
        reason: 'expected epoch milliseconds (integer) or an ISO-8601 timestamp with zone',
      });
    } else {
      occurredAt = parsed;
    }
  }

  let client: unknown = raw.client;
  if (client !== undefined && client !== null) {
    if (!isObject(client)) {
      errors.push({ path: 'client', code: 'invalid_type', reason: 'expected an object or null' });
      client = undefined;
    } else {
      const own: Record<string, unknown> = {};
      for (const key in client) {
        if (CLIENT_CONTEXT_FIELDS.has(key)) own[key] = client[key];
        else if (!SERVER_CONTEXT_FIELDS.has(key)) {
          errors.push({ path: `client.${key}`, code: 'unknown_field', reason: 'unknown field' });
        }
      }
      client = own;
    }
  }

  // One pass over the schema's fields builds the candidate: the client's value, or the server's for the fields it
  // owns (received_at, the parsed occurred_at, the client context reduced to what the client may set), or the default.
  const record: Record<string, unknown> = {};
  for (const f of plan.fields) {
    let v: unknown;
    if (f.name === 'occurred_at') v = occurredAt;
    else if (f.name === 'client') v = client;
    else if (f.name === 'received_at')
      v = receivedAt; // a client value is ignored
    else v = Object.hasOwn(raw, f.name) ? raw[f.name] : undefined;
    if (v === undefined) v = f.defaultValue();
    record[f.name] = f.record && isObject(v) ? fillRecord(f.record, v, f.name, errors) : v;
  }
  // Fast path without a hook; on failure run again with the hook to collect every field path.
  if (errors.length === 0 && !type.isValid(record)) {
    type.isValid(record, {
      errorHook: (segments: string[], value: unknown, t: avro.Type) => {
        errors.push(
          value === undefined
            ? { path: formatPath(segments), code: 'missing_field', reason: 'required field is missing' }
            : { path: formatPath(segments), code: 'invalid_type', reason: `expected ${describe(t)}` },
        );
      },
    });
  }
  if (errors.length > 0) return { ok: false, family, eventId, errors };
  return { ok: true, event: { family, record: record as CandidateEvent['record'] } };
}

type Fail = (path: string, reason: string, code?: RejectCode) => void;

type RangeCheck = {
  path: string;
  head: string;
  leaf: string | undefined;
  min: number;
  max: number;
  reason: string;
};

/** EVENT_RULES.ranges split into paths once at load, not per event (this runs for every event ingest accepts). */
const RANGE_CHECKS = Object.fromEntries(
  Object.entries(EVENT_RULES.ranges).map(([family, ranges]) => [
    family,
    Object.entries(ranges).map(([path, [min, max]]): RangeCheck => {
      const [head, leaf] = path.split('.') as [string, string | undefined];
      return {
        path,
        head,
        leaf,
        min,
        max,
        reason: max === Infinity ? `must be >= ${min}` : `must be ${min}..${max}`,
      };
    }),
  ]),
) as Record<EventFamily, RangeCheck[]>;
const API_ROUTE = new RegExp(EVENT_RULES.apiRoute.pattern);

/** Every range of EVENT_RULES.ranges for the family, on the record and its nested records (null: absent). */
function checkRanges(family: EventFamily, r: Record<string, unknown>, fail: Fail): void {
  for (const c of RANGE_CHECKS[family]) {
    const holder = c.leaf === undefined ? r : (r[c.head] as Record<string, unknown> | null);
    const v = holder ? (holder[c.leaf ?? c.head] as number | null) : null;
    if (v !== null && v !== undefined && (v < c.min || v > c.max)) fail(c.path, c.reason);
  }
}

function familyChecks(family: EventFamily, r: Record<string, unknown>, fail: Fail): void {
  checkRanges(family, r, fail);
  switch (family) {
    case 'question-attempts':
      if ((r.topic_ids as string[]).length === 0) fail('topic_ids', 'must name at least one topic');
      if ((r.question_id as string).length === 0) fail('question_id', 'must not be empty');
      return;
    case 'material-interactions':
      if ((r.material_id as string).length === 0) fail('material_id', 'must not be empty');
      return;
    case 'study-events': {
      const api = r.api_call as { route: string } | null;
      if (api && (!API_ROUTE.test(api.route) || api.route.length > EVENT_RULES.apiRoute.maxLength)) {
        fail('api_call.route', 'must be a route pattern starting with / without query or fragment');
      }
      return;
    }
  }
}

/** Step 2: semantic rules on a candidate that already matches its Avro schema. */
export function validateEvent(candidate: CandidateEvent, ctx: ValidationContext): ValidateResult {
  const r = candidate.record;
  const errors: FieldError[] = [];
  const fail: Fail = (path, reason, code = 'invalid_value') => errors.push({ path, reason, code });

  if (!UUID.test(r.event_id)) fail('event_id', 'must be a UUID');
  if (!USER_ID.test(r.user_id))
    fail('user_id', 'must be a pseudonymous id: 1-64 letters, digits, _ or - (never an e-mail)');
  if ((r.schema_version as number) < EVENT_RULES.schemaVersionMin) fail('schema_version', 'must be >= 1');
  const corrected = r.occurred_at + ctx.skewMs;
  if (corrected > ctx.receivedAt + ctx.maxFutureMs) {
    fail(
      'occurred_at',
      `is more than ${ctx.maxFutureMs / 1000} s in the future (after clock-skew correction)`,
      'in_future',
    );
  }
  if (corrected < ctx.receivedAt - ctx.maxAgeMs) {
    fail(
      'occurred_at',
      `is older than ${Math.round(ctx.maxAgeMs / 86_400_000)} days (after clock-skew correction)`,
      'too_old',
    );
  }
  if (r.time_zone !== null && r.time_zone !== undefined && !isTimeZone(r.time_zone)) {
    fail('time_zone', 'must be an IANA time-zone name (e.g. Europe/Berlin) or null');
  }
  for (const k of FREE_TEXT_POLICY.fields) {
    // Empty question_id / material_id have their own family reasons (familyChecks).
    if (typeof r[k] !== 'string' || (r[k] as string).length === 0) continue;
    const why = freeTextViolation(k, r[k] as string);
    if (why) fail(k, why, why.startsWith('looks like an e-mail') ? 'personal_data' : 'invalid_value');
  }
  const topics = r.topic_ids as string[];
  if (topics.length > MAX_TOPICS) fail('topic_ids', `more than ${MAX_TOPICS} topics`);
  for (let i = 0; i < topics.length; i++) {
    const why = freeTextViolation('topic_ids', topics[i]!);
    if (why)
      fail(
        `topic_ids[${i}]`,
        why,
        why.startsWith('looks like an e-mail') ? 'personal_data' : 'invalid_value',
      );
  }
  familyChecks(candidate.family, r, fail);
  const client = r.client as { app_version?: unknown } | null;
  if (
    client &&
    typeof client.app_version === 'string' &&
    client.app_version.length > EVENT_RULES.appVersionMaxLength
  ) {
    fail('client.app_version', 'longer than 64');
  }
  if (errors.length > 0) return { ok: false, errors };
  const lower = r.event_id.toLowerCase();
  return {
    ok: true,
    event: lower === r.event_id ? candidate : { ...candidate, record: { ...r, event_id: lower } },
  };
}
