import type { ClientBatch, SimEvent } from './types.ts';

/** One event as the app sends it to `POST /v1/events/batch`: client clock, no received_at, bare client context. */
export type IngestEvent = Record<string, unknown> & {
  family: string;
  event_id: string;
  user_id: string;
  occurred_at: number;
};

/**
 * The request body a device would send for a batch, at real time `nowMs` (historical simulations are replayed now:
 * the device clock reads `nowMs + skew`, and occurred_at carries the same skew, so the server's correction
 * (received_at − sent_at) restores the true occurred_at).
 */
export function ingestBody(batch: ClientBatch, nowMs: number): { sent_at: number; events: IngestEvent[] } {
  return {
    sent_at: nowMs + batch.clockSkewMs,
    events: batch.events.map((e) => ingestEvent(e, batch.clockSkewMs)),
  };
}

export function ingestEvent(e: SimEvent, clockSkewMs: number): IngestEvent {
  const { received_at: _received, client, ...fields } = e.record;
  const c = client as { platform: string; app_version: string | null };
  return {
    family: e.family,
    ...fields,
    occurred_at: e.record.occurred_at + clockSkewMs,
    client: { platform: c.platform, app_version: c.app_version },
  } as IngestEvent;
}
