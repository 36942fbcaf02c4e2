import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import {
  StudystreamClient,
  trackApiCalls,
  type StudyEventWire,
  type WireEvent,
} from '../../../services/sdk/index.ts';
import { FakeIngest } from './fake-ingest.ts';

function recorder() {
  const tracked: WireEvent[] = [];
  return { tracked, client: { track: (e: WireEvent) => (tracked.push(e), Promise.resolve()) } };
}

function appWith(client: Pick<StudystreamClient, 'track'>, onError?: (err: unknown) => void) {
  const app = new Hono();
  app.use(
    '*',
    trackApiCalls(client, {
      userId: (c) => c.req.header('x-student'),
      skip: (c) => c.req.path === '/healthz',
      onError,
    }),
  );
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/questions/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post('/sessions/:sessionId/answers', (c) => c.json({ ok: true }, 201));
  app.get('/animals/:type?', (c) => c.text('animals'));
  app.get('/boom', () => {
    throw new Error('handler bug');
  });
  app.onError((_err, c) => c.json({ error: 'internal' }, 500));
  return app;
}

const student = { headers: { 'x-student': 'stu_7' } };

describe('trackApiCalls middleware', () => {
  it('emits an API_CALL event with method, route pattern, status and duration, never the raw URL', async () => {
    const { tracked, client } = recorder();
    const res = await appWith(client).request('/questions/4711?token=secret&email=a@b.c', student);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '4711' });
    expect(tracked).toHaveLength(1);
    const event = tracked[0] as StudyEventWire;
    expect(event).toMatchObject({
      family: 'study-events',
      event_type: 'API_CALL',
      user_id: 'stu_7',
      client: { platform: 'SERVER', app_version: null },
      api_call: { method: 'GET', route: '/questions/:id', status: 200 },
    });
    expect(event.api_call!.duration_ms).toBeGreaterThanOrEqual(0);
    const json = JSON.stringify(event);
    for (const leaked of ['4711', 'secret', 'token', 'a@b.c']) expect(json).not.toContain(leaked);
  });

  it('reports the status the app answered with, and 500 when the handler threw', async () => {
    const { tracked, client } = recorder();
    const app = appWith(client);
    expect((await app.request('/sessions/s-1/answers', { ...student, method: 'POST' })).status).toBe(201);
    const boom = await app.request('/boom', student);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: 'internal' }); // the app's own error handling is untouched
    expect(tracked.map((e) => (e as StudyEventWire).api_call)).toMatchObject([
      { method: 'POST', route: '/sessions/:sessionId/answers', status: 201 },
      { method: 'GET', route: '/boom', status: 500 },
    ]);
  });

  it('normalises patterns the contract would refuse (optional params) and unmatched paths', async () => {
    const { tracked, client } = recorder();
    const app = appWith(client);
    await app.request('/animals/cats', student);
    expect((await app.request('/no/such/page/123', student)).status).toBe(404);
    expect(tracked.map((e) => (e as StudyEventWire).api_call!.route)).toEqual(['/animals/:type', '/*']);
    expect((tracked[1] as StudyEventWire).api_call!.status).toBe(404);
  });

  it('tracks nothing for anonymous or skipped requests', async () => {
    const { tracked, client } = recorder();
    const app = appWith(client);
    await app.request('/questions/1');
    await app.request('/healthz', student);
    expect(tracked).toEqual([]);
  });

  it('never fails or blocks the request when tracking fails', async () => {
    const onError = vi.fn();
    const throwing = {
      track: () => {
        throw new Error('StudystreamClient is closed');
      },
    };
    const res = await appWith(throwing, onError).request('/questions/1', student);
    expect(res.status).toBe(200);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'StudystreamClient is closed' }));

    const hanging = { track: () => new Promise<void>(() => undefined) };
    expect((await appWith(hanging).request('/questions/1', student)).status).toBe(200);

    const app = new Hono();
    app.use(
      '*',
      trackApiCalls(recorder().client, {
        userId: () => {
          throw new Error('auth bug');
        },
        onError: () => {
          throw new Error('and a buggy onError');
        },
      }),
    );
    app.get('/x', (c) => c.text('fine'));
    const ok = await app.request('/x');
    expect([ok.status, await ok.text()]).toEqual([200, 'fine']);
  });

  it('feeds a real client: the event reaches ingest in the contract shape', async () => {
    const ingest = new FakeIngest();
    const client = new StudystreamClient({
      endpoint: 'http://ingest.test',
      apiKey: 'k',
      fetch: ingest.fetch,
      flushIntervalMs: 0,
    });
    await appWith(client).request('/questions/9', student);
    expect(await client.close()).toMatchObject({ ok: true, accepted: 1 });
    const [stored] = [...ingest.stored.values()] as StudyEventWire[];
    expect(stored!.api_call).toMatchObject({ route: '/questions/:id', status: 200 });
  });
});
