import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';
import { swaggerUI } from '@hono/swagger-ui';

/** The Swagger UI files /docs loads, served from the swagger-ui-dist npm package (never from a CDN). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};
const ASSET_BASE = '/docs/assets';

/**
 * Mounts /docs (Swagger UI for `specUrl`) with its assets served locally: the page where users paste tokens loads
 * no third-party script, and its Content-Security-Policy allows only this origin (plus the page's own inline
 * bootstrap script, which @hono/swagger-ui writes).
 */
export function mountDocs(app: Hono, specUrl: string): void {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();
  const page = swaggerUI({ url: specUrl, baseUrl: ASSET_BASE });
  app.get('/docs', async (c, next) => {
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    );
    return page(c, next);
  });
  app.get(`${ASSET_BASE}/swagger-ui-dist/:file`, async (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) return c.notFound();
    let body = cache.get(file);
    if (!body) {
      body = await readFile(join(dir, file));
      cache.set(file, body);
    }
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': type,
      'Cache-Control': 'public, max-age=86400',
    });
  });
}
