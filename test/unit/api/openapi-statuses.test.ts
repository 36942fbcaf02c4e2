import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { openApiDocument } from '../../../services/analytics-api/openapi.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';

/**
 * Issue 18 (an exact API contract): `/mastery/{topic}` answered an undocumented 404. Every status a route can send
 * is declared: a route whose handler or authorize step throws a 404 declares it (RouteSpec.notFound), and so does
 * every route's 500.
 */
describe('the OpenAPI document declares every status', () => {
  const doc = openApiDocument(ROUTES, 10) as unknown as {
    paths: Record<string, { get: { responses: Record<string, unknown> } }>;
  };

  it('a route that can answer 404 declares it, and only such a route', () => {
    for (const spec of ROUTES) {
      const source = `${spec.handler?.toString() ?? ''}${spec.authorize?.toString() ?? ''}`;
      const can404 = /ApiError\(\s*404/.test(source);
      const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      expect('404' in doc.paths[path]!.get.responses, spec.path).toBe(can404);
    }
    expect(doc.paths['/api/analytics/mastery/{topic}']!.get.responses['404']).toBeDefined();
  });

  it('every operation declares 400, 401, 403 and 500', () => {
    for (const [path, item] of Object.entries(doc.paths))
      for (const status of ['400', '401', '403', '500'])
        expect(item.get.responses, `${path} ${status}`).toHaveProperty(status);
  });

  it('integer and field-list parameters document exactly what the validators accept', () => {
    type Param = { name: string; in: string; schema: Record<string, unknown> };
    const full = openApiDocument(ROUTES, 10) as unknown as {
      paths: Record<string, { get: { parameters: Param[] } }>;
    };
    let ints = 0;
    for (const spec of ROUTES) {
      const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const shape = (spec.query as unknown as { shape: Record<string, z.ZodType> }).shape;
      for (const p of full.paths[path]!.get.parameters.filter((x) => x.in === 'query')) {
        const field = shape[p.name]!;
        const accepts = (v: string) => field.safeParse(v).success;
        if (p.schema.type === 'integer') {
          ints++;
          const { minimum, maximum } = p.schema as { minimum: number; maximum: number };
          expect(p.schema.pattern, p.name).toBeUndefined();
          for (const v of [minimum, maximum, Math.floor((minimum + maximum) / 2)])
            expect(accepts(String(v))).toBe(true);
          expect(accepts(String(minimum - 1)), `${spec.path} ${p.name}`).toBe(false);
          expect(accepts(String(maximum + 1)), `${spec.path} ${p.name}`).toBe(false);
        }
        if (p.name === 'fields') {
          const re = new RegExp(p.schema.pattern as string);
          fc.assert(
            fc.property(
              fc.array(fc.constantFrom('topicId', 'score', 'name', 'nope', 'Score'), {
                minLength: 1,
                maxLength: 4,
              }),
              (names) => {
                const v = names.join(',');
                expect(accepts(v), v).toBe(re.test(v));
              },
            ),
          );
        }
      }
    }
    expect(ints).toBeGreaterThan(5);
  });

  it('property: every query the document allows passes the route validator', () => {
    type Param = { name: string; in: string; schema: Record<string, unknown> };
    const full = openApiDocument(ROUTES, 10) as unknown as {
      paths: Record<string, { get: { parameters: Param[] } }>;
    };
    const arbitraryOf = (schema: Record<string, unknown>): fc.Arbitrary<string> => {
      if (schema.type === 'integer')
        return fc.integer({ min: schema.minimum as number, max: schema.maximum as number }).map(String);
      if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as string[]));
      if (schema.format === 'date')
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true })
          .map((d) => d.toISOString().slice(0, 10));
      const max = (schema.maxLength as number | undefined) ?? 1000;
      return fc.stringMatching(new RegExp(schema.pattern as string)).filter((v) => v.length <= max);
    };
    for (const spec of ROUTES) {
      const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const params = full.paths[path]!.get.parameters.filter((p) => p.in === 'query');
      const query = fc.record(Object.fromEntries(params.map((p) => [p.name, arbitraryOf(p.schema)])), {
        requiredKeys: [],
      });
      fc.assert(
        fc.property(query, (q) => {
          const r = spec.query.safeParse(q);
          expect(r.success, `${spec.path} ${JSON.stringify(q)}`).toBe(true);
        }),
        { numRuns: 50 },
      );
    }
  });
});
