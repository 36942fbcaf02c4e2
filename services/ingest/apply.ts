import type { OutgoingEvent } from '../shared/producer.ts';
import type { CandidateEvent } from './validate.ts';
import type { ReducedUserAgent } from './privacy.ts';
import { isOfflineSynced } from './skew.ts';

/** What the server knows about the request, already reduced for privacy. */
export type RequestContext = {
  receivedAt: number;
  /** Clock-skew shift of the batch (see skew.ts); 0 for single events and batches within the tolerance. */
  skewMs: number;
  ipHash: string | null;
  userAgent: ReducedUserAgent;
};

/**
 * Step 3: stamps the server-owned fields on a validated event: received_at, the skew-corrected occurred_at,
 * and the client context (client-set platform and app_version kept; IP hash, browser, OS, offline flag and
 * skew set by the server).
 */
export function applyServerFields(event: CandidateEvent, ctx: RequestContext): OutgoingEvent {
  const r = event.record;
  const occurredAt = r.occurred_at + ctx.skewMs;
  const client = (r.client ?? {}) as { platform?: string; app_version?: string | null };
  return {
    family: event.family,
    record: {
      ...r,
      occurred_at: occurredAt,
      received_at: ctx.receivedAt,
      client: {
        platform: client.platform ?? 'UNKNOWN',
        app_version: client.app_version ?? null,
        ip_hash: ctx.ipHash,
        browser: ctx.userAgent.browser,
        os: ctx.userAgent.os,
        offline_synced: isOfflineSynced(ctx.receivedAt, occurredAt),
        clock_skew_ms: ctx.skewMs,
      },
    },
  };
}
