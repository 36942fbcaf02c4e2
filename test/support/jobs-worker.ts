/**
 * A jobs-service worker process for the kill test (test/integration/jobs): the real runner with one test job,
 * `slow`, that counts its starts and its completions in Redis (JOBS_TEST_KEY) around a pause of JOBS_TEST_PAUSE_MS.
 */
import { Redis } from 'ioredis';
import { createLogger } from '../../services/shared/logger.ts';
import { startRunner } from '../../services/jobs/runner.ts';

const env = process.env;
const redis = new Redis(env.REDIS_URL!);
const key = env.JOBS_TEST_KEY!;
const runner = await startRunner({
  redisUrl: env.REDIS_URL!,
  prefix: env.JOBS_TEST_PREFIX!,
  queue: env.JOBS_QUEUE!,
  attempts: 3,
  backoffMs: 100,
  lockMs: Number(env.JOBS_LOCK_MS),
  deadKeep: 100,
  concurrency: 1,
  log: createLogger('jobs-worker', 'warn'),
  definitions: [
    {
      name: 'slow',
      description: 'test job',
      schedule: null,
      run: async () => {
        await redis.incr(`${key}:started`);
        await new Promise((r) => setTimeout(r, Number(env.JOBS_TEST_PAUSE_MS)));
        await redis.incr(`${key}:finished`);
        return { done: true };
      },
    },
  ],
});
await redis.set(`${key}:ready:${process.pid}`, '1');
process.on('SIGTERM', () => {
  void runner.close().then(() => process.exit(0));
});
