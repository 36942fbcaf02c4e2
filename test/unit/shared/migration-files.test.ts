import { describe, expect, it } from 'vitest';
import {
  CLICKHOUSE_DIR,
  POSTGRES_DIR,
  readMigrations,
  splitStatements,
} from '../../../services/shared/migrations.ts';

describe('splitStatements', () => {
  it('splits at semicolons that end a line and drops comment lines', () => {
    const text = `-- header; with a semicolon\nCREATE TABLE a (x String DEFAULT ';');\n\nCREATE VIEW b AS\n  SELECT 1;\n`;
    expect(splitStatements(text)).toEqual([
      "CREATE TABLE a (x String DEFAULT ';')",
      'CREATE VIEW b AS\n  SELECT 1',
    ]);
  });
});

describe('migration files', () => {
  it.each([POSTGRES_DIR, CLICKHOUSE_DIR])('%s has unique, ordered versions', async (dir) => {
    const migrations = await readMigrations(dir);
    const versions = migrations.map((m) => m.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort()).toEqual(versions);
  });
});
