/**
 * The mastery list's pooling sums taken from its own page (data/learner.ts poolOfLeaves) instead of a second,
 * grouped read (learnerPool): the same sums as the read (up to float summation order), and the same list entries (pCorrect,
 * pCorrectNow, ...) as the grouped read the API made before (sums in the index's order), for 150 students with
 * learner states whose pooling sums span six orders of magnitude. Real PostgreSQL, an isolated schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { learnerPool, poolOfLeaves, type StudentPool } from '../../../services/analytics-api/data/learner.ts';
import { masteryListPage } from '../../../services/analytics-api/data/mastery-list.ts';
import { masteryEntry } from '../../../services/analytics-api/views/mastery-entry.ts';
import { createApiApp } from '../../../services/analytics-api/app.ts';
import { MemoryAuditLog } from '../../../services/analytics-api/audit.ts';
import { createVerifier, signToken } from '../../../services/analytics-api/auth.ts';
import { createClickHouse } from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';

const NOW = Date.parse('2026-03-15T12:00:00Z');
const STUDENTS = 150;

/** The grouped read as the API made it before poolOfLeaves (sums in whatever order the plan scans). */
async function poolAsBefore(pg: Pool, user: string): Promise<StudentPool> {
  const { rows } = await pg.query<{ s: string; g: number; i: number }>(
    `SELECT split_part(m.topic_id, '.', 1) AS s, coalesce(sum((m.learner_state->>'pg')::float8), 0) AS g,
       coalesce(sum((m.learner_state->>'pi')::float8), 0) AS i
     FROM topic_mastery m WHERE m.user_id = $1 AND m.topic_level = 2 GROUP BY 1 ORDER BY 1`,
    [user],
  );
  const pool: StudentPool = { student: { g: 0, i: 0 }, systems: new Map() };
  for (const r of rows) {
    pool.systems.set(r.s, { g: r.g, i: r.i });
    pool.student.g += r.g;
    pool.student.i += r.i;
  }
  return pool;
}

