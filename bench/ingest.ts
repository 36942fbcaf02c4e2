import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { familyType } from '../services/shared/codec.ts';
import { createLogger } from '../services/shared/logger.ts';
import { createPgPool } from '../services/shared/postgres.ts';
import { registerAll } from '../services/cli/commands/schemas.ts';
import { createApiKey } from '../services/ingest/apikeys.ts';
import { decodeEvent } from '../services/ingest/validate.ts';
import { parseOptions, positiveIntOption, type Command } from '../services/cli/command.ts';
import { isolatedEnv, provision, teardown } from '../test/support/isolated.ts';
import { freePort, waitReady } from '../test/support/process.ts';
import { realisticEvent } from '../test/support/ingest-events.ts';
import { runProfile } from './harness.ts';

/**
 * `studystream bench ingest [--duration S] [--concurrency N] [--batch N] [--rate EV/S] [--latency-duration S]
 *   [--workers 1,2] [--ceiling-records N] [--no-ceiling]`
 *
 * Starts ingest as its own process on an isolated namespace (topic prefix, PG schema, Redis prefix, 12
 * partitions), once per `--workers` count (INGEST_WORKERS), and measures each on loopback:
 *   1. sustained events/s through POST /v1/events/batch: N concurrent clients, batches of realistic events;
 *   2. acknowledgement latency p50/p99 at a fixed offered rate (open loop: latency counted from the
 *      scheduled send time, so a stall is not hidden);
 *   3. the ceiling: Kafka's own ProducerPerformance with the same record size, acks=all, idempotence.
 * Writes bench/results/ingest-<timestamp>.json.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

type Client = { send: (body: string) => Promise<{ status: number; accepted: number }> };

function client(port: number, apiKey: string, sockets: number): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  return {
    send: (body) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/events/batch',
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'x-api-key': apiKey,
              'user-agent': 'studystream-bench/1.0 (X11; Linux x86_64) Chrome/124.0.0.0',
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              let accepted = 0;
              if (res.statusCode === 200) {
                const text = Buffer.concat(chunks).toString();
                const m = /"accepted":(\d+)/.exec(text);
                accepted = m ? Number(m[1]) : 0;
              }
              resolve({ status: res.statusCode ?? 0, accepted });
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
  };
}

/**
 * Request bodies are prepared as templates (realistic events with an event_id placeholder) and only the
 * event ids are filled per request, so the load generator spends little CPU on the shared 2-core machine.
 */
const PLACEHOLDER = '00000000-0000-4000-8000-000000000000';
let templates: string[][] = [];
let next = 0;

function prepareTemplates(size: number, count = 64): void {
  const now = Date.now();
  templates = Array.from({ length: count }, (_, t) => {
    const events = Array.from({ length: size }, (_, i) => ({
      ...realisticEvent(t * size + i, now),
      event_id: PLACEHOLDER,
    }));
    return JSON.stringify({ sent_at: 0, events }).split(PLACEHOLDER);
  });
}

function batchBody(): string {
  const parts = templates[next++ % templates.length]!;
  let out = parts[0]!.replace('"sent_at":0', `"sent_at":${Date.now()}`);
  for (let i = 1; i < parts.length; i++) out += randomUUID() + parts[i]!;
  return out;
}

/** Mean Avro wire size (5-byte header + body) of realistic events, as ingest produces them. */
function meanRecordBytes(): number {
  let total = 0;
  const n = 1000;
  for (let i = 0; i < n; i++) {
    const d = decodeEvent(realisticEvent(i), Date.now());
    if (!d.ok) throw new Error('bench event invalid');
    const rec = {
      ...d.event.record,
      client: {
        platform: 'WEB',
        app_version: '3.2.1',
        ip_hash: '0123456789abcdef',
        browser: 'Chrome',
        os: 'Linux',
        offline_synced: false,
        clock_skew_ms: 0,
      },
    };
    total += 5 + familyType(d.event.family).toBuffer(rec).length;
  }
  return Math.round(total / n);
}

