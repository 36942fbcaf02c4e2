import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialInteraction, questionAttempt, studyEvent } from '../../support/ingest-events.ts';
import { createEventBuilders } from '../../../services/sdk/index.ts';
import { consumeAll, postJson, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('ingest');
});
afterAll(async () => {
  await h?.close();
});

describe('ingest against the real stack', () => {
  it('a batch mixing good, duplicate and malformed events gives exact results and exactly the good events on the topics', async () => {
    const before = questionAttempt();
    expect((await postJson(h, '/v1/events', before)).status).toBe(202);

    const good = [
      studyEvent(),
      questionAttempt(),
      materialInteraction(),
      questionAttempt({ user_id: 'stu_9' }),
    ];
    const events = [
      good[0],
      { ...before }, // seen in an earlier request
      { ...good[1], topic_ids: [] }, // semantic error (copy with the same event_id, comes first)
      good[1],
      { ...good[1] }, // duplicate inside the batch
      'not an object',
      { ...good[2], family: 'material-interactions', extra: true },
      good[2],
      good[3],
      { ...studyEvent(), occurred_at: 'tomorrow-ish' },
    ];
    const res = await postJson(h, '/v1/events/batch', { sent_at: Date.now(), events });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accepted: number;
      duplicates: number;
      rejected: number;
      results: Array<{
        index: number;
        status: string;
        event_id: string | null;
        errors?: Array<{ path: string }>;
      }>;
    };
    expect(body.results.map((r) => r.status)).toEqual([
      'accepted',
      'duplicate',
      'rejected',
      'accepted',
      'duplicate',
      'rejected',
      'rejected',
      'accepted',
      'accepted',
      'rejected',
    ]);
    expect({ a: body.accepted, d: body.duplicates, r: body.rejected }).toEqual({ a: 4, d: 2, r: 4 });
    expect(body.results[2]!.errors!.map((e) => e.path)).toEqual(['topic_ids']);
    expect(body.results[6]!.errors!.map((e) => e.path)).toEqual(['extra']);
    expect(body.results[9]!.errors!.map((e) => e.path)).toEqual(['occurred_at']);

    // Re-sending the whole batch: every good event is now a duplicate.
    const again = (await (await postJson(h, '/v1/events/batch', { events: good })).json()) as {
      duplicates: number;
    };
    expect(again.duplicates).toBe(4);

    const records = await consumeAll(h, ['study-events', 'question-attempts', 'material-interactions'], 5);
    const ids = records.map((r) => r.record.event_id).sort();
    expect(ids).toEqual([before, ...good].map((e) => e.event_id).sort());
    for (const r of records) {
      expect(r.key).toBe(r.record.user_id);
      expect(r.record.received_at).toEqual(expect.any(Number));
      expect((r.record.client as { ip_hash: unknown }).ip_hash).toBeNull(); // no socket under app.request()
    }
    const qa = records.find((r) => r.record.event_id === good[1]!.event_id)!;
    expect(qa.family).toBe('question-attempts');
    expect(qa.record).toMatchObject({
      question_id: 'q-88412',
      topic_ids: ['cardio.hf', 'pharm.diuretics'],
      confidence: 4,
      mode: 'TUTOR',
    });
  });

  it("time_zone: the SDK's runtime zone reaches the topic, an unknown zone is rejected, none is null", async () => {
    const ev = createEventBuilders();
    const sdkEvent = ev.questionAnswered({
      userId: 'stu_tz',
      questionId: 'q-tz',
      topicIds: ['cardio.hf'],
      isCorrect: true,
      attemptNumber: 1,
      timeToAnswerMs: 20_000,
    });
    expect(sdkEvent.time_zone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect((await postJson(h, '/v1/events', sdkEvent)).status).toBe(202);
    const bad = await postJson(h, '/v1/events', { ...questionAttempt(), time_zone: 'Mars/Olympus' });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { results: Array<{ errors: Array<{ path: string; code: string }> }> };
    expect(body.results[0]!.errors).toEqual([
      expect.objectContaining({ path: 'time_zone', code: 'invalid_value' }),
    ]);
    const records = await consumeAll(h, ['question-attempts'], 4);
    const got = records.find((r) => r.record.event_id === sdkEvent.event_id)!;
    expect(got.record.time_zone).toBe(sdkEvent.time_zone);
    // events of the first test were sent without the field: null
    expect(
      records
        .filter((r) => r.record.event_id !== sdkEvent.event_id)
        .every((r) => r.record.time_zone === null),
    ).toBe(true);
  });

  it('readyz reports every dependency', async () => {
    const r = await h.service.app.request('/readyz');
    const body = (await r.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
    expect(body.checks.map((c) => c.name).sort()).toEqual(['kafka', 'postgres', 'redis', 'registry']);
    expect(r.status).toBe(200);
  });

  it('rejects unknown API keys and rate-limits per key with Retry-After', async () => {
    expect(
      (await postJson(h, '/v1/events', studyEvent(), { 'x-api-key': 'ssk_000000000000_' + 'a'.repeat(43) }))
        .status,
    ).toBe(401);
  });

  it('fuzz: arbitrary request bodies never yield a 5xx or a crash', async () => {
    const event = fc.oneof(
      fc.anything(),
      fc.record(
        {
          family: fc.constantFrom('study-events', 'question-attempts', 'material-interactions', 'nope'),
          event_id: fc.oneof(fc.uuid(), fc.string()),
          user_id: fc.string(),
          occurred_at: fc.oneof(
            fc.integer(),
            fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
            fc.double(),
          ),
          topic_ids: fc.array(fc.string()),
          client: fc.anything(),
          progress: fc.double(),
        },
        { requiredKeys: [] },
      ),
      fc.constant(null).map(() => questionAttempt()),
    );
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record(
          { sent_at: fc.oneof(fc.integer(), fc.anything()), events: fc.array(event, { maxLength: 15 }) },
          { requiredKeys: ['events'] },
        )
        .map((b) => JSON.stringify(b)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (text, batch) => {
        const r = await postJson(h, batch ? '/v1/events/batch' : '/v1/events', text);
        expect(r.status).toBeLessThan(500);
        await r.arrayBuffer();
      }),
      { numRuns: 200 },
    );
  });
});

describe('rate limit', () => {
  let limited: Harness;
  beforeAll(async () => {
    limited = await startHarness('ratelimit', {
      INGEST_RATE_LIMIT_PER_SEC: '5',
      INGEST_MAX_BATCH_EVENTS: '10',
    });
  });
  afterAll(async () => {
    await limited?.close();
  });
  it('429 with Retry-After once the key used its events', async () => {
    const batch = { events: Array.from({ length: 10 }, () => studyEvent()) };
    expect((await postJson(limited, '/v1/events/batch', batch)).status).toBe(200);
    const r = await postJson(limited, '/v1/events/batch', {
      events: Array.from({ length: 10 }, () => studyEvent()),
    });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await r.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });
});
