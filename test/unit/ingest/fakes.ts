import { Readable } from 'node:stream';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import type { OutgoingEvent } from '../../../services/shared/producer.ts';
import type { Authenticator } from '../../../services/ingest/apikeys.ts';
import { createIngestApp, type IngestDeps } from '../../../services/ingest/app.ts';
import { createIngestMetrics } from '../../../services/ingest/metrics.ts';
import { UnavailableError, type Publisher } from '../../../services/ingest/publisher.ts';
import type { Dedupe, RateLimiter, Reservation } from '../../../services/ingest/redis-scripts.ts';

export const API_KEY = 'ssk_0123456789ab_' + 'x'.repeat(43);

export class MemoryDedupe implements Dedupe {
  readonly state = new Map<string, 'p' | 'a'>();
  async reserve(ids: readonly string[]): Promise<Reservation[]> {
    return ids.map((id) => {
      const v = this.state.get(id);
      if (v === 'a') return 'duplicate';
      if (v === 'p') return 'inflight';
      this.state.set(id, 'p');
      return 'new';
    });
  }
  async commit(ids: readonly string[]) {
    for (const id of ids) this.state.set(id, 'a');
  }
  async release(ids: readonly string[]) {
    for (const id of ids) if (this.state.get(id) === 'p') this.state.delete(id);
  }
}

export class MemoryPublisher implements Publisher {
  readonly published: OutgoingEvent[] = [];
  failing = false;
  async publish(events: readonly OutgoingEvent[]) {
    if (this.failing) throw new UnavailableError('kafka down');
    this.published.push(...events);
  }
  async drain() {}
}

export function fakeApp(overrides: Partial<IngestDeps> = {}) {
  const registry = new Registry();
  const dedupe = new MemoryDedupe();
  const publisher = new MemoryPublisher();
  const auth: Authenticator = {
    authenticate: async (key) =>
      key === API_KEY ? { prefix: '0123456789ab', name: 'test', scope: 'server' as const } : undefined,
  };
  const rateLimiter: RateLimiter = { take: async () => ({ ok: true }) };
  const deps: IngestDeps = {
    cfg: {
      INGEST_MAX_BATCH_EVENTS: 1000,
      INGEST_MAX_BODY_BYTES: 1_048_576,
      INGEST_SKEW_TOLERANCE_MS: 120_000,
      INGEST_MAX_EVENT_AGE_DAYS: 30,
      INGEST_MAX_FUTURE_MS: 300_000,
      INGEST_IP_SALT: 'salt',
      INGEST_TRUSTED_PROXIES: '10.0.0.0/8',
    },
    log: createLogger('test', 'silent'),
    registry,
    metrics: createIngestMetrics(registry),
    auth,
    rateLimiter,
    dedupe,
    publisher,
    checks: [],
    ...overrides,
  };
  const { app } = createIngestApp(deps);
  return { app, dedupe, publisher, deps };
}

export function post(
  app: ReturnType<typeof fakeApp>['app'],
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** POSTs as if over a socket from `remoteAddress` (the Node request @hono/node-server would pass). */
export function postFrom(
  app: ReturnType<typeof fakeApp>['app'],
  remoteAddress: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  const incoming = Object.assign(Readable.from([Buffer.from(text)]), { socket: { remoteAddress } });
  return app.request(
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
      body: text,
    },
    { incoming },
  );
}
