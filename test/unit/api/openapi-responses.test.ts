import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../../../services/analytics-api/openapi.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';
import { RESPONSES } from '../../../services/analytics-api/schemas.ts';
import {
  invalidOf,
  schemaValidator,
  validOf,
  type Doc,
  type Schema,
} from '../../support/openapi-arbitrary.ts';

/**
 * Issue 18, an exact API contract for responses: the 200 bodies are zod schemas in the API's code
 * (services/analytics-api/schemas.ts), and the OpenAPI document's response schemas are generated from them, so the
 * contract test (test/integration/api/openapi-contract.test.ts), which checks every answer of the running API against
 * the document, checks it against the code's schemas. Before, the response schemas were hand-written JSON that
 * required no field at all: an answer missing any field (an empty object) passed the contract test.
 */
type Op = {
  operationId: string;
  responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;
};
const doc = openApiDocument(ROUTES, 10) as unknown as Doc & { paths: Record<string, { get: Op }> };
const ajv = schemaValidator(doc);
const implemented = ROUTES.filter((r) => r.scope !== 'reserved');
const bodyOf = (path: string) =>
  doc.paths[path.replace(/:([A-Za-z_]+)/g, '{$1}')]!.get.responses['200']!.content!['application/json']!
    .schema;

describe('OpenAPI response bodies generated from the zod schemas', () => {
  it('every implemented route declares a zod schema of its 200 body, and the document carries its JSON schema', () => {
    expect(implemented.length).toBeGreaterThan(10);
    for (const spec of implemented) {
      expect(spec.response, spec.operationId).toBeInstanceOf(z.ZodType);
      const { $schema: _dialect, ...generated } = z.toJSONSchema(spec.response!, {
        io: 'output',
        unrepresentable: 'any',
      }) as Record<string, unknown>;
      expect(bodyOf(spec.path), spec.operationId).toEqual(generated);
      expect(generated.required, spec.operationId).toContain('generatedAt');
    }
  });

  it('a body without the fields the API always sends is refused (regression: the hand-written schemas required none)', () => {
    for (const spec of implemented) {
      expect(ajv.valid(bodyOf(spec.path), {}), spec.operationId).toBe(false);
    }
    // One field left out of a whole dashboard body is enough.
    const dashboard = bodyOf(implemented.find((r) => r.response === RESPONSES.dashboard)!.path);
    const body = fc.sample(validOf(doc, dashboard), { numRuns: 1, seed: 7 })[0] as Record<string, unknown>;
    expect(ajv.valid(dashboard, body)).toBe(true);
    const { liveSession: _dropped, ...withoutLive } = body;
    expect(ajv.valid(dashboard, withoutLive)).toBe(false);
  });

  it('the document and the zod schemas agree: what one accepts the other accepts (property)', () => {
    for (const spec of implemented) {
      const schema = bodyOf(spec.path);
      fc.assert(
        fc.property(validOf(doc, schema), (v) => spec.response!.safeParse(v).success),
        { numRuns: 15, seed: 18 },
      );
      fc.assert(
        fc.property(
          invalidOf(doc, schema),
          (v) => ajv.valid(schema, v) || !spec.response!.safeParse(v).success,
        ),
        { numRuns: 15, seed: 18 },
      );
    }
  });
});
