import { afterAll, describe, expect, it } from 'vitest';
import {
  migrateClickHouse,
  migratePostgres,
  readMigrations,
  POSTGRES_DIR,
  CLICKHOUSE_DIR,
} from '../../../services/shared/migrations.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { isolatedEnv, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('migrate');

describe('the migration runner', () => {
  afterAll(() => teardown(iso));

  it('applies every PostgreSQL migration once; a re-run is a no-op', async () => {
    const pool = createPgPool(iso.cfg);
    const files = (await readMigrations(POSTGRES_DIR)).map((m) => m.name);
    const first = await migratePostgres(pool, iso.cfg.PG_SCHEMA);
    expect(first.applied).toEqual(files);
    const second = await migratePostgres(pool, iso.cfg.PG_SCHEMA);
    expect(second).toEqual({ applied: [], skipped: files });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM ${iso.cfg.PG_SCHEMA}.schema_migrations`,
    );
    expect(rows[0].n).toBe(files.length);
    await pool.end();
  });

  it('applies every ClickHouse migration once; a re-run is a no-op', async () => {
    const files = (await readMigrations(CLICKHOUSE_DIR)).map((m) => m.name);
    const first = await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    expect(first.applied).toEqual(files);
    const second = await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
    expect(second).toEqual({ applied: [], skipped: files });
  });
});
