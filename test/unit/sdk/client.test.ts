import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createEventBuilders,
  MemoryStorage,
  StudystreamClient,
  type ClientOptions,
  type Rejection,
  type StudystreamError,
  type WireEvent,
} from '../../../services/sdk/index.ts';
import { FakeIngest } from './fake-ingest.ts';

const T0 = 1_760_000_000_000;
const events = createEventBuilders();

const answer = (userId = 'stu_1') =>
  events.questionAnswered({
    userId,
    questionId: 'q-1',
    topicIds: ['cardio'],
    isCorrect: true,
    attemptNumber: 1,
    timeToAnswerMs: 12_000,
  });

let ingest: FakeIngest;
let clients: StudystreamClient[];

function client(opts: Partial<ClientOptions> = {}): StudystreamClient {
  const c = new StudystreamClient({
    endpoint: 'http://ingest.test/',
    apiKey: 'key-123',
    fetch: ingest.fetch,
    flushIntervalMs: 0,
    random: () => 0.5,
    ...opts,
  });
  clients.push(c);
  return c;
}

/** Offsets (ms from T0) at which the fake ingest saw each request. */
const requestTimes = () => ingest.requests.map((r) => r.at - T0);

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  ingest = new FakeIngest();
  clients = [];
});

afterEach(async () => {
  ingest.down = false;
  await Promise.all(clients.map((c) => c.close({ timeoutMs: 0 }).catch(() => undefined)));
  vi.useRealTimers();
});

describe('StudystreamClient batching', () => {
  it('sends a full batch at once with the API key, sent_at and the events as built', async () => {
    const c = client({ batchSize: 3, flushIntervalMs: 60_000 });
    const sent = [answer(), answer(), answer()];
    for (const e of sent) void c.track(e);
    await vi.advanceTimersByTimeAsync(0);

    expect(ingest.requests).toHaveLength(1);
    const [req] = ingest.requests;
    expect(req!.url).toBe('http://ingest.test/v1/events/batch');
    expect(req!.headers['x-api-key']).toBe('key-123');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.sentAt).toBe(T0);
    expect(req!.ids).toEqual(sent.map((e) => e.event_id));
    expect([...ingest.stored.values()]).toEqual(sent);
    expect(c.stats()).toMatchObject({ queued: 0, accepted: 3 });
  });

  it('sends a partial batch when the flush interval elapses', async () => {
    const c = client({ flushIntervalMs: 2000 });
    void c.track(answer());
    void c.track(answer());
    await vi.advanceTimersByTimeAsync(1999);
    expect(ingest.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(ingest.requests).toHaveLength(1);
    expect(ingest.requests[0]!.ids).toHaveLength(2);
  });

  it('splits a large queue into batches of batchSize', async () => {
    const c = client({ batchSize: 4 });
    for (let i = 0; i < 10; i++) void c.track(answer());
    const result = await c.flush();
    expect(result).toEqual({ accepted: 10, duplicates: 0, rejected: 0, remaining: 0, ok: true });
    expect(ingest.requests.map((r) => r.ids.length)).toEqual([4, 4, 2]);
  });

  it('queues an event tracked twice only once', async () => {
    const c = client();
    const e = answer();
    void c.track(e);
    void c.track(e);
    await c.flush();
    expect(ingest.received).toEqual([e.event_id]);
  });

  it('rejects locally, without sending, an event larger than a whole request may be', async () => {
    const onRejected = vi.fn();
    const c = client({ maxBatchBytes: 2048, onRejected });
    const big = events.sessionStart({
      userId: 'u',
      topicIds: Array.from({ length: 40 }, (_, i) => `t${i}`.repeat(20)),
    });
    await c.track(big);
    expect(onRejected).toHaveBeenCalledWith([
      { event: big, errors: [expect.objectContaining({ path: '' })] },
    ]);
    expect(c.stats()).toMatchObject({ queued: 0, rejected: 1 });
    await c.flush();
    expect(ingest.requests).toHaveLength(0);
  });
});

