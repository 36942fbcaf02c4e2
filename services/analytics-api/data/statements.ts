import { createHash } from 'node:crypto';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Pool } from '../../shared/postgres.ts';
import { isoFromMs } from '../compute.ts';

/**
 * What every PostgreSQL read model of the API shares: the statement cache and the conversions of column values.
 * Values are bound as $n parameters only, after the route's zod validation.
 */

/** A row read as an object (column name -> value). */
export type Raw = Record<string, unknown>;

/** A timestamptz as epoch milliseconds (float8): cheaper for the driver than parsing timestamp text into Dates. */
export const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

export const iso = (v: unknown): string | null =>
  v instanceof Date ? v.toISOString() : typeof v === 'number' ? isoFromMs(v) : v == null ? null : String(v);

export const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));

const names = new Map<string, string>();

/**
 * Runs a query as a named (server-side prepared) statement: PostgreSQL plans each distinct text once per
 * connection instead of on every request. Names derive from the text, so dynamic WHERE clauses stay distinct.
 */
export async function prepared<R extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[],
  rowMode?: 'array',
): Promise<QueryResult<R>> {
  let name = names.get(text);
  if (!name) {
    name = `api_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return pool.query<R>({ name, text, values, ...(rowMode ? { rowMode } : {}) });
}
