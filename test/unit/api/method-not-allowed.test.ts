import { describe, expect, it } from 'vitest';
import { appWithoutStores } from './helpers.ts';
import { API_KEY, fakeApp } from '../ingest/fakes.ts';

/** Issue 18 (the API contract): an undeclared method on a declared path answers 405 with Allow, not 404. */
describe('405 with Allow', () => {
  it('analytics API: POST, PUT and DELETE on GET routes', async () => {
    const { app } = appWithoutStores();
    for (const [method, path] of [
      ['POST', '/api/analytics/reviews'],
      ['DELETE', '/api/analytics/cohorts/c1/topics'],
      ['PUT', '/openapi.json'],
      ['POST', '/metrics'],
    ] as const) {
      const r = await app.request(path, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('Allow')).toBe('GET, HEAD');
      expect(await r.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    }
    expect((await app.request('/api/analytics/nothing-here', { method: 'POST' })).status).toBe(404);
    expect((await app.request('/api/analytics/nothing-here')).status).toBe(404);
  });

  it('ingest: GET and DELETE on the POST endpoints (before any API-key check)', async () => {
    const { app } = fakeApp();
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const r = await app.request('/v1/events/batch', { method, headers: { 'x-api-key': API_KEY } });
      expect(r.status, method).toBe(405);
      expect(r.headers.get('Allow')).toBe('POST');
      const anon = await app.request('/v1/events', { method });
      expect(anon.status).toBe(405);
    }
    expect(
      (await app.request('/v1/nothing', { method: 'POST', headers: { 'x-api-key': API_KEY } })).status,
    ).toBe(404);
  });
});
