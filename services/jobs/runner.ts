import { Queue, Worker, type Job, type JobsOptions, type RedisOptions } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from '../shared/metrics.ts';
import type { Logger } from '../shared/logger.ts';
import { redisTls, type TlsSettings } from '../shared/tls.ts';

/**
 * BullMQ plumbing of the jobs service: one queue, one worker per instance, job schedulers for the scheduled jobs.
 *
 * - Scheduled jobs are BullMQ job schedulers upserted under the job's name: every instance upserts the same
 *   scheduler id, which is idempotent, and each iteration is one job with a deterministic id, so several instances
 *   never run one schedule twice.
 * - Retries: `attempts` with exponential backoff; a job that exhausts them stays in the failed set, the dead-job
 *   list (`studystream jobs status`), up to `deadKeep`.
 * - A worker that dies mid-job loses its lock; after `lockMs` another instance's stalled check moves the job back to
 *   wait and runs it again (a job is retried, not lost). Jobs are written to be idempotent (upserts, drops of
 *   whole partitions), so a re-run after a crash converges to the same state; a job completes at most once.
 * - Metrics: jobs_completed_total{job}, jobs_failed_total{job} (every failed attempt, retried or final),
 *   jobs_dead_total{job} (attempts exhausted), jobs_duration_seconds{job}, jobs_last_success_timestamp_seconds{job},
 *   jobs_queue_jobs{state}.
 */

export type JobContext = { log: Logger; job: Job };

export type JobDefinition = {
  name: string;
  description: string;
  /** Cron pattern (UTC) or an interval; null: on demand only. */
  schedule: { pattern: string } | { every: number } | null;
  run: (data: Record<string, unknown>, ctx: JobContext) => Promise<Record<string, unknown> | void>;
};

export type RunnerOptions = {
  redisUrl: string;
  /** The CA a rediss:// REDIS_URL is verified against (shared/tls.ts). */
  tls?: TlsSettings;
  /** BullMQ key prefix (REDIS_KEY_PREFIX + 'bull'). */
  prefix: string;
  queue: string;
  definitions: JobDefinition[];
  attempts: number;
  backoffMs: number;
  lockMs: number;
  deadKeep: number;
  concurrency: number;
  registry?: Registry;
  log: Logger;
};

/**
 * Connection options from REDIS_URL: options, not a client, so BullMQ owns (and closes) its connections. Blocking
 * commands need no retry limit; ioredis' keyPrefix is not supported by BullMQ (its `prefix` is used instead).
 */
export function bullConnection(redisUrl: string, tls: TlsSettings = {}): RedisOptions {
  return { url: redisUrl, maxRetriesPerRequest: null, ...redisTls(redisUrl, tls) };
}

export function jobOptions(o: Pick<RunnerOptions, 'attempts' | 'backoffMs' | 'deadKeep'>): JobsOptions {
  return {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffMs },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: o.deadKeep },
  };
}

/** The queue alone (CLI: list, run, status). */
export function openQueue(o: Pick<RunnerOptions, 'redisUrl' | 'tls' | 'prefix' | 'queue'>): Queue {
  return new Queue(o.queue, { connection: bullConnection(o.redisUrl, o.tls), prefix: o.prefix });
}

/** Creates or updates every scheduled job's scheduler and removes schedulers of jobs no longer scheduled. */
export async function upsertSchedules(
  queue: Queue,
  o: Pick<RunnerOptions, 'definitions' | 'attempts' | 'backoffMs' | 'deadKeep'>,
): Promise<void> {
  const wanted = new Set<string>();
  for (const d of o.definitions) {
    if (!d.schedule) continue;
    wanted.add(d.name);
    await queue.upsertJobScheduler(
      d.name,
      'pattern' in d.schedule ? { pattern: d.schedule.pattern, tz: 'UTC' } : { every: d.schedule.every },
      { name: d.name, data: { scheduled: true }, opts: jobOptions(o) },
    );
  }
  for (const s of await queue.getJobSchedulers()) {
    if (!wanted.has(s.key)) await queue.removeJobScheduler(s.key);
  }
}

