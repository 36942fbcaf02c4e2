import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { materialInteraction, questionAttempt, studyEvent } from '../../support/ingest-events.ts';
import { fakeApp, post, postFrom } from './fakes.ts';

describe('ingest app (fake Kafka/Redis/PG)', () => {
  it('401 without or with an unknown API key', async () => {
    const { app } = fakeApp();
    const r1 = await app.request('/v1/events', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(r1.status).toBe(401);
    expect(await r1.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    const r2 = await post(app, '/v1/events', studyEvent(), { 'x-api-key': 'ssk_nope' });
    expect(r2.status).toBe(401);
  });

  it('single event: 202 accepted, 200 duplicate, 422 rejected', async () => {
    const { app, publisher } = fakeApp();
    const ev = studyEvent();
    const r1 = await post(app, '/v1/events', ev);
    expect(r1.status).toBe(202);
    expect(await r1.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: 0,
      results: [{ index: 0, event_id: ev.event_id, status: 'accepted' }],
    });
    const r2 = await post(app, '/v1/events', ev);
    expect(r2.status).toBe(200);
    expect((await r2.json()).results[0].status).toBe('duplicate');
    const r3 = await post(app, '/v1/events', { ...ev, event_id: crypto.randomUUID(), confidence: 3 });
    expect(r3.status).toBe(422);
    expect((await r3.json()).results[0].errors).toEqual([
      { path: 'confidence', reason: 'unknown field', code: 'unknown_field' },
    ]);
    expect(publisher.published).toHaveLength(1);
  });

  it('batch: per-event results, bad events do not block good ones, in-batch duplicates', async () => {
    const { app, publisher } = fakeApp();
    const a = questionAttempt();
    const b = materialInteraction();
    const r = await post(app, '/v1/events/batch', {
      events: [a, { ...a }, { nope: 1 }, b, questionAttempt({ attempt_number: 'x' })],
    });
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 2 });
    expect(body.results.map((x: { status: string }) => x.status)).toEqual([
      'accepted',
      'duplicate',
      'rejected',
      'accepted',
      'rejected',
    ]);
    expect(body.results[4].errors[0].path).toBe('attempt_number');
    expect(publisher.published.map((e) => e.record.event_id)).toEqual([a.event_id, b.event_id]);
  });

  it('applies the clock-skew rule to a batch with sent_at', async () => {
    const { app, publisher } = fakeApp();
    const now = Date.now();
    const skew = 2 * 3_600_000; // client clock two hours behind
    const ev = studyEvent({ occurred_at: now - skew - 60_000 }); // looked 2 h 1 min old
    const r = await post(app, '/v1/events/batch', { sent_at: now - skew, events: [ev] });
    expect((await r.json()).accepted).toBe(1);
    const rec = publisher.published[0]!.record as unknown as {
      occurred_at: number;
      client: { clock_skew_ms: number; offline_synced: boolean };
    };
    expect(Math.abs(rec.occurred_at - (now - 60_000))).toBeLessThan(2000);
    expect(Math.abs(rec.client.clock_skew_ms - skew)).toBeLessThan(2000);
    expect(rec.client.offline_synced).toBe(false);
  });

  it('hashes the IP and reduces the user agent; nothing raw is produced', async () => {
    const { app, publisher } = fakeApp();
    const ua =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148 Safari/604.1';
    // Through a trusted proxy (10.0.0.0/8 in fakes.ts): the client is the right-most untrusted X-Forwarded-For hop.
    await postFrom(app, '10.0.0.2', '/v1/events', studyEvent(), {
      'x-forwarded-for': '198.51.100.23, 10.0.0.1',
      'user-agent': ua,
    });
    const text = JSON.stringify(publisher.published[0]);
    expect(text).not.toContain('198.51.100.23');
    expect(text).not.toContain('17_4');
    expect(publisher.published[0]!.record.client).toMatchObject({
      browser: 'Safari',
      os: 'iOS',
      ip_hash: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('envelope errors: 415, 413, 400', async () => {
    const { app } = fakeApp();
    expect(
      (await post(app, '/v1/events/batch', '{"events":[]}', { 'content-type': 'text/plain' })).status,
    ).toBe(415);
    expect((await post(app, '/v1/events/batch', '{"events":[')).status).toBe(400);
    expect((await post(app, '/v1/events/batch', { events: new Array(1001).fill({}) })).status).toBe(413);
    expect((await post(app, '/v1/events/batch', { events: ['x'.repeat(1_100_000)] })).status).toBe(413);
    const r = await post(app, '/v1/events/batch', { event: [] });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { code: 'invalid_envelope' } });
  });

  it('429 with Retry-After when the rate limiter refuses', async () => {
    const { app } = fakeApp({ rateLimiter: { take: async () => ({ ok: false, retryAfterMs: 1500 }) } });
    const r = await post(app, '/v1/events', studyEvent());
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(await r.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('503 with Retry-After when Kafka fails, and the event is not remembered as seen', async () => {
    const { app, publisher, dedupe } = fakeApp();
    publisher.failing = true;
    const ev = studyEvent();
    const r = await post(app, '/v1/events', ev);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeTruthy();
    expect(await r.json()).toMatchObject({ error: { code: 'unavailable' } });
    expect(dedupe.state.size).toBe(0);
    publisher.failing = false;
    expect((await post(app, '/v1/events', ev)).status).toBe(202);
  });

  it('serves /openapi.json, /healthz and /metrics', async () => {
    const { app } = fakeApp();
    expect((await (await app.request('/openapi.json')).json()).openapi).toBe('3.1.0');
    expect((await app.request('/healthz')).status).toBe(200);
    await post(app, '/v1/events', studyEvent());
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('ingest_events_total{family="study-events",result="accepted"');
  });

  it('fuzz: arbitrary bodies never yield a 5xx', async () => {
    const { app } = fakeApp();
    const event = fc.oneof(
      fc.anything(),
      fc.record(
        {
          family: fc.constantFrom('study-events', 'question-attempts', 'material-interactions', 'x'),
          event_id: fc.uuid(),
          user_id: fc.string(),
          occurred_at: fc.oneof(fc.integer(), fc.string()),
        },
        { requiredKeys: [] },
      ),
      fc.constant(questionAttempt()).map((e) => ({ ...e })),
    );
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record(
          { sent_at: fc.anything(), events: fc.array(event, { maxLength: 20 }) },
          { requiredKeys: ['events'] },
        )
        .map((b) => JSON.stringify(b)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (text, batch) => {
        const r = await post(app, batch ? '/v1/events/batch' : '/v1/events', text);
        expect(r.status).toBeLessThan(500);
        await r.arrayBuffer();
      }),
      { numRuns: 300 },
    );
  });
});
