import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chQuery, createClickHouse } from '../../../services/shared/clickhouse.ts';
import { createPgPool, withTransaction } from '../../../services/shared/postgres.ts';
import { createRedis, redisReady } from '../../../services/shared/redis.ts';
import { ident, sql } from '../../../services/shared/sql.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('stores');

describe('the stores answer through the shared clients', () => {
  beforeAll(() => provision(iso, { postgres: true, clickhouse: true }));
  afterAll(() => teardown(iso));

  it('ClickHouse: create, insert and select, with hostile strings escaped', async () => {
    const ch = createClickHouse(iso.cfg);
    const table = ident('probe');
    await ch.command({
      query: sql`CREATE TABLE ${table} (k String, v UInt32) ENGINE = MergeTree ORDER BY k`.text,
    });
    const hostile = "x'); DROP TABLE probe; --\\";
    await ch.insert({
      table: 'probe',
      values: [
        { k: hostile, v: 7 },
        { k: 'b', v: 3 },
      ],
      format: 'JSONEachRow',
    });
    const rows = await chQuery<{ v: number }>(ch, sql`SELECT v FROM ${table} WHERE k = ${hostile}`.text);
    expect(rows).toEqual([{ v: 7 }]);
    const [{ total }] = await chQuery<{ total: string }>(ch, sql`SELECT sum(v) AS total FROM ${table}`.text);
    expect(Number(total)).toBe(10);
    await ch.close();
  });

  it('PostgreSQL: a failed transaction leaves nothing, a committed one persists', async () => {
    const pool = createPgPool(iso.cfg);
    await pool.query('CREATE TABLE probe (k text PRIMARY KEY, v int NOT NULL)');
    await expect(
      withTransaction(pool, async (c) => {
        await c.query('INSERT INTO probe VALUES ($1, $2)', ['a', 1]);
        await c.query('INSERT INTO probe VALUES ($1, $2)', ['a', 2]);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect((await pool.query('SELECT count(*)::int AS n FROM probe')).rows[0].n).toBe(0);
    await withTransaction(pool, (c) => c.query('INSERT INTO probe VALUES ($1, $2)', ['a', 1]));
    expect((await pool.query('SELECT v FROM probe WHERE k = $1', ['a'])).rows).toEqual([{ v: 1 }]);
    await pool.end();
  });

  it('Redis: set and get under the isolated key prefix', async () => {
    const redis = await redisReady(createRedis(iso.cfg));
    await redis.set('probe', 'value', 'EX', 60);
    expect(await redis.get('probe')).toBe('value');
    const raw = await redisReady(createRedis({ ...iso.cfg, REDIS_KEY_PREFIX: '' }));
    expect(await raw.get(`${iso.cfg.REDIS_KEY_PREFIX}probe`)).toBe('value');
    redis.disconnect();
    raw.disconnect();
  });
});
