import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../services/ingest/openapi.ts';
import { responseJson } from '../../../services/ingest/pipeline.ts';
import { INGEST_RESPONSE, TOKEN_RESPONSE } from '../../../services/ingest/responses.ts';
import { ERROR_BODY, errorBody, openApiJsonSchema } from '../../../services/shared/http.ts';
import { schemaValidator, type Doc, type Schema } from '../../support/openapi-arbitrary.ts';

/**
 * Issue 18, an exact API contract for responses: ingest's 2xx bodies are zod schemas (services/ingest/responses.ts)
 * from which the pipeline's types are inferred and the OpenAPI document's response schemas generated; the error body
 * is one shared zod schema (shared/http.ts ERROR_BODY) in both documents. Before, these were hand-written JSON beside
 * the code: an undeclared field in a per-event result, or a token answer without its id, passed the contract test.
 */
type Doc2 = Doc & {
  components: { schemas: Record<string, Schema> };
  paths: Record<
    string,
    { post: { responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }> } }
  >;
};
const doc = openApiDocument({
  INGEST_MAX_BATCH_EVENTS: 1000,
  INGEST_MAX_BODY_BYTES: 1_000_000,
  INGEST_MAX_EVENT_AGE_DAYS: 30,
  INGEST_MAX_FUTURE_MS: 300_000,
  INGEST_SKEW_TOLERANCE_MS: 120_000,
}) as unknown as Doc2;
const ajv = schemaValidator(doc);
const tokenSchema = doc.paths['/v1/tokens']!.post.responses['201']!.content!['application/json']!.schema;

describe('ingest OpenAPI response bodies generated from zod', () => {
  it('the document carries the JSON schemas of the zod response and error schemas', () => {
    expect(doc.components.schemas.IngestResponse).toEqual(openApiJsonSchema(INGEST_RESPONSE));
    expect(doc.components.schemas.Error).toEqual(openApiJsonSchema(ERROR_BODY));
    expect(tokenSchema).toEqual(openApiJsonSchema(TOKEN_RESPONSE));
  });

  it('what the pipeline writes matches; an undeclared field or a missing one does not (regression)', () => {
    const body = JSON.parse(
      responseJson({
        accepted: 1,
        duplicates: 0,
        rejected: 1,
        results: [
          { index: 0, event_id: '6f1c1d3e-1111-4111-8111-111111111111', status: 'accepted' },
          {
            index: 1,
            event_id: null,
            status: 'rejected',
            errors: [{ path: 'x', reason: 'bad', code: 'invalid_value' }],
          },
        ],
      }),
    ) as { results: Array<Record<string, unknown>> };
    const schema = doc.components.schemas.IngestResponse!;
    expect(ajv.valid(schema, body)).toBe(true);
    expect(INGEST_RESPONSE.safeParse(body).success).toBe(true);
    const extra = { ...body, results: [{ ...body.results[0], user_id: 'stu_1' }, body.results[1]] };
    expect(ajv.valid(schema, extra)).toBe(false);
    expect(ajv.valid(tokenSchema, { token: 'sit_x.y', user_id: 'stu_1', expires_at: 1 })).toBe(false);
    expect(ajv.valid(tokenSchema, { token: 'sit_x.y', user_id: 'stu_1', expires_at: 1, jti: 'abc' })).toBe(
      true,
    );
    expect(ajv.valid(doc.components.schemas.Error!, errorBody('rate_limited', 'slow down', { a: 1 }))).toBe(
      true,
    );
    expect(ajv.valid(doc.components.schemas.Error!, { error: { code: 'x' } })).toBe(false);
  });
});
