/**
 * `studystream bench processors`: the stateful processors (mastery, sessions) on this machine.
 * 1. Backlog drain: a simulated cohort (all three families, offline phones and re-sends included, in the simulator's
 *    day-by-day, student-by-student order) is produced first; then the mastery processor drains it alone (events/s
 *    of the families it reads, until its stored positions reach the end), then the sessions processor alone (all
 *    three families, until its Redis positions reach the end).
 * 2. Freshness at a fixed offered load (default 2,000 events/s of all families; each processor alone, then both, as in
 *    `studystream run stream`): from the Kafka acknowledgement of a produced event (what ingest's 2xx waits for) to
 *    the commit that applied it: the topic_mastery transaction (consumer_positions, same transaction) or the
 *    sessions Redis commit (sessions:pos, same script), observed by polling every 10 ms.
 * Runs in an isolated namespace (topic prefix, PG schema) that is dropped afterwards.
 *   npm run bench -- processors [--events 60000] [--rate 2000] [--seconds 30] [--phases drain,alone,together]
 * `--phases` runs a subset (e.g. `--phases together` to profile both processors in one process).
 * `--trace FILE` records per-batch timestamps of both processors (services/stream/stateful/trace.ts) and the
 * PostgreSQL pool and Redis command queue every 10 ms during each offered load, prints where the time went
 * (bench/trace-report.ts) and writes the raw traces to FILE.
 */
import { parseOptions, type Command } from '../services/cli/command.ts';
import { EventCodec } from '../services/shared/codec.ts';
import { createKafka, topicNames } from '../services/shared/kafka.ts';
import { createLogger } from '../services/shared/logger.ts';
import { createMetricsRegistry } from '../services/shared/metrics.ts';
import { createPgPool } from '../services/shared/postgres.ts';
import { EventProducer } from '../services/shared/producer.ts';
import { createRedis } from '../services/shared/redis.ts';
import { createRegistry } from '../services/shared/registry.ts';
import { cohortEvents, simOptions } from '../services/simulator/cohort.ts';
import type { SimEvent } from '../services/simulator/types.ts';
import { startMasteryProcessor, startSessionsProcessor } from '../services/stream/index.ts';
import type { RunningProcessor } from '../services/stream/runtime/processor.ts';
import { KEYS as SESSION_KEYS } from '../services/stream/sessions/store.ts';
import { streamEnv } from '../services/stream/runtime/config.ts';
import { isolatedEnv, provision, teardown } from '../test/support/isolated.ts';
import { monitorEventLoopDelay, performance as nodePerformance } from 'node:perf_hooks';
import { writeFile } from 'node:fs/promises';
import { BatchTracer, type BatchTrace } from '../services/stream/stateful/trace.ts';
import { percentiles, report, type Row } from './harness.ts';
import { traceReport, type ResourceSample } from './trace-report.ts';

/** At least `min` events of a cohort (whole student-days, the simulator's order), `min` of them kept. */
function cohortSlice(seed: number, min: number, noise: boolean): SimEvent[] {
  const out: SimEvent[] = [];
  for (let students = 40; out.length < min; students *= 2) {
    out.length = 0;
    const opts = noise ? {} : { offlineRate: 0, duplicateRate: 0 };
    for (const e of cohortEvents(simOptions({ seed, students, days: 20, ...opts })))
      out.push({ family: e.family, record: e.record });
  }
  return out.slice(0, min);
}

const MASTERY_FAMILIES = new Set(['question-attempts', 'material-interactions']);

