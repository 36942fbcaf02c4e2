import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../services/ingest/openapi.ts';
import { decodeEvent, validateEvent, type ValidationContext } from '../../../services/ingest/validate.ts';
import { materialInteraction, questionAttempt, studyEvent } from '../../support/ingest-events.ts';

/**
 * Issue 18, finding 13: the free-text fields carry ids under a documented policy (pattern and length); an e-mail
 * address is refused with its own reason (before, any 128 characters passed).
 */
const NOW = Date.now();
const ctx: ValidationContext = {
  receivedAt: NOW,
  skewMs: 0,
  maxAgeMs: 30 * 86_400_000,
  maxFutureMs: 300_000,
};
const errorsOf = (raw: unknown) => {
  const d = decodeEvent(raw, NOW);
  if (!d.ok) return d.errors.map((e) => `${e.path}:${e.code}`);
  const r = validateEvent(d.event, ctx);
  return r.ok ? [] : r.errors.map((e) => `${e.path}:${e.code}`);
};

describe('free-text policy', () => {
  it('refuses an e-mail address in every free-text field, with the personal_data reason', () => {
    const email = 'jane.doe@example.org';
    expect(errorsOf(questionAttempt({ question_id: email }))).toEqual(['question_id:personal_data']);
    expect(errorsOf(questionAttempt({ selected_answer: email }))).toEqual(['selected_answer:personal_data']);
    expect(errorsOf(questionAttempt({ session_id: email }))).toEqual(['session_id:personal_data']);
    expect(errorsOf(questionAttempt({ exam_section: email }))).toEqual(['exam_section:personal_data']);
    expect(errorsOf(materialInteraction({ material_id: email }))).toEqual(['material_id:personal_data']);
    expect(errorsOf(studyEvent({ topic_ids: ['cardio.hf', email] }))).toEqual(['topic_ids[1]:personal_data']);
  });

  it('refuses prose, spaces, control characters and over-long values', () => {
    expect(errorsOf(questionAttempt({ question_id: 'patient John Smith, 54' }))).toEqual([
      'question_id:invalid_value',
    ]);
    expect(errorsOf(questionAttempt({ selected_answer: 'x'.repeat(65) }))).toEqual([
      'selected_answer:invalid_value',
    ]);
    expect(errorsOf(questionAttempt({ question_id: 'q'.repeat(129) }))).toEqual([
      'question_id:invalid_value',
    ]);
    expect(errorsOf(studyEvent({ topic_ids: ['cardio\nhf'] }))).toEqual(['topic_ids[0]:invalid_value']);
    expect(errorsOf(questionAttempt({ question_id: '-leading' }))).toEqual(['question_id:invalid_value']);
  });

  it('accepts the ids real clients send', () => {
    for (const ev of [
      questionAttempt({ question_id: 'q-cardio-hf-001', selected_answer: 'C', exam_section: 'step1' }),
      questionAttempt({ session_id: '7f3a9c1e-0b1d-4c57-9a51-2d0b6c7e8f90', question_id: 'uworld:12345' }),
      materialInteraction({ material_id: 'm-cardio/heart_failure.v2' }),
      studyEvent({ topic_ids: ['cardio.hf', 'pharm.diuretics'] }),
    ])
      expect(errorsOf(ev)).toEqual([]);
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,100}$/), (id) => {
        expect(errorsOf(questionAttempt({ question_id: id }))).toEqual([]);
      }),
    );
  });

  it('the OpenAPI document states the same pattern and lengths', () => {
    type Prop = { pattern?: string; maxLength?: number; items?: { pattern?: string } };
    type Field = Prop & { anyOf?: Prop[] };
    const doc = openApiDocument({
      INGEST_MAX_BATCH_EVENTS: 1000,
      INGEST_MAX_BODY_BYTES: 1_000_000,
      INGEST_MAX_EVENT_AGE_DAYS: 30,
      INGEST_MAX_FUTURE_MS: 300_000,
      INGEST_SKEW_TOLERANCE_MS: 120_000,
    }) as unknown as { components: { schemas: Record<string, { properties: Record<string, Field> }> } };
    // Every family's event schema; an optional field's constraints sit on its non-null branch.
    const props: Record<string, Prop> = {};
    for (const name of ['StudyEvent', 'QuestionAttempt', 'MaterialInteraction']) {
      for (const [f, p] of Object.entries(doc.components.schemas[name]!.properties))
        props[f] ??= p.anyOf?.find((b) => b.pattern !== undefined) ?? p;
    }
    for (const f of ['question_id', 'material_id', 'selected_answer', 'session_id', 'exam_section']) {
      expect(props[f]?.pattern, f).toBeDefined();
      const re = new RegExp(props[f]!.pattern!);
      expect(re.test('jane.doe@example.org'), f).toBe(false);
      expect(re.test('q-1'), f).toBe(true);
    }
    expect(props.selected_answer!.maxLength).toBe(64);
    expect(props.question_id!.maxLength).toBe(128);
    expect(props.topic_ids!.items!.pattern).toBe(props.question_id!.pattern);
  });
});