describe('mastery list: pooling sums from the page', () => {
  let iso: IsolatedEnv;
  let pg: Pool;
  const users = Array.from({ length: STUDENTS }, (_, k) => `pool-${String(k).padStart(3, '0')}`);

  beforeAll(async () => {
    iso = isolatedEnv('mpool');
    await provision(iso, { postgres: true });
    pg = createPgPool(iso.cfg);
    // Every student gets a random third of the taxonomy (all levels), leaves with a learner state (a few without,
    // as rows written before the learner model), in a random physical order; seeded, so the data is fixed.
    await pg.query('SELECT setseed(0.4242)');
    await pg.query(
      `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, mastery_score, as_of,
         next_review_at, p_correct, p_correct_lower, p_correct_upper, learner_state)
       SELECT u, t.id, t.level, 10, 6, random(), $2::timestamptz - random() * interval '30 days',
         $2::timestamptz + random() * interval '30 days', 0.6, 0.5, 0.7,
         CASE WHEN t.level = 2 AND random() < 0.95 THEN jsonb_build_object(
           'mu', random() * 3 - 1.5, 'v', 0.05 + random(), 'n', 10, 's', 0.5 + random() * 20,
           'lastAt', $3::float8 - random() * 2e9, 'materialAt', NULL,
           'pg', (random() - 0.4) * exp(random() * 14 - 7), 'pi', random() * exp(random() * 14 - 7)) END
       FROM unnest($1::text[]) AS u CROSS JOIN topics t
       WHERE random() < 0.33
       ORDER BY random()`,
      [users, new Date(NOW).toISOString(), NOW],
    );
  });

  afterAll(async () => {
    await pg?.end();
    if (iso) await teardown(iso).catch(() => {});
  });

  it('a full first page holds every leaf: its sums equal the grouped read', async () => {
    let systems = 0;
    for (const user of users) {
      const page = await masteryListPage(pg, user, { limit: 500, nowMs: NOW });
      expect(page.allLeaves, user).toBe(true);
      const read = await learnerPool(pg, user);
      const own = poolOfLeaves(page.rows);
      expect([...own.systems.keys()].sort(), user).toEqual([...read.systems.keys()].sort());
      for (const [name, a, b] of [
        ['student', own.student, read.student] as const,
        ...[...read.systems].map(([k, v]) => [k, own.systems.get(k)!, v] as const),
      ]) {
        // Summation order only (~1e-16 relative to the terms, which span 1e-3..1e3).
        expect(Math.abs(a.g - b.g), `${user} ${name} g`).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(b.g)),
        );
        expect(Math.abs(a.i - b.i), `${user} ${name} i`).toBeLessThanOrEqual(1e-9 * Math.max(1, b.i));
      }
      expect(read.student.i, user).toBeGreaterThan(0);
      systems += read.systems.size;
    }
    expect(systems).toBeGreaterThan(STUDENTS * 5);
  });

  it('the list entries are the same as with the grouped read the API made before', async () => {
    let predicted = 0;
    for (const user of users) {
      const page = await masteryListPage(pg, user, { limit: 500, nowMs: NOW });
      const before = await poolAsBefore(pg, user);
      const now = poolOfLeaves(page.rows);
      for (const r of page.rows) {
        const a = masteryEntry(r, NOW, before);
        const b = masteryEntry(r, NOW, now);
        expect(JSON.stringify(b), `${user} ${r.topicId}`).toBe(JSON.stringify(a));
        if (b.pCorrectNow !== null) predicted++;
      }
    }
    expect(predicted).toBeGreaterThan(STUDENTS * 20);
  });

  it('a page that may miss leaves says so (cursor, parent, another level, a next page)', async () => {
    const user = users[0]!;
    const full = await masteryListPage(pg, user, { limit: 500, nowMs: NOW });
    const leaves = full.rows.filter((r) => r.level === 2);
    expect((await masteryListPage(pg, user, { level: 2, limit: 500, nowMs: NOW })).allLeaves).toBe(true);
    expect((await masteryListPage(pg, user, { limit: full.rows.length - 1, nowMs: NOW })).allLeaves).toBe(
      false,
    );
    expect((await masteryListPage(pg, user, { level: 1, limit: 500, nowMs: NOW })).allLeaves).toBe(false);
    const after = { level: 2, topicId: leaves[0]!.topicId };
    expect((await masteryListPage(pg, user, { after, limit: 500, nowMs: NOW })).allLeaves).toBe(false);
    const parent = full.rows.find((r) => r.level === 1)!.topicId;
    expect((await masteryListPage(pg, user, { parent, limit: 500, nowMs: NOW })).allLeaves).toBe(false);
  });

  it('the route: the full list (sums from its page) equals the list read page by page (grouped reads)', async () => {
    const secret = 'mastery-pool-test-secret-mastery-pool-test-secret';
    const jwt = { secret, issuer: 'studystream', audience: 'studystream-api' };
    const ch = createClickHouse(iso.cfg);
    const app = createApiApp({
      pg,
      ch,
      redis: null,
      log: createLogger('test', 'warn'),
      registry: new Registry(),
      audit: new MemoryAuditLog(),
      verify: createVerifier(jwt),
      cacheTtlSec: 0,
      cacheTimeoutMs: 50,
      kAnonymity: 10,
      now: () => NOW,
    });
    type Entry = { topicId: string; pCorrectNow: unknown };
    type Body = { topics: Entry[]; nextCursor: string | null };
    try {
      let predicted = 0;
      for (const user of users.slice(0, 40)) {
        const token = await signToken({ sub: user, role: 'student' }, { ...jwt, ttlSec: 600 });
        const get = async (q: string): Promise<Body> => {
          const res = await app.request(`/api/analytics/mastery${q}`, {
            headers: { Authorization: `Bearer ${token}` },
          });
          expect(res.status, `${user} ${q}`).toBe(200);
          return (await res.json()) as Body;
        };
        const full = await get('');
        expect(full.nextCursor).toBeNull();
        const paged: Entry[] = [];
        let cursor: string | null = '';
        while (cursor !== null) {
          const page: Body = await get(cursor === '' ? '?limit=37' : `?limit=37&cursor=${cursor}`);
          paged.push(...page.topics);
          cursor = page.nextCursor;
        }
        expect(paged.length).toBe(full.topics.length);
        expect(JSON.stringify(paged), user).toBe(JSON.stringify(full.topics));
        predicted += full.topics.filter((t) => t.pCorrectNow !== null).length;
      }
      expect(predicted).toBeGreaterThan(40 * 20);
    } finally {
      await ch.close();
    }
  });
});
