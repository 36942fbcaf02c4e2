import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError, type Command } from '../services/cli/command.ts';
import { openContext } from '../services/datatools/context.ts';
import { rebuildStore, type RebuildReport } from '../services/datatools/rebuild.ts';
import { chQuery, createClickHouse } from '../services/shared/clickhouse.ts';
import { EventCodec } from '../services/shared/codec.ts';
import { loadConfig, type SharedConfig } from '../services/shared/config.ts';
import { createKafka, ensureTopics, topicDeclarations, type Kafka } from '../services/shared/kafka.ts';
import { createLogger, type Logger } from '../services/shared/logger.ts';
import { createMetricsRegistry } from '../services/shared/metrics.ts';
import { migrateClickHouse, migratePostgres } from '../services/shared/migrations.ts';
import { createPgPool } from '../services/shared/postgres.ts';
import { EventProducer, type OutgoingEvent } from '../services/shared/producer.ts';
import { createRegistry } from '../services/shared/registry.ts';
import { ident, sql } from '../services/shared/sql.ts';
import { cohortEvents, simOptions } from '../services/simulator/cohort.ts';
import { sinkEnv } from '../services/stream/clickhouse-sink/config.ts';
import { startClickHouseSink } from '../services/stream/clickhouse-sink/sink.ts';
import { streamEnv } from '../services/stream/runtime/config.ts';
import { loadTaxonomy } from '../postgres/taxonomy/load.ts';
import { DATASET_OPTIONS, datasetFromOptions, report, type Row } from './harness.ts';

/**
 * `studystream bench rebuild [--events 5000000] [--students 1000] [--days 90] [--seed 7] [--only mastery|clickhouse]`
 *
 * Pre-fills isolated event topics with simulated events, then times `rebuild` (build phase: the processor draining
 * the topics from offset 0 into the shadow store, write included) for the mastery state and for ClickHouse, then the
 * live ClickHouse sink draining the same topics in the same run (the goal's figure). Also measures the disk
 * cost of the event topics per million events (sum of the topics' log segment files in the broker's log dir,
 * KAFKA_LOG_DIR, default <repo>/.stack/data/kafka/logs). Everything it creates is dropped.
 */

const HELP =
  'usage: studystream bench rebuild [--events N] [--students N] [--days N] [--seed S] [--only mastery|clickhouse]\n';

/** Segment bytes (.log files) and allocated bytes (every file, du-style: index files are sparse pre-allocations). */
function topicBytes(
  logDir: string,
  prefix: string,
): { segments: number; allocated: number; partitions: number } {
  let segments = 0;
  let allocated = 0;
  let partitions = 0;
  for (const name of readdirSync(logDir)) {
    if (!name.startsWith(prefix) || name.includes('dead-letter')) continue;
    partitions++;
    for (const f of readdirSync(join(logDir, name))) {
      const st = statSync(join(logDir, name, f));
      if (f.endsWith('.log')) segments += st.size;
      allocated += st.blocks * 512;
    }
  }
  return { segments, allocated, partitions };
}

/**
 * The live ClickHouse sink (its own start function and group, a fresh database with the same migrations) draining
 * the same topics right after the rebuild, measured as `bench sink` measures it: the goal's figure, same data and
 * machine conditions.
 */
async function liveSinkRow(
  env: NodeJS.ProcessEnv,
  cfg: SharedConfig,
  kafka: Kafka,
  log: Logger,
  produced: number,
): Promise<Row> {
  const database = `${cfg.CLICKHOUSE_DATABASE}_live`;
  const liveCfg = { ...cfg, CLICKHOUSE_DATABASE: database };
  await migrateClickHouse(liveCfg, database);
  const ch = createClickHouse(liveCfg, database);
  const group = `${cfg.KAFKA_TOPIC_PREFIX}live-sink`;
  try {
    const started = performance.now();
    let firstFlushAt: number | undefined;
    const sink = await startClickHouseSink({
      cfg: liveCfg,
      stream: streamEnv.load(env),
      sink: sinkEnv.load({ ...env, SINK_GROUP_ID: group }),
      kafka,
      log,
      metrics: createMetricsRegistry('bench'),
    });
    sink.processor.events.on('flush', () => {
      firstFlushAt ??= performance.now();
    });
    let stored = 0;
    while (stored < produced) {
      await new Promise((r) => setTimeout(r, 500));
      const [r] = await chQuery<{ n: string }>(
        ch,
        'SELECT (SELECT count() FROM study_events) + (SELECT count() FROM question_attempts) + (SELECT count() FROM material_interactions) AS n',
      );
      stored = Number(r?.n ?? 0);
    }
    const ended = performance.now();
    await sink.stop();
    const ms = ended - started;
    return {
      store: 'live clickhouse-sink, same topics, same run (goal)',
      events: produced,
      inputOfStore: produced,
      buildSeconds: Math.round(ms / 100) / 10,
      eventsPerSecond: Math.round((produced * 1000) / ms),
      afterFirstFlushPerSecond: Math.round((produced * 1000) / (ended - (firstFlushAt ?? started))),
      totalSeconds: Math.round(ms / 100) / 10,
      stagesMs: null,
    };
  } finally {
    await ch.close();
    const root = createClickHouse(cfg, 'default');
    await root.command({ query: sql`DROP DATABASE IF EXISTS ${ident(database)}`.text }).catch(() => {});
    await root.close();
  }
}

