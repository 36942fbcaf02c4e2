import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventCodec } from '../../../services/shared/codec.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { studyEvent } from '../../support/ingest-events.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, waitReady } from '../../support/process.ts';
import { consumeAll } from './harness.ts';

const iso = isolatedEnv('ingestproc');
beforeAll(async () => {
  await provision(iso, { postgres: true, kafka: true });
  await registerAll(iso.cfg, createLogger('test', 'warn'));
});
afterAll(() => teardown(iso));

describe('ingest process (services/ingest/main.ts)', () => {
  it('serves over HTTP, hashes the socket IP, and exits 0 on SIGTERM after flushing', async () => {
    const pool = createPgPool(iso.cfg);
    const { key } = await createApiKey(pool, 'proc');
    await pool.end();
    const port = await freePort();
    const child = spawn(process.execPath, ['services/ingest/main.ts'], {
      env: { ...iso.env, INGEST_PORT: String(port), INGEST_IP_SALT: 'test-salt' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, child, { attempts: 60, name: 'ingest' });
    const events = Array.from({ length: 50 }, () => studyEvent());
    const res = await fetch(`${url}/v1/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'user-agent': 'okhttp/4.12.0' },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(50);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).not.toContain('127.0.0.1"'); // no raw IP in logs

    const h = { iso, codec: new EventCodec(createRegistry(iso.cfg), iso.cfg) } as Parameters<
      typeof consumeAll
    >[0];
    const records = await consumeAll(h, ['study-events'], 50);
    expect(records).toHaveLength(50);
    expect(records[0]!.record.client).toMatchObject({
      ip_hash: expect.stringMatching(/^[0-9a-f]{16}$/),
      browser: 'okhttp',
    });
  });

  it('with INGEST_WORKERS=2 serves from both workers and /metrics counts the events of all of them', async () => {
    const pool = createPgPool(iso.cfg);
    const { key } = await createApiKey(pool, 'proc-workers');
    await pool.end();
    const port = await freePort();
    const child = spawn(process.execPath, ['services/ingest/main.ts'], {
      env: { ...iso.env, INGEST_PORT: String(port), INGEST_WORKERS: '2', INGEST_IP_SALT: 'test-salt' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, { attempts: 60, name: 'ingest' });
      // Fresh connections (no keep-alive) are spread over both workers by node:cluster.
      const posts = Array.from({ length: 8 }, () =>
        fetch(`${url}/v1/events/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key, connection: 'close' },
          body: JSON.stringify({ events: Array.from({ length: 5 }, () => studyEvent()) }),
        }).then(async (r) => ({
          status: r.status,
          accepted: ((await r.json()) as { accepted: number }).accepted,
        })),
      );
      const answers = await Promise.all(posts);
      expect(answers.every((a) => a.status === 200 && a.accepted === 5)).toBe(true);

      const metrics = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${iso.env.OPS_TOKEN}` },
      });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      const accepted = [
        ...text.matchAll(/^ingest_events_total\{[^}]*result="accepted"[^}]*\} (\d+)$/gm),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(accepted).toBe(40);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
