/**
 * Sessions lose nothing under a backlog: a three-week cohort with offline phones (35% of the students, syncing hours
 * or days late), clock-skewed devices, client re-sends, and one student's session id reused by another student, is
 * produced to Kafka in the simulator's order (day by day, student by student: no global time order) BEFORE the
 * processors start. Then, on the real stack:
 *  - every (student, session_id) of the raw history is written or live, with all its distinct events and answers
 *    (`reconcile`), and no event is recorded as late;
 *  - `rebuild --store sessions` verifies equal to the live processor and switches to identical rows;
 *  - `replay --processor sessions` changes nothing, and writes again a session whose row was lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openContext } from '../../../services/datatools/context.ts';
import { runBounded, seedKafkaGroup } from '../../../services/datatools/bounded.ts';
import { reconcile } from '../../../services/datatools/reconcile.ts';
import { computeRanges, processorTopics, sinkDefinition } from '../../../services/datatools/replay.ts';
import { createKafka, topicNames } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { cohortEvents, simOptions } from '../../../services/simulator/cohort.ts';
import type { SimEvent } from '../../../services/simulator/types.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { cli } from '../datatools/support.ts';
import { produce, runEnv, startInProcess, waitCaughtUp, type Running } from './support.ts';

let iso: IsolatedEnv;
let pool: Pool;
let env: NodeJS.ProcessEnv;
let running: Running | undefined;
const schemas = new Set<string>();

type Sim = SimEvent & { duplicate: boolean; offline: boolean };

function backlog(): {
  events: SimEvent[];
  offlineStudents: number;
  students: number;
  duplicates: number;
  skewed: number;
} {
  const opts = simOptions({
    seed: 4242,
    students: 14,
    days: 21,
    offlineRate: 0.35,
    duplicateRate: 0.02,
    startMs: Date.UTC(2025, 2, 3),
  });
  const all: Sim[] = [...cohortEvents(opts)];
  const offline = new Set(all.filter((e) => e.offline).map((e) => e.record.user_id as string));
  const skewed = all.filter((e) => (e.record.client as { clock_skew_ms: number }).clock_skew_ms !== 0).length;
  // Another student's events under an id that a first student already used for a session of theirs.
  const users = [...new Set(all.map((e) => e.record.user_id as string))].sort();
  const victim = all.find((e) => e.record.user_id === users[0] && e.family === 'question-attempts')!;
  const borrowed = all
    .filter((e) => e.record.user_id === users[1] && e.record.session_id)
    .slice(0, 12)
    .map((e, i) => ({
      family: e.family,
      record: {
        ...e.record,
        event_id: `0000aaaa-0000-4000-8000-${String(i).padStart(12, '0')}`,
        session_id: victim.record.session_id,
      },
    }));
  return {
    events: [...all.map(({ family, record }) => ({ family, record })), ...borrowed],
    offlineStudents: offline.size,
    students: users.length,
    duplicates: all.filter((e) => e.duplicate).length,
    skewed,
  };
}

async function rows() {
  return (
    await pool.query<Record<string, unknown>>('SELECT * FROM study_sessions ORDER BY user_id, session_id')
  ).rows.map(({ updated_at: _u, ...rest }) => rest);
}

beforeAll(async () => {
  iso = isolatedEnv('snl');
  await provision(iso);
  pool = createPgPool(iso.cfg);
  env = runEnv(iso, iso, 'live');
}, 180_000);

afterAll(async () => {
  await running?.stop();
  if (pool) {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pool.end();
  }
  if (iso) await teardown(iso);
});

describe('sessions under a backlog of offline, skewed and re-sent events', () => {
  it('writes every session with all its events; rebuild and replay give identical rows', async () => {
    const data = backlog();
    expect(data.offlineStudents / data.students).toBeGreaterThanOrEqual(0.3);
    expect(data.duplicates).toBeGreaterThan(0);
    expect(data.skewed).toBeGreaterThan(0);
    await produce(iso.cfg, data.events);

    // The raw history: the live sink's definition over the whole topics.
    const log = createLogger('test', 'warn');
    const kafka = createKafka(iso.cfg, log, 'test');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ranges = await computeRanges(
        admin,
        processorTopics(iso.cfg, 'clickhouse-sink'),
        { kind: 'earliest' },
        { kind: 'latest' },
      );
      const group = `${iso.cfg.KAFKA_TOPIC_PREFIX}sink-history`;
      await seedKafkaGroup(admin, group, ranges);
      const { def, close } = sinkDefinition(iso.cfg, env, group, iso.cfg.CLICKHOUSE_DATABASE);
      try {
        await runBounded({
          def,
          kafka,
          log,
          stream: streamEnv.load(env),
          deadLetterTopic: topicNames(iso.cfg).deadLetter,
          ranges,
        });
      } finally {
        await close();
      }
    } finally {
      await admin.disconnect();
    }

    // The processors start after the backlog is on the topics.
    running = await startInProcess(env);
    await waitCaughtUp(env);

    const ctx = await openContext(env, 'test');
    try {
      const r = await reconcile(ctx, { from: null, to: null });
      expect(r.sessions.examples).toEqual([]);
      expect(r.sessions.inHistory).toBeGreaterThan(150);
      expect(r.sessions.missing).toBe(0);
      expect(r.sessions.differing).toBe(0);
      expect(r.sessions.answersInSessions).toBe(r.sessions.answersInHistory);
      const attempts = r.history.find((h) => h.family === 'question-attempts')!;
      expect(r.sessions.answersInHistory).toBe(attempts.withSession);
      expect(r.sessions.eventsInSessions).toBe(r.history.reduce((s, h) => s + h.withSession, 0));
      // Late events of the sessions processor: none (the goal is below 0.1%).
      const late = r.late.filter((l) => l.processor === 'sessions').reduce((s, l) => s + l.n, 0);
      expect(late).toBe(0);
      // The mastery processor's per-student read models equal the history under its rules (re-sends, offline
      // deliveries and skewed clocks included).
      expect(r.studyReads?.examples).toEqual([]);
      expect(r.studyReads?.students).toBeGreaterThan(10);
      // So do the topic reviews of review adherence (postgres/088): the first answer per student, topic and day
      // whatever the arrival order, and the schedule after each.
      expect(r.reviews?.examples).toEqual([]);
      expect(r.reviews?.students).toBeGreaterThan(10);
      expect(r.ok).toBe(true);
    } finally {
      await ctx.close();
    }
    // The borrowed session id is two sessions, one per student.
    const victim = data.events.find((e) => e.record.event_id === '0000aaaa-0000-4000-8000-000000000000')!;
    const { rows: owners } = await pool.query<{ user_id: string; event_count: number }>(
      'SELECT user_id, event_count FROM study_sessions WHERE session_id = $1 ORDER BY user_id',
      [victim.record.session_id],
    );
    expect(owners).toHaveLength(2);
    expect(owners.find((o) => o.user_id === victim.record.user_id)?.event_count).toBe(12);

    const before = await rows();
    expect(before.length).toBeGreaterThan(150);

    // rebuild --store sessions: verified equal to the live processor, switched, identical rows.
    const rebuilt = await cli(
      env,
      ['rebuild', '--store', 'sessions', '--quiet', '--confirm-drop-old'],
      300_000,
    );
    for (const m of `${rebuilt.stdout}\n${rebuilt.stderr}`.matchAll(/rebuild_(?:old_)?\w+/g))
      schemas.add(m[0]);
    expect(rebuilt.stderr).not.toMatch(/differs|error/i);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/study_sessions\s+(\d+)\s+\1\s+(\S+)\s+\2\s+yes/);
    expect(await rows()).toEqual(before);

    // replay: nothing changes; a lost row is written again from the topics.
    const replayed = await cli(
      env,
      ['replay', '--processor', 'sessions', '--from', 'earliest', '--to', 'latest', '--quiet'],
      300_000,
    );
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/replayed \d+ records/);
    expect(await rows()).toEqual(before);
    const lost = before[7] as { user_id: string; session_id: string };
    await pool.query('DELETE FROM study_sessions WHERE user_id = $1 AND session_id = $2', [
      lost.user_id,
      lost.session_id,
    ]);
    const again = await cli(
      env,
      ['replay', '--processor', 'sessions', '--from', 'earliest', '--to', 'latest', '--quiet'],
      300_000,
    );
    expect(again.code).toBe(0);
    expect(await rows()).toEqual(before);
  });
});
