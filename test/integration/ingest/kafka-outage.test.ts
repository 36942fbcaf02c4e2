import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studyEvent } from '../../support/ingest-events.ts';
import { consumeAll, postJson, startHarness, type Harness } from './harness.ts';

/**
 * Stops the shared Kafka broker for a few seconds (this affects everyone using the stack, so the outage is
 * short and Kafka is always restarted in afterAll).
 */
const stack = (...args: string[]) => {
  const r = spawnSync('bash', ['deploy/stack.sh', ...args], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`stack ${args.join(' ')} failed: ${r.stderr}`);
};

let h: Harness;
let kafkaStopped = false;

beforeAll(async () => {
  h = await startHarness('outage', { INGEST_PRODUCE_TIMEOUT_MS: '3000' });
});

afterAll(async () => {
  if (kafkaStopped) stack('up', 'kafka');
  await h?.close();
});

describe('Kafka outage', () => {
  it('answers 503 with Retry-After while Kafka is down and keeps every acknowledged event', async () => {
    const acknowledged: string[] = [];
    const send = async () => {
      const events = Array.from({ length: 20 }, () => studyEvent());
      const r = await postJson(h, '/v1/events/batch', { events });
      if (r.status === 200) {
        const body = (await r.json()) as { results: Array<{ event_id: string; status: string }> };
        for (const x of body.results) if (x.status === 'accepted') acknowledged.push(x.event_id);
      }
      return r;
    };
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);

    stack('down', 'kafka');
    kafkaStopped = true;
    const during = await send();
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBeTruthy();
    expect(await during.json()).toMatchObject({ error: { code: 'unavailable' } });
    const ready = await h.service.app.request('/readyz');
    expect(ready.status).toBe(503);

    stack('up', 'kafka');
    kafkaStopped = false;
    // the client retries until ingest is back; acknowledged events must all be on the topic
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await send()).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(200);

    const records = await consumeAll(h, ['study-events'], acknowledged.length, 60_000);
    const onTopic = new Set(records.map((r) => r.record.event_id as string));
    expect(acknowledged.filter((id) => !onTopic.has(id))).toEqual([]);
  });
});