describe('StudystreamClient retries', () => {
  it('retries network errors with exponential backoff and full jitter, re-sending the same event ids', async () => {
    const c = client({ backoffBaseMs: 1000, backoffMaxMs: 60_000, maxRetries: 5 });
    const e = answer();
    void c.track(e);
    ingest.failNext({ kind: 'network' }, { kind: 'network' }, { kind: 'network' });
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    // random() = 0.5: delays 0.5 * 1000, 0.5 * 2000, 0.5 * 4000.
    expect(requestTimes()).toEqual([0, 500, 1500, 3500]);
    expect(ingest.requests.every((r) => r.ids.length === 1 && r.ids[0] === e.event_id)).toBe(true);
    expect(await flushed).toEqual({ accepted: 1, duplicates: 0, rejected: 0, remaining: 0, ok: true });
    expect(c.stats()).toMatchObject({ failedRequests: 3, consecutiveFailures: 0, queued: 0 });
  });

  it('draws each delay uniformly below the capped exponential bound (full jitter)', async () => {
    const draws = [0.999, 0.999, 0.999, 0.999, 0.25];
    const c = client({
      backoffBaseMs: 1000,
      backoffMaxMs: 3000,
      maxRetries: 10,
      random: () => draws.shift()!,
    });
    void c.track(answer());
    ingest.failNext(...Array.from({ length: 5 }, () => ({ kind: 'network' as const })));
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(20_000);
    const times = requestTimes();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // bounds 1000, 2000, 3000 (cap), 3000, 3000 scaled by the draws
    expect(gaps).toEqual([999, 1998, 2997, 2997, 750]);
    expect((await flushed).ok).toBe(true);
  });

  it('waits at least Retry-After on 429 and 503', async () => {
    const errors: StudystreamError[] = [];
    const c = client({ random: () => 0, onError: (e) => errors.push(e) });
    void c.track(answer());
    ingest.failNext(
      { kind: 'status', status: 429, retryAfter: '3' },
      { kind: 'status', status: 503, retryAfter: new Date(T0 + 5000).toUTCString() },
    );
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(2999);
    expect(ingest.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ingest.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(requestTimes()).toEqual([0, 3000, 5000]);
    expect((await flushed).ok).toBe(true);
    expect(errors.map((e) => [e.kind, e.status, e.retryAfterMs])).toEqual([
      ['rate_limited', 429, 3000],
      ['unavailable', 503, 2000],
    ]);
  });

  it('retries other 5xx and request timeouts with the same event ids', async () => {
    const e = answer();
    let calls = 0;
    const hanging: typeof fetch = (input, init) => {
      calls++;
      if (calls === 1) return ingest.fetch(input, init).then(() => new Response('oops', { status: 502 }));
      if (calls === 2) {
        return new Promise((_, reject) =>
          init!.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        );
      }
      return ingest.fetch(input, init);
    };
    const kinds: string[] = [];
    const c = client({
      fetch: hanging,
      requestTimeoutMs: 1000,
      random: () => 0,
      onError: (x) => kinds.push(x.kind),
    });
    void c.track(e);
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(5000);
    expect(await flushed).toMatchObject({ ok: true, duplicates: 1 });
    expect(kinds).toEqual(['server_error', 'timeout']);
    expect(ingest.stored.size).toBe(1);
  });

  it('gives up a flush after maxRetries but keeps the events queued', async () => {
    const c = client({ maxRetries: 2, random: () => 0 });
    ingest.down = true;
    void c.track(answer());
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(10);
    expect(await flushed).toEqual({ accepted: 0, duplicates: 0, rejected: 0, remaining: 1, ok: false });
    expect(c.stats().failedRequests).toBe(3);
    expect(ingest.requests).toHaveLength(0); // the closed port never even saw a request
    expect(c.stats().queued).toBe(1);
    ingest.down = false;
    expect((await c.flush()).ok).toBe(true);
  });

  it('keeps events on 401 (a key problem is not the events’ fault) and reports it', async () => {
    const errors: StudystreamError[] = [];
    const c = client({ maxRetries: 0, onError: (e) => errors.push(e) });
    ingest.failNext({
      kind: 'status',
      status: 401,
      body: { error: { code: 'unauthenticated', message: 'bad key' } },
    });
    void c.track(answer());
    expect((await c.flush()).remaining).toBe(1);
    expect(errors[0]).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(errors[0]!.message).toContain('unauthenticated');
    expect((await c.flush()).ok).toBe(true);
  });

  it('the background sender backs off after failures instead of sending on every tick', async () => {
    const c = client({ flushIntervalMs: 100, backoffBaseMs: 1000, random: () => 0.99 });
    ingest.failNext({ kind: 'network' }, { kind: 'network' });
    void c.track(answer());
    await vi.advanceTimersByTimeAsync(100);
    expect(requestTimes()).toEqual([100]); // next attempt not before 100 + 990
    await vi.advanceTimersByTimeAsync(999);
    expect(requestTimes()).toEqual([100]);
    await vi.advanceTimersByTimeAsync(1);
    expect(requestTimes()).toEqual([100, 1100]); // then not before 1100 + 1980
    await vi.advanceTimersByTimeAsync(1900);
    expect(ingest.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(requestTimes()).toEqual([100, 1100, 3100]);
    expect(c.stats()).toMatchObject({ queued: 0, consecutiveFailures: 0, nextAttemptAt: 0 });
  });
});

describe('StudystreamClient per-event results', () => {
  it('treats duplicate as success: the event leaves the queue and is not re-sent or reported', async () => {
    const onRejected = vi.fn();
    const c = client({ onRejected, flushIntervalMs: 100 });
    const e = answer();
    ingest.stored.set(e.event_id, e);
    void c.track(e);
    expect(await c.flush()).toEqual({ accepted: 0, duplicates: 1, rejected: 0, remaining: 0, ok: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ingest.requests).toHaveLength(1);
    expect(onRejected).not.toHaveBeenCalled();
    expect(c.stats()).toMatchObject({ queued: 0, duplicates: 1 });
  });

  it('surfaces rejected events once through onRejected and never re-sends them', async () => {
    const rejections: Rejection[][] = [];
    ingest.reject = (e) => (e.user_id === 'bad_user' ? 'unknown user' : undefined);
    const c = client({ onRejected: (r) => rejections.push(r), flushIntervalMs: 100 });
    const good = answer();
    const bad = answer('bad_user');
    void c.track(good);
    void c.track(bad);
    expect(await c.flush()).toEqual({ accepted: 1, duplicates: 0, rejected: 1, remaining: 0, ok: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ingest.requests).toHaveLength(1);
    expect(rejections).toEqual([[{ event: bad, errors: [{ path: 'user_id', reason: 'unknown user' }] }]]);
    expect(c.stats()).toMatchObject({ queued: 0, accepted: 1, rejected: 1 });
  });

  it('keeps and re-sends events a 200 answer left out', async () => {
    const c = client({ random: () => 0 });
    const [a, b] = [answer(), answer()];
    void c.track(a);
    void c.track(b);
    ingest.failNext({ kind: 'partial', answer: 1 });
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await flushed).toMatchObject({ ok: true, accepted: 1, duplicates: 1 });
    expect(ingest.requests.map((r) => r.ids)).toEqual([[a.event_id, b.event_id], [b.event_id]]);
  });

  it('re-sends after a lost answer and the server deduplicates: stored exactly once', async () => {
    const c = client({ random: () => 0 });
    const sent = [answer(), answer(), answer()];
    for (const e of sent) void c.track(e);
    ingest.failNext({ kind: 'lost-response' });
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await flushed).toMatchObject({ ok: true, accepted: 0, duplicates: 3 });
    expect(ingest.received).toEqual([...sent, ...sent].map((e) => e.event_id));
    expect([...ingest.stored.keys()]).toEqual(sent.map((e) => e.event_id));
  });

  it('halves a batch the server refuses as too large, and rejects one event it still refuses', async () => {
    const onRejected = vi.fn();
    const c = client({ onRejected });
    const sent = [answer(), answer(), answer(), answer()];
    for (const e of sent) void c.track(e);
    ingest.failNext(
      { kind: 'status', status: 413 },
      { kind: 'status', status: 413 },
      {
        kind: 'status',
        status: 413,
        body: { error: { code: 'payload_too_large', message: 'max 10 bytes' } },
      },
    );
    expect(await c.flush()).toMatchObject({ ok: true, accepted: 3, rejected: 1 });
    const ids = sent.map((e) => e.event_id);
    expect(ingest.requests.map((r) => r.ids)).toEqual([
      ids,
      ids.slice(0, 2),
      ids.slice(0, 1),
      ids.slice(1, 2),
      ids.slice(2),
    ]);
    expect(onRejected).toHaveBeenCalledWith([
      { event: sent[0], errors: [{ path: '', reason: 'payload_too_large: max 10 bytes' }] },
    ]);
  });
});

describe('StudystreamClient queue bound and shutdown', () => {
  it('drops the oldest events beyond maxQueueSize, counts them and calls back', async () => {
    const dropped: WireEvent[] = [];
    const storage = new MemoryStorage();
    const c = client({ batchSize: 1, maxQueueSize: 3, storage, onDropped: (e) => dropped.push(...e) });
    ingest.down = true;
    const sent = Array.from({ length: 5 }, () => answer());
    for (const e of sent) await c.track(e);
    expect(dropped).toEqual(sent.slice(0, 2));
    expect(c.stats()).toMatchObject({ queued: 3, dropped: 2 });
    await vi.advanceTimersByTimeAsync(0);
    expect((await storage.load()).map((e) => e.event_id)).toEqual(sent.slice(2).map((e) => e.event_id));
    ingest.down = false;
    expect((await c.flush()).ok).toBe(true);
    expect([...ingest.stored.keys()]).toEqual(sent.slice(2).map((e) => e.event_id));
  });

  it('never drops an event that is being sent', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: typeof fetch = async (input, init) => {
      await gate;
      return ingest.fetch(input, init);
    };
    const dropped: WireEvent[] = [];
    const c = client({ fetch: slow, batchSize: 1, maxQueueSize: 2, onDropped: (e) => dropped.push(...e) });
    const [a, b, d] = [answer(), answer(), answer()];
    await c.track(a);
    const flushed = c.flush();
    await vi.advanceTimersByTimeAsync(0);
    await c.track(b);
    await c.track(d);
    expect(dropped).toEqual([b]);
    release();
    await flushed;
    await c.flush();
    expect([...ingest.stored.keys()]).toEqual([a.event_id, d.event_id]);
  });

  it('close() flushes what is queued and refuses new events', async () => {
    const c = client({ flushIntervalMs: 60_000 });
    void c.track(answer());
    void c.track(answer());
    const result = await c.close();
    expect(result).toMatchObject({ ok: true, accepted: 2 });
    expect(() => c.track(answer())).toThrow(/closed/);
    expect(await c.close()).toBe(result);
  });

  it('close() gives up at its deadline when ingest is unreachable, leaving the events in storage', async () => {
    const storage = new MemoryStorage();
    const c = client({ storage, random: () => 0.5, backoffBaseMs: 200 });
    ingest.down = true;
    await c.track(answer());
    const closed = c.close({ timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await closed).toMatchObject({ ok: false, remaining: 1 });
    expect(storage.size).toBe(1);
  });

  it('persists each event before sending it, and removes it only after the server answered', async () => {
    const log: string[] = [];
    const inner = new MemoryStorage();
    const storage = {
      load: () => inner.load(),
      append: async (es: readonly WireEvent[]) => {
        await new Promise((r) => setTimeout(r, 50)); // a slow disk
        log.push(`append ${es.length}`);
        return inner.append(es);
      },
      remove: async (ids: readonly string[]) => {
        log.push(`remove ${ids.length}`);
        return inner.remove(ids);
      },
      save: (es: readonly WireEvent[]) => inner.save(es),
    };
    const recording: typeof fetch = async (input, init) => {
      log.push('request');
      const res = await ingest.fetch(input, init);
      log.push('answer');
      return res;
    };
    const c = client({ storage, fetch: recording, batchSize: 2 });
    void c.track(answer());
    void c.track(answer());
    await vi.advanceTimersByTimeAsync(49);
    expect(log).toEqual([]); // a full batch, but not persisted yet: nothing sent
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['append 2', 'request', 'answer', 'remove 2']);
  });

  it('keeps working when user callbacks throw', async () => {
    ingest.reject = () => 'no';
    const c = client({
      onRejected: () => {
        throw new Error('callback bug');
      },
    });
    void c.track(answer());
    expect(await c.flush()).toMatchObject({ ok: true, rejected: 1 });
  });

  it('validates its options', () => {
    expect(() => client({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => client({ batchSize: 1001 })).toThrow(/batchSize/);
    expect(() => client({ batchSize: 100, maxQueueSize: 10 })).toThrow(/maxQueueSize/);
    expect(() => client({ apiKey: '' })).toThrow(/apiKey/);
  });
});