async function throughput(c: Client, concurrency: number, batch: number, seconds: number) {
  const end = performance.now() + seconds * 1000;
  let accepted = 0;
  let requests = 0;
  let errors = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const body = batchBody();
        const t0 = performance.now();
        const r = await c.send(body);
        latencies.push(performance.now() - t0);
        requests++;
        if (r.status === 200) accepted += r.accepted;
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    events_per_sec: Math.round(accepted / elapsed),
    accepted,
    requests,
    non_200: errors,
    seconds: round(elapsed),
    request_latency_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
  };
}

async function fixedRate(c: Client, rate: number, batch: number, seconds: number) {
  const interval = (1000 * batch) / rate;
  const total = Math.floor((seconds * 1000) / interval);
  const latencies: number[] = [];
  let errors = 0;
  let accepted = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = batchBody();
    inflight.push(
      c.send(body).then((r) => {
        latencies.push(performance.now() - scheduled);
        if (r.status === 200) accepted += r.accepted;
        else errors++;
      }),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    offered_events_per_sec: rate,
    achieved_events_per_sec: Math.round(accepted / elapsed),
    requests: total,
    non_200: errors,
    ack_latency_ms: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? NaN),
    },
  };
}

function kafkaCeiling(topic: string, brokers: string, recordSize: number, records: number) {
  const r = spawnSync(
    'bash',
    [
      `${ROOT}deploy/stack.sh`,
      'kafka-run',
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('records sent'));
  if (!line) return { error: `ProducerPerformance failed: ${(r.stderr || r.stdout).slice(-500)}` };
  const num = (re: RegExp) => Number(re.exec(line)?.[1] ?? NaN);
  return {
    records,
    record_bytes: recordSize,
    records_per_sec: num(/([\d.]+) records\/sec/),
    mb_per_sec: num(/\(([\d.]+) MB\/sec\)/),
    avg_latency_ms: num(/([\d.]+) ms avg latency/),
    p50_ms: num(/(\d+) ms 50th/),
    p99_ms: num(/(\d+) ms 99th/),
    raw: line,
  };
}

/** User + system CPU seconds of a process and its live children (ingest workers with INGEST_WORKERS > 1). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  let total = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
  } catch {
    // no children file (older kernels): the process alone
  }
  for (const child of children) {
    try {
      total += cpuSeconds(Number(child));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** One ingest configuration measured: sustained throughput, then latency at the fixed offered rate. */
async function measureIngest(
  iso: ReturnType<typeof isolatedEnv>,
  apiKey: string,
  workers: number,
  o: { duration: number; concurrency: number; batch: number; rate: number; latencyDuration: number },
  log: ReturnType<typeof createLogger>,
) {
  const port = await freePort();
  // BENCH_INGEST_NODE_ARGS passes extra node flags to the ingest process (e.g. --cpu-prof for profiling).
  const nodeArgs = (process.env.BENCH_INGEST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, `${ROOT}services/ingest/main.ts`], {
    env: {
      ...iso.env,
      INGEST_PORT: String(port),
      INGEST_WORKERS: String(workers),
      LOG_LEVEL: 'warn',
      INGEST_RATE_LIMIT_PER_SEC: '0',
    },
    stdio: ['ignore', process.env.BENCH_DEBUG ? 'inherit' : 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, { name: 'ingest' });
    const c = client(port, apiKey, o.concurrency);
    log.info({ workers }, 'warm-up');
    await throughput(c, o.concurrency, o.batch, 3);
    log.info({ workers, duration: o.duration, concurrency: o.concurrency, batch: o.batch }, 'throughput');
    const cpuBefore = cpuSeconds(child.pid!);
    const loadBefore = process.cpuUsage();
    const sustainedRun = await throughput(c, o.concurrency, o.batch, o.duration);
    const ingestCpu = cpuSeconds(child.pid!) - cpuBefore;
    const load = process.cpuUsage(loadBefore);
    const sustained = {
      ...sustainedRun,
      // Machine-load-independent: CPU the ingest process spent per accepted event, and what one core would carry.
      ingest_cpu_seconds: round(ingestCpu, 2),
      ingest_cpu_us_per_event: round((ingestCpu * 1e6) / Math.max(1, sustainedRun.accepted)),
      ingest_events_per_cpu_second: Math.round(sustainedRun.accepted / Math.max(ingestCpu, 1e-9)),
      ingest_workers: workers,
      // The clients run in this process, on the same 2 cores as ingest and Kafka.
      load_generator_cpu_seconds: round((load.user + load.system) / 1e6, 2),
      load_average_1m: round(loadavg()[0]!, 2),
    };
    log.info(sustained, 'throughput done');
    await new Promise((r) => setTimeout(r, 2000));
    log.info({ workers, rate: o.rate }, 'fixed-rate latency');
    const latency = await fixedRate(c, o.rate, o.batch, o.latencyDuration);
    log.info(latency, 'latency done');
    const metrics = await (
      await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${iso.env.OPS_TOKEN}` } })
    ).text();
    // Summed over every series (with INGEST_WORKERS > 1 the aggregated output has one per worker).
    const total = (name: string) =>
      [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    const batches = total('ingest_produce_batch_records_count');
    return {
      workers,
      sustained,
      fixed_rate: latency,
      mean_records_per_kafka_batch:
        batches > 0 ? round(total('ingest_produce_batch_records_sum') / batches) : null,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const ingestBench: Command = async (args) => {
  const { values } = parseOptions(args, {
    duration: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '64' },
    batch: { type: 'string', default: '100' },
    rate: { type: 'string', default: '5000' },
    'latency-duration': { type: 'string', default: '15' },
    workers: { type: 'string', default: '1,2' },
    'ceiling-records': { type: 'string', default: '1000000' },
    'no-ceiling': { type: 'boolean', default: false },
  });
  const options = {
    duration: positiveIntOption(values.duration, 'duration', 20),
    concurrency: positiveIntOption(values.concurrency, 'concurrency', 64),
    batch: positiveIntOption(values.batch, 'batch', 100),
    rate: positiveIntOption(values.rate, 'rate', 5000),
    latencyDuration: positiveIntOption(values['latency-duration'], 'latency-duration', 15),
  };
  const workerCounts = values.workers.split(',').map((w) => positiveIntOption(w.trim(), 'workers', 1));
  const log = createLogger('bench', 'info');

  process.env.TEST_KAFKA_PARTITIONS ??= process.env.KAFKA_PARTITIONS ?? '12';
  const iso = isolatedEnv('bench');
  await provision(iso, { postgres: true, kafka: true });
  await registerAll(iso.cfg, createLogger('bench', 'warn'));
  const pool = createPgPool(iso.cfg);
  const { key } = await createApiKey(pool, 'bench');
  await pool.end();
  try {
    prepareTemplates(options.batch);
    const runs = [];
    for (const workers of workerCounts) runs.push(await measureIngest(iso, key, workers, options, log));
    const recordBytes = meanRecordBytes();
    let ceiling: unknown = 'skipped';
    if (!values['no-ceiling']) {
      log.info({ recordBytes }, 'Kafka ProducerPerformance ceiling');
      ceiling = kafkaCeiling(
        `${iso.cfg.KAFKA_TOPIC_PREFIX}study-events`,
        iso.cfg.KAFKA_BROKERS.join(','),
        recordBytes,
        Number(values['ceiling-records']),
      );
    }
    const result = {
      bench: 'ingest',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version, profile: runProfile() },
      settings: { ...options, workers: workerCounts, partitions: iso.cfg.KAFKA_PARTITIONS },
      runs,
      kafka_producer_performance: ceiling,
      goals: runs.map((r) => ({
        workers: r.workers,
        events_per_sec_ge_20000: r.sustained.events_per_sec >= 20_000,
        p99_lt_100ms_at_5000: r.fixed_rate.ack_latency_ms.p99 < 100,
      })),
    };
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    const file = `${ROOT}bench/results/ingest-${result.at.replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
    console.log(`wrote ${file}`);
    return 0;
  } finally {
    await teardown(iso);
  }
};
export default ingestBench;
