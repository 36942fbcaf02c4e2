import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool, withTransaction } from '../../../services/shared/postgres.ts';
import { isolatedEnv } from '../../support/isolated.ts';
import { until } from '../../support/wait.ts';

/**
 * A PostgreSQL restart kills the connections the processors hold inside a transaction. The checked-out client then
 * emits 'error' between two queries; before withTransaction listened for it, that event ended the process (found
 * by the cluster profile's primary-restart test). Now the transaction fails like any other and the pool drops the
 * dead connection.
 */
const iso = isolatedEnv('pglost');
const pool = createPgPool(iso.cfg);
const admin = createPgPool(iso.cfg);

afterAll(async () => {
  await pool.end();
  await admin.end();
});

describe('withTransaction when the connection dies mid-transaction', () => {
  it('rejects, keeps the process alive and leaves the pool usable', async () => {
    const attempt = withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(
        'the backend is gone',
        async () =>
          (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0,
        10_000,
        50,
      );
      // The client has seen the socket close (its 'error' event) before this query is sent.
      await new Promise((r) => setTimeout(r, 200));
      await client.query('SELECT 1');
    });
    await expect(attempt).rejects.toThrow();
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
  });
});
