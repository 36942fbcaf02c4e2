import { describe, expect, it } from 'vitest';
import { opsAccess } from '../../../services/shared/http.ts';
import { appWithoutStores } from './helpers.ts';
import { fakeApp } from '../ingest/fakes.ts';

/**
 * Issue 18, finding 9: /metrics and /readyz's dependency error text are not public on the service ports (OPS_TOKEN),
 * and /docs loads Swagger UI from this server, never from a CDN.
 */
const failing = [
  {
    name: 'postgres',
    check: () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5432 (user studystream)')),
  },
];
const bearer = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });

describe('operational surfaces on the service ports', () => {
  it('OPS_TOKEN decides who reads /metrics: closed without it outside development mode', () => {
    expect(opsAccess({ OPS_TOKEN: '', STUDYSTREAM_DEV_MODE: false })).toBe('');
    expect(opsAccess({ OPS_TOKEN: '', STUDYSTREAM_DEV_MODE: true })).toBeNull();
    expect(opsAccess({ OPS_TOKEN: 'tok', STUDYSTREAM_DEV_MODE: true })).toBe('tok');
  });

  for (const [service, build] of [
    ['analytics-api', (opsToken: string) => appWithoutStores({ opsToken, checks: failing }).app],
    ['ingest', (opsToken: string) => fakeApp({ opsToken, checks: failing }).app],
  ] as const) {
    it(`${service}: /metrics needs the ops token`, async () => {
      const closed = build('');
      expect((await closed.request('/metrics')).status).toBe(403);
      expect((await closed.request('/metrics', bearer(''))).status).toBe(403);
      const app = build('s3cret-ops-token');
      expect((await app.request('/metrics')).status).toBe(403);
      expect((await app.request('/metrics', bearer('wrong'))).status).toBe(403);
      const ok = await app.request('/metrics', bearer('s3cret-ops-token'));
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/http_requests_total/);
    });

    it(`${service}: /readyz tells everyone the status, only ops the dependency errors`, async () => {
      const app = build('s3cret-ops-token');
      const open = await app.request('/readyz');
      expect(open.status).toBe(503);
      const text = await open.text();
      expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: [{ name: 'postgres', ok: false }] });
      expect(text).not.toMatch(/ECONNREFUSED|10\.1\.2\.3/);
      const ops = await app.request('/readyz', bearer('s3cret-ops-token'));
      expect(await ops.text()).toMatch(/ECONNREFUSED 10\.1\.2\.3:5432/);
    });
  }

  it('/docs loads Swagger UI from this server only, with a same-origin CSP', async () => {
    const { app } = appWithoutStores();
    const page = await app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const u of urls) expect(u).toMatch(/^\/docs\/assets\//);
    expect(html).not.toMatch(/jsdelivr|unpkg|https?:\/\//);
    expect(page.headers.get('Content-Security-Policy')).toMatch(/script-src 'self'/);
    for (const u of urls) {
      const asset = await app.request(u);
      expect(asset.status, u).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, u).toBeGreaterThan(10_000);
    }
    expect((await app.request('/docs/assets/swagger-ui-dist/package.json')).status).toBe(404);
    expect((await app.request('/docs/assets/swagger-ui-dist/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});
