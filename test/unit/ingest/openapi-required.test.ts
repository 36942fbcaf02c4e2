import { describe, expect, it } from 'vitest';
import { openApiDocument, requiredFieldsOf } from '../../../services/ingest/openapi.ts';
import { decodeEvent } from '../../../services/ingest/validate.ts';
import { materialInteraction, questionAttempt, studyEvent } from '../../support/ingest-events.ts';

/**
 * Issue 18 (an exact API contract): the ingest document did not carry the per-family required fields, so events
 * valid by the document were rejected as missing_field. Now each family's branch requires exactly the fields whose
 * absence decodeEvent reports.
 */
const NOW = Date.now();
const missing = (ev: Record<string, unknown>) => {
  const d = decodeEvent(ev, NOW);
  return d.ok ? [] : d.errors.filter((e) => e.code === 'missing_field').map((e) => e.path);
};

describe('ingest OpenAPI: per-family required fields', () => {
  for (const [family, make] of [
    ['study-events', studyEvent],
    ['question-attempts', questionAttempt],
    ['material-interactions', materialInteraction],
  ] as const) {
    it(family, () => {
      const ev = make() as Record<string, unknown>;
      expect(missing(ev)).toEqual([]);
      const required = new Set(requiredFieldsOf(family));
      for (const field of Object.keys(ev)) {
        if (['family', 'occurred_at'].includes(field)) continue;
        const { [field]: _dropped, ...without } = ev;
        expect(missing(without).includes(field), field).toBe(required.has(field));
      }
      const doc = openApiDocument({
        INGEST_MAX_BATCH_EVENTS: 1000,
        INGEST_MAX_BODY_BYTES: 1_000_000,
        INGEST_MAX_EVENT_AGE_DAYS: 30,
        INGEST_MAX_FUTURE_MS: 300_000,
        INGEST_SKEW_TOLERANCE_MS: 120_000,
      }) as unknown as {
        components: {
          schemas: Record<string, { properties: { family: { const: string } }; required: string[] }> & {
            Event: { oneOf: Array<{ $ref: string }> };
          };
        };
      };
      const branch = doc.components.schemas.Event.oneOf
        .map((ref) => doc.components.schemas[ref.$ref.split('/').pop()!]!)
        .find((b) => b.properties.family.const === family)!;
      // occurred_at is required of every family besides the Avro record's fields without a default.
      expect(new Set(branch.required)).toEqual(new Set(['family', 'occurred_at', ...required]));
    });
  }
});
