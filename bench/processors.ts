/**
 * `studystream bench processors`: the mastery processor on this machine.
 * 1. Throughput: events/s through the mastery processor draining a pre-filled topic (Kafka → decode → one PG
 *    transaction per batch), from start until its stored positions reach the end of the topics.
 * 2. Freshness at a fixed offered load (default 2,000 events/s): from the Kafka acknowledgement of a produced event
 *    (what ingest's 2xx waits for) to the commit of the topic_mastery transaction that applied it, observed by
 *    polling consumer_positions every 10 ms (the position commits in the same transaction as the rows).
 * Runs in an isolated namespace (topic prefix, PG schema) that is dropped afterwards.
 *   npm run bench -- processors [--events 60000] [--rate 2000] [--seconds 30]
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
import { startMasteryProcessor } from '../services/stream/mastery/start.ts';
import { streamEnv } from '../services/stream/runtime/config.ts';
import { isolatedEnv, provision, teardown } from '../test/support/isolated.ts';
import { percentiles, report, type Row } from './harness.ts';

function masteryEvents(seed: number, min: number): SimEvent[] {
  const out: SimEvent[] = [];
  for (let students = 40; out.length < min; students *= 2) {
    out.length = 0;
    for (const e of cohortEvents(simOptions({ seed, students, days: 20, offlineRate: 0, duplicateRate: 0 })))
      if (e.family !== 'study-events') out.push(e);
  }
  return out.slice(0, min);
}

const bench: Command = async (args) => {
  const { values } = parseOptions(args, {
    events: { type: 'string', default: '60000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
  });
  const total = Number(values.events);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const iso = isolatedEnv('benchproc');
  const env = {
    ...iso.env,
    STREAM_BATCH_MAX_WAIT_MS: '50',
    STREAM_BATCH_MAX_RECORDS: '5000',
    MASTERY_GROUP_ID: `bench-${iso.id}`,
  };
  const cfg = iso.cfg;
  const log = createLogger('bench', 'warn');
  await provision(iso, { postgres: true, kafka: true });
  const pool = createPgPool(cfg);
  const redis = createRedis(cfg);
  const codec = new EventCodec(createRegistry(cfg), cfg);
  await codec.registerAll();
  const kafka = createKafka(cfg, log, 'bench');
  const producer = new EventProducer(kafka, codec);
  await producer.connect();
  const rows: Row[] = [];
  const group = `${cfg.KAFKA_TOPIC_PREFIX}${env.MASTERY_GROUP_ID}`;
  const topics = topicNames(cfg);
  const positions = async () => {
    const { rows: r } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
      'SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer_group = $1',
      [group],
    );
    return new Map(r.map((x) => [`${x.topic}|${x.partition}`, x.next_offset]));
  };
  try {
    // 1. Throughput.
    const events = masteryEvents(31, total);
    for (let i = 0; i < events.length; i += 5_000) await producer.publish(events.slice(i, i + 5_000));
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map<string, number>();
    for (const t of [topics['question-attempts'], topics['material-interactions']])
      for (const o of await admin.fetchTopicOffsets(t)) ends.set(`${t}|${o.partition}`, Number(o.high));
    await admin.disconnect();
    const deps = {
      cfg,
      stream: streamEnv.load(env),
      kafka,
      pool,
      redis,
      log,
      metrics: createMetricsRegistry('bench'),
      env,
    };
    const t0 = performance.now();
    const processor = await startMasteryProcessor(deps);
    for (;;) {
      const p = await positions();
      if ([...ends].every(([k, high]) => (p.get(k) ?? 0) >= high)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const drainMs = performance.now() - t0;
    rows.push({
      measure: 'throughput (drain, incl. group join)',
      events: events.length,
      'events/s': (events.length / drainMs) * 1000,
      ms: drainMs,
      p50_ms: null,
      p99_ms: null,
      max_ms: null,
    });

    // 2. Freshness at a fixed rate: fresh events (new ids, times after the cohort) acked one chunk per 50 ms.
    const pending: Array<{ key: string; offset: number; ackAt: number }> = [];
    const latencies: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling || pending.length > 0) {
        const p = await positions();
        const now = performance.now();
        for (let i = pending.length - 1; i >= 0; i--) {
          const e = pending[i] as { key: string; offset: number; ackAt: number };
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
    const live = masteryEvents(97, rate * seconds);
    const shift = Date.now() + 86_400_000 - Math.min(...live.map((e) => e.record.occurred_at));
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
        // One produce response per partition run: its first record's offset (the run is applied in order).
        pending.push({ key: `${m.topicName}|${m.partition}`, offset: base, ackAt });
      }
    }
    const offeredMs = performance.now() - start;
    polling = false;
    await poller;
    await processor.stop();
    const lat = percentiles(latencies);
    rows.push({
      measure: `freshness at ${rate} events/s offered (ack -> committed row)`,
      events: live.length,
      'events/s': (live.length / offeredMs) * 1000,
      ms: null,
      p50_ms: lat.p50,
      p99_ms: lat.p99,
      max_ms: lat.max,
    });
    report({
      name: 'processors',
      params: { events: total, rate, seconds, batchMaxWaitMs: 50 },
      rows,
      notes: [
        'freshness samples are one per produce response (partition run); observed by polling consumer_positions every 10 ms',
        'goal: p99 < 1000 ms',
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
