import { describe, expect, it } from 'vitest';
import { ClickHouseServerError } from '../../../services/shared/clickhouse.ts';
import { ApiError } from '../../../services/analytics-api/errors.ts';
import { overloadOf, ReadGate } from '../../../services/analytics-api/clickhouse-gate.ts';

/** The gate's semaphore (services/analytics-api/clickhouse-gate.ts) and the 202 mapping, on plain promises. */

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ReadGate', () => {
  it('runs at most maxConcurrent at once and hands slots over in arrival order', async () => {
    const gate = new ReadGate({ maxConcurrent: 2, waitMs: 1000 });
    const started: number[] = [];
    const release = Array.from({ length: 5 }, () => deferred());
    const runs = release.map((d, i) =>
      gate.run(async () => {
        started.push(i);
        await d.promise;
        return i;
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual([0, 1]);
    release[1]!.resolve();
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual([0, 1, 2]);
    release[0]!.resolve();
    release[2]!.resolve();
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual([0, 1, 2, 3, 4]);
    release[3]!.resolve();
    release[4]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a waiter past waitMs gets the 503 (clickhouse_queue_timeout, Retry-After) and never runs', async () => {
    const gate = new ReadGate({ maxConcurrent: 1, waitMs: 20 });
    const hold = deferred();
    const first = gate.run(() => hold.promise);
    let ran = false;
    const err = await gate
      .run(async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(ApiError);
    const api = err as ApiError;
    expect(api.status).toBe(503);
    expect(api.code).toBe('overloaded');
    expect(api.details).toMatchObject({ reason: 'clickhouse_queue_timeout', retryAfterSec: 1 });
    expect(api.getResponse().headers.get('Retry-After')).toBe('1');
    hold.resolve();
    await first;
    // The timed-out waiter left the line: the slot is free again.
    expect(await gate.run(async () => 'ok')).toBe('ok');
  });

  it('a failing read gives its slot back', async () => {
    const gate = new ReadGate({ maxConcurrent: 1, waitMs: 0 });
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 1)).toBe(1);
  });
});

describe('overloadOf', () => {
  it('maps ClickHouse code 202 from either client to the 503, and nothing else', () => {
    const lean = new ClickHouseServerError(
      500,
      'Code: 202, e.displayText() = DB::Exception: Too many simultaneous queries. Maximum: 100, e.what() = DB::Exception\n',
    );
    expect(lean.code).toBe(202);
    expect(lean.retriable).toBe(true);
    expect(overloadOf(lean)?.details).toMatchObject({ reason: 'clickhouse_too_many_queries' });
    // @clickhouse/client: a parsed ClickHouseError carries the code as a string; an unparsed one is a plain Error.
    expect(
      overloadOf(Object.assign(new Error('Too many simultaneous queries'), { code: '202' })),
    ).not.toBeNull();
    expect(overloadOf(new Error('Code: 202. DB::Exception: Too many simultaneous queries.'))).not.toBeNull();
    const other = new ClickHouseServerError(
      500,
      'Code: 60, e.displayText() = DB::Exception: Table x does not exist',
    );
    expect(other.code).toBe(60);
    expect(other.retriable).toBe(false);
    expect(overloadOf(other)).toBeNull();
    expect(overloadOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBeNull();
  });
});
