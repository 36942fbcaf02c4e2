import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { studentStanding } from '../services/analytics/cohort.ts';
import { parseOptions, type Command } from '../services/cli/command.ts';
import { chQuery, createClickHouse, type ClickHouseClient } from '../services/shared/clickhouse.ts';
import { EventCodec } from '../services/shared/codec.ts';
import { loadConfig, type SharedConfig } from '../services/shared/config.ts';
import { createKafka, ensureTopics, topicDeclarations } from '../services/shared/kafka.ts';
import { createLogger } from '../services/shared/logger.ts';
import { createMetricsRegistry } from '../services/shared/metrics.ts';
import { clusterNodesOf, dropClickHouseDatabase, migrateClickHouse } from '../services/shared/migrations.ts';
import { LOCAL_SUFFIX } from '../services/shared/clickhouse-cluster.ts';
import { EventProducer, type OutgoingEvent } from '../services/shared/producer.ts';
import { createRegistry } from '../services/shared/registry.ts';
import { sql } from '../services/shared/sql.ts';
import { simOptions, cohortEvents } from '../services/simulator/cohort.ts';
import { sinkEnv } from '../services/stream/clickhouse-sink/config.ts';
import { mapRecord, RAW_TABLES, type RawTable } from '../services/stream/clickhouse-sink/rows.ts';
import { startClickHouseSink } from '../services/stream/clickhouse-sink/sink.ts';
import { streamEnv } from '../services/stream/runtime/config.ts';
import { DATASET_OPTIONS, datasetFromOptions, report, type Row } from './harness.ts';

/**
 * `studystream bench sink [--events 5000000] [--students 1000] [--days 90] [--seed 7]`
 *
 * Pre-fills the event topics (isolated prefix) with simulated events, then measures the ClickHouse sink draining
 * them (rows/s), beside the ceiling: clickhouse-client inserting the same rows from JSONEachRow files into an
 * identical database (same tables and materialized views) in the same run. Also bytes on disk per event and the
 * time of a cohort percentile query over the students and days simulated. Everything it creates is dropped.
 */

const HELP = 'usage: studystream bench sink [--events N] [--students N] [--days N] [--seed S] [--keep]\n';

/** Bytes of the active parts; on the cluster profile summed over every node (both replicas of each shard). */
async function bytesOnDisk(
  cfg: SharedConfig,
  ch: ClickHouseClient,
  db: string,
): Promise<{ raw: number; rollups: number }> {
  const cluster = await clusterNodesOf(cfg, 'default');
  let raw = 0;
  let rollups = 0;
  try {
    for (const node of cluster ? cluster.all : [ch]) {
      const rows = await chQuery<{ table: string; bytes: string }>(
        node,
        sql`SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = ${db} GROUP BY table`
          .text,
      );
      for (const r of rows) {
        const table = r.table.endsWith(LOCAL_SUFFIX) ? r.table.slice(0, -LOCAL_SUFFIX.length) : r.table;
        if ((RAW_TABLES as readonly string[]).includes(table)) raw += Number(r.bytes);
        else if (table !== 'schema_migrations') rollups += Number(r.bytes);
      }
    }
  } finally {
    await cluster?.close();
  }
  return { raw, rollups };
}

function clickhouseClient(db: string, table: string, file: string): Promise<void> {
  const port = process.env.CLICKHOUSE_TCP_PORT ?? '9000';
  return new Promise((resolve, reject) => {
    const child = spawn(
      'clickhouse-client',
      ['--port', port, '-d', db, '--query', `INSERT INTO ${table} FORMAT JSONEachRow`],
      {
        stdio: ['pipe', 'inherit', 'inherit'],
      },
    );
    createReadStream(file).pipe(child.stdin);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`clickhouse-client exited ${code}`)),
    );
  });
}

