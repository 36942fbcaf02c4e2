import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import {
  createClickHouse,
  createClickHouseReader,
  type ClickHouseClient,
  type RowReader,
} from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import { MemoryAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken } from '../../../services/analytics-api/auth.ts';
import type { GateOptions } from '../../../services/analytics-api/clickhouse-gate.ts';

/**
 * Overload is a 503 with Retry-After and a reason, never a 500 (services/analytics-api/clickhouse-gate.ts), on the
 * real ClickHouse: (1) a burst of insights requests (two raw-history reads each) through an API process allowed one
 * ClickHouse read at a time with a short wait: the ones that cannot get a slot are 503 clickhouse_queue_timeout, the
 * others 200, and the gate holds no slot afterwards; (2) a query the server itself refuses with "too many
 * simultaneous queries" (code 202, here from the per-user limit max_concurrent_queries_for_user = 1 sent as a
 * setting while this test holds another query of the same user open) is 503 clickhouse_too_many_queries.
 */

const iso = isolatedEnv('overload');
const SECRET = 'overload-secret-overload-secret-overload';
let pg: Pool;
let ch: ClickHouseClient;
const readers: Array<RowReader & { close(): void }> = [];

beforeAll(async () => {
  await provision(iso, { postgres: true, clickhouse: true });
  pg = createPgPool(iso.cfg);
  ch = createClickHouse(iso.cfg);
});
afterAll(async () => {
  for (const r of readers) r.close();
  await ch?.close();
  await pg?.end();
  await teardown(iso);
});

function api(gate: GateOptions, url = iso.cfg.CLICKHOUSE_URL) {
  const chRows = createClickHouseReader({ ...iso.cfg, CLICKHOUSE_URL: url });
  readers.push(chRows);
  const audit = new MemoryAuditLog();
  const registry = new Registry();
  const app = createApiApp({
    pg,
    ch,
    chRows,
    redis: null,
    log: createLogger('test', 'warn'),
    registry,
    audit,
    verify: createVerifier({ secret: SECRET, issuer: 'studystream', audience: 'studystream-api' }),
    cacheTtlSec: 0,
    cacheTimeoutMs: 50,
    kAnonymity: 10,
    clickhouseGate: gate,
  });
  const get = async (user: string) => {
    const token = await signToken(
      { sub: user, role: 'student' },
      { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
    );
    const res = await app.request('/api/analytics/insights?days=30', {
      headers: { Authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('Retry-After'),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk the JSON body
      body: (await res.json()) as any,
    };
  };
  return { get, audit, registry };
}

describe('ClickHouse overload answers 503, never 500', () => {
  it('a read that cannot get one of the process slots in time is 503 clickhouse_queue_timeout with Retry-After', async () => {
    const { get, audit, registry } = api({ maxConcurrent: 1, waitMs: 150 });
    // 100 requests = 200 reads on one slot within 150 ms of waiting: most cannot be served in time.
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => get(`u${i % 7}`)));
    const statuses = new Set(answers.map((a) => a.status));
    expect(
      [...statuses].every((s) => s === 200 || s === 503),
      [...statuses].join(','),
    ).toBe(true);
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const a of busy) {
      expect(a.retryAfter).toBe('1');
      expect(a.body.error).toMatchObject({
        code: 'overloaded',
        details: { reason: 'clickhouse_queue_timeout', retryAfterSec: 1, maxConcurrent: 1, waitedMs: 150 },
      });
    }
    for (const a of answers.filter((x) => x.status === 200)) expect(a.body.answers).toBe(0);
    // Every slot was given back: alone, a request is served.
    expect((await get('u1')).status).toBe(200);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      new RegExp(`api_clickhouse_overloaded_total\\{reason="clickhouse_queue_timeout"\\} ${busy.length}\\b`),
    );
    expect(metrics).toMatch(/api_clickhouse_reads_in_flight 0\b/);
    expect(audit.records.filter((r) => r.status === 503)).toHaveLength(busy.length);
  });

  it('ClickHouse refusing the query (code 202, too many simultaneous queries) is 503 clickhouse_too_many_queries', async () => {
    const limited = new URL(iso.cfg.CLICKHOUSE_URL);
    limited.searchParams.set('max_concurrent_queries_for_user', '1');
    const { get, registry } = api({ maxConcurrent: 8, waitMs: 1000 }, limited.toString());
    // Another query of the same ClickHouse user stays open for ~2 s (sleep's limit is 3 s per block).
    const holder = ch.query({ query: 'SELECT sleep(2) AS s', format: 'JSONEachRow' }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 300));
    const answer = await get('u1');
    await holder;
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.body.error).toMatchObject({
      code: 'overloaded',
      details: { reason: 'clickhouse_too_many_queries', retryAfterSec: 1 },
    });
    expect(await registry.metrics()).toMatch(
      /api_clickhouse_overloaded_total\{reason="clickhouse_too_many_queries"\} 1\b/,
    );
  });
});
