import { describe, expect, it } from 'vitest';
import {
  compareRows,
  externalTables,
  hasOrderBy,
  isVolatile,
  isWrite,
  taintedAfter,
  type Statement,
} from '../../current-clickhouse/replay.ts';

const st = (over: Partial<Statement>): Statement => ({
  pid: 1,
  seq: 1,
  t0: 0,
  t1: 1,
  db: 'd',
  kind: 'query',
  sql: 'SELECT 1',
  ok: true,
  site: 'x.ts:1',
  ...over,
});

describe('current-ClickHouse replay comparison', () => {
  it('compares 18.16 quoted 64-bit integers with current numbers, floats to 1e-9, rows as a multiset', () => {
    expect(compareRows([{ n: '3', f: 0.1 + 0.2 }], [{ n: 3, f: 0.3 }], false)).toBeUndefined();
    expect(compareRows([{ a: 1 }, { a: 2 }], [{ a: 2 }, { a: 1 }], false)).toBeUndefined();
    expect(compareRows([{ a: 1 }], [{ a: 2 }], false)).toMatch(/rows differ/);
    expect(compareRows([{ a: 1 }], [], false)).toMatch(/1 rows, current 0/);
    expect(compareRows([{ a: 1 }], [{ b: 1 }], false)).toMatch(/rows differ/);
  });

  it('checks the order only under a top-level ORDER BY', () => {
    expect(hasOrderBy('SELECT a FROM (SELECT a FROM t ORDER BY a) GROUP BY a')).toBe(false);
    expect(hasOrderBy('SELECT a FROM t ORDER BY a DESC LIMIT 3')).toBe(true);
    expect(compareRows([{ a: 1 }, { a: 2 }], [{ a: 2 }, { a: 1 }], true)).toMatch(/different order/);
  });

  it('tells reads from writes and engine- or clock-dependent reads', () => {
    expect(isWrite(st({ sql: ' WITH x AS (SELECT 1) SELECT * FROM x' }))).toBe(false);
    expect(isWrite(st({ sql: 'INSERT INTO t FORMAT JSONEachRow' }))).toBe(true);
    expect(isVolatile(st({ sql: 'SELECT count() FROM system.parts' }))).toBe(true);
    expect(isVolatile(st({ sql: 'SELECT * FROM t WHERE day >= today() - 7' }))).toBe(true);
    expect(isVolatile(st({ sql: 'SELECT sum(x) FROM t' }))).toBe(false);
  });

  it('reads the external tables of a multipart body', () => {
    const body =
      '--b\r\nContent-Disposition: form-data; name="ids"; filename="ids"\r\n\r\nx\ny\n\r\n--b--\r\n';
    expect(
      externalTables(
        st({
          data: body,
          contentType: 'multipart/form-data; boundary=b',
          settings: { ids_structure: 'id String' },
        }),
      ),
    ).toEqual([{ name: 'ids', structure: 'id String', format: 'TabSeparated', data: 'x\ny\n' }]);
  });

  it('marks a database timing-dependent when a copy overlaps an insert, not when inserts overlap', () => {
    const insert = (t0: number, t1: number) =>
      st({ t0, t1, kind: 'exec', sql: 'INSERT INTO a FORMAT JSONEachRow' });
    expect(taintedAfter([insert(0, 10), insert(5, 15)]).size).toBe(0);
    const copy = st({
      t0: 8,
      t1: 20,
      kind: 'command',
      db: 'default',
      sql: 'INSERT INTO d.b SELECT * FROM d.a',
    });
    expect(taintedAfter([insert(0, 10), copy]).get('d')).toBe(8);
  });
});