export type Runner = { queue: Queue; worker: Worker; close: () => Promise<void> };

export async function startRunner(o: RunnerOptions): Promise<Runner> {
  const byName = new Map(o.definitions.map((d) => [d.name, d]));
  const queue = openQueue(o);
  const m = o.registry ? metrics(o.registry, queue) : null;
  await upsertSchedules(queue, o);
  const worker = new Worker(
    o.queue,
    async (job) => {
      const d = byName.get(job.name);
      if (!d) throw new Error(`unknown job ${job.name}`);
      const end = m?.duration.startTimer({ job: job.name });
      o.log.info({ job: job.name, id: job.id, attempt: job.attemptsMade + 1 }, 'job started');
      try {
        return (await d.run(job.data as Record<string, unknown>, { log: o.log, job })) ?? {};
      } finally {
        end?.();
      }
    },
    {
      connection: bullConnection(o.redisUrl, o.tls),
      prefix: o.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: Math.max(250, Math.floor(o.lockMs / 2)),
      maxStalledCount: 2,
    },
  );
  worker.on('completed', (job) => {
    m?.completed.inc({ job: job.name });
    m?.lastSuccess.set({ job: job.name }, Date.now() / 1000);
    o.log.info({ job: job.name, id: job.id }, 'job completed');
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    m?.failed.inc({ job: job.name });
    const dead = job.attemptsMade >= (job.opts.attempts ?? 1);
    if (dead) m?.dead.inc({ job: job.name });
    o.log.warn(
      { job: job.name, id: job.id, attempt: job.attemptsMade, dead, err: err.message },
      'job failed',
    );
  });
  worker.on('error', (err) => o.log.warn({ err: err.message }, 'jobs worker error'));
  await worker.waitUntilReady();
  return {
    queue,
    worker,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

function metrics(registry: Registry, queue: Queue) {
  const labelNames = ['job'] as const;
  return {
    completed: new Counter({
      name: 'jobs_completed_total',
      help: 'jobs completed, by job',
      labelNames,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'jobs_failed_total',
      help: 'failed job attempts, by job (retried or final; a final one is also in jobs_dead_total)',
      labelNames,
      registers: [registry],
    }),
    dead: new Counter({
      name: 'jobs_dead_total',
      help: 'jobs that exhausted their attempts (now in the dead-job list), by job',
      labelNames,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'jobs_duration_seconds',
      help: 'job attempt duration, by job',
      labelNames,
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'jobs_last_success_timestamp_seconds',
      help: 'unix time of the last completed run, by job (this instance)',
      labelNames,
      registers: [registry],
    }),
    queued: new Gauge({
      name: 'jobs_queue_jobs',
      help: 'jobs in the queue by state (waiting, delayed, active, failed = dead-job list)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'failed', 'completed');
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    }),
  };
}

/** What `studystream jobs status` shows: counts by state, the schedulers and the dead-job list. */
export async function queueStatus(queue: Queue, deadLimit = 20) {
  const [counts, schedulers, dead, recent] = await Promise.all([
    queue.getJobCounts('waiting', 'delayed', 'active', 'failed', 'completed'),
    queue.getJobSchedulers(),
    queue.getFailed(0, deadLimit - 1),
    queue.getCompleted(0, 9),
  ]);
  return {
    counts,
    schedulers: schedulers.map((s) => ({
      name: s.key,
      pattern: s.pattern ?? null,
      every: s.every ?? null,
      next: s.next ?? null,
    })),
    dead: dead.map((j) => ({
      id: j.id,
      name: j.name,
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ?? null,
      reason: j.failedReason,
    })),
    recent: recent.map((j) => ({
      id: j.id,
      name: j.name,
      finishedAt: j.finishedOn ?? null,
      result: j.returnvalue as unknown,
    })),
  };
}
