import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { createApiKey } from '../ingest/index.ts';
import { errorBody } from '../shared/http.ts';
import type { Logger } from '../shared/logger.ts';
import type { Pool } from '../shared/postgres.ts';
import { signToken, type Role } from './auth.ts';
import type { ApiConfig } from './config.ts';

/**
 * The web dashboard (services/web, built by Vite into services/web/dist) served by the API on the same origin, and
 * the development-mode helpers of its sign-in and practice pages.
 *
 * - `GET /` and `GET /assets/*`: the built single-page app; no authentication (the page holds no data; every data
 *   call carries the user's bearer token). A missing build answers 404 with how to build it.
 * - Development mode only (API_DEV_MODE=1, which `npm start` sets; refused with NODE_ENV=production or JWT_JWKS_URL;
 *   404 `not_found` otherwise, as if the paths did not exist):
 *   - `GET /api/dev/sign-in`: demo students (the most active ones) and the demo educator of every cohort, each with
 *     a token minted by this server;
 *   - `GET /api/dev/practice`: what the practice page's SDK needs: an ingest endpoint on this origin and an API key
 *     (created once per API process, named `dev-dashboard-practice`);
 *   - `POST /api/dev/ingest/v1/events/batch`: forwarded to the ingest service (INGEST_PORT), so the page needs no
 *     CORS allowance on ingest.
 */

export type WebOptions = {
  /** Folder with index.html and assets/ (Vite's output). */
  distDir: string;
  /** Development mode: the /api/dev/* helpers answer; otherwise they are 404. */
  devMode: boolean;
  /** Mints a token (dev mode only). */
  sign?: (claims: { sub: string; role: Role; cohorts?: string[] }) => Promise<string>;
  /** Where the ingest service listens (dev mode proxy), e.g. http://127.0.0.1:8080. */
  ingestUrl?: string;
  /** Demo students offered by the sign-in picker. */
  demoStudents?: number;
  pg: Pool;
  log: Logger;
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export const DEMO_EDUCATOR = 'demo-educator';

export function mountWeb(app: Hono, opts: WebOptions): void {
  const root = normalize(opts.distDir + sep);

  async function sendFile(c: Context, rel: string, cache: string): Promise<Response> {
    const path = normalize(join(root, rel));
    if (!path.startsWith(root)) return c.json(errorBody('not_found', 'not found'), 404);
    try {
      const body = await readFile(path);
      return c.body(body, 200, {
        'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
        'Cache-Control': cache,
        'X-Content-Type-Options': 'nosniff',
      });
    } catch {
      if (rel === 'index.html') {
        return c.text('the dashboard is not built: run `node services/web/build.ts` (npm start does)', 404);
      }
      return c.json(errorBody('not_found', 'not found'), 404);
    }
  }

  app.get('/', (c) => sendFile(c, 'index.html', 'no-cache'));
  // Vite names assets by content hash: cache them for a year.
  app.get('/assets/:file{[A-Za-z0-9._-]+}', (c) =>
    sendFile(c, `assets/${c.req.param('file')}`, 'public, max-age=31536000, immutable'),
  );

  const notFound = (c: Context) => c.json(errorBody('not_found', 'not found'), 404);
  if (!opts.devMode || !opts.sign) {
    app.all('/api/dev/*', notFound);
    return;
  }
  const sign = opts.sign;

  app.get('/api/dev/sign-in', async (c) => {
    const limit = opts.demoStudents ?? 6;
    const students = await opts.pg.query<{ user_id: string; attempts: string }>(
      `SELECT user_id, sum(attempts) AS attempts FROM topic_mastery WHERE topic_level = 2
        GROUP BY user_id ORDER BY sum(attempts) DESC, user_id LIMIT $1`,
      [limit],
    );
    const cohorts = await opts.pg.query<{ id: string; name: string; members: string }>(
      `SELECT c.id, c.name, count(m.user_id) AS members FROM cohorts c
         LEFT JOIN cohort_members m ON m.cohort_id = c.id GROUP BY c.id, c.name ORDER BY c.id`,
    );
    const cohortIds = cohorts.rows.map((r) => r.id);
    // The API reads a cohort only when it is also assigned to the educator on the server (postgres/091).
    await opts.pg.query(
      'INSERT INTO educator_cohorts (educator_id, cohort_id) SELECT $1, id FROM cohorts ON CONFLICT DO NOTHING',
      [DEMO_EDUCATOR],
    );
    return c.json({
      students: await Promise.all(
        students.rows.map(async (r) => ({
          id: r.user_id,
          answers: Number(r.attempts),
          token: await sign({ sub: r.user_id, role: 'student' }),
        })),
      ),
      educator: {
        id: DEMO_EDUCATOR,
        cohorts: cohorts.rows.map((r) => ({ id: r.id, name: r.name, members: Number(r.members) })),
        token: await sign({ sub: DEMO_EDUCATOR, role: 'educator', cohorts: cohortIds }),
      },
    });
  });

  let practiceKey: Promise<string> | null = null;
  app.get('/api/dev/practice', async (c) => {
    if (!opts.ingestUrl) return notFound(c);
    practiceKey ??= createApiKey(opts.pg, 'dev-dashboard-practice').then((k) => k.key);
    try {
      return c.json({ endpoint: '/api/dev/ingest', apiKey: await practiceKey });
    } catch (err) {
      practiceKey = null;
      throw err;
    }
  });

  app.post('/api/dev/ingest/v1/events/batch', async (c) => {
    if (!opts.ingestUrl) return notFound(c);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    for (const name of ['X-API-Key', 'Idempotency-Key', 'Content-Encoding']) {
      const value = c.req.header(name);
      if (value) headers[name] = value;
    }
    try {
      const res = await fetch(`${opts.ingestUrl}/v1/events/batch`, {
        method: 'POST',
        headers,
        body: await c.req.arrayBuffer(),
      });
      const out = new Headers({ 'Content-Type': res.headers.get('Content-Type') ?? 'application/json' });
      const retry = res.headers.get('Retry-After');
      if (retry) out.set('Retry-After', retry);
      return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'dev ingest proxy: ingest unreachable');
      return c.json(errorBody('unavailable', 'ingest is unreachable'), 503);
    }
  });
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The web options of the API process from its configuration (main.ts). */
export function webOptions(
  cfg: Pick<
    ApiConfig,
    | 'API_DEV_MODE'
    | 'API_WEB_DIST'
    | 'JWT_SECRET'
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'HTTP_HOST'
    | 'INGEST_PORT'
  >,
): Omit<WebOptions, 'pg' | 'log'> {
  return {
    distDir: resolve(ROOT, cfg.API_WEB_DIST),
    devMode: cfg.API_DEV_MODE,
    sign: (claims) =>
      signToken(claims, {
        secret: cfg.JWT_SECRET,
        ttlSec: 12 * 3600,
        issuer: cfg.JWT_ISSUER,
        audience: cfg.JWT_AUDIENCE,
      }),
    ingestUrl: `http://${cfg.HTTP_HOST}:${cfg.INGEST_PORT}`,
  };
}
