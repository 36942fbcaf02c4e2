import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { chTime } from '../../support/seeded-data.ts';
import {
  createClickHouse,
  createClickHouseReader,
  type ClickHouseClient,
} from '../../../services/shared/clickhouse.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { Registry } from '../../../services/shared/metrics.ts';
import { asRole, createPgPool, type Pool } from '../../../services/shared/postgres.ts';
import { listPartitions } from '../../../services/stream/clickhouse-sink/maintenance.ts';
import { loadJobsConfig } from '../../../services/jobs/config.ts';
import { jobDefinitions } from '../../../services/jobs/jobs.ts';
import { runnerOptions } from '../../../services/jobs/options.ts';
import {
  jobOptions,
  openQueue,
  queueStatus,
  startRunner,
  type JobDefinition,
  type Runner,
} from '../../../services/jobs/runner.ts';
import type { DataDeps } from '../../../services/analytics-api/route.ts';
import { studentGaps } from '../../../services/analytics-api/routes/gaps.ts';
import { studentReadiness } from '../../../services/analytics-api/routes/readiness.ts';
import { loadReadinessArtifact } from '../../../services/readiness/artifact.ts';

/**
 * The jobs service's runner on the real Redis (BullMQ), ClickHouse and PostgreSQL, each test in its own namespace.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const log = createLogger('test', 'silent');
let iso: IsolatedEnv;
let redis: Redis;
let pg: Pool;
/** What the jobs service connects as: its least-privilege role (JOBS_PG_ROLE, postgres/096). */
let jobsPg: Pool;
let ch: ClickHouseClient;
let chRows: ReturnType<typeof createClickHouseReader>;
const runners: Runner[] = [];
const children: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  iso = isolatedEnv('jobs');
  await provision(iso, { postgres: true, clickhouse: true });
  redis = new Redis(iso.cfg.REDIS_URL);
  pg = createPgPool(iso.cfg);
  jobsPg = createPgPool(iso.cfg, asRole(loadJobsConfig(iso.env).JOBS_PG_ROLE));
  ch = createClickHouse(iso.cfg);
  chRows = createClickHouseReader(iso.cfg);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of runners) await r.close().catch(() => undefined);
  chRows?.close();
  await ch?.close();
  await pg?.end();
  await jobsPg?.end();
  redis?.disconnect();
  if (iso) await teardown(iso);
});

function options(queue: string, lockMs = 2000) {
  return {
    redisUrl: iso.cfg.REDIS_URL,
    prefix: `${iso.cfg.REDIS_KEY_PREFIX}bull`,
    queue,
    attempts: 2,
    backoffMs: 100,
    lockMs,
    deadKeep: 100,
    concurrency: 1,
    log,
  };
}

/** A runner with the service's own job definitions on this namespace, nothing scheduled (tests enqueue). */
async function serviceRunner(queue: string, env: NodeJS.ProcessEnv, now?: () => number): Promise<Runner> {
  const cfg = loadJobsConfig({
    ...iso.env,
    JOBS_SNAPSHOT_CRON: '',
    JOBS_RETENTION_CRON: '',
    JOBS_CALIBRATION_CRON: '',
    JOBS_RETRAIN_CRON: '',
    ...env,
  });
  const runner = await startRunner({
    ...runnerOptions(cfg),
    queue,
    lockMs: 5000,
    definitions: jobDefinitions({ cfg, pg: jobsPg, ch, chRows, now }),
    log,
  });
  runners.push(runner);
  return runner;
}

