import { createPgPool, withTransaction } from '../../shared/postgres.ts';
import { loadConfig, type SharedConfig } from '../../shared/config.ts';
import { createKafka, EVENT_FAMILIES, topicNames } from '../../shared/kafka.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import type { EventProducer } from '../../shared/producer.ts';
import { simOptions } from '../../simulator/index.ts';
import { KafkaSink } from '../../simulator/index.ts';
import { parseSeed, simulatorEnv } from '../../simulator/index.ts';
import { runLive } from '../../simulator/index.ts';
import { Progress } from '../../simulator/index.ts';
import { connectProducer, formatSummary, runSimulation } from '../../simulator/index.ts';
import { studentId } from '../../simulator/index.ts';
import type { SimOptions } from '../../simulator/index.ts';
import { parseOptions, type Command } from '../command.ts';

const DAY = 86_400_000;

/** Messages ever written to the event topics (sum of high watermarks); 0 when the topics are missing or empty. */
export async function eventTopicMessages(cfg: SharedConfig, log: Logger): Promise<number> {
  const admin = createKafka(cfg, log, 'demo').admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const names = topicNames(cfg);
    let total = 0;
    for (const family of EVENT_FAMILIES) {
      if (!existing.has(names[family])) continue;
      for (const p of await admin.fetchTopicOffsets(names[family])) total += Number(p.high);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

/** The demo cohort: `DEMO_STUDENTS` students whose `DEMO_DAYS` of history end now. */
export function demoCohort(env = simulatorEnv.load(), nowMs = Date.now()): SimOptions {
  return simOptions({
    seed: parseSeed(env.DEMO_SEED),
    students: env.DEMO_STUDENTS,
    days: env.DEMO_DAYS,
    startMs: nowMs - env.DEMO_DAYS * DAY,
  });
}

/** Loads the demo cohort straight into Kafka (the bulk path). */
export async function loadDemo(
  cohort: SimOptions,
  producer: EventProducer,
  log: Logger,
  quiet = false,
): Promise<void> {
  log.info({ students: cohort.students, days: cohort.days, seed: cohort.seed }, 'loading the demo cohort');
  const result = await runSimulation(cohort, new KafkaSink(producer), {
    progress: new Progress('demo', { quiet }),
  });
  process.stderr.write(formatSummary(result, 'kafka'));
  log.info(
    { events: result.stats.eventsSent, seconds: Math.round(result.elapsedMs / 1_000) },
    'demo cohort loaded',
  );
}

export const DEMO_COHORT_ID = 'demo';

/** Enrols the demo students in an educator cohort, so cohort percentiles and the educator views have a group. */
export async function enrolDemoCohort(cohort: SimOptions, cfg: ReturnType<typeof loadConfig>): Promise<void> {
  const pool = createPgPool(cfg);
  try {
    const users = Array.from({ length: cohort.students }, (_, i) => studentId(cohort.seed, i));
    await withTransaction(pool, async (client) => {
      await client.query(`INSERT INTO cohorts (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
        DEMO_COHORT_ID,
        'Demo cohort (simulated students)',
      ]);
      await client.query(
        `INSERT INTO cohort_members (cohort_id, user_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [DEMO_COHORT_ID, users],
      );
    });
  } finally {
    await pool.end();
  }
}

function printDemoStudent(cohort: SimOptions): void {
  const user = studentId(cohort.seed, 0);
  process.stderr.write(
    `demo student: ${user}\n  token: studystream token --user ${user} --role student\n  educator view: studystream token --user educator-demo --role educator\n`,
  );
}

/** Starts the live loop in the background; resolves the returned stop function when it has stopped. */
function startLive(
  cohort: SimOptions,
  students: number,
  producer: EventProducer,
  log: Logger,
): () => Promise<void> {
  const controller = new AbortController();
  const done = runLive({
    cohort,
    students,
    publish: (events) => producer.publish(events),
    log,
    signal: controller.signal,
  })
    .catch((err: unknown) => log.error({ err: (err as Error).message }, 'live demo stopped'))
    .finally(() => producer.disconnect().catch(() => {}));
  const stop = async () => {
    controller.abort();
    await done;
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return stop;
}

/**
 * `start` hook: when the event topics hold no messages yet, load the demo cohort (unless DEMO_ENABLED=false), then keep
 * DEMO_LIVE_STUDENTS students studying in real time inside the start process (stopped on SIGINT/SIGTERM).
 * Never fails the start: problems are logged.
 */
export async function onStart(parentLog: unknown): Promise<void> {
  const log = (parentLog as Logger | undefined)?.child?.({ step: 'demo' }) ?? createLogger('demo');
  const env = simulatorEnv.load();
  if (!env.DEMO_ENABLED) return;
  const cfg = loadConfig();
  try {
    const cohort = demoCohort(env);
    const existing = await eventTopicMessages(cfg, log);
    const producer = await connectProducer(cfg, log);
    if (existing === 0) {
      await loadDemo(cohort, producer, log);
      await enrolDemoCohort(cohort, cfg);
    } else log.info({ messages: existing }, 'event topics hold data; demo cohort not loaded');
    if (env.DEMO_LIVE_STUDENTS > 0) startLive(cohort, env.DEMO_LIVE_STUDENTS, producer, log);
    else await producer.disconnect();
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'demo data skipped');
  }
}

export const help = `usage: studystream demo [--force] [--no-live] [--live N] [--quiet]

Loads the demo cohort into the event topics when they are empty (--force: even when they are not), enrols it,
prints the demo student, then keeps N demo students active (default DEMO_LIVE_STUDENTS; --no-live: exit instead).
`;

/** `studystream demo [--force] [--no-live] [--live N]`: load the demo cohort (if empty or forced), then stay live. */
const demo: Command = async (args) => {
  const { values } = parseOptions(args, {
    force: { type: 'boolean' },
    'no-live': { type: 'boolean' },
    live: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  const env = simulatorEnv.load();
  const cfg = loadConfig();
  const log = createLogger('demo');
  const cohort = demoCohort(env);
  const existing = await eventTopicMessages(cfg, log);
  const producer = await connectProducer(cfg, log);
  if (existing === 0 || values.force) {
    await loadDemo(cohort, producer, log, values.quiet ?? false);
    await enrolDemoCohort(cohort, cfg);
  } else process.stderr.write(`event topics already hold ${existing} messages; not loading (use --force)\n`);
  printDemoStudent(cohort);
  const live = values.live !== undefined ? Number(values.live) : env.DEMO_LIVE_STUDENTS;
  if (values['no-live'] || !(live > 0)) {
    await producer.disconnect();
    return 0;
  }
  process.stderr.write(`keeping ${live} demo students active; Ctrl-C to stop\n`);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  try {
    const published = await runLive({
      cohort,
      students: live,
      publish: (e) => producer.publish(e),
      log,
      signal: controller.signal,
    });
    process.stderr.write(`live demo stopped after ${published} events\n`);
  } finally {
    await producer.disconnect();
  }
  return 0;
};
export default demo;
