import { EVENT_FAMILIES, type EventFamily } from '../shared/kafka.ts';
import type { EventProducer, OutgoingEvent } from '../shared/producer.ts';
import { hash32 } from './prng.ts';
import type { ClientBatch } from './types.ts';
import { ingestBody, type IngestEvent } from './wire.ts';

/** Where simulated requests go. `deliver` applies back-pressure by resolving only when more may be sent. */
export interface Sink {
  deliver(batch: ClientBatch): Promise<void>;
  close(): Promise<void>;
  readonly results: { accepted: number; duplicate: number; rejected: number };
}

// ---- Kafka (bulk backfill) --------------------------------------------------------------------------------

/**
 * Straight to Kafka through the shared EventProducer (same Avro encoder, keys and acks as ingest). Events are published
 * in chunks, strictly one chunk after the other so one student's events keep their order; the next chunk is
 * generated while the previous one is in flight. Every copy is published, duplicates included (the downstream
 * stores must absorb them), and records carry the received_at the simulation assigned.
 */
export class KafkaSink implements Sink {
  readonly results = { accepted: 0, duplicate: 0, rejected: 0 };
  private readonly producer: Pick<EventProducer, 'publish'>;
  private readonly chunkSize: number;
  private buffer: OutgoingEvent[] = [];
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(producer: Pick<EventProducer, 'publish'>, chunkSize = 5_000) {
    this.producer = producer;
    this.chunkSize = chunkSize;
  }

  async deliver(batch: ClientBatch): Promise<void> {
    for (const e of batch.events) this.buffer.push({ family: e.family, record: e.record });
    if (this.buffer.length >= this.chunkSize) await this.dispatch();
  }

  private async dispatch(): Promise<void> {
    await this.inflight;
    const chunk = this.buffer;
    this.buffer = [];
    this.inflight = this.producer.publish(chunk).then(() => {
      this.results.accepted += chunk.length;
    });
  }

  async close(): Promise<void> {
    if (this.buffer.length > 0) await this.dispatch();
    await this.inflight;
  }
}

// ---- ingest (the real HTTP path) --------------------------------------------------------------------------

export interface IngestResponse {
  accepted: number;
  duplicate: number;
  rejected: number;
  /** First few rejection reasons, for the summary. */
  reasons: string[];
}

/** The one place that talks HTTP to ingest; swap it for the SDK's client without touching the sink. */
export interface IngestClient {
  postBatch(body: { sent_at: number; events: IngestEvent[] }, userAgent: string): Promise<IngestResponse>;
}

export class FetchIngestClient implements IngestClient {
  private readonly url: string;
  private readonly apiKey: string;
  private readonly maxAttempts: number;

  constructor(baseUrl: string, apiKey: string, maxAttempts = 8) {
    this.url = `${baseUrl.replace(/\/$/, '')}/v1/events/batch`;
    this.apiKey = apiKey;
    this.maxAttempts = maxAttempts;
  }

  async postBatch(
    body: { sent_at: number; events: IngestEvent[] },
    userAgent: string,
  ): Promise<IngestResponse> {
    let lastError = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': this.apiKey, 'user-agent': userAgent },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if (res.ok || res.status === 207) return countResults(text);
        lastError = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        if (res.status !== 429 && res.status < 500) throw new Error(`ingest refused a batch: ${lastError}`);
        const retryAfter = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1_000 : backoff(attempt));
      } catch (err) {
        if ((err as Error).message.startsWith('ingest refused')) throw err;
        lastError = (err as Error).message;
        await sleep(backoff(attempt));
      }
    }
    throw new Error(`ingest unavailable after ${this.maxAttempts} attempts: ${lastError}`);
  }
}

const backoff = (attempt: number) => Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts per-event results in an ingest batch response, tolerant of the exact field names. */
export function countResults(text: string): IngestResponse {
  const out: IngestResponse = { accepted: 0, duplicate: 0, rejected: 0, reasons: [] };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return out;
  }
  const list = (body as { results?: unknown[] }).results;
  if (!Array.isArray(list)) return out;
  for (const r of list as Array<Record<string, unknown>>) {
    const status = String(r.status ?? r.result ?? '');
    if (status === 'accepted') out.accepted++;
    else if (status === 'duplicate') out.duplicate++;
    else {
      out.rejected++;
      if (out.reasons.length < 5) out.reasons.push(JSON.stringify(r).slice(0, 300));
    }
  }
  return out;
}

