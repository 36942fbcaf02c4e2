/**
 * `rebuild --store sessions` against the real stack: the study sessions recomputed from the topics equal what the
 * live sessions processor wrote from the same simulated data (client re-sends and reordering included), the switch
 * happens while the live processor runs, the old table is kept; a row lost from the live table is detected by the
 * verification and restored by a rebuild that accepts the difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, topicNames } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { createRedis } from '../../../services/shared/redis.ts';
import { startSessionsProcessor } from '../../../services/stream/index.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { KEYS } from '../../../services/stream/sessions/store.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { cohort, duplicatedAndShuffled, produce, runEnv } from '../processors/support.ts';
import { cli, waitUntil } from './support.ts';

let iso: IsolatedEnv;
let pool: Pool;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  iso = isolatedEnv('rbs');
  await provision(iso, { postgres: true, kafka: true });
  pool = createPgPool(iso.cfg);
  env = runEnv(iso, iso, 'live');
});

afterAll(async () => {
  if (pool) {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`,
    );
    // Only this test's schemas: they were created while this namespace's rebuilds ran (names carry a time tag).
    for (const r of rows.filter((x) => created.has(x.n))) await pool.query(`DROP SCHEMA ${r.n} CASCADE`);
    await pool.end();
  }
  if (iso) await teardown(iso);
});

const created = new Set<string>();

async function sessions() {
  return (
    await pool.query<Record<string, unknown>>('SELECT * FROM study_sessions ORDER BY user_id, session_id')
  ).rows.map(({ updated_at: _u, ...rest }) => rest);
}

async function lateEvents() {
  return (
    await pool.query<Record<string, unknown>>(
      `SELECT * FROM late_events WHERE processor = 'sessions' ORDER BY event_id`,
    )
  ).rows.map(({ recorded_at: _r, ...rest }) => rest);
}

describe('rebuild --store sessions', () => {
  it('equals the live processor on the same data, switches while it runs, and restores a lost row', async () => {
    const events = duplicatedAndShuffled(cohort(23, 10, 6), 20 * 60_000);
    await produce(iso.cfg, events);
    const redis = createRedis(iso.cfg);
    const log = createLogger('test', 'warn');
    const kafka = createKafka(iso.cfg, log, 'test');
    const admin = kafka.admin();
    await admin.connect();
    const live = await startSessionsProcessor({
      cfg: iso.cfg,
      stream: streamEnv.load(env),
      kafka,
      pool,
      redis,
      log,
      metrics: createMetricsRegistry('test'),
      env,
    });
    try {
      const topics = topicNames(iso.cfg);
      const ends: Array<[string, number]> = [];
      for (const t of [topics['study-events'], topics['question-attempts'], topics['material-interactions']])
        for (const o of await admin.fetchTopicOffsets(t)) ends.push([`${t}|${o.partition}`, Number(o.high)]);
      await waitUntil(
        'sessions caught up',
        async () => {
          const pos = await redis.hgetall(KEYS.pos);
          return ends.every(([k, high]) => high === 0 || Number(pos[k] ?? 0) >= high);
        },
        180_000,
      );
      const before = await sessions();
      const lateBefore = await lateEvents();
      expect(before.length).toBeGreaterThan(20);

      // 1. Rebuild while the live processor runs: equal, switched, old table kept.
      const first = await cli(env, ['rebuild', '--store', 'sessions', '--quiet'], 300_000);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/study_sessions\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      expect(first.stdout).toMatch(/late_events \(sessions\)\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
      const old = /switched; old data kept in (rebuild_old_\w+)/.exec(first.stdout)?.[1];
      expect(old, first.stdout).toBeDefined();
      created.add(old as string);
      expect(await sessions()).toEqual(before);
      expect(await lateEvents()).toEqual(lateBefore);
      const kept = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${old}.study_sessions`);
      expect(kept.rows[0]?.n).toBe(before.length);
      // The live table is the rebuilt one (written by the rebuild, after the live processor's rows).
      const { rows: newer } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM study_sessions s JOIN ${old}.study_sessions o USING (session_id)
         WHERE s.updated_at > o.updated_at`,
      );
      expect(newer[0]?.n).toBe(before.length);

      // 2. A lost row: verification reports the difference and refuses to switch; accepting it restores the row.
      const lost = before[0] as { session_id: string };
      await pool.query('DELETE FROM study_sessions WHERE session_id = $1', [lost.session_id]);
      const refused = await cli(env, ['rebuild', '--store', 'sessions', '--quiet'], 300_000);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/shadow differs from live \(study_sessions: \d+ vs \d+ rows/);
      const kept2 = /kept schema (rebuild_\w+)/.exec(refused.stderr)?.[1];
      if (kept2) created.add(kept2);
      const fixed = await cli(
        env,
        ['rebuild', '--store', 'sessions', '--accept-differences', '--confirm-drop-old', '--quiet'],
        300_000,
      );
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(fixed.stdout).toMatch(/study_sessions\s+(\d+)\s+\d+\s+\S+\s+\S+\s+NO/);
      expect(fixed.stdout).toMatch(/switched; old data dropped/);
      expect(await sessions()).toEqual(before);
    } finally {
      await live.stop();
      await admin.disconnect();
      redis.disconnect();
    }
  });
});
