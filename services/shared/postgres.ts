import pg from 'pg';
import { z } from 'zod';
import type { SharedConfig } from './config.ts';
import { postgresTls, type TlsSettings } from './tls.ts';

export type { PoolClient } from 'pg';
export type Pool = pg.Pool;

// BIGINT (int8) and NUMERIC arrive as strings by default; our counts fit in a double.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));

/** A service's PostgreSQL role setting (API_PG_ROLE, INGEST_PG_ROLE, ...): a lower-case role name, or empty. */
export const pgRoleSetting = z.string().regex(/^([a-z_][a-z0-9_]*)?$/, 'a lower-case role name or empty');

/** createPgPool's options for a service's role setting: empty means the connecting user itself. */
export const asRole = (role: string): { role?: string } => (role === '' ? {} : { role });

/**
 * A pool whose connections use the configured schema first on their search_path; with `role`, every connection
 * acts as that role from its start (`SET ROLE` as a startup parameter: a least-privilege role such as
 * studystream_api, postgres/070_audit_hardening.sql; the other services' roles, postgres/096_service_roles.sql); with
 * `applicationName`, the connections show under that name in pg_stat_activity (which pool of which service holds a
 * connection, on the primary or a standby). PG_SSL=1: TLS with full verification (shared/tls.ts).
 */
export function createPgPool(
  cfg: Pick<SharedConfig, 'DATABASE_URL' | 'PG_SCHEMA' | 'PG_POOL_MAX'> & TlsSettings,
  opts: { role?: string; applicationName?: string } = {},
): pg.Pool {
  if (opts.role !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.role)) throw new Error('invalid role name');
  const ssl = postgresTls(cfg);
  return new pg.Pool({
    connectionString: cfg.DATABASE_URL,
    ...(ssl ? { ssl } : {}),
    max: cfg.PG_POOL_MAX,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    options: `-c search_path=${cfg.PG_SCHEMA},public${opts.role ? ` -c role=${opts.role}` : ''}`,
  });
}

/** Runs `work` in one transaction; commits on success, rolls back and rethrows on failure. */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A checked-out client whose connection dies between two queries (a PostgreSQL restart) emits 'error'; with no
  // listener that would end the process. Keep the error, let the next query fail, and discard the connection.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      lost ??= rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}
