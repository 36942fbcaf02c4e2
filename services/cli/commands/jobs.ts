import { QueueEvents } from 'bullmq';
import { createClickHouse, createClickHouseReader } from '../../shared/clickhouse.ts';
import { createPgPool } from '../../shared/postgres.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { loadJobsConfig } from '../../jobs/index.ts';
import { jobDefinitions } from '../../jobs/index.ts';
import { runnerOptions } from '../../jobs/index.ts';
import { bullConnection, jobOptions, openQueue, queueStatus } from '../../jobs/index.ts';

/**
 * `studystream jobs list | run NAME [--wait] [--timeout S] [--data JSON] | status`: the jobs service's queue.
 * `run` enqueues an on-demand run (same retries as scheduled runs) that a running jobs service picks up; `--wait`
 * waits for it to finish and prints its result.
 */
const jobs: Command = async (args) => {
  const [sub, ...rest] = args;
  const cfg = loadJobsConfig();
  const o = runnerOptions(cfg);
  // Definitions are only read for names, descriptions and schedules here: their stores are never touched.
  const pg = createPgPool(cfg);
  const ch = createClickHouse(cfg);
  const chRows = createClickHouseReader(cfg);
  const definitions = jobDefinitions({ cfg, pg, ch, chRows });
  const queue = openQueue(o);
  try {
    if (sub === 'list') {
      const schedulers = new Map((await queue.getJobSchedulers()).map((s) => [s.key, s]));
      for (const d of definitions) {
        const s = schedulers.get(d.name);
        const when = d.schedule
          ? 'pattern' in d.schedule
            ? `cron "${d.schedule.pattern}" UTC`
            : `every ${d.schedule.every} ms`
          : 'on demand';
        const next = s?.next ? ` (next ${new Date(s.next).toISOString()})` : '';
        process.stdout.write(`${d.name.padEnd(24)} ${when}${next}\n  ${d.description}\n`);
      }
      return 0;
    }
    if (sub === 'status') {
      process.stdout.write(`${JSON.stringify(await queueStatus(queue), null, 2)}\n`);
      return 0;
    }
    if (sub === 'run') {
      const { values, positionals } = parseOptions(rest, {
        wait: { type: 'boolean' },
        timeout: { type: 'string', default: '3600' },
        data: { type: 'string', default: '{}' },
      });
      const name = positionals[0];
      if (!name || !definitions.some((d) => d.name === name))
        throw new UsageError(`jobs run NAME: one of ${definitions.map((d) => d.name).join(', ')}`);
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(values.data) as Record<string, unknown>;
      } catch {
        throw new UsageError('--data must be a JSON object');
      }
      const events = values.wait
        ? new QueueEvents(o.queue, { connection: bullConnection(o.redisUrl, o.tls), prefix: o.prefix })
        : null;
      try {
        if (events) await events.waitUntilReady();
        const job = await queue.add(name, { ...data, manual: true }, jobOptions(o));
        process.stdout.write(`queued ${name} as job ${job.id}\n`);
        if (!events) return 0;
        const result = await job.waitUntilFinished(events, Number(values.timeout) * 1000);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        await events?.close();
      }
      return 0;
    }
    throw new UsageError('jobs list | run NAME [--wait] [--timeout S] [--data JSON] | status');
  } finally {
    await queue.close();
    chRows.close();
    await ch.close();
    await pg.end();
  }
};
export default jobs;