const rebuildBench: Command = async (args) => {
  const { values } = parseOptions(args, {
    ...DATASET_OPTIONS,
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { total, students, days, seed } = datasetFromOptions(values);
  if (values.only && values.only !== 'mastery' && values.only !== 'clickhouse')
    throw new UsageError('--only must be mastery or clickhouse');

  const id = `bench_rebuild_${randomBytes(3).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_TOPIC_PREFIX: `${id}.`,
    CLICKHOUSE_DATABASE: id,
    PG_SCHEMA: id,
    REDIS_KEY_PREFIX: `${id}:`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const cfg = loadConfig(env);
  const log = createLogger('bench-rebuild', cfg.LOG_LEVEL);
  const kafka = createKafka(cfg, log, 'bench');
  const admin = kafka.admin();
  const root = createClickHouse(cfg, 'default');
  const pool = createPgPool(cfg);
  const logDir =
    process.env.KAFKA_LOG_DIR ??
    join(process.env.STACK_DIR ?? fileURLToPath(new URL('../.stack/', import.meta.url)), 'data/kafka/logs');
  await admin.connect();
  try {
    await ensureTopics(admin, topicDeclarations(cfg));
    await migratePostgres(pool, id);
    await loadTaxonomy(pool);
    await migrateClickHouse(cfg, id);
    const codec = new EventCodec(createRegistry(cfg), cfg);
    await codec.registerAll();
    const producer = new EventProducer(kafka, codec, log);
    await producer.connect();
    let produced = 0;
    let mastery = 0;
    let round = 0;
    let chunk: OutgoingEvent[] = [];
    const fillStart = performance.now();
    while (produced < total) {
      let any = false;
      for (const e of cohortEvents(
        simOptions({ seed: `${seed}-${round++}`, students, days, duplicateRate: 0 }),
      )) {
        if (e.duplicate) continue;
        any = true;
        chunk.push({ family: e.family, record: e.record as OutgoingEvent['record'] });
        if (e.family !== 'study-events') mastery++;
        produced++;
        if (chunk.length >= 5000) {
          await producer.publish(chunk);
          chunk = [];
        }
        if (produced % 500_000 === 0) log.warn({ produced }, 'pre-filling');
        if (produced >= total) break;
      }
      if (!any) throw new Error('simulator produced no events');
    }
    if (chunk.length > 0) await producer.publish(chunk);
    await producer.disconnect();
    const fillSeconds = (performance.now() - fillStart) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // let the broker flush segment files
    const disk = topicBytes(logDir, `${id}.`);

    const rows: Row[] = [];
    const ctx = await openContext(env, 'bench-rebuild');
    const measure = (store: string, r: RebuildReport, input: number) => {
      rows.push({
        store,
        events: r.events,
        inputOfStore: input,
        buildSeconds: Math.round(r.buildMs / 100) / 10,
        eventsPerSecond: Math.round((r.events * 1000) / Math.max(1, r.buildMs)),
        // The definition of `bench sink`'s figure (drain from the end of the first flush), for comparison.
        afterFirstFlushPerSecond:
          r.stages.firstFlush === undefined
            ? null
            : Math.round((r.events * 1000) / Math.max(1, r.buildMs - r.stages.firstFlush)),
        totalSeconds: Math.round(r.ms / 100) / 10,
        stagesMs: Object.entries(r.stages)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      });
    };
    try {
      const opts = { acceptDifferences: false, confirmDropOld: false, verifyOnly: true };
      if (values.only !== 'clickhouse')
        measure('mastery (PostgreSQL)', await rebuildStore(ctx, 'mastery', opts), mastery);
      if (values.only !== 'mastery') {
        measure('clickhouse (raw + rollups)', await rebuildStore(ctx, 'clickhouse', opts), produced);
        rows.push(await liveSinkRow(env, cfg, kafka, log, produced));
      }
    } finally {
      await ctx.close();
    }
    rows.push({
      store: `kafka event topics on disk (${disk.partitions} partitions)`,
      events: produced,
      inputOfStore: produced,
      buildSeconds: null,
      eventsPerSecond: null,
      afterFirstFlushPerSecond: null,
      totalSeconds: null,
      stagesMs: null,
    });
    report({
      name: 'rebuild',
      params: {
        topicSegmentBytes: disk.segments,
        topicAllocatedBytes: disk.allocated,
        events: produced,
        masteryEvents: mastery,
        students,
        days,
        seed,
        fillSeconds: Math.round(fillSeconds),
      },
      rows,
      notes: [
        'eventsPerSecond = records read by the rebuild build phase / its wall time: draining the topics from offset 0 (Kafka fetch, decode, apply) plus writing the shadow store',
        'afterFirstFlushPerSecond: events / (build time - time to the end of the first flush), the way bench sink measures the live sink (clickhouse)',
        'stagesMs: drain = Kafka fetch + decode + apply (+ ClickHouse inserts for clickhouse); apply = the pure apply step alone; write.* = each PostgreSQL write of the shadow (mastery)',
        'mastery reads question-attempts and material-interactions only; clickhouse reads all three topics',
        `event topics on disk: log segments ${disk.segments} bytes for ${produced} events = ` +
          `${(((disk.segments / produced) * 1e6) / 2 ** 20).toFixed(1)} MiB per million events ` +
          `(${Math.round(disk.segments / produced)} B/event; Avro wire format, CompressionTypes.None, record batches of 5,000); ` +
          `allocated incl. indexes ${(((disk.allocated / produced) * 1e6) / 2 ** 20).toFixed(1)} MiB per million`,
      ],
    });
    return 0;
  } finally {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${id}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => {});
    await root.command({ query: sql`DROP DATABASE IF EXISTS ${ident(id)}`.text }).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS ${id} CASCADE`).catch(() => {});
    await admin.disconnect();
    await root.close();
    await pool.end();
  }
};
export default rebuildBench;
