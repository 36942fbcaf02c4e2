import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventBuilders, FileStorage, StudystreamClient } from '../../../services/sdk/node.ts';
import { FakeIngest } from './fake-ingest.ts';

const run = promisify(execFile);
const events = createEventBuilders();
const answer = () =>
  events.questionAnswered({
    userId: 'stu_1',
    questionId: 'q-1',
    topicIds: ['cardio'],
    isCorrect: false,
    attemptNumber: 1,
    timeToAnswerMs: 8000,
  });

let dir: string;
let ingest: FakeIngest;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-queue-'));
  ingest = new FakeIngest();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('FileStorage', () => {
  it('keeps append/remove/save across instances, in order, without leaving temp files', async () => {
    const path = join(dir, 'nested', 'queue.jsonl');
    const a = new FileStorage(path);
    const [e1, e2, e3] = [answer(), answer(), answer()];
    expect(await a.load()).toEqual([]);
    await a.append([e1, e2]);
    await a.append([e3]);
    await a.remove([e2.event_id, 'unknown-id']);
    expect(await new FileStorage(path).load()).toEqual([e1, e3]);
    await a.save([e3]);
    expect(await new FileStorage(path).load()).toEqual([e3]);
    expect(await readdir(join(dir, 'nested'))).toEqual(['queue.jsonl']);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('serializes concurrent calls', async () => {
    const path = join(dir, 'q.jsonl');
    const s = new FileStorage(path, { fsync: false });
    const all = Array.from({ length: 20 }, () => answer());
    await Promise.all(all.map((e) => s.append([e])));
    expect((await new FileStorage(path).load()).map((e) => e.event_id)).toEqual(all.map((e) => e.event_id));
  });

  it('skips lines that are not events (a hand-edited or foreign file) and duplicate ids', async () => {
    const path = join(dir, 'q.jsonl');
    const [e1, e2] = [answer(), answer()];
    await writeFile(
      path,
      `${JSON.stringify(e1)}\n{"broken\n42\n${JSON.stringify(e1)}\n${JSON.stringify(e2)}\n`,
    );
    expect(await new FileStorage(path).load()).toEqual([e1, e2]);
  });
});

describe('offline queue with FileStorage', () => {
  it('events tracked while ingest is down survive the process being killed (-9) and are sent on the next start', async () => {
    const path = join(dir, 'queue.jsonl');
    const idsFile = join(dir, 'ids.json');
    const port = await closedPort();
    const script = join(dir, 'app.mjs');
    const sdk = new URL('../../../services/sdk/node.ts', import.meta.url).href;
    await writeFile(
      script,
      `import { writeFileSync } from 'node:fs';
       import { StudystreamClient, FileStorage } from ${JSON.stringify(sdk)};
       const client = new StudystreamClient({ endpoint: 'http://127.0.0.1:${port}', apiKey: 'k',
         storage: new FileStorage(${JSON.stringify(path)}), flushIntervalMs: 20, backoffBaseMs: 10 });
       const ids = [];
       for (let i = 0; i < 25; i++) {
         const e = client.events.materialOpen({ userId: 'stu_9', materialId: 'm' + i, materialType: 'ARTICLE' });
         ids.push(e.event_id);
         await client.track(e);
       }
       await client.flush(); // fails: nothing listens
       writeFileSync(${JSON.stringify(idsFile)}, JSON.stringify(ids));
       process.kill(process.pid, 'SIGKILL');`,
    );
    await expect(run(process.execPath, [script])).rejects.toMatchObject({ signal: 'SIGKILL' });
    const ids = JSON.parse(await readFile(idsFile, 'utf8')) as string[];
    expect(ids).toHaveLength(25);

    const client = new StudystreamClient({
      endpoint: 'http://ingest.test',
      apiKey: 'k',
      fetch: ingest.fetch,
      storage: new FileStorage(path),
      flushIntervalMs: 0,
    });
    await client.ready;
    expect(client.stats().queued).toBe(25);
    expect(await client.close()).toMatchObject({ ok: true, accepted: 25 });
    expect([...ingest.stored.keys()]).toEqual(ids);
    expect(await new FileStorage(path).load()).toEqual([]);
  });

  it('a crash after the server stored a batch but before the answer arrived loses nothing and stores nothing twice', async () => {
    const path = join(dir, 'queue.jsonl');
    const opts = {
      endpoint: 'http://ingest.test',
      apiKey: 'k',
      fetch: ingest.fetch,
      flushIntervalMs: 0,
      maxRetries: 0,
    };
    const first = new StudystreamClient({ ...opts, storage: new FileStorage(path) });
    const sent = Array.from({ length: 10 }, () => answer());
    for (const e of sent) await first.track(e);
    ingest.failNext({ kind: 'lost-response' });
    expect(await first.flush()).toMatchObject({ ok: false, remaining: 10 });
    expect(ingest.stored.size).toBe(10); // stored by the server, but the client never heard back
    // the process dies here (no close); a new one starts from the same file
    const second = new StudystreamClient({ ...opts, storage: new FileStorage(path) });
    expect(await second.flush()).toMatchObject({ ok: true, accepted: 0, duplicates: 10 });
    expect([...ingest.stored.keys()]).toEqual(sent.map((e) => e.event_id));
    expect(await new FileStorage(path).load()).toEqual([]);
  });
});

describe('StudystreamClient over real HTTP', () => {
  let server: ServerType | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it('queues while nothing listens on the port, then drains once the endpoint comes up', async () => {
    const port = await closedPort();
    const errors: string[] = [];
    const client = new StudystreamClient({
      endpoint: `http://127.0.0.1:${port}`,
      apiKey: 'k',
      storage: new FileStorage(join(dir, 'q.jsonl')),
      flushIntervalMs: 0,
      maxRetries: 1,
      backoffBaseMs: 10,
      onError: (e) => errors.push(e.kind),
    });
    const sent = Array.from({ length: 30 }, () => answer());
    for (const e of sent) void client.track(e);
    expect(await client.flush()).toMatchObject({ ok: false, remaining: 30 });
    expect(errors).toEqual(['network', 'network']);

    const app = new Hono();
    app.post('/v1/events/batch', async (c) =>
      ingest.fetch(c.req.url, { method: 'POST', headers: c.req.raw.headers, body: await c.req.text() }),
    );
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    });
    expect(await client.close()).toMatchObject({ ok: true, accepted: 30 });
    expect(ingest.requests[0]!.headers['x-api-key']).toBe('k');
    expect([...ingest.stored.keys()]).toEqual(sent.map((e) => e.event_id));
  });
});