const sinkBench: Command = async (args) => {
  const { values } = parseOptions(args, {
    ...DATASET_OPTIONS,
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { total, students, days, seed } = datasetFromOptions(values);

  const id = `bench_sink_${randomBytes(3).toString('hex')}`;
  const env = {
    ...process.env,
    KAFKA_TOPIC_PREFIX: `${id}.`,
    CLICKHOUSE_DATABASE: id,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const cfg = loadConfig(env);
  const ceilingDb = `${id}_ceiling`;
  const log = createLogger('bench-sink', cfg.LOG_LEVEL);
  const kafka = createKafka(cfg, log, 'bench');
  const admin = kafka.admin();
  const dir = mkdtempSync(join(tmpdir(), 'bench-sink-'));
  const ch = createClickHouse(cfg);
  await admin.connect();
  try {
    await ensureTopics(admin, topicDeclarations(cfg));
    await migrateClickHouse(cfg, id);
    await migrateClickHouse(cfg, ceilingDb);
    const codec = new EventCodec(createRegistry(cfg), cfg);
    await codec.registerAll();
    const producer = new EventProducer(kafka, codec, log);
    await producer.connect();

    // 1. Pre-fill: simulated events (no client re-sends: the ceiling file must hold the same rows).
    const files = new Map<RawTable, WriteStream>(
      RAW_TABLES.map((t) => [t, createWriteStream(join(dir, `${t}.json`))]),
    );
    let produced = 0;
    let round = 0;
    const fillStart = performance.now();
    let chunk: OutgoingEvent[] = [];
    const flushChunk = async () => {
      if (chunk.length === 0) return;
      await producer.publish(chunk);
      chunk = [];
    };
    while (produced < total) {
      const opts = simOptions({ seed: `${seed}-${round++}`, students, days, duplicateRate: 0 });
      let any = false;
      for (const e of cohortEvents(opts)) {
        if (e.duplicate) continue;
        any = true;
        const mapped = mapRecord(e.family, e.record);
        if (!mapped.ok) continue;
        const line = `${JSON.stringify(mapped.value.row)}\n`;
        const ws = files.get(mapped.value.table)!;
        if (!ws.write(line)) await new Promise<void>((r) => ws.once('drain', () => r()));
        chunk.push({ family: e.family, record: e.record as OutgoingEvent['record'] });
        produced += 1;
        if (chunk.length >= 5000) await flushChunk();
        if (produced % 500_000 === 0) log.warn({ produced }, 'pre-filling');
        if (produced >= total) break;
      }
      if (!any) throw new Error('simulator produced no events');
    }
    await flushChunk();
    await Promise.all([...files.values()].map((ws) => new Promise<void>((r) => ws.end(() => r()))));
    await producer.disconnect();
    const fillSeconds = (performance.now() - fillStart) / 1000;

    // 2. The sink drains the topics.
    const metrics = createMetricsRegistry('bench');
    const sinkStart = performance.now();
    let firstFlushAt: number | undefined;
    const sink = await startClickHouseSink({
      cfg,
      stream: streamEnv.load(env),
      sink: sinkEnv.load({ ...env, SINK_GROUP_ID: `${id}-sink` }),
      kafka,
      log,
      metrics,
    });
    sink.processor.events.on('flush', () => {
      firstFlushAt ??= performance.now();
    });
    let stored = 0;
    const deadline = Date.now() + 3_600_000;
    while (stored < produced) {
      await new Promise((r) => setTimeout(r, 500));
      const [r] = await chQuery<{ n: string }>(
        ch,
        'SELECT (SELECT count() FROM study_events) + (SELECT count() FROM question_attempts) + (SELECT count() FROM material_interactions) AS n',
      );
      stored = Number(r!.n);
      if (Date.now() > deadline) throw new Error(`sink stored ${stored} of ${produced} within an hour`);
    }
    const sinkEnd = performance.now();
    await sink.stop();
    const sinkSeconds = (sinkEnd - sinkStart) / 1000;
    const sinkDrainSeconds = (sinkEnd - (firstFlushAt ?? sinkStart)) / 1000;

    // 3. The ceiling: clickhouse-client inserting the same rows into an identical database.
    const ceilStart = performance.now();
    for (const t of RAW_TABLES) await clickhouseClient(ceilingDb, t, join(dir, `${t}.json`));
    const ceilSeconds = (performance.now() - ceilStart) / 1000;

    // 4. Bytes on disk per event (active parts as the sink left them, before background merges settle).
    const disk = await bytesOnDisk(cfg, ch, id);

    // 5. Cohort percentile query over every student and the simulated days.
    const [span] = await chQuery<{ lo: string; hi: string }>(
      ch,
      'SELECT toString(min(day)) AS lo, toString(max(day)) AS hi FROM daily_user_stats',
    );
    const [someone] = await chQuery<{ u: string }>(ch, 'SELECT any(user_id) AS u FROM daily_user_stats');
    const window = { from: new Date(`${span!.lo}T00:00:00Z`), to: new Date(`${span!.hi}T00:00:00Z`) };
    const times: number[] = [];
    let cohortSize = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await studentStanding(ch, someone!.u, window, { minK: 10 });
      times.push(performance.now() - t0);
      cohortSize = r.cohortSize;
    }
    times.sort((a, b) => a - b);

    const sinkRate = produced / sinkDrainSeconds;
    const ceilRate = produced / ceilSeconds;
    const rows: Row[] = [
      { measure: 'events', value: produced, unit: 'events' },
      { measure: 'pre-fill (simulate + produce)', value: fillSeconds, unit: 's' },
      { measure: 'sink drain (first flush to all stored)', value: sinkDrainSeconds, unit: 's' },
      { measure: 'sink total (incl. group join)', value: sinkSeconds, unit: 's' },
      { measure: 'sink throughput', value: Math.round(sinkRate), unit: 'rows/s' },
      { measure: 'ceiling: clickhouse-client from file', value: Math.round(ceilRate), unit: 'rows/s' },
      { measure: 'sink / ceiling', value: Math.round((1000 * sinkRate) / ceilRate) / 10, unit: '%' },
      {
        measure: 'raw bytes on disk per event',
        value: Math.round((10 * disk.raw) / produced) / 10,
        unit: 'B',
      },
      {
        measure: 'rollup bytes on disk per event',
        value: Math.round((10 * disk.rollups) / produced) / 10,
        unit: 'B',
      },
      {
        measure: `cohort percentile query (${cohortSize} students, ${span!.lo}..${span!.hi}) median`,
        value: Math.round(times[2]! * 10) / 10,
        unit: 'ms',
      },
    ];
    report({
      name: 'sink',
      params: { events: produced, students, days, seed, batch: streamEnv.load(env).STREAM_BATCH_MAX_RECORDS },
      rows,
      ceiling: [
        {
          tool: 'clickhouse-client --query "INSERT ... FORMAT JSONEachRow" < file',
          seconds: ceilSeconds,
          rowsPerSecond: Math.round(ceilRate),
        },
      ],
      notes: [
        'ceiling inserts into an identical database (same raw tables and materialized views), one file per table',
        'sink throughput counts from its first flush; the ceiling reads pre-serialised rows (no Kafka, no Avro)',
        `cohort query timings ms: ${times.map((t) => t.toFixed(1)).join(', ')}`,
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!values.keep) {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${id}.`));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => {});
      // On every node of the cluster profile.
      await dropClickHouseDatabase(cfg, id).catch(() => {});
      await dropClickHouseDatabase(cfg, ceilingDb).catch(() => {});
    }
    await admin.disconnect();
    await ch.close();
  }
};
export default sinkBench;
