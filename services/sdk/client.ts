import { MemoryStorage, type QueueStorage } from './storage.ts';
import {
  createEventBuilders,
  isWireEvent,
  type EventBuilders,
  type Platform,
  type WireEvent,
} from './types.ts';

/** One problem the server (or the client, before sending) found with a field of an event. */
export type FieldError = { path: string; reason: string };

/** An event the server refused permanently. It has left the queue and is never re-sent. */
export type Rejection = { event: WireEvent; errors: FieldError[] };

/** Why a request failed in a way that leaves its events queued for a later attempt. */
export type TransportErrorKind =
  | 'network'
  | 'timeout'
  | 'rate_limited'
  | 'unavailable'
  | 'server_error'
  | 'unauthorized'
  | 'misconfigured'
  | 'bad_response'
  | 'storage';

/** Reported through `onError`; informational: the client keeps the events and retries by itself. */
export class StudystreamError extends Error {
  readonly kind: TransportErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: TransportErrorKind,
    message: string,
    extra: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'StudystreamError';
    this.kind = kind;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

export type ClientOptions = {
  /** Base URL of the ingest service, e.g. https://ingest.example.org (the client posts to /v1/events/batch). */
  endpoint: string;
  /**
   * The app's API key, sent as X-API-Key. In a browser or mobile app this is a `client` key (public), and
   * `ingestToken` must be set; a backend uses a `server` key and no token.
   */
  apiKey: string;
  /**
   * Per-student mode (client keys): returns an ingest token for the signed-in student, minted by the app's backend
   * (`mintIngestToken` with its server key, POST /v1/tokens). Called before the first request, when the token is
   * within 30 s of its expiry, and once more when ingest refuses it (expired or invalid), with `refresh` true. Sent
   * as X-Ingest-Token; ingest accepts only that student's events (others come back through `onRejected`).
   */
  ingestToken?: (refresh: boolean) => string | Promise<string>;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Where queued events live until the server answered for them (default MemoryStorage). */
  storage?: QueueStorage;
  /** Events per request, 1 to 1000 (default 100). A full batch is sent at once, without waiting for the timer. */
  batchSize?: number;
  /** Upper bound of a request body in bytes (default 1,000,000, under the server's 1 MiB). */
  maxBatchBytes?: number;
  /** Background flush period in ms (default 2000); 0 disables the timer (only size-triggered and explicit flushes). */
  flushIntervalMs?: number;
  /** Retries of one `flush()` call before it resolves with events still queued (default 5). Events are kept. */
  maxRetries?: number;
  /** Exponential backoff with full jitter: delay = random() * min(max, base * 2^(failures-1)). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Per-request timeout in ms (default 10,000); a timed-out request is retried with the same event ids. */
  requestTimeoutMs?: number;
  /** Bound of the offline queue (default 10,000 events); see the overflow policy on `StudystreamClient`. */
  maxQueueSize?: number;
  /** Default time budget of `close()` in ms (default 5000). */
  closeTimeoutMs?: number;
  /** Sent as client.platform / client.app_version by `client.events` builders. */
  platform?: Platform;
  appVersion?: string;
  /** Epoch-ms clock (default Date.now), used for occurred_at, sent_at and backoff deadlines. */
  clock?: () => number;
  /** Random source in [0, 1) for jitter (default Math.random). */
  random?: () => number;
  /** Events the server (or the client's size check) rejected permanently. */
  onRejected?: (rejections: Rejection[]) => void;
  /** Events dropped by the overflow policy. */
  onDropped?: (events: WireEvent[], reason: 'overflow') => void;
  /** Transient problems (network, 429, 5xx, auth, storage). The events stay queued. */
  onError?: (error: StudystreamError) => void;
};

export type FlushResult = {
  /** Counts of the server's answers during this flush. */
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Events that were queued when the flush started and are still queued (server unreachable, retries spent). */
  remaining: number;
  /** True when every event queued at the start of the flush has been answered for. */
  ok: boolean;
};

export type ClientStats = {
  queued: number;
  inFlight: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  /** Failed requests (each one is retried later). */
  failedRequests: number;
  consecutiveFailures: number;
  /** Earliest epoch ms at which the background sender tries again (0 when not backing off). */
  nextAttemptAt: number;
};

type Entry = { event: WireEvent; bytes: number; persisted: boolean; inFlight: boolean };

type Tally = { accepted: number; duplicates: number; rejected: number };

type Outcome = { kind: 'done' } | { kind: 'retry'; error: StudystreamError };

type Mode = 'background' | 'flush' | 'close';

const BATCH_PATH = '/v1/events/batch';
const MAX_SERVER_BATCH = 1000;
const encoder = new TextEncoder();

/** Parses a Retry-After header (delta-seconds or HTTP-date) into ms from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function positiveInt(
  value: number | undefined,
  fallback: number,
  name: string,
  min = 1,
  max = Infinity,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/**
 * Sends events to studystream ingest in batches, reliably.
 *
 * Delivery: `track()` puts an event in the queue and persists it (QueueStorage) before it can be sent. Batches go
 * out when `batchSize` events are waiting, every `flushIntervalMs`, on `flush()` and on `close()`. An event leaves
 * the queue only once the server answered for it: accepted or duplicate (already stored: success) or rejected
 * (permanent, reported through `onRejected`, never re-sent). Network errors, timeouts, 429, 5xx and
 * authentication/configuration errors leave the events queued; they are re-sent with the same event_id after an
 * exponential backoff with full jitter, and never sooner than the server's Retry-After. At-least-once delivery plus
 * the server's deduplication by event_id gives exactly-once storage.
 *
 * Overflow policy: the queue holds at most `maxQueueSize` events. When a new event would exceed it, the oldest
 * events not currently being sent are dropped (they are the least useful for live state and the most likely to
 * fall outside the server's lateness window), counted in `stats().dropped` and passed to `onDropped`.
 *
 * Shutdown: call `await client.close()` before the process or page goes away; it stops the timer and flushes
 * within `closeTimeoutMs`. Whatever is left stays in the storage (with FileStorage it is sent on the next start).
 * The client installs no process hooks itself; in Node, for example:
 *
 * ```ts
 * process.once('SIGTERM', () => void client.close().finally(() => process.exit(0)));
 * process.once('beforeExit', () => void client.close());
 * ```
 *
 * and in a browser, flush on `visibilitychange` to hidden. The background timer is unref'd in Node, so an idle
 * client never keeps a process alive.
 */
export class StudystreamClient {
  /** Typed event builders bound to this client's clock, platform and app version. */
  readonly events: EventBuilders;
  /** Resolves once the storage has been loaded (events from a previous run are queued again). */
  readonly ready: Promise<void>;

