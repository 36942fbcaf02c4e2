import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { signToken } from '../../../services/analytics-api/auth.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort, waitReady } from '../../support/process.ts';

/** services/analytics-api/main.ts as a process with API_WORKERS=2 (node:cluster; services/shared/cluster.ts). */

const iso = isolatedEnv('apiworkers');
const SECRET = 'api-workers-secret-api-workers-secret';
beforeAll(() => provision(iso, { postgres: true, clickhouse: true }));
afterAll(() => teardown(iso));

describe('analytics API process with API_WORKERS=2', () => {
  it('serves from two workers, sums their metrics, and flushes every audit row on SIGTERM', async () => {
    const pool = createPgPool(iso.cfg);
    const { rows: topics } = await pool.query<{ id: string }>(
      'SELECT id FROM topics WHERE level = 2 ORDER BY id LIMIT 3',
    );
    for (const [i, t] of topics.entries()) {
      await pool.query(
        `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, mastery_score)
         VALUES ('w1', $1, 2, $2, 1, 0.5)`,
        [t.id, i + 1],
      );
    }
    const port = await freePort();
    const child = spawn(process.execPath, ['services/analytics-api/main.ts'], {
      env: {
        ...iso.env,
        API_PORT: String(port),
        API_WORKERS: '2',
        API_CACHE_TTL_SEC: '0',
        JWT_SECRET: SECRET,
        API_AUDIT_FLUSH_MS: '60000',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const token = await signToken(
      { sub: 'w1', role: 'student' },
      { secret: SECRET, ttlSec: 600, issuer: 'studystream', audience: 'studystream-api' },
    );
    try {
      await waitReady(url, child, { attempts: 60, name: 'the API' });
      // The primary forked two processes that serve the port.
      const workers = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/);
      expect(workers).toHaveLength(2);
      // Fresh connections (no keep-alive) are spread over the workers by node:cluster.
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${url}/api/analytics/mastery`, {
            headers: { authorization: `Bearer ${token}`, connection: 'close' },
          }).then(async (r) => ({
            status: r.status,
            body: (await r.json()) as { topics: Array<{ topicId: string; attempts: number }> },
          })),
        ),
      );
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.body.topics.map((t) => [t.topicId, t.attempts])).toEqual(
          topics.map((t, i) => [t.id, i + 1]),
        );
      }
      // Each worker counts its own requests; /metrics of whichever worker answers sums both.
      const text = await (
        await fetch(`${url}/metrics`, {
          headers: { connection: 'close', authorization: `Bearer ${iso.env.OPS_TOKEN}` },
        })
      ).text();
      const served = [
        ...text.matchAll(
          /^http_requests_total\{[^}]*route="\/api\/analytics\/mastery"[^}]*status="200"[^}]*\} (\d+)$/gm,
        ),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(served).toBe(10);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
    }
    // Graceful: each worker flushed its audit buffer on shutdown (the flush interval is a minute).
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE route = '/api/analytics/mastery' AND subject_user_id = 'w1'`,
    );
    await pool.end();
    expect(rows[0]!.n).toBe(10);
  });
});
