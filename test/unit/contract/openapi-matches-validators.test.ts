import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openApiDocument as apiDocument } from '../../../services/analytics-api/openapi.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';
import { EVENT_FAMILIES } from '../../../services/shared/events.ts';
import { openApiDocument as ingestDocument } from '../../../services/ingest/openapi.ts';
import { decodeEvent, validateEvent } from '../../../services/ingest/validate.ts';
import {
  invalidOf,
  schemaValidator,
  validOf,
  type Doc,
  type Schema,
} from '../../support/openapi-arbitrary.ts';

/**
 * Issue 18 (an exact API contract), without servers: the OpenAPI documents and the validators that run agree.
 * Every event the ingest document allows passes decodeEvent and validateEvent, and every event it forbids is
 * refused by them; every query the API document allows passes the route's zod schema, and every query it forbids
 * is refused. The seed is logged by fast-check on failure (rerun with the printed `seed` and `path`).
 * test/integration/contract/ sends such requests to the running services.
 */

const INGEST_CFG = {
  INGEST_MAX_BATCH_EVENTS: 1000,
  INGEST_MAX_BODY_BYTES: 1_000_000,
  INGEST_MAX_EVENT_AGE_DAYS: 30,
  INGEST_MAX_FUTURE_MS: 300_000,
  INGEST_SKEW_TOLERANCE_MS: 120_000,
};
const RUNS = Number(process.env.CONTRACT_RUNS ?? 300);

function accepted(event: unknown): { ok: boolean; errors: unknown } {
  const now = Date.now();
  const decoded = decodeEvent(event, now);
  if (!decoded.ok) return { ok: false, errors: decoded.errors };
  const checked = validateEvent(decoded.event, {
    receivedAt: now,
    skewMs: 0,
    maxAgeMs: INGEST_CFG.INGEST_MAX_EVENT_AGE_DAYS * 86_400_000,
    maxFutureMs: INGEST_CFG.INGEST_MAX_FUTURE_MS,
  });
  return checked.ok ? { ok: true, errors: [] } : { ok: false, errors: checked.errors };
}

describe('the ingest document and the event validators agree', () => {
  const doc = ingestDocument(INGEST_CFG) as unknown as Doc;
  const ajv = schemaValidator(doc);
  const event = doc.components!.schemas!.Event!;

  for (const family of EVENT_FAMILIES) {
    const name = (event.oneOf as Schema[])
      .map((r) => (r.$ref as string).split('/').pop()!)
      .find((n) => doc.components!.schemas![n]!.properties.family.const === family)!;
    const schema = doc.components!.schemas![name]!;

    it(`${family}: every event the document allows is accepted`, () => {
      fc.assert(
        fc.property(validOf(doc, schema), (ev) => {
          expect(ajv.valid(schema, ev), ajv.errors(schema, ev)).toBe(true);
          const r = accepted(ev);
          expect(r.errors, JSON.stringify(ev)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    });

    it(`${family}: every event the document forbids is refused`, () => {
      let checked = 0;
      fc.assert(
        fc.property(invalidOf(doc, schema), (ev) => {
          if (ajv.valid(schema, ev)) return; // the mutation stayed valid: covered above
          checked++;
          expect(accepted(ev).ok, `${JSON.stringify(ev)}: ${ajv.errors(schema, ev)}`).toBe(false);
        }),
        { numRuns: RUNS },
      );
      expect(checked).toBeGreaterThan(RUNS / 2);
    });
  }
});

describe('the API document and the route validators agree', () => {
  type Param = { name: string; in: string; required?: boolean; schema: Schema };
  const doc = apiDocument(ROUTES, 10) as unknown as Doc & {
    paths: Record<string, { get: { parameters: Param[] } }>;
  };
  const ajv = schemaValidator(doc);
  /** A query value as the URL carries it (integers as digits). */
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  /** The JSON value a query string stands for under `schema` (digits for an integer parameter). */
  const typed = (schema: Schema, v: string): unknown =>
    schema.type === 'integer' && /^-?\d+$/.test(v) ? Number(v) : v;

  for (const spec of ROUTES) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = doc.paths[path]!.get.parameters.filter((p) => p.in === 'query');

    it(`${path}: every query the document allows passes the validator, every other is refused`, () => {
      const valid = fc.record(
        Object.fromEntries(params.map((p) => [p.name, validOf(doc, p.schema).map(text)])),
        {
          requiredKeys: params.filter((p) => p.required).map((p) => p.name),
        },
      );
      fc.assert(
        fc.property(valid, (q) => {
          const r = spec.query.safeParse(q);
          expect(r.success, `${spec.path} ${JSON.stringify(q)}: ${r.error?.message}`).toBe(true);
        }),
        { numRuns: RUNS },
      );
      if (params.length === 0) return;
      const invalid = fc.tuple(valid, fc.constantFrom(...params)).chain(([q, p]) =>
        invalidOf(doc, p.schema)
          .filter((v) => v !== null && typeof v !== 'object' && typeof v !== 'symbol')
          .map((bad) => ({ q: { ...q, [p.name]: text(bad) }, p })),
      );
      fc.assert(
        fc.property(invalid, ({ q, p }) => {
          if (ajv.valid(p.schema, typed(p.schema, q[p.name]!))) return;
          const r = spec.query.safeParse(q);
          expect(r.success, `${spec.path} ${JSON.stringify(q)} (${p.name})`).toBe(false);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('counterexamples found by the properties above, kept as regression cases', () => {
  it('a long of 2^53-1 is refused by avsc, and the document says so (maximum 2^53-2)', () => {
    const doc = ingestDocument(INGEST_CFG) as unknown as Doc;
    const schema = doc.components!.schemas!.MaterialInteraction!;
    const ev = {
      family: 'material-interactions',
      event_id: 'aa00aa00-aa00-4aa0-8aaa-aaaaaaa0aaaa',
      user_id: 'a',
      occurred_at: Date.now(),
      material_id: 'a',
      material_type: 'TEXTBOOK',
      interaction_type: 'READ_PROGRESS',
      active_ms: Number.MAX_SAFE_INTEGER,
    };
    expect(accepted(ev).ok).toBe(false);
    expect(schemaValidator(doc).valid(schema, ev)).toBe(false);
    expect(accepted({ ...ev, active_ms: Number.MAX_SAFE_INTEGER - 1 }).ok).toBe(true);
  });

  it('examDate must be a calendar day (Date.parse alone took 2023-02-30 for March 2nd)', () => {
    const q = ROUTES.find((r) => r.path === '/api/analytics/exam-readiness')!.query;
    expect(q.safeParse({ examDate: '2023-02-30' }).success).toBe(false);
    expect(q.safeParse({ examDate: '2024-02-29' }).success).toBe(true);
  });

  it('a mastery cursor is any `<level>:<topic id>` position (the document states its pattern exactly)', () => {
    const q = ROUTES.find((r) => r.path === '/api/analytics/mastery')!.query;
    expect(q.safeParse({ cursor: '1:cardio.path' }).success).toBe(true);
    for (const bad of ['9:cardio', '1:Not A Topic', 'abc', '1:'])
      expect(q.safeParse({ cursor: bad }).success, bad).toBe(false);
  });
});
