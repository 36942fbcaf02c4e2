import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import type { Pool } from '../../../services/shared/postgres.ts';
import { PgAuditLog, type AuditRecord } from '../../../services/analytics-api/audit.ts';

/** A pool double that records INSERT batches and can be made to fail. */
function fakePool() {
  const batches: string[][] = [];
  let failing = false;
  const pool = {
    query: async (_text: string, values: unknown[]) => {
      if (failing) throw new Error('connection refused');
      batches.push(values[1] as string[]);
      return { rows: [] };
    },
  } as unknown as Pool;
  return { pool, batches, fail: (v: boolean) => (failing = v) };
}

const rec = (requestId: string): AuditRecord => ({
  at: new Date(0),
  requestId,
  actorId: 'a',
  actorRole: 'student',
  method: 'GET',
  route: '/api/analytics/dashboard',
  subjectUserId: 'a',
  cohortId: null,
  status: 200,
  params: {},
});

const log = createLogger('test', 'silent');

describe('batched audit log', () => {
  it('writes one INSERT per batch when the row threshold is reached, and the rest on close', async () => {
    const { pool, batches } = fakePool();
    const audit = new PgAuditLog(
      pool,
      { flushMs: 60_000, batchRows: 3, maxBuffer: 100 },
      new Registry(),
      log,
    );
    for (const id of ['1', '2', '3', '4']) audit.record(rec(id));
    await audit.flush();
    await audit.close();
    expect(batches).toEqual([['1', '2', '3'], ['4']]);
  });

  it('flushes on the timer', async () => {
    const { pool, batches } = fakePool();
    const audit = new PgAuditLog(pool, { flushMs: 20, batchRows: 100, maxBuffer: 100 }, new Registry(), log);
    audit.record(rec('t'));
    await new Promise((r) => setTimeout(r, 80));
    expect(batches).toEqual([['t']]);
    await audit.close();
  });

  it('keeps rows across a failed flush, in order, and drops the oldest beyond the buffer limit', async () => {
    const { pool, batches, fail } = fakePool();
    const registry = new Registry();
    const audit = new PgAuditLog(pool, { flushMs: 60_000, batchRows: 100, maxBuffer: 3 }, registry, log);
    fail(true);
    audit.record(rec('1'));
    audit.record(rec('2'));
    await audit.flush();
    audit.record(rec('3'));
    audit.record(rec('4'));
    fail(false);
    await audit.close();
    expect(batches).toEqual([['2', '3', '4']]);
    expect(await registry.getSingleMetricAsString('api_audit_dropped_total')).toContain(' 1');
  });
});
