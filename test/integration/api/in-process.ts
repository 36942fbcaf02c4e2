/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk JSON response bodies */
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import type { ClickHouseClient } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import type { Pool } from '../../../services/shared/postgres.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import type { AuditSink } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken } from '../../../services/analytics-api/auth.ts';

/** The API in-process with its cache on and no audit (auditing is covered by analytics-api.test.ts). */
const SECRET = 'integration-secret-integration-secret';

const noAudit: AuditSink = {
  record: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};

export type StudentClient = {
  /** GET as the student; asserts 200 and returns the X-Cache header and the JSON body. */
  get(path: string, user: string): Promise<{ cache: string | null; body: Record<string, any> }>;
};

export function inProcessApi(deps: { pg: Pool; ch: ClickHouseClient; redis: Redis }): StudentClient {
  const app = createApiApp({
    ...deps,
    log: createLogger('test', 'warn'),
    registry: new Registry(),
    audit: noAudit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 300,
    cacheTimeoutMs: 200,
    kAnonymity: 10,
  });
  return {
    async get(path, user) {
      const token = await signToken(
        { sub: user, role: 'student' },
        { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
      );
      const res = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return { cache: res.headers.get('X-Cache'), body: (await res.json()) as Record<string, any> };
    },
  };
}
