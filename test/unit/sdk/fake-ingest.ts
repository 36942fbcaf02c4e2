import type { WireEvent } from '../../../services/sdk/index.ts';

/**
 * An in-process stand-in for ingest's POST /v1/events/batch, used as the client's `fetch`. It follows the
 * documented contract: per-event results (accepted, duplicate when the event_id is already stored, rejected when
 * `reject` says so). Scripted failures (`failNext`) are consumed one per request before the normal behaviour.
 * The SDK is the unit under test here; test/integration/sdk runs it against the real ingest service.
 */
export type Failure =
  | { kind: 'network' }
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  /** The server stores the batch but the answer is lost on the way back (a crash or timeout after commit). */
  | { kind: 'lost-response' }
  /** A 200 whose results leave out some events. */
  | { kind: 'partial'; answer: number };

export type RecordedRequest = {
  at: number;
  url: string;
  headers: Record<string, string>;
  sentAt: number;
  ids: string[];
};

export class FakeIngest {
  readonly stored = new Map<string, WireEvent>();
  /** Every event_id received, with repeats (re-sends). */
  readonly received: string[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly failures: Failure[] = [];
  reject: (event: WireEvent) => string | undefined = () => undefined;
  /** Set to make every request fail like a closed port. */
  down = false;

  failNext(...failures: Failure[]): this {
    this.failures.push(...failures);
    return this;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    if (this.down)
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    const body = JSON.parse(String(init?.body)) as { sent_at: number; events: WireEvent[] };
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => (headers[key] = value));
    this.requests.push({
      at: Date.now(),
      url: String(input),
      headers,
      sentAt: body.sent_at,
      ids: body.events.map((e) => e.event_id),
    });
    const failure = this.failures.shift();
    if (failure?.kind === 'network') throw new TypeError('fetch failed');
    if (failure?.kind === 'status') {
      return Response.json(failure.body ?? { error: { code: 'x', message: 'scripted' } }, {
        status: failure.status,
        headers: failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter },
      });
    }
    const results = body.events.map((event, index) => {
      this.received.push(event.event_id);
      const reason = this.reject(event);
      if (reason) {
        return { index, event_id: event.event_id, status: 'rejected', errors: [{ path: 'user_id', reason }] };
      }
      if (this.stored.has(event.event_id))
        return { index, event_id: event.event_id, status: 'duplicate', errors: [] };
      this.stored.set(event.event_id, event);
      return { index, event_id: event.event_id, status: 'accepted', errors: [] };
    });
    if (failure?.kind === 'lost-response') throw new TypeError('fetch failed: socket hang up');
    const shown = failure?.kind === 'partial' ? results.slice(0, failure.answer) : results;
    return Response.json({
      accepted: shown.filter((r) => r.status === 'accepted').length,
      duplicates: shown.filter((r) => r.status === 'duplicate').length,
      rejected: shown.filter((r) => r.status === 'rejected').length,
      results: shown,
    });
  };
}
