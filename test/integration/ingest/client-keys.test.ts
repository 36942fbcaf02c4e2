import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questionAttempt, studyEvent } from '../../support/ingest-events.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { mintIngestToken, StudystreamClient, type Rejection } from '../../../services/sdk/index.ts';
import { consumeAll, postJson, startHarness, type Harness } from './harness.ts';

/**
 * Issue 18, finding 2: a browser or mobile app's API key is public, so on its own it must write nothing, and with a
 * per-student ingest token only that student's events. Before the fix any key wrote any student's events (the
 * first regression case below was accepted with 202). Real ingest, PostgreSQL and Kafka.
 */
let h: Harness;
let clientKey: string;
const fetchApp: typeof fetch = (input, init) => Promise.resolve(h.service.app.request(String(input), init));

beforeAll(async () => {
  h = await startHarness('clientkeys');
  const pool = createPgPool(h.iso.cfg);
  try {
    ({ key: clientKey } = await createApiKey(pool, 'web app', 'client'));
  } finally {
    await pool.end();
  }
});
afterAll(async () => {
  await h?.close();
});

const mint = (userId: string, ttlSec?: number) =>
  mintIngestToken({ endpoint: 'http://ingest', serverKey: h.apiKey, userId, ttlSec, fetch: fetchApp });

describe('client keys and per-student ingest tokens', () => {
  it("a browser-scoped key cannot write another student's event (regression)", async () => {
    const forged = studyEvent({ user_id: 'victim_1' });
    const noToken = await postJson(h, '/v1/events', forged, { 'x-api-key': clientKey });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('ingest_token_required');

    const { token } = await mint('attacker_1');
    const single = await postJson(h, '/v1/events', forged, {
      'x-api-key': clientKey,
      'x-ingest-token': token,
    });
    expect(single.status).toBe(403);
    expect(await single.json()).toMatchObject({ error: { code: 'user_id_mismatch' } });

    const own = studyEvent({ user_id: 'attacker_1' });
    const batch = await postJson(
      h,
      '/v1/events/batch',
      { events: [own, questionAttempt({ user_id: 'victim_1' })] },
      { 'x-api-key': clientKey, 'x-ingest-token': token },
    );
    expect(batch.status).toBe(403);
    expect(await batch.json()).toMatchObject({
      error: { code: 'user_id_mismatch', details: { indexes: [1] } },
    });

    const ok = await postJson(h, '/v1/events', own, { 'x-api-key': clientKey, 'x-ingest-token': token });
    expect(ok.status).toBe(202);
    const records = await consumeAll(h, ['study-events', 'question-attempts'], 1, 10_000);
    expect(records.map((r) => r.record.event_id)).toEqual([own.event_id]);
  });

  it('tokens: only server keys mint them; tampered, expired or over-long ones are refused', async () => {
    const byClient = await postJson(h, '/v1/tokens', { user_id: 'x_1' }, { 'x-api-key': clientKey });
    expect(byClient.status).toBe(403);
    expect(await byClient.json()).toMatchObject({ error: { code: 'server_key_required' } });
    const tooLong = await postJson(h, '/v1/tokens', { user_id: 'x_1', ttl_sec: 86_400 });
    expect(tooLong.status).toBe(400);

    const { token, expiresAt } = await mint('stu_a', 60);
    expect(expiresAt).toBeGreaterThan(Date.now() + 50_000);
    const [head, sig] = token.split('.') as [string, string];
    const otherPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(head.slice(4), 'base64url').toString()), u: 'stu_b' }),
    ).toString('base64url');
    const tampered = await postJson(h, '/v1/events', studyEvent({ user_id: 'stu_b' }), {
      'x-api-key': clientKey,
      'x-ingest-token': `sit_${otherPayload}.${sig}`,
    });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ error: { code: 'invalid_ingest_token' } });
  });

  it('the SDK in per-student mode refreshes its token and reports events of another student as rejected', async () => {
    const calls: boolean[] = [];
    const rejected: Rejection[] = [];
    let ttl = 1; // the first token expires at once: the client must fetch a second one
    const client = new StudystreamClient({
      endpoint: 'http://ingest',
      apiKey: clientKey,
      fetch: fetchApp,
      flushIntervalMs: 0,
      ingestToken: async (refresh) => {
        calls.push(refresh);
        const t = await mint('stu_sdk', ttl);
        ttl = 600;
        return t.token;
      },
      onRejected: (r) => rejected.push(...r),
    });
    await new Promise((r) => setTimeout(r, 6_500)); // past the 1 s lifetime and the 5 s leeway
    const mine = [studyEvent({ user_id: 'stu_sdk' }), questionAttempt({ user_id: 'stu_sdk' })];
    const foreign = questionAttempt({ user_id: 'someone_else' });
    for (const e of [mine[0], foreign, mine[1]]) await client.track(e as never);
    const result = await client.flush();
    await client.close();
    expect(result).toMatchObject({ accepted: 2, rejected: 1, ok: true });
    expect(rejected.map((r) => r.event.event_id)).toEqual([foreign.event_id]);
    expect(rejected[0]!.errors[0]!.reason).toContain('user_id_mismatch');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.at(-1)).toBe(true);
  }, 20_000);
});
