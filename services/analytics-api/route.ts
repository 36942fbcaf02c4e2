import type { ClickHouseClient, RowReader } from '../shared/clickhouse.ts';
import type { Pool } from '../shared/postgres.ts';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Principal } from './auth.ts';

/** What a handler may read. */
export type DataDeps = {
  pg: Pool;
  ch: ClickHouseClient;
  /** The per-student ClickHouse reads (data/history.ts, data/live.ts): the lean reader in production. */
  chRows: RowReader;
  /** For live session state; may be null or disconnected (handlers degrade, never fail). */
  redis: Redis | null;
  kAnonymity: number;
  redisTimeoutMs: number;
};

export type HandlerContext<P, Q> = {
  params: P;
  query: Q;
  principal: Principal;
  /** The student whose data is read (scope 'student'). */
  user: string;
  /** The cohort whose aggregate is read (scope 'cohort'). */
  cohort: string;
  data: DataDeps;
  /** Request time, epoch ms (injectable for tests). */
  now: number;
  /** What the route's `authorize` step resolved (e.g. the cohort a student's percentiles are computed in). */
  authorized: Record<string, unknown>;
};

/**
 * One API operation: its contract (path, zod schemas for path and query, OpenAPI text) and its handler.
 * app.ts runs every operation through the same pipeline: authenticate, validate, authorize by `scope`, the route's
 * own `authorize` (checks that need data), and only then the cache, the handler, audit, respond. Handlers only read
 * data and return JSON; a handler never refuses a caller (a cached answer would skip that refusal).
 *
 * scope 'student': data of one student (the caller, or ?user= for admins); educators are refused (aggregates only).
 * scope 'cohort': an aggregate of the cohort named in the path; educators of that cohort and admins.
 * scope 'reserved': documented but not implemented yet (501 with a machine-readable body).
 */
export type RouteSpec<PS extends z.ZodType = z.ZodType, QS extends z.ZodType = z.ZodType> = {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: string;
  scope: 'student' | 'cohort' | 'reserved';
  params?: PS;
  query: QS;
  /**
   * Authorisation that needs data (cohort membership), run on every request BEFORE the cache lookup: throws an
   * ApiError (403) to refuse; what it returns reaches the handler as `authorized` and is part of the cache key, so a
   * cached answer is only served to a caller for whom the same facts hold now.
   */
  authorize?: (
    ctx: Omit<HandlerContext<z.output<PS>, z.output<QS>>, 'authorized'>,
  ) => Promise<Record<string, unknown>>;
  /**
   * Refusals (400) of requests whose parameters are each valid: rules over several parameters together or relative
   * to the request time, which no parameter schema can state (code -> when). Listed in the OpenAPI document (the 400
   * description and `x-query-rules`), so a client and the contract test know which 400s a well-formed request can get.
   */
  queryRules?: Record<string, string>;
  /** When the route answers 404: its description in the OpenAPI document (omitted: the route never does). */
  notFound?: string;
  /**
   * Where the handler's PostgreSQL reads go: 'replica' (PG_READ_URL, a streaming standby) for a route whose answer
   * may lag the primary by the replication delay (the processors' derived state, already eventually consistent);
   * omitted = the primary, for a route that writes (cohort releases) or must see a write at once. The route's
   * `authorize` step always reads the primary (membership is checked before the cache on every request).
   */
  reads?: 'replica';
  /** Cache namespace; omitted = never cached. */
  cache?: string;
  /** The 200 body (schemas.ts): the OpenAPI document's response schema is generated from it. */
  response?: z.ZodType;
  handler?: (ctx: HandlerContext<z.output<PS>, z.output<QS>>) => Promise<Record<string, unknown>>;
  /**
   * Fields read on every request, never cached (the live session), merged over the handler's (cached) body.
   * The body's `_internal` field (cached with it, never sent) carries what the handler prepared for this step.
   */
  fresh?: (
    ctx: HandlerContext<z.output<PS>, z.output<QS>>,
    internal: unknown,
  ) => Promise<Record<string, unknown>>;
};

/** Keeps the generic types of a spec while storing it in a plain list. */
export function defineRoute<PS extends z.ZodType, QS extends z.ZodType>(spec: RouteSpec<PS, QS>): RouteSpec {
  return spec as unknown as RouteSpec;
}
