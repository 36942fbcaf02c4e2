import { z } from 'zod';
import { defineEnv, envInt, sharedEnv } from '../shared/config.ts';
import { pgRoleSetting } from '../shared/postgres.ts';

/** Environment of the jobs service (scheduled and on-demand batch jobs on BullMQ), on top of the shared one. */
export const jobsEnv = defineEnv(
  'jobs',
  {
    JOBS_PORT: {
      default: '8096',
      doc: 'HTTP port of the jobs service (/healthz, /readyz, /metrics); 0 picks a free port',
    },
    JOBS_QUEUE: {
      default: 'studystream-jobs',
      doc: 'BullMQ queue name (its Redis keys start with REDIS_KEY_PREFIX + "bull:")',
    },
    JOBS_CONCURRENCY: { default: '1', doc: 'jobs one jobs-service instance runs at a time' },
    JOBS_ATTEMPTS: { default: '3', doc: 'attempts per job before it goes to the dead-job list' },
    JOBS_BACKOFF_MS: { default: '30000', doc: 'first retry delay after a failed attempt (exponential)' },
    JOBS_LOCK_MS: {
      default: '60000',
      doc: 'job lock; a job whose worker died is taken over by another instance after this long (stalled check)',
    },
    JOBS_DEAD_KEEP: { default: '1000', doc: 'dead (finally failed) jobs kept for `studystream jobs status`' },
    JOBS_SNAPSHOT_CRON: {
      default: '0 2 * * *',
      doc: 'schedule (cron, UTC) of the nightly knowledge-gap and readiness snapshots; empty disables',
    },
    JOBS_RETENTION_CRON: {
      default: '30 3 * * *',
      doc: 'schedule (cron, UTC) of raw-event retention; empty disables',
    },
    JOBS_CALIBRATION_CRON: {
      default: '0 4 * * 0',
      doc: 'schedule (cron, UTC) of question-bank item calibration; empty disables',
    },
    JOBS_RETRAIN_CRON: {
      default: '0 5 * * 0',
      doc: 'schedule (cron, UTC) of readiness model retraining; empty disables',
    },
    JOBS_MODEL_FILE: {
      default: '',
      doc: 'where retraining writes the readiness model (default models/readiness.json, which the API loads)',
    },
    JOBS_PG_ROLE: {
      default: 'studystream_jobs',
      doc: 'PostgreSQL role the jobs service acts as (SET ROLE at connection start; created by postgres/096_service_roles.sql: reads the serving tables the snapshots and calibration compute from, writes knowledge_gaps, user_learning_metrics, item_statistics and item_calibration). Empty: the connecting user',
    },
    RETENTION_MONTHS: {
      default: '24',
      doc: 'raw-event retention limit in months (retention job and `studystream retention`)',
    },
  },
  {
    JOBS_PORT: envInt('JOBS_PORT').pipe(z.number().int().min(0).max(65535)),
    JOBS_QUEUE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'JOBS_QUEUE must be letters, digits, _ or -'),
    JOBS_CONCURRENCY: envInt('JOBS_CONCURRENCY').pipe(z.number().int().min(1).max(16)),
    JOBS_ATTEMPTS: envInt('JOBS_ATTEMPTS').pipe(z.number().int().min(1).max(100)),
    JOBS_BACKOFF_MS: envInt('JOBS_BACKOFF_MS').pipe(z.number().int().min(0)),
    JOBS_LOCK_MS: envInt('JOBS_LOCK_MS').pipe(z.number().int().min(500)),
    JOBS_DEAD_KEEP: envInt('JOBS_DEAD_KEEP').pipe(z.number().int().min(1)),
    JOBS_SNAPSHOT_CRON: z.string(),
    JOBS_RETENTION_CRON: z.string(),
    JOBS_CALIBRATION_CRON: z.string(),
    JOBS_RETRAIN_CRON: z.string(),
    JOBS_MODEL_FILE: z.string(),
    JOBS_PG_ROLE: pgRoleSetting,
    RETENTION_MONTHS: envInt('RETENTION_MONTHS').pipe(z.number().int().min(1)),
  },
);

export type JobsConfig = ReturnType<typeof loadJobsConfig>;

export function loadJobsConfig(env: NodeJS.ProcessEnv = process.env) {
  return { ...sharedEnv.load(env), ...jobsEnv.load(env) };
}