interface Lane {
  chain: Promise<void>;
  queued: number;
  pending: ClientBatch[];
  pendingEvents: number;
}

/**
 * Through ingest's batch endpoint with `concurrency` requests in flight. Students are assigned to lanes by a hash of
 * their id and each lane sends strictly in order, so one student's requests never overtake each other. Requests of
 * devices with a correct clock are coalesced into requests of up to `batchSize` events (the load-test shape); a skewed
 * device's batch and a retry are sent on their own, as the device would.
 */
export class IngestSink implements Sink {
  readonly results = { accepted: 0, duplicate: 0, rejected: 0 };
  readonly reasons: string[] = [];
  requests = 0;
  private readonly client: IngestClient;
  private readonly lanes: Lane[];
  private readonly batchSize: number;
  private failure: Error | undefined;

  constructor(client: IngestClient, opts: { concurrency?: number; batchSize?: number } = {}) {
    this.client = client;
    this.batchSize = opts.batchSize ?? 100;
    this.lanes = Array.from({ length: opts.concurrency ?? 4 }, () => ({
      chain: Promise.resolve(),
      queued: 0,
      pending: [],
      pendingEvents: 0,
    }));
  }

  async deliver(batch: ClientBatch): Promise<void> {
    if (this.failure) throw this.failure;
    const lane = this.lanes[hash32(batch.userId) % this.lanes.length]!;
    const alone = batch.clockSkewMs !== 0 || batch.duplicate;
    if (alone || lane.pendingEvents + batch.events.length > this.batchSize) this.flushLane(lane);
    if (alone) {
      this.enqueue(lane, [batch]);
    } else {
      lane.pending.push(batch);
      lane.pendingEvents += batch.events.length;
    }
    if (lane.queued > 3) await lane.chain;
  }

  private flushLane(lane: Lane): void {
    if (lane.pending.length === 0) return;
    this.enqueue(lane, lane.pending);
    lane.pending = [];
    lane.pendingEvents = 0;
  }

  private enqueue(lane: Lane, batches: ClientBatch[]): void {
    lane.queued++;
    lane.chain = lane.chain.then(async () => {
      try {
        if (this.failure) return;
        const now = Date.now();
        const events = batches.flatMap((b) => ingestBody(b, now).events);
        const first = batches[0]!;
        const response = await this.client.postBatch(
          { sent_at: now + first.clockSkewMs, events },
          first.userAgent,
        );
        this.requests++;
        this.results.accepted += response.accepted;
        this.results.duplicate += response.duplicate;
        this.results.rejected += response.rejected;
        for (const r of response.reasons) if (this.reasons.length < 5) this.reasons.push(r);
      } catch (err) {
        this.failure ??= err as Error;
      } finally {
        lane.queued--;
      }
    });
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) this.flushLane(lane);
    await Promise.all(this.lanes.map((l) => l.chain));
    if (this.failure) throw this.failure;
  }
}

// ---- statistics -------------------------------------------------------------------------------------------

export interface RunStats {
  events: Record<EventFamily, number>;
  eventsSent: number;
  duplicatesSent: number;
  batches: number;
  offlineBatches: number;
  skewedBatches: number;
  attempts: number;
  students: number;
}

export function emptyStats(): RunStats {
  return {
    events: Object.fromEntries(EVENT_FAMILIES.map((f) => [f, 0])) as Record<EventFamily, number>,
    eventsSent: 0,
    duplicatesSent: 0,
    batches: 0,
    offlineBatches: 0,
    skewedBatches: 0,
    attempts: 0,
    students: 0,
  };
}

export function countBatch(stats: RunStats, batch: ClientBatch): void {
  stats.batches++;
  if (batch.offline) stats.offlineBatches++;
  if (batch.clockSkewMs !== 0) stats.skewedBatches++;
  stats.eventsSent += batch.events.length;
  if (batch.duplicate) stats.duplicatesSent += batch.events.length;
  else for (const e of batch.events) stats.events[e.family]++;
}
