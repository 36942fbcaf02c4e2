import { describe, expect, it } from 'vitest';
import { familyType } from '../../../services/shared/codec.ts';
import { applyServerFields } from '../../../services/ingest/apply.ts';
import {
  decodeEvent,
  parseTimestamp,
  validateEvent,
  type ValidationContext,
} from '../../../services/ingest/validate.ts';
import { materialInteraction, questionAttempt, studyEvent } from '../../support/ingest-events.ts';

const NOW = Date.now();
const ctx: ValidationContext = {
  receivedAt: NOW,
  skewMs: 0,
  maxAgeMs: 30 * 86_400_000,
  maxFutureMs: 300_000,
};

function check(raw: unknown, c = ctx) {
  const d = decodeEvent(raw, c.receivedAt);
  if (!d.ok) return d;
  return validateEvent(d.event, c);
}
const errorsOf = (raw: unknown, c = ctx) => {
  const r = check(raw, c);
  return r.ok ? [] : r.errors.map((e) => `${e.path}:${e.code}`);
};

describe('decode and validate', () => {
  it('accepts an IANA time zone or none, and rejects an unknown or mistyped one', () => {
    expect(errorsOf({ ...questionAttempt(), time_zone: 'Europe/Berlin' })).toEqual([]);
    expect(errorsOf({ ...questionAttempt(), time_zone: null })).toEqual([]);
    const noZone: Record<string, unknown> = { ...questionAttempt() };
    delete noZone.time_zone;
    const r = check(noZone);
    expect(r.ok && r.event.record.time_zone).toBe(null); // a producer of the first version: default null
    expect(errorsOf({ ...studyEvent(), time_zone: 'Mars/Olympus' })).toEqual(['time_zone:invalid_value']);
    expect(errorsOf({ ...materialInteraction(), time_zone: '+05:00' })).toEqual(['time_zone:invalid_value']);
    expect(errorsOf({ ...materialInteraction(), time_zone: 60 })).toEqual(['time_zone:invalid_type']);
  });

  it('accepts valid events of every family and produces records valid for the Avro schema', () => {
    for (const raw of [studyEvent(), questionAttempt(), materialInteraction()]) {
      const r = check(raw);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) continue;
      const out = applyServerFields(r.event, {
        receivedAt: NOW,
        skewMs: 0,
        ipHash: 'abcd',
        userAgent: { browser: 'Chrome', os: 'iOS' },
      });
      expect(familyType(out.family).isValid(out.record)).toBe(true);
      expect(out.record.received_at).toBe(NOW);
      expect(out.record.client).toMatchObject({
        ip_hash: 'abcd',
        browser: 'Chrome',
        os: 'iOS',
        clock_skew_ms: 0,
      });
    }
  });

  it('fills schema defaults for omitted optional fields', () => {
    const r = check({
      family: 'study-events',
      event_id: crypto.randomUUID(),
      user_id: 'u1',
      occurred_at: NOW,
      event_type: 'SESSION_END',
    });
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.event.record).toMatchObject({
        schema_version: 1,
        session_id: null,
        topic_ids: [],
        client: null,
      });
  });

  it('parses ISO-8601 and epoch occurred_at, rejects others', () => {
    expect(parseTimestamp('2024-05-01T10:00:00Z')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseTimestamp('2024-05-01T12:00:00.250+02:00')).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 250));
    expect(parseTimestamp(1714557600000)).toBe(1714557600000);
    expect(parseTimestamp('2024-05-01')).toBeUndefined();
    expect(parseTimestamp('yesterday')).toBeUndefined();
    expect(parseTimestamp(1.5)).toBeUndefined();
    expect(errorsOf(studyEvent({ occurred_at: 'soon' }))).toEqual(['occurred_at:invalid_type']);
  });

  it('reports unknown fields with their path, also nested', () => {
    expect(errorsOf(studyEvent({ colour: 'red' }))).toEqual(['colour:unknown_field']);
    expect(
      errorsOf(studyEvent({ event_type: 'AI_COACH_QUERY', ai_coach: { interaction: 'HINT', mood: 1 } })),
    ).toEqual(['ai_coach.mood:unknown_field']);
    expect(errorsOf(studyEvent({ client: { platform: 'WEB', ip: '1.2.3.4' } }))).toEqual([
      'client.ip:unknown_field',
    ]);
  });

  it('reports mistyped and missing fields with their path', () => {
    expect(errorsOf(questionAttempt({ is_correct: 'yes' }))).toEqual(['is_correct:invalid_type']);
    expect(errorsOf(questionAttempt({ topic_ids: ['a', 7] }))).toEqual(['topic_ids[1]:invalid_type']);
    expect(errorsOf(questionAttempt({ time_to_answer_ms: 1.5 }))).toEqual(['time_to_answer_ms:invalid_type']);
    expect(errorsOf(questionAttempt({ mode: 'SLEEPY' }))).toEqual(['mode:invalid_type']);
    expect(errorsOf(questionAttempt({ question_id: undefined }))).toEqual(['question_id:missing_field']);
    expect(errorsOf(studyEvent({ client: { platform: 'TOASTER' } }))).toEqual([
      'client.platform:invalid_type',
    ]);
    expect(errorsOf(studyEvent({ family: 'other' }))).toEqual(['family:unknown_family']);
    expect(errorsOf([1, 2])).toEqual([':not_object']);
  });

  it('ignores server-owned fields sent by the client', () => {
    const r = check(
      studyEvent({ received_at: 5, client: { platform: 'WEB', ip_hash: 'x', os: 'y', clock_skew_ms: 9 } }),
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      const out = applyServerFields(r.event, {
        receivedAt: NOW,
        skewMs: 0,
        ipHash: null,
        userAgent: { browser: null, os: null },
      });
      expect(out.record).toMatchObject({
        received_at: NOW,
        client: { ip_hash: null, os: null, clock_skew_ms: 0 },
      });
    }
  });

  it('applies the semantic rules', () => {
    expect(errorsOf(studyEvent({ event_id: 'not-a-uuid' }))).toEqual(['event_id:invalid_value']);
    expect(errorsOf(studyEvent({ user_id: 'jane.doe@example.com' }))).toEqual(['user_id:invalid_value']);
    expect(errorsOf(studyEvent({ user_id: '' }))).toEqual(['user_id:invalid_value']);
    expect(errorsOf(questionAttempt({ topic_ids: [] }))).toEqual(['topic_ids:invalid_value']);
    expect(errorsOf(questionAttempt({ confidence: 6 }))).toEqual(['confidence:invalid_value']);
    expect(errorsOf(questionAttempt({ confidence: 0 }))).toEqual(['confidence:invalid_value']);
    expect(errorsOf(questionAttempt({ attempt_number: 0 }))).toEqual(['attempt_number:invalid_value']);
    expect(errorsOf(questionAttempt({ time_to_answer_ms: -1 }))).toEqual(['time_to_answer_ms:invalid_value']);
    expect(errorsOf(materialInteraction({ progress: 1.01 }))).toEqual(['progress:invalid_value']);
    expect(errorsOf(studyEvent({ occurred_at: NOW + 301_000 }))).toEqual(['occurred_at:in_future']);
    expect(errorsOf(studyEvent({ occurred_at: NOW - 31 * 86_400_000 }))).toEqual(['occurred_at:too_old']);
  });

  it('checks the ranges of nested records and the api_call route (EVENT_RULES, the table the OpenAPI document states)', () => {
    const coach = (ai_coach: Record<string, unknown>) =>
      studyEvent({ event_type: 'AI_COACH_QUERY', ai_coach });
    expect(errorsOf(coach({ interaction: 'HINT', prompt_tokens: 12, response_tokens: 0 }))).toEqual([]);
    expect(errorsOf(coach({ interaction: 'HINT', prompt_tokens: -1 }))).toEqual([
      'ai_coach.prompt_tokens:invalid_value',
    ]);
    expect(errorsOf(coach({ interaction: 'HINT', response_tokens: -5 }))).toEqual([
      'ai_coach.response_tokens:invalid_value',
    ]);
    const call = (api_call: Record<string, unknown>) =>
      studyEvent({
        event_type: 'API_CALL',
        api_call: { method: 'GET', route: '/v1/x', status: 200, duration_ms: 3, ...api_call },
      });
    expect(errorsOf(call({}))).toEqual([]);
    expect(errorsOf(call({ status: 600 }))).toEqual(['api_call.status:invalid_value']);
    expect(errorsOf(call({ duration_ms: -1 }))).toEqual(['api_call.duration_ms:invalid_value']);
    expect(errorsOf(call({ route: '/v1/x?id=1' }))).toEqual(['api_call.route:invalid_value']);
    expect(errorsOf(call({ route: 'v1/x' }))).toEqual(['api_call.route:invalid_value']);
    expect(errorsOf(call({ route: `/${'a'.repeat(256)}` }))).toEqual(['api_call.route:invalid_value']);
    const r = check(call({ status: 99 }));
    expect(r.ok ? [] : r.errors.map((e) => e.reason)).toEqual(['must be 100..599']);
  });

  it('checks time bounds after the skew correction', () => {
    // client clock one hour ahead: occurred_at looks 1 h in the future, the batch shift of -1 h corrects it
    const ahead = studyEvent({ occurred_at: NOW + 3_600_000 - 10_000 });
    expect(errorsOf(ahead)).toEqual(['occurred_at:in_future']);
    expect(errorsOf(ahead, { ...ctx, skewMs: -3_600_000 })).toEqual([]);
  });

  it('lower-cases event_id', () => {
    const r = check(studyEvent({ event_id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' }));
    expect(r.ok && r.event.record.event_id).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });

  it('sets offline_synced and clock_skew_ms when applying', () => {
    const r = check(studyEvent({ occurred_at: NOW - 3_600_000 - 600_000 }), { ...ctx, skewMs: 3_600_000 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const out = applyServerFields(r.event, {
      receivedAt: NOW,
      skewMs: 3_600_000,
      ipHash: null,
      userAgent: { browser: null, os: null },
    });
    expect(out.record.occurred_at).toBe(NOW - 600_000);
    expect(out.record.client).toMatchObject({
      offline_synced: true,
      clock_skew_ms: 3_600_000,
      platform: 'WEB',
    });
  });
});
