import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import {
  createClickHouse,
  createClickHouseReader,
  type ClickHouseClient,
} from '../../../services/shared/clickhouse.ts';
import { closeServer, listen } from '../../../services/shared/http.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import type { AuditSink } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';
import {
  buildFixture,
  loadClickHouse,
  loadLiveSession,
  loadPostgres,
  NOW,
  type Fixture,
} from '../api/fixture.ts';

/**
 * The analytics API serving the built dashboard (services/web/dist) over HTTP on a free port, against an isolated
 * namespace filled with the API tests' known data (test/integration/api/fixture.ts), its clock pinned to the
 * fixture's NOW. Dev mode on: the sign-in picker's tokens come from /api/dev/sign-in.
 */
export const SECRET = 'web-integration-secret-web-integration';
export const DIST = fileURLToPath(new URL('../../../services/web/dist', import.meta.url));

const noAudit: AuditSink = {
  record: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};

export type WebServer = {
  url: string;
  iso: IsolatedEnv;
  pg: Pool;
  ch: ClickHouseClient;
  redis: Redis;
  fixture: Fixture;
  token(sub: string, role: Role, cohorts?: string[]): Promise<string>;
  /** GET an API path as `token`; the JSON body (any status). */
  api(path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
};

export async function startWebServer(
  opts: {
    devMode?: boolean;
    now?: () => number;
    ingestUrl?: string;
    iso?: IsolatedEnv;
    fixture?: boolean;
  } = {},
): Promise<WebServer> {
  const iso = opts.iso ?? isolatedEnv('web');
  if (!opts.iso) await provision(iso, { postgres: true, clickhouse: true });
  const pg = createPgPool(iso.cfg);
  const ch = createClickHouse(iso.cfg);
  const chRows = createClickHouseReader(iso.cfg);
  const redis = createRedis(iso.cfg);
  await new Promise((resolve) => redis.once('ready', resolve));
  const { rows } = await pg.query<{ id: string; parent_id: string }>(
    `SELECT id, parent_id FROM topics WHERE level = 2 AND parent_id = (
       SELECT parent_id FROM topics WHERE level = 2 GROUP BY parent_id HAVING count(*) >= 4 ORDER BY parent_id LIMIT 1)
     ORDER BY id LIMIT 3`,
  );
  const fixture = buildFixture([rows[0]!.id, rows[1]!.id, rows[2]!.id], rows[0]!.parent_id);
  if (opts.fixture !== false) {
    await loadPostgres(pg, fixture);
    await loadClickHouse(ch, fixture);
    await loadLiveSession(redis, 0.9);
  }
  const jwt = { secret: SECRET, issuer: 'studystream', audience: 'studystream-api' };
  const token = (sub: string, role: Role, cohorts?: string[]) =>
    signToken({ sub, role, cohorts }, { ...jwt, ttlSec: 3600 });
  const app = createApiApp({
    pg,
    ch,
    chRows,
    redis,
    log: createLogger('test', process.env.TEST_API_LOG ?? 'silent'),
    registry: new Registry(),
    audit: noAudit,
    verify: createVerifier(jwt),
    cacheTtlSec: 0,
    cacheTimeoutMs: 200,
    kAnonymity: 10,
    now: opts.now ?? (() => NOW),
    web: {
      distDir: DIST,
      devMode: opts.devMode ?? true,
      sign: (claims) => signToken(claims, { ...jwt, ttlSec: 3600 }),
      ingestUrl: opts.ingestUrl,
    },
  });
  const server = await listen(app, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    iso,
    pg,
    ch,
    redis,
    fixture,
    token,
    async api(path, tok) {
      const res = await fetch(url + path, { headers: { Authorization: `Bearer ${tok}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await closeServer(server);
      redis.disconnect();
      await ch.close();
      chRows.close();
      await pg.end();
      if (!opts.iso) await teardown(iso);
    },
  };
}
