import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createApiApp, type ApiDeps } from '../../../services/analytics-api/app.ts';
import type { RouteSpec } from '../../../services/analytics-api/route.ts';
import { ROUTES } from '../../../services/analytics-api/routes/index.ts';
import { MemoryAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken, type Role } from '../../../services/analytics-api/auth.ts';

export const SECRET = 'unit-test-secret-unit-test-secret!!';
export const ISSUER = 'studystream';
export const AUDIENCE = 'studystream-api';

export function tokenFor(
  sub: string,
  role: Role,
  opts: { cohorts?: string[]; ttlSec?: number; nowSec?: number; secret?: string } = {},
) {
  return signToken(
    { sub, role, cohorts: opts.cohorts },
    {
      secret: opts.secret ?? SECRET,
      ttlSec: opts.ttlSec ?? 3600,
      nowSec: opts.nowSec,
      issuer: ISSUER,
      audience: AUDIENCE,
    },
  );
}

/** An app whose stores throw if touched: for tests that must be decided before any data is read. */
export function appWithoutStores(overrides: Partial<ApiDeps> = {}, routes: RouteSpec[] = ROUTES) {
  const untouchable = new Proxy(
    {},
    {
      get() {
        throw new Error('a store was touched');
      },
    },
  );
  const audit = new MemoryAuditLog();
  const app = createApiApp(
    {
      pg: untouchable as ApiDeps['pg'],
      ch: untouchable as ApiDeps['ch'],
      redis: null,
      log: createLogger('test', 'silent'),
      registry: new Registry(),
      verify: createVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }),
      audit,
      cacheTtlSec: 300,
      cacheTimeoutMs: 30,
      kAnonymity: 10,
      ...overrides,
    },
    routes,
  );
  return { app, audit };
}
