import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../services/analytics-api/openapi.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';

/**
 * Issue 18 (an exact API contract): `/mastery/{topic}` answered an undocumented 404. Every status a route can send
 * is declared: a route whose handler or authorize step throws a 404 declares it (RouteSpec.notFound), and so does
 * every route's 500.
 */
describe('the OpenAPI document declares every status', () => {
  const doc = openApiDocument(ROUTES, 10) as {
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
});
