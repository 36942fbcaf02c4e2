import { createMiddleware } from 'hono/factory';
import type { AuditSink } from '../audit.ts';
import type { ApiEnv } from './env.ts';

/**
 * Audit: every answer of a data route is recorded, refusals included (401 with no verified actor: 'anonymous';
 * 400 where the subject may be unknown; 403; 404; 5xx). It is the first step of a route's flow because it records
 * what the later steps decided: it fixes the request time, lets authenticate → validate → authorise → cache →
 * handler run (a refusal thrown by any of them is already the error response when `next()` returns), then writes
 * one record with the status and the context variables they set.
 */
export function auditRequest(sink: AuditSink, route: string, now: () => number) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const at = new Date(now());
    c.set('at', at);
    await next();
    const principal = c.var.principal;
    const status = c.res.status;
    if (!principal && status < 400) return;
    sink.record({
      at,
      requestId: c.var.requestId,
      clientRequestId: c.var.clientRequestId,
      actorId: principal?.sub ?? '-',
      actorRole: principal?.role ?? 'anonymous',
      method: c.req.method,
      route,
      subjectUserId: c.var.user ?? null,
      cohortId: c.var.cohort ?? null,
      status,
      params: { ...c.var.params, ...c.var.query },
    });
  });
}