  private readonly url: string;
  private readonly apiKey: string;
  private readonly ingestToken: ClientOptions['ingestToken'];
  private token: { value: string; exp: number } | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly storage: QueueStorage;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly maxRetries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxQueueSize: number;
  private readonly closeTimeoutMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly onRejected: ClientOptions['onRejected'];
  private readonly onDropped: ClientOptions['onDropped'];
  private readonly onError: ClientOptions['onError'];

  private queue: Entry[] = [];
  private readonly index = new Map<string, Entry>();
  private pendingAppend: Entry[] = [];
  private persistOp: Promise<void> | null = null;
  /** Storage operations, strictly one after another. */
  private io: Promise<unknown>;
  /** Drains (sending passes), strictly one after another. */
  private sendChain: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private loaded = false;
  private closing = false;
  private closePromise: Promise<FlushResult> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly sleepers = new Set<() => void>();
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;
  private readonly counters = { accepted: 0, duplicates: 0, rejected: 0, dropped: 0, failedRequests: 0 };

  constructor(opts: ClientOptions) {
    if (!opts.endpoint) throw new TypeError('endpoint is required');
    if (!opts.apiKey) throw new TypeError('apiKey is required');
    this.url = opts.endpoint.replace(/\/+$/, '') + BATCH_PATH;
    this.apiKey = opts.apiKey;
    this.ingestToken = opts.ingestToken;
    if (typeof (opts.fetch ?? globalThis.fetch) !== 'function')
      throw new TypeError('no fetch implementation');
    // Called through globalThis so browsers do not throw 'Illegal invocation' on an unbound fetch.
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.storage = opts.storage ?? new MemoryStorage();
    this.batchSize = positiveInt(opts.batchSize, 100, 'batchSize', 1, MAX_SERVER_BATCH);
    this.maxBatchBytes = positiveInt(opts.maxBatchBytes, 1_000_000, 'maxBatchBytes', 1024);
    this.maxRetries = positiveInt(opts.maxRetries, 5, 'maxRetries', 0);
    this.backoffBaseMs = positiveInt(opts.backoffBaseMs, 500, 'backoffBaseMs');
    this.backoffMaxMs = positiveInt(opts.backoffMaxMs, 30_000, 'backoffMaxMs', this.backoffBaseMs);
    this.requestTimeoutMs = positiveInt(opts.requestTimeoutMs, 10_000, 'requestTimeoutMs');
    this.maxQueueSize = positiveInt(opts.maxQueueSize, 10_000, 'maxQueueSize', this.batchSize);
    this.closeTimeoutMs = positiveInt(opts.closeTimeoutMs, 5000, 'closeTimeoutMs', 0);
    this.clock = opts.clock ?? (() => Date.now());
    this.random = opts.random ?? Math.random;
    this.onRejected = opts.onRejected;
    this.onDropped = opts.onDropped;
    this.onError = opts.onError;
    this.events = createEventBuilders({
      clock: this.clock,
      platform: opts.platform,
      appVersion: opts.appVersion,
    });

    const load = this.storage.load().then(
      (stored) => this.restore(stored),
      (err: unknown) =>
        this.report(new StudystreamError('storage', `loading the queue failed: ${message(err)}`)),
    );
    this.io = load;
    this.ready = load.then(() => {
      this.loaded = true;
      this.kickIfFull();
    });

    const interval = positiveInt(opts.flushIntervalMs, 2000, 'flushIntervalMs', 0);
    if (interval > 0) {
      this.timer = setInterval(() => this.kick(), interval);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /**
   * Queues an event (built with `client.events.*` or `createEventBuilders`). Returns at once; the promise resolves
   * when the event is in the storage (await it when you need the event to survive a crash from here on). It never
   * rejects: storage problems go to `onError` and the event is still sent from memory. Tracking the same event_id
   * twice queues it once. Throws when the client is closed or the value is not an event.
   */
  track(event: WireEvent): Promise<void> {
    if (this.closing) throw new Error('StudystreamClient is closed');
    if (!isWireEvent(event))
      throw new TypeError('track() expects an event built by the studystream SDK builders');
    if (this.index.has(event.event_id)) return this.persistOp ?? Promise.resolve();
    const bytes = encoder.encode(JSON.stringify(event)).length;
    if (bytes + 64 > this.maxBatchBytes) {
      this.counters.rejected++;
      this.callback(() =>
        this.onRejected?.([
          { event, errors: [{ path: '', reason: `event is ${bytes} bytes, over the batch limit` }] },
        ]),
      );
      return Promise.resolve();
    }
    const entry: Entry = { event, bytes, persisted: false, inFlight: false };
    this.queue.push(entry);
    this.index.set(event.event_id, entry);
    this.pendingAppend.push(entry);
    const persisted = this.schedulePersist();
    this.enforceBound();
    return persisted;
  }

  /**
   * Sends everything queued now (and waits for earlier tracks to be persisted first). Retries up to `maxRetries`
   * times with backoff; resolves with what happened. Never rejects; events not delivered stay queued.
   */
  async flush(): Promise<FlushResult> {
    await this.ready;
    return this.exclusive(async () => {
      await this.persistIdle();
      return this.drain('flush', this.maxRetries, Infinity);
    });
  }

  /**
   * Stops the timer, refuses further `track()` calls, flushes for up to `timeoutMs` (default closeTimeoutMs) and
   * waits for the storage to settle. Idempotent. Events not delivered in time stay in the storage.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<FlushResult> {
    if (this.closePromise) return this.closePromise;
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const wake of [...this.sleepers]) wake();
    const timeoutMs = opts.timeoutMs ?? this.closeTimeoutMs;
    this.closePromise = (async () => {
      await this.ready;
      const deadline = this.clock() + timeoutMs;
      const result = await this.exclusive(async () => {
        await this.persistIdle();
        return this.drain('close', Number.POSITIVE_INFINITY, deadline);
      });
      await this.persistIdle();
      return result;
    })();
    return this.closePromise;
  }

  /** Counters and queue state, for diagnostics and tests. */
  stats(): ClientStats {
    return {
      queued: this.queue.length,
      inFlight: this.queue.filter((e) => e.inFlight).length,
      ...this.counters,
      consecutiveFailures: this.consecutiveFailures,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Queue and storage

  private restore(stored: WireEvent[]): void {
    const restored: Entry[] = [];
    for (const event of stored) {
      if (!isWireEvent(event) || this.index.has(event.event_id)) continue;
      const entry: Entry = {
        event,
        bytes: encoder.encode(JSON.stringify(event)).length,
        persisted: true,
        inFlight: false,
      };
      this.index.set(event.event_id, entry);
      restored.push(entry);
    }
    this.queue = [...restored, ...this.queue];
    this.enforceBound();
  }

  /** Runs a storage operation after every earlier one. */
  private serialIo<T>(op: () => Promise<T>): Promise<T> {
    const run = this.io.then(op);
    this.io = run.catch(() => undefined);
    return run;
  }

  /** Writes the events tracked since the last write, coalesced into one storage append. */
  private schedulePersist(): Promise<void> {
    if (this.persistOp) return this.persistOp;
    const op = this.serialIo(async () => {
      this.persistOp = null;
      const batch = this.pendingAppend.filter((e) => this.index.get(e.event.event_id) === e);
      this.pendingAppend = [];
      if (batch.length === 0) return;
      try {
        await this.storage.append(batch.map((e) => e.event));
      } catch (err) {
        this.report(
          new StudystreamError('storage', `persisting ${batch.length} events failed: ${message(err)}`),
        );
      }
      for (const e of batch) e.persisted = true;
      this.kickIfFull();
    });
    this.persistOp = op;
    return op;
  }

  private persistIdle(): Promise<unknown> {
    return this.io;
  }

  private async forget(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const gone = new Set(entries);
    this.queue = this.queue.filter((e) => !gone.has(e));
    for (const e of entries) this.index.delete(e.event.event_id);
    const ids = entries.map((e) => e.event.event_id);
    await this.serialIo(async () => {
      try {
        await this.storage.remove(ids);
      } catch (err) {
        // The events may be re-sent after a restart; the server answers 'duplicate', so nothing is stored twice.
        this.report(
          new StudystreamError('storage', `removing ${ids.length} answered events failed: ${message(err)}`),
        );
      }
    });
  }

  private enforceBound(): void {
    let excess = this.queue.length - this.maxQueueSize;
    if (excess <= 0) return;
    const victims: Entry[] = [];
    for (const e of this.queue) {
      if (excess === 0) break;
      if (e.inFlight) continue;
      victims.push(e);
      excess--;
    }
    if (victims.length === 0) return;
    this.counters.dropped += victims.length;
    void this.forget(victims);
    this.callback(() =>
      this.onDropped?.(
        victims.map((e) => e.event),
        'overflow',
      ),
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Sending

  private exclusive(fn: () => Promise<FlushResult>): Promise<FlushResult> {
    this.busy++;
    const run = this.sendChain.then(fn).finally(() => {
      this.busy--;
    });
    this.sendChain = run.catch(() => undefined);
    return run;
  }

  private sendable(): number {
    let n = 0;
    for (const e of this.queue) if (e.persisted && !e.inFlight) n++;
    return n;
  }

  /** A background pass, unless one is running, the client is backing off, or nothing is ready. */
  private kick(): void {
    if (this.closing || !this.loaded || this.busy > 0) return;
    if (this.clock() < this.nextAttemptAt || this.sendable() === 0) return;
    void this.exclusive(() => this.drain('background', 0, Number.POSITIVE_INFINITY)).then(
      () => {
        if (this.consecutiveFailures === 0) this.kickIfFull();
      },
      (err: unknown) =>
        this.report(new StudystreamError('network', `background send failed: ${message(err)}`)),
    );
  }

  private kickIfFull(): void {
    if (this.sendable() >= this.batchSize) this.kick();
  }

  /**
   * Sends the events queued (and persisted) when the pass started, batch by batch. A failed batch stops a
   * background pass (the timer tries again after the backoff); flush and close passes sleep and retry.
   */
  private async drain(mode: Mode, maxRetries: number, deadline: number): Promise<FlushResult> {
    const tally: Tally = { accepted: 0, duplicates: 0, rejected: 0 };
    const target = new Set(this.queue.filter((e) => e.persisted).map((e) => e.event.event_id));
    let retries = 0;
    for (;;) {
      const batch = this.nextBatch(target);
      if (batch.length === 0) break;
      const outcome = await this.send(batch, tally);
      if (outcome.kind === 'done') {
        this.consecutiveFailures = 0;
        this.nextAttemptAt = 0;
        continue;
      }
      this.consecutiveFailures++;
      this.counters.failedRequests++;
      const delay = this.backoff(outcome.error.retryAfterMs);
      this.nextAttemptAt = this.clock() + delay;
      this.report(outcome.error);
      if (mode === 'background' || retries >= maxRetries) break;
      if (mode !== 'close' && this.closing) break;
      if (this.clock() + delay > deadline) break;
      retries++;
      await this.sleep(delay);
      if (mode !== 'close' && this.closing) break;
    }
    let remaining = 0;
    for (const id of target) if (this.index.has(id)) remaining++;
    return { ...tally, remaining, ok: remaining === 0 };
  }

  private nextBatch(target: Set<string>): Entry[] {
    const batch: Entry[] = [];
    let bytes = 64;
    for (const e of this.queue) {
      if (batch.length >= this.batchSize) break;
      if (!target.has(e.event.event_id) || e.inFlight || !e.persisted) continue;
      if (batch.length > 0 && bytes + e.bytes + 1 > this.maxBatchBytes) break;
      batch.push(e);
      bytes += e.bytes + 1;
    }
    return batch;
  }

  /** Full-jitter exponential backoff, never shorter than the server's Retry-After. */
  private backoff(retryAfterMs: number | undefined): number {
    const exp = Math.min(
      this.backoffMaxMs,
      this.backoffBaseMs * 2 ** Math.min(this.consecutiveFailures - 1, 30),
    );
    const jittered = Math.floor(this.random() * exp);
    return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** The headers of a request: the API key, and in per-student mode a fresh ingest token. */
  private async requestHeaders(refresh: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-api-key': this.apiKey };
    if (!this.ingestToken) return headers;
    if (refresh || !this.token || this.token.exp - 30_000 <= this.clock()) {
      const value = await this.ingestToken(refresh || this.token !== undefined);
      this.token = { value, exp: tokenExpiry(value) ?? this.clock() + 60_000 };
    }
    headers['x-ingest-token'] = this.token.value;
    return headers;
  }

  /** One request for a batch; splits it when the server refuses the request as a whole (400, 413). */
  private async send(entries: Entry[], tally: Tally, refreshToken = false): Promise<Outcome> {
    const body = JSON.stringify({ sent_at: this.clock(), events: entries.map((e) => e.event) });
    let headers: Record<string, string>;
    try {
      headers = await this.requestHeaders(refreshToken);
    } catch (err) {
      return {
        kind: 'retry',
        error: new StudystreamError('unauthorized', `ingest token callback failed: ${message(err)}`),
      };
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.requestTimeoutMs);
    for (const e of entries) e.inFlight = true;
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const res = await this.fetchFn(this.url, {
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const timedOut = controller.signal.aborted;
      return {
        kind: 'retry',
        error: new StudystreamError(
          timedOut ? 'timeout' : 'network',
          timedOut
            ? `request timed out after ${this.requestTimeoutMs} ms`
            : `request failed: ${message(err)}`,
        ),
      };
    } finally {
      clearTimeout(timer);
      for (const e of entries) e.inFlight = false;
    }

    if (status >= 200 && status < 300) return this.settle(entries, text, tally);

    const retryAfterMs = parseRetryAfter(retryAfter, this.clock());
    const detail = `HTTP ${status}${errorSummary(text)}`;
    const retry = (kind: TransportErrorKind): Outcome => ({
      kind: 'retry',
      error: new StudystreamError(kind, detail, { status, retryAfterMs }),
    });
    if (status === 429) return retry('rate_limited');
    if (status === 503) return retry('unavailable');
    if (status >= 500 || status === 408) return retry('server_error');
    const code = errorCode(text);
    if (status === 401 && this.ingestToken && !refreshToken && TOKEN_REFUSALS.has(code))
      return this.send(entries, tally, true); // expired or replaced: one fresh token, then the usual handling
    if ((status === 401 || status === 403) && code !== 'user_id_mismatch') return retry('unauthorized');
    // 403 user_id_mismatch: events of another student than the token's; isolated and rejected like bad content.
    if (status === 400 || status === 403 || status === 413 || status === 422) {
      // The request as a whole was refused for its content: halve it to isolate the offending event(s).
      if (entries.length > 1) {
        const half = Math.ceil(entries.length / 2);
        const first = await this.send(entries.slice(0, half), tally);
        if (first.kind === 'retry') return first;
        return this.send(entries.slice(half), tally);
      }
      const errors = serverErrors(text, status);
      tally.rejected++;
      this.counters.rejected++;
      await this.forget(entries);
      this.callback(() => this.onRejected?.([{ event: entries[0]!.event, errors }]));
      return { kind: 'done' };
    }
    // 404, 405, 415, ...: the endpoint or the SDK setup is wrong; keep the events until it is fixed.
    return retry('misconfigured');
  }

  /** Applies the per-event results of a 2xx answer; events without a result stay queued. */
  private async settle(entries: Entry[], text: string, tally: Tally): Promise<Outcome> {
    let results: Array<{ index?: unknown; event_id?: unknown; status?: unknown; errors?: unknown }>;
    try {
      const parsed = JSON.parse(text) as { results?: unknown };
      if (!Array.isArray(parsed.results)) throw new Error('no results array');
      results = parsed.results as typeof results;
    } catch (err) {
      return {
        kind: 'retry',
        error: new StudystreamError('bad_response', `unreadable batch response: ${message(err)}`),
      };
    }
    const byId = new Map<string, (typeof results)[number]>();
    for (const r of results) if (typeof r?.event_id === 'string') byId.set(r.event_id, r);
    const answered: Entry[] = [];
    const rejections: Rejection[] = [];
    entries.forEach((entry, i) => {
      const r =
        byId.get(entry.event.event_id) ?? results.find((x) => x?.index === i && x.event_id === undefined);
      if (!r) return;
      if (r.status === 'accepted') {
        tally.accepted++;
        this.counters.accepted++;
      } else if (r.status === 'duplicate') {
        tally.duplicates++;
        this.counters.duplicates++;
      } else if (r.status === 'rejected') {
        tally.rejected++;
        this.counters.rejected++;
        rejections.push({ event: entry.event, errors: fieldErrors(r.errors) });
      } else return;
      answered.push(entry);
    });
    await this.forget(answered);
    if (rejections.length > 0) this.callback(() => this.onRejected?.(rejections));
    if (answered.length < entries.length) {
      return {
        kind: 'retry',
        error: new StudystreamError(
          'bad_response',
          `the response answered for ${answered.length} of ${entries.length} events`,
        ),
      };
    }
    return { kind: 'done' };
  }

  private report(error: StudystreamError): void {
    this.callback(() => this.onError?.(error));
  }

  /** User callbacks never break the client. */
  private callback(fn: () => void): void {
    try {
      fn();
    } catch {
      // ignored on purpose
    }
  }
}

function message(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((e): e is { path?: unknown; reason?: unknown } => typeof e === 'object' && e !== null)
    .map((e) => ({ path: String(e.path ?? ''), reason: String(e.reason ?? '') }));
}

/** The reason out of a machine-readable error body `{error: {code, message}}`, if any. */
function serverErrors(text: string, status: number): FieldError[] {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body.error) {
      const details = fieldErrors(body.error.details);
      if (details.length > 0) return details;
      return [
        { path: '', reason: `${String(body.error.code ?? status)}: ${String(body.error.message ?? '')}` },
      ];
    }
  } catch {
    // not JSON
  }
  return [{ path: '', reason: `HTTP ${status}` }];
}

const TOKEN_REFUSALS = new Set([
  'ingest_token_expired',
  'invalid_ingest_token',
  'ingest_token_required',
  'ingest_token_revoked',
]);

function errorCode(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : '';
  } catch {
    return '';
  }
}

/** The expiry (epoch ms) in an ingest token's payload, or undefined when it cannot be read. */
function tokenExpiry(token: string): number | undefined {
  const m = /^sit_([A-Za-z0-9_-]+)\./.exec(token);
  if (!m) return undefined;
  try {
    const b64 = m[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as { exp?: unknown };
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For an app's backend (never a browser: it needs the server key): mints an ingest token for one student, to hand
 * to that student's browser or mobile app (ClientOptions.ingestToken).
 */
export async function mintIngestToken(opts: {
  endpoint: string;
  serverKey: string;
  userId: string;
  ttlSec?: number;
  fetch?: typeof fetch;
}): Promise<{ token: string; expiresAt: number; jti: string }> {
  const fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const res = await fetchFn(opts.endpoint.replace(/\/+$/, '') + '/v1/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': opts.serverKey },
    body: JSON.stringify(
      opts.ttlSec === undefined ? { user_id: opts.userId } : { user_id: opts.userId, ttl_sec: opts.ttlSec },
    ),
  });
  const text = await res.text();
  if (res.status !== 201)
    throw new StudystreamError(
      res.status === 401 || res.status === 403 ? 'unauthorized' : 'misconfigured',
      `HTTP ${res.status}${errorSummary(text)}`,
      { status: res.status },
    );
  const body = JSON.parse(text) as { token: string; expires_at: number; jti: string };
  return { token: body.token, expiresAt: body.expires_at, jti: body.jti };
}

function errorSummary(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body.error) return `: ${String(body.error.code ?? '')} ${String(body.error.message ?? '')}`.trimEnd();
  } catch {
    // not JSON
  }
  return '';
}