const bench: Command = async (args) => {
  const { values } = parseOptions(args, {
    events: { type: 'string', default: '60000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
    phases: { type: 'string', default: 'drain,alone,together' },
    trace: { type: 'string', default: '' },
  });
  const phases = new Set(String(values.phases).split(','));
  const total = Number(values.events);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const iso = isolatedEnv('benchproc');
  const env = {
    ...iso.env,
    STREAM_BATCH_MAX_WAIT_MS: '50',
    STREAM_BATCH_MAX_RECORDS: '5000',
    MASTERY_GROUP_ID: `bench-${iso.id}`,
    SESSIONS_GROUP_ID: `bench-sessions-${iso.id}`,
  };
  const cfg = iso.cfg;
  const log = createLogger('bench', 'warn');
  await provision(iso, { postgres: true, kafka: true });
  const pool = createPgPool(cfg);
  const redis = createRedis(cfg);
  const tracer = values.trace ? new BatchTracer(pool) : undefined;
  const traced: Array<{
    phase: string;
    traces: BatchTrace[];
    samples: ResourceSample[];
    report: string[];
  }> = [];
  const codec = new EventCodec(createRegistry(cfg), cfg);
  await codec.registerAll();
  const kafka = createKafka(cfg, log, 'bench');
  const producer = new EventProducer(kafka, codec, log);
  await producer.connect();
  const rows: Row[] = [];
  const group = `${cfg.KAFKA_TOPIC_PREFIX}${env.MASTERY_GROUP_ID}`;
  const topics = topicNames(cfg);
  const masteryPositions = async () => {
    const { rows: r } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
      'SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer_group = $1',
      [group],
    );
    return new Map(r.map((x) => [`${x.topic}|${x.partition}`, Number(x.next_offset)]));
  };
  const sessionPositions = async () =>
    new Map(Object.entries(await redis.hgetall(SESSION_KEYS.pos)).map(([k, v]) => [k, Number(v)]));
  try {
    // 1. Backlog drain, each processor alone.
    // Without the drain phase no backlog is produced (the freshness phases start from empty topics).
    const events = phases.has('drain') ? cohortSlice(31, total, true) : [];
    for (let i = 0; i < events.length; i += 5_000) await producer.publish(events.slice(i, i + 5_000));
    // The end of every topic-partition now (`topic|partition` -> high watermark).
    const topicEnds = async () => {
      const admin = kafka.admin();
      await admin.connect();
      const out = new Map<string, number>();
      for (const t of [topics['study-events'], topics['question-attempts'], topics['material-interactions']])
        for (const o of await admin.fetchTopicOffsets(t)) out.set(`${t}|${o.partition}`, Number(o.high));
      await admin.disconnect();
      return out;
    };
    // Polls stored positions until every topic-partition of `until` reached its offset.
    const reach = async (positions: () => Promise<Map<string, number>>, until: Map<string, number>) => {
      for (;;) {
        const p = await positions();
        if ([...until].every(([k, high]) => (p.get(k) ?? 0) >= high)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const ends = await topicEnds();
    const masteryEnds = new Map([...ends].filter(([k]) => !k.startsWith(`${topics['study-events']}|`)));
    const deps = {
      cfg,
      stream: streamEnv.load(env),
      kafka,
      pool,
      redis,
      log,
      metrics: createMetricsRegistry('bench'),
      env,
      trace: tracer,
    };
    const drain = async (
      name: string,
      start: () => Promise<RunningProcessor>,
      count: number,
      positions: () => Promise<Map<string, number>>,
      until: Map<string, number>,
    ) => {
      const t0 = performance.now();
      const processor = await start();
      await reach(positions, until);
      const drainMs = performance.now() - t0;
      await processor.stop();
      rows.push({
        measure: `${name}: backlog drain (incl. group join)`,
        events: count,
        'events/s': (count / drainMs) * 1000,
        ms: drainMs,
        p50_ms: null,
        p99_ms: null,
        max_ms: null,
      });
    };
    // Each start registers its metrics: one registry per processor instance.
    const fresh = () => ({ ...deps, metrics: createMetricsRegistry('bench') });
    const masteryCount = events.filter((e) => MASTERY_FAMILIES.has(e.family)).length;
    if (phases.has('drain')) {
      await drain(
        'mastery',
        () => startMasteryProcessor(fresh()),
        masteryCount,
        masteryPositions,
        masteryEnds,
      );
      await drain('sessions', () => startSessionsProcessor(fresh()), events.length, sessionPositions, ends);
    }
    // 2. Freshness at a fixed rate: each processor alone (the figure comparable with earlier runs), then both together
    // (as `studystream run stream` runs them). Fresh events (new ids and sessions, times just before now), acked one
    // chunk per 50 ms.
    type Pending = { key: string; offset: number; ackAt: number };
    const positionsOf = { mastery: masteryPositions, sessions: sessionPositions };
    const reads = {
      mastery: (key: string) => !key.startsWith(`${topics['study-events']}|`),
      sessions: () => true,
    };
    const starters = {
      mastery: () => startMasteryProcessor(fresh()),
      sessions: () => startSessionsProcessor(fresh()),
    };
    const offer = async (names: Array<'mastery' | 'sessions'>, seed: number) => {
      const running = await Promise.all(names.map((n) => starters[n]()));
      // Steady state: every consumer has joined its group (a join stalls what is produced meanwhile) and has caught
      // up with its topics. The phases share the topics, so what was offered while a processor was not running (the
      // other processor's phase alone: 60,000 events) is a backlog when it starts; measured through, its drain time
      // was charged to the live load's freshness (mastery with both running: p99 4.2-6.5 s, max = the time to drain
      // the sessions phase's ~50,000 attempts and material events).
      const catchUpStart = performance.now();
      while (!running.every((r) => r.ready())) await new Promise((r) => setTimeout(r, 50));
      const now = await topicEnds();
      for (const name of names)
        await reach(positionsOf[name], new Map([...now].filter(([k]) => reads[name](k))));
      rows.push({
        measure: `join and catch-up before offering (${names.join(' + ')})`,
        events: null,
        'events/s': null,
        ms: performance.now() - catchUpStart,
        p50_ms: null,
        p99_ms: null,
        max_ms: null,
      });
      await new Promise((r) => setTimeout(r, 1000));
      // Tracing: the runtime's flush event follows the Kafka offset commit of the batch just traced.
      const traceFrom = tracer?.traces.length ?? 0;
      const samples: ResourceSample[] = [];
      const runtimeEvents: string[] = [];
      let sampler: NodeJS.Timeout | undefined;
      if (tracer) {
        for (const r of running) {
          r.events.on('flush', () => BatchTracer.mark(tracer.last(r.name), 'offsets committed'));
          for (const what of ['rebalance', 'paused', 'resumed', 'flush_failed'] as const)
            r.events.on(what, () =>
              runtimeEvents.push(`${new Date().toISOString().slice(11, 23)} ${r.name} ${what}`),
            );
        }
        const queue = redis as unknown as { commandQueue?: { length: number } };
        sampler = setInterval(() => {
          samples.push({
            at: Date.now(),
            poolTotal: pool.totalCount,
            poolIdle: pool.idleCount,
            poolWaiting: pool.waitingCount,
            redisQueue: queue.commandQueue?.length ?? 0,
          });
        }, 10);
      }
      // Event-loop delay of this process during the offered load (a long synchronous step shows here).
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const busy = nodePerformance.eventLoopUtilization();
      const cpu = process.cpuUsage();
      let polling = true;
      const watchers = names.map((name) => {
        const pending: Pending[] = [];
        const latencies: number[] = [];
        const done = (async () => {
          while (polling || pending.length > 0) {
            const p = await positionsOf[name]();
            const now = performance.now();
            for (let i = pending.length - 1; i >= 0; i--) {
              const e = pending[i] as Pending;
              if ((p.get(e.key) ?? 0) > e.offset) {
                latencies.push(now - e.ackAt);
                pending.splice(i, 1);
              }
            }
            if (
              !polling &&
              pending.length > 0 &&
              latencies.length > 0 &&
              now - (pending[0]?.ackAt ?? now) > 30_000
            )
              break;
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        return { name, pending, latencies, done };
      });
      const live = cohortSlice(seed, rate * seconds, false);
      const shift = Date.now() - 60_000 - Math.max(...live.map((e) => e.record.occurred_at));
      const perTick = Math.max(1, Math.round(rate / 20));
      const start = performance.now();
      for (let i = 0, tick = 0; i < live.length; i += perTick, tick++) {
        const wait = start + tick * 50 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const chunk = live.slice(i, i + perTick).map((e) => ({
          family: e.family,
          record: { ...e.record, event_id: crypto.randomUUID(), occurred_at: e.record.occurred_at + shift },
        }));
        const meta = await producer.publish(chunk);
        const ackAt = performance.now();
        for (const m of meta) {
          const base = Number(m.baseOffset ?? m.offset ?? 0);
          const key = `${m.topicName}|${m.partition}`;
          // One produce response per partition run: its first record's offset (the run is applied in order).
          for (const w of watchers) if (reads[w.name](key)) w.pending.push({ key, offset: base, ackAt });
        }
      }
      const offeredMs = performance.now() - start;
      loop.disable();
      const utilization = nodePerformance.eventLoopUtilization(busy).utilization;
      const used = process.cpuUsage(cpu);
      const cores = (used.user + used.system) / 1000 / offeredMs;
      rows.push({
        measure: `event-loop delay while offering (${names.join(' + ')}); loop busy ${(100 * utilization).toFixed(0)}%, process CPU ${cores.toFixed(2)} cores`,
        events: null,
        'events/s': null,
        ms: null,
        p50_ms: loop.percentile(50) / 1e6,
        p99_ms: loop.percentile(99) / 1e6,
        max_ms: loop.max / 1e6,
      });
      polling = false;
      for (const w of watchers) {
        await w.done;
        const lat = percentiles(w.latencies);
        rows.push({
          measure: `${w.name}: freshness at ${rate} events/s offered (ack -> commit)${names.length > 1 ? ', both running' : ''}`,
          events: live.length,
          'events/s': (live.length / offeredMs) * 1000,
          ms: null,
          p50_ms: lat.p50,
          p99_ms: lat.p99,
          max_ms: lat.max,
        });
      }
      if (tracer) {
        clearInterval(sampler);
        const traces = tracer.traces.slice(traceFrom);
        const lines = names.flatMap((n) => traceReport(traces, samples, n));
        lines.push('', `runtime events: ${runtimeEvents.join(', ') || 'none'}`);
        console.log(`\n## trace: ${names.join(' + ')}\n\n${lines.join('\n')}\n`);
        traced.push({ phase: names.join(' + '), traces, samples, report: lines });
      }
      for (const r of running) await r.stop();
    };
    if (phases.has('alone')) {
      await offer(['mastery'], 97);
      await offer(['sessions'], 98);
    }
    if (phases.has('together')) await offer(['mastery', 'sessions'], 99);
    if (values.trace) await writeFile(String(values.trace), JSON.stringify(traced));
    report({
      name: 'processors',
      params: { events: total, rate, seconds, batchMaxWaitMs: 50, phases: [...phases].join(',') },
      rows,
      notes: [
        'freshness samples are one per produce response (partition run); observed by polling consumer_positions (mastery) and sessions:pos (sessions) every 10 ms',
        'goals: freshness p99 < 1000 ms; each backlog drain rate >= the offered live rate',
      ],
    });
  } finally {
    await producer.disconnect().catch(() => {});
    await pool.end();
    redis.disconnect();
    await teardown(iso).catch(() => {});
  }
  return 0;
};
export default bench;