describe('schedules, retries and the dead-job list', () => {
  it('runs each scheduled time once across two instances and keeps a finally failed job as dead', async () => {
    const key = `${iso.cfg.REDIS_KEY_PREFIX}runs`;
    const definitions: JobDefinition[] = [
      {
        name: 'tick',
        description: 'test',
        schedule: { every: 700 },
        run: async (_data, { job }) => {
          await redis.rpush(key, `${job.id}|${job.opts.delay ?? 0}|${job.timestamp}`);
        },
      },
      {
        name: 'flaky',
        description: 'always fails',
        schedule: null,
        run: async () => {
          throw new Error('boom');
        },
      },
    ];
    const registries = [new Registry(), new Registry()];
    for (const registry of registries)
      runners.push(await startRunner({ ...options('sched'), definitions, registry }));
    const queue = runners[0]!.queue;
    expect(await queue.getJobSchedulers()).toHaveLength(1);
    await queue.add('flaky', {}, jobOptions({ attempts: 2, backoffMs: 100, deadKeep: 100 }));
    await sleep(4000);
    const runs = await redis.lrange(key, 0, -1);
    const ids = runs.map((r) => r.split('|')[0]);
    // Every iteration of the schedule has its own job id; none ran twice although two workers compete.
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(ids.length).toBeLessThanOrEqual(7);
    await until(async () => (await queue.getFailedCount()) === 1, 5000, 'the dead job');
    const status = await queueStatus(queue);
    expect(status.dead).toHaveLength(1);
    expect(status.dead[0]).toMatchObject({ name: 'flaky', attempts: 2, reason: 'boom' });
    const text = (await Promise.all(registries.map((r) => r.metrics()))).join('\n');
    const sum = (re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
    expect(sum(/^jobs_failed_total\{job="flaky"\} (\d+)/gm)).toBe(2);
    expect(sum(/^jobs_dead_total\{job="flaky"\} (\d+)/gm)).toBe(1);
    expect(sum(/^jobs_completed_total\{job="tick"\} (\d+)/gm)).toBe(ids.length);
    for (const r of runners.splice(0)) await r.close();
  }, 30_000);
});

describe('a worker killed mid-job', () => {
  it('retries the job on another instance: not lost, completed once', async () => {
    const key = `${iso.cfg.REDIS_KEY_PREFIX}kill`;
    const start = () => {
      const child = spawn(process.execPath, [`${ROOT}test/support/jobs-worker.ts`], {
        env: {
          ...iso.env,
          REDIS_URL: iso.cfg.REDIS_URL,
          JOBS_TEST_PREFIX: `${iso.cfg.REDIS_KEY_PREFIX}bull`,
          JOBS_QUEUE: 'kill',
          JOBS_LOCK_MS: '1500',
          JOBS_TEST_KEY: key,
          JOBS_TEST_PAUSE_MS: '3000',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    };
    const ready = (child: ChildProcess) =>
      until(async () => (await redis.get(`${key}:ready:${child.pid}`)) === '1', 30_000, 'a worker');
    const a = start();
    await ready(a);
    const queue = openQueue({
      redisUrl: iso.cfg.REDIS_URL,
      prefix: `${iso.cfg.REDIS_KEY_PREFIX}bull`,
      queue: 'kill',
    });
    try {
      const job = await queue.add('slow', {}, jobOptions({ attempts: 3, backoffMs: 100, deadKeep: 100 }));
      await until(async () => (await redis.get(`${key}:started`)) === '1', 15_000, 'the job to start');
      a.kill('SIGKILL');
      await new Promise((r) => a.once('exit', r));
      const b = start();
      await ready(b);
      await until(
        async () => (await queue.getJobState(job.id!)) === 'completed',
        30_000,
        'the job to complete',
      );
      expect(await redis.get(`${key}:started`)).toBe('2');
      expect(await redis.get(`${key}:finished`)).toBe('1');
      const done = await queue.getJob(job.id!);
      expect(done?.returnvalue).toEqual({ done: true });
      expect(await queue.getCompletedCount()).toBe(1);
      b.kill('SIGTERM');
      await new Promise((r) => b.once('exit', r));
    } finally {
      await queue.close();
    }
  }, 90_000);
});

describe('the service jobs', () => {
  it('retention drops exactly the monthly partitions past the limit', async () => {
    const now = Date.UTC(2026, 2, 15, 12); // 2026-03-15
    // Months around the 24-month limit: the oldest kept month is 2024-03 (the month of now - 24 months).
    const months = ['2023-12', '2024-02', '2024-03', '2024-04', '2026-03'];
    await ch.insert({
      table: 'question_attempts',
      format: 'JSONEachRow',
      values: months.map((m, i) => ({
        event_id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
        user_id: 'ret-user',
        occurred_at: chTime(Date.parse(`${m}-10T10:00:00Z`)),
        received_at: chTime(Date.parse(`${m}-10T10:00:00Z`)),
        schema_version: 1,
        session_id: 's',
        question_id: 'q',
        topic_ids: ['t'],
        selected_answer: 'A',
        is_correct: 1,
        attempt_number: 1,
        time_to_answer_ms: 1000,
      })),
    });
    const before = (await listPartitions(ch, iso.cfg.CLICKHOUSE_DATABASE)).filter(
      (p) => p.table === 'question_attempts',
    );
    expect(before.map((p) => p.partition)).toEqual(['202312', '202402', '202403', '202404', '202603']);
    const runner = await serviceRunner('service', {}, () => now);
    const job = await runner.queue.add(
      'retention',
      {},
      jobOptions({ attempts: 1, backoffMs: 100, deadKeep: 10 }),
    );
    await until(async () => (await runner.queue.getJobState(job.id!)) === 'completed', 20_000, 'retention');
    const after = (await listPartitions(ch, iso.cfg.CLICKHOUSE_DATABASE)).filter(
      (p) => p.table === 'question_attempts',
    );
    expect(after.map((p) => p.partition)).toEqual(['202403', '202404', '202603']);
    const result = (await runner.queue.getJob(job.id!))?.returnvalue as {
      dropped: string[];
      keepFrom: number;
    };
    expect(result.keepFrom).toBe(202403);
    expect(result.dropped.filter((d) => d.startsWith('question_attempts:'))).toEqual([
      'question_attempts:202312',
      'question_attempts:202402',
    ]);

    // Snapshot: the day's rows equal the API's own answers for the student.
    const user = 'snap-user';
    const leaves = (
      await pg.query<{ id: string }>('SELECT id FROM topics WHERE level = 2 ORDER BY id LIMIT 3')
    ).rows;
    for (const [i, l] of leaves.entries()) {
      await pg.query(
        `INSERT INTO topic_mastery (user_id, topic_id, topic_level, attempts, correct, recent_accuracy, mastery_score)
         VALUES ($1, $2, 2, 10, $3, 0.5, $4)`,
        [user, l.id, 3 + i, 0.2 + 0.3 * i],
      );
    }
    const snap = await runner.queue.add(
      'snapshot-gaps-readiness',
      {},
      jobOptions({ attempts: 1, backoffMs: 100, deadKeep: 10 }),
    );
    await until(
      async () => (await runner.queue.getJobState(snap.id!)) === 'completed',
      60_000,
      'the snapshot',
    );
    const data: DataDeps = { pg, ch, chRows, redis: null, kAnonymity: 10, redisTimeoutMs: 50 };
    const [gaps, readiness] = await Promise.all([
      studentGaps(data, user, now, 20),
      studentReadiness(data, user, now),
    ]);
    const rows = (
      await pg.query(
        `SELECT topic_id, rank, priority_score, severity FROM knowledge_gaps WHERE user_id = $1 AND snapshot_day = '2026-03-15' ORDER BY rank`,
        [user],
      )
    ).rows;
    expect(rows.map((r) => r.topic_id)).toEqual(gaps.gaps.map((g) => g.topicId));
    expect(rows.map((r) => Number(r.priority_score))).toEqual(gaps.gaps.map((g) => g.priorityScore));
    const metrics = (
      await pg.query(
        `SELECT * FROM user_learning_metrics WHERE user_id = $1 AND snapshot_day = '2026-03-15'`,
        [user],
      )
    ).rows[0];
    expect(metrics.model_version).toBe(readiness.model.version);
    expect(metrics.readiness).toBe(readiness.readiness);
    expect(Number(metrics.pass_probability)).toBe(readiness.passProbability.value);
    expect(metrics.gaps_critical).toBe(gaps.counts.critical);

    // Item calibration. Inside the last 365 days: the answer to `q` (2026-03, topic `t`, not in the taxonomy) and two
    // answers to `q-real` on a leaf topic of the taxonomy, one right and one wrong.
    const { rows: leaf } = await pg.query<{ id: string }>(
      'SELECT id FROM topics t WHERE NOT EXISTS (SELECT 1 FROM topics c WHERE c.parent_id = t.id) ORDER BY id LIMIT 1',
    );
    await ch.insert({
      table: 'question_attempts',
      format: 'JSONEachRow',
      values: [true, false].map((correct, i) => ({
        event_id: `00000000-0000-4000-8000-${String(100 + i).padStart(12, '0')}`,
        user_id: `cal-user-${i}`,
        occurred_at: chTime(Date.parse('2026-03-01T10:00:00Z') + i * 60_000),
        received_at: chTime(Date.parse('2026-03-01T10:00:00Z') + i * 60_000),
        schema_version: 1,
        session_id: 's',
        question_id: 'q-real',
        topic_ids: [leaf[0]!.id],
        selected_answer: 'A',
        is_correct: correct ? 1 : 0,
        attempt_number: 1,
        time_to_answer_ms: 1000,
        difficulty: 0.5,
      })),
    });
    const cal = await runner.queue.add(
      'calibrate-items',
      {},
      jobOptions({ attempts: 1, backoffMs: 100, deadKeep: 10 }),
    );
    await until(async () => (await runner.queue.getJobState(cal.id!)) === 'completed', 20_000, 'calibration');
    const stats = (await pg.query('SELECT * FROM item_statistics ORDER BY question_id')).rows;
    expect(stats.map((r) => r.question_id)).toEqual(['q', 'q-real']);
    expect(stats[0]).toMatchObject({ question_id: 'q', topic_id: 't', answers: 1, first_attempts: 1 });
    expect(Number(stats[0].p_correct_first)).toBe(1);
    expect(Number(stats[0].difficulty_logit)).toBeCloseTo(Math.log(0.01 / 0.99), 9);
    expect(Number(stats[1].p_correct_first)).toBe(0.5);
    // The learner model's calibration: only what the mastery processor would apply (a known leaf topic).
    const calibrated = (await pg.query('SELECT * FROM item_calibration ORDER BY question_id')).rows;
    expect(calibrated).toHaveLength(1);
    expect(calibrated[0]).toMatchObject({ question_id: 'q-real', answers: 2 });
    expect(Number.isFinite(calibrated[0].difficulty)).toBe(true);
    expect(calibrated[0].prior_logit).not.toBeNull();
    expect((await runner.queue.getJob(cal.id!))?.returnvalue).toEqual({ items: 2, calibrated: 1 });
  }, 120_000);

  it('retrains the readiness model in a child process and replaces the model file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'retrain-'));
    const file = join(dir, 'readiness.json');
    const runner = await serviceRunner('retrain', { JOBS_MODEL_FILE: file });
    const job = await runner.queue.add(
      'retrain-readiness',
      { students: 20 },
      jobOptions({ attempts: 1, backoffMs: 100, deadKeep: 10 }),
    );
    await until(async () => (await runner.queue.getJobState(job.id!)) === 'completed', 90_000, 'retraining');
    const result = (await runner.queue.getJob(job.id!))?.returnvalue as { file: string; version: string };
    const artifact = await loadReadinessArtifact(file);
    expect(result).toEqual({ file, version: artifact.version });
    expect(artifact.models).toHaveLength(3);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
