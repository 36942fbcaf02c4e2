import { describe, expect, it } from 'vitest';
import { PgTokenRevocations } from '../../../services/shared/token-revocations.ts';
import type { Pool } from '../../../services/shared/postgres.ts';

/**
 * The per-process revocation list without PostgreSQL (the real table: test/integration/ingest/token-revocation.test.ts
 * and test/integration/api/server-checks.test.ts): the list is reloaded at most once per bound however many requests
 * arrive, a request never uses a list older than the bound, and only the rows of its kind of token are asked for.
 */
type Row = { subject: string; jti: string | null; at: number };
function fakePool(rows: () => Row[] | Error | Promise<Row[]>) {
  const params: unknown[][] = [];
  const pool = {
    query: async (_sql: string, values: unknown[] = []) => {
      params.push(values);
      const r = await rows();
      if (r instanceof Error) throw r;
      return { rows: r };
    },
  } as unknown as Pool;
  return { pool, queries: () => params.length, params };
}

describe('PgTokenRevocations', () => {
  it('one query per bound, a revocation holds once the list is older than the bound', async () => {
    let clock = 1_000_000;
    let rows: Row[] = [];
    const { pool, queries, params } = fakePool(() => rows);
    const check = new PgTokenRevocations(pool, 'ingest', 5_000, () => clock);
    const claims = { subject: 'stu_1', iat: 900, jti: 'j1' };
    for (let i = 0; i < 50; i++) expect(await check.revoked(claims)).toBe(false);
    expect(queries()).toBe(1);
    expect(params[0]).toEqual(['ingest']);
    rows = [{ subject: 'stu_1', jti: 'j1', at: 1_000 }];
    clock += 5_000;
    expect(await check.revocation(claims)).toBe('token');
    expect(await check.revoked({ ...claims, jti: 'j2' })).toBe(false);
    rows = [{ subject: 'stu_1', jti: null, at: 950.5 }];
    clock += 5_000;
    expect(await check.revocation({ ...claims, jti: 'j2' })).toBe('subject'); // issued before the revocation
    expect(await check.revoked({ ...claims, jti: 'j2', iat: 950 })).toBe(true); // the same second
    expect(await check.revoked({ ...claims, jti: 'j2', iat: 951 })).toBe(false); // minted afterwards
    expect(await check.revoked({ subject: 'stu_1' })).toBe(true); // no iat: covered by the subject's revocation
    expect(await check.revoked({ subject: 'stu_2' })).toBe(false);
  });

  it('reloads in the background at half the bound; a stale request does not use a load started too long ago', async () => {
    let clock = 0;
    const pending: Array<(rows: Row[]) => void> = [];
    const { pool, queries, params } = fakePool(() => new Promise<Row[]>((resolve) => pending.push(resolve)));
    const check = new PgTokenRevocations(pool, 'api', 1_000, () => clock);
    const first = check.revoked({ subject: 's', jti: 'a', iat: 1 });
    const joined = check.revoked({ subject: 's', jti: 'a', iat: 1 }); // joins the load in flight
    expect(queries()).toBe(1);
    expect(params[0]).toEqual(['api']);
    pending[0]!([]);
    expect(await first).toBe(false);
    expect(await joined).toBe(false);

    clock = 600; // half the bound: answered from the list, a reload starts behind it
    expect(await check.revoked({ subject: 's', jti: 'a', iat: 1 })).toBe(false);
    expect(queries()).toBe(2);
    clock = 1_700; // that reload (started at 600) hangs; the list (from 0) is stale, the load too old to join
    const late = check.revoked({ subject: 's', jti: 'a', iat: 1 });
    expect(queries()).toBe(3);
    pending[2]!([{ subject: 's', jti: 'a', at: 1_500 }]);
    expect(await late).toBe(true);
    pending[1]!([]); // the older load answering last does not replace the newer list
    await Promise.resolve();
    expect(await check.revoked({ subject: 's', jti: 'a', iat: 1 })).toBe(true);
  });

  it('a bound of 0 reads the table on every check; a failed load is thrown, never answered from an old list', async () => {
    let fail = false;
    const { pool, queries } = fakePool(() => (fail ? new Error('connection refused') : []));
    const check = new PgTokenRevocations(pool, 'api', 0);
    expect(await check.revoked({ subject: 's', iat: 1 })).toBe(false);
    expect(await check.revoked({ subject: 's', iat: 1 })).toBe(false);
    expect(queries()).toBe(2);
    fail = true;
    await expect(check.revoked({ subject: 's', iat: 1 })).rejects.toThrow('connection refused');
  });
});
