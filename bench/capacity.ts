import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, type Command } from '../services/cli/command.ts';
import { cohortEvents, simOptions } from '../services/simulator/cohort.ts';
import {
  DEFAULT_ASSUMPTIONS,
  loads,
  peakFactors,
  size,
  type Assumptions,
  type StageFigures,
} from './capacity-model.ts';
import { RESULTS_DIR } from './harness.ts';

/**
 * `studystream bench capacity [files...]`: no measurement of its own. Reads the newest quiet result of each bench
 * (ingest, sink, processors, api per endpoint mix) from bench/results/, or the files named, and writes
 * deploy/CAPACITY.md: measured per-core throughput per stage and the sizing for 10k/100k/1M students
 * (bench/capacity-model.ts). Results whose `profile` (or `machine.profile`) is "cluster" fill the cluster column.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Result {
  file: string;
  kind: string;
  profile: string;
  at: string;
  cpus: number;
  load: number;
  json: Json;
}

const OUT = fileURLToPath(new URL('../deploy/CAPACITY.md', import.meta.url));

function loadResult(path: string): Result {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Json;
  const kind = String(json.name ?? json.bench);
  const cpus = Number(json.machine?.cpus ?? 1);
  // Load during the measurement: ingest records it per run; the api its phases'; the rest the machine's at the end.
  const load =
    kind === 'ingest'
      ? Math.max(...(json.runs as Json[]).map((r) => Number(r.sustained.load_average_1m)))
      : kind === 'api'
        ? // the cached phase starts right after the bench's own warm-up burst: its start load is not the host's
          Math.max(
            ...[
              json.params.phases?.['uncached open loop']?.loadStart,
              json.params.phases?.['uncached open loop']?.loadEnd,
              json.params.phases?.['cached open loop']?.loadEnd,
            ].map((l) => Number(l?.[0] ?? 0)),
          )
        : Number(json.machine?.loadAverage?.[0] ?? 0);
  const profile = String(json.profile ?? json.machine?.profile ?? 'single');
  return { file: basename(path), kind, profile, at: String(json.at), cpus, load, json };
}

/** Quiet: the 1-minute load stayed within 1.5x the cores (the bench's own work included). */
let quiet = (r: Result) => r.load <= r.cpus * 1.5;
const newest = (rs: Result[]) => [...rs].sort((a, b) => b.at.localeCompare(a.at))[0];
const mixOf = (r: Result) => (r.json.params.mix as { name: string }[]).map((m) => m.name).join(', ');
const row = (r: Json[], prefix: string): Json => {
  const found = r.find((x) => String(x.measure).startsWith(prefix));
  if (!found) throw new Error(`bench result has no row "${prefix}..."`);
  return found;
};

interface Measured {
  figures: StageFigures;
  /** Markdown rows: stage, figure per core, how it was derived, source file. */
  table: [string, number, string, string][];
  sources: Result[];
  missing: string[];
}

function ingestRows(ingest: Result, table: Measured['table']) {
  const ingestPerCore = Math.min(
    ...(ingest.json.runs as Json[]).map((r) => Number(r.sustained.ingest_events_per_cpu_second)),
  );
  table.push([
    'ingest HTTP (events)',
    ingestPerCore,
    'measured: ingest_events_per_cpu_second (lowest over worker counts)',
    ingest.file,
  ]);
  const kafkaPerCore = Number(ingest.json.kafka_producer_performance.records_per_sec) / ingest.cpus;
  table.push([
    'Kafka produce (records)',
    kafkaPerCore,
    `kafka-producer-perf-test records/s / ${ingest.cpus} cores (assumes the broker and the tool used all cores; ${ingest.json.kafka_producer_performance.record_bytes} B records)`,
    ingest.file,
  ]);
  return { ingestPerCore, kafkaPerCore };
}

function sinkRow(sink: Result, table: Measured['table']): number {
  const sinkRows = Number(row(sink.json.rows, 'sink throughput').value);
  table.push([
    'ClickHouse sink (rows = events)',
    sinkRows / sink.cpus,
    `sink throughput ${Math.round(sinkRows)} rows/s / ${sink.cpus} cores (CPU not measured; sink and ClickHouse shared the machine)`,
    sink.file,
  ]);
  return sinkRows;
}

function measure(results: Result[]): Measured {
  const pick = (kind: string) => newest(results.filter((r) => r.kind === kind && quiet(r)));
  const ingest = pick('ingest');
  const sink = pick('sink');
  const proc = pick('processors');
  const apis = new Map<string, Result>();
  for (const r of results.filter((x) => x.kind === 'api' && quiet(x))) {
    const prev = apis.get(mixOf(r));
    if (!prev || r.at > prev.at) apis.set(mixOf(r), r);
  }
  const missing: string[] = [];
  if (!ingest) missing.push('ingest (run: bin/studystream bench ingest)');
  if (!sink) missing.push('sink (run: bin/studystream bench sink)');
  if (!proc) missing.push('processors (run: bin/studystream bench processors)');
  const pages = [...apis.values()].find((r) => mixOf(r).startsWith('dashboard'));
  if (!pages) missing.push('api student pages (run: bin/studystream bench api --no-closed)');
  const table: Measured['table'] = [];
  // Partial results (e.g. the cluster profile's ingest and sink only) still give their stages' rows.
  if (!ingest || !sink || !proc || !pages) {
    if (ingest) ingestRows(ingest, table);
    if (sink) sinkRow(sink, table);
    const sources = [ingest, sink, proc].filter((r): r is Result => r !== undefined);
    return { figures: null!, table, sources, missing };
  }
  const { ingestPerCore, kafkaPerCore } = ingestRows(ingest, table);
  const sinkRows = sinkRow(sink, table);
  const mastery = Number(row(proc.json.rows, 'mastery: backlog drain')['events/s']);
  const sessions = Number(row(proc.json.rows, 'sessions: backlog drain')['events/s']);
  const oneCore =
    'backlog drain events/s of one Node process (one event loop: at most one core; CPU not measured)';
  table.push(['mastery processor (events)', mastery, oneCore, proc.file]);
  table.push(['sessions processor (events)', sessions, oneCore, proc.file]);
  let apiPages = 0;
  for (const [mix, r] of apis) {
    for (const phase of ['uncached', 'cached'] as const) {
      const ms = Number(r.json.params.phases[`${phase} open loop`].apiCpuMsPerRequest);
      if (mix === mixOf(pages) && phase === 'uncached') apiPages = 1000 / ms;
      table.push([
        `analytics API, ${phase}: ${mix}`,
        1000 / ms,
        `measured: 1000 / apiCpuMsPerRequest (${ms} ms)`,
        r.file,
      ]);
    }
  }
  // the dataset counts are recorded only by the run that loaded the dataset (later runs reuse it)
  const loaded = newest(results.filter((r) => r.kind === 'api' && r.json.params.masteryRows));
  const masteryRows = loaded ? loaded.json.params.masteryRows / loaded.json.params.students : 0;
  if (loaded)
    table.push([
      'PostgreSQL topic_mastery rows per student (not a throughput)',
      masteryRows,
      `masteryRows ${loaded.json.params.masteryRows} / ${loaded.json.params.students} students of the api dataset (${loaded.json.params.days} days)`,
      loaded.file,
    ]);
  const figures: StageFigures = {
    ingestEventsPerCore: ingestPerCore,
    kafkaRecordsPerCore: kafkaPerCore,
    sinkRowsPerCore: sinkRows / sink.cpus,
    masteryEventsPerCore: mastery,
    sessionsEventsPerCore: sessions,
    slowestConsumerEventsPerInstance: Math.min(mastery, sessions, sinkRows),
    apiRequestsPerCore: apiPages,
    chBytesPerEvent:
      Number(row(sink.json.rows, 'raw bytes on disk').value) +
      Number(row(sink.json.rows, 'rollup bytes on disk').value),
    pgMasteryRowsPerStudent: masteryRows,
  };
  return { figures, table, sources: [ingest, sink, proc, ...apis.values()], missing };
}

const fmt = (x: number) =>
  x >= 100
    ? Math.round(x).toLocaleString('en-US')
    : x >= 10
      ? x.toFixed(1)
      : x.toFixed(2).replace(/\.?0+$/, '') || '0';

/** The simulator's diurnal shape: a seeded cohort's event timestamps (all time zones), in a few seconds. */
const SIM = { seed: 7, students: 300, days: 28 };
function simulatedPeak() {
  let n = 0;
  const ts = function* () {
    for (const e of cohortEvents(simOptions(SIM))) {
      n++;
      yield e.record.occurred_at;
    }
  };
  const f = peakFactors(ts());
  return { ...f, eventsPerStudentYear: (n / SIM.students / SIM.days) * 365 };
}

function render(results: Result[]): string {
  const sim = simulatedPeak();
  const a: Assumptions = { ...DEFAULT_ASSUMPTIONS, peakHourFactor: Math.round(sim.busiestHour * 100) / 100 };
  const single = measure(results.filter((r) => r.profile !== 'cluster'));
  const cluster = measure(results.filter((r) => r.profile === 'cluster'));
  const out: string[] = [
    '# Capacity model',
    '',
    'Generated by `bin/studystream bench capacity` (bench/capacity.ts, arithmetic in bench/capacity-model.ts) from the',
    'bench result files named below; do not edit by hand, re-run the command after new benchmark runs. A file is used',
    'when its 1-minute load average during the measurement stayed within 1.5x its cores ("quiet"); the newest quiet',
    'file of each bench (of each endpoint mix for `bench api`) wins.',
    '',
  ];
  if (single.missing.length) {
    out.push('**Missing results** (this machine):', ...single.missing.map((m) => `- ${m}`), '');
    return out.join('\n');
  }
  out.push('## Measured throughput per core', '');
  const clusterByStage = new Map(cluster.table.map((t) => [t[0], t]));
  out.push(
    '| stage | this machine, per core-second | cluster profile, per core-second | how | source |',
    '|---|---:|---:|---|---|',
  );
  for (const [stage, v, how, file] of single.table) {
    const c = clusterByStage.get(stage);
    out.push(`| ${stage} | ${fmt(v)} | ${c ? `${fmt(c[1])} (${c[3]})` : '-'} | ${how} | ${file} |`);
  }
  out.push('');
  out.push(
    cluster.missing.length && cluster.table.length === 0
      ? `Cluster profile: no results yet (${cluster.missing.length} missing). Run the benches against the cluster profile (\`set -a; . .stack/cluster/cluster.env; set +a\`, then \`bin/studystream bench ingest|sink|processors|api\`); results record \`machine.profile: "cluster"\` when KAFKA_BROKERS lists more than one broker or STUDYSTREAM_PROFILE=cluster, and fill the column above.`
      : cluster.missing.length
        ? `Cluster profile: figures from the files named in the column above; not measured on it: ${cluster.missing.join('; ')}.`
        : 'Cluster profile: figures from the files named in the column above.',
    '',
    'Machines of the sources:',
    '',
    ...[...single.sources, ...cluster.sources].map(
      (r) =>
        `- ${r.file}${r.profile === 'cluster' ? ' (cluster profile)' : ''}: ${r.cpus} cores, ${r.json.machine?.cpuModel ?? 'cpu model not recorded'}, load ${r.load} during the run, at ${r.at}`,
    ),
    '',
  );
  const f = single.figures;
  out.push(
    '## Assumptions',
    '',
    `- Events per student per year: ${a.eventsPerStudentYear.toLocaleString('en-US')} (seed, ../shared/seed/analytics-architecture.md "Storage Estimates": ~50K study events + 5K attempts + 2K material interactions); attempts ${a.attemptsPerStudentYear.toLocaleString('en-US')}, spread over 365 days.`,
    `- Peak hour: ${a.peakHourFactor}x the mean rate, derived from the simulator: events of a seeded cohort (services/simulator, seed ${SIM.seed}, ${SIM.students} students x ${SIM.days} days, students in several time zones) binned by clock hour; the busiest hour held ${sim.busiestHour.toFixed(2)}x the mean hour of the span (the busiest hour of the UTC day, all days summed: ${sim.hourOfDay.toFixed(2)}x). The simulator generates ${Math.round(sim.eventsPerStudentYear).toLocaleString('en-US')} events per student-year, fewer than the seed's figure used for volume; only its shape is used.`,
    `- Burst: ${a.burstFactor}x the peak hour (the "${a.burstFactor}x peak" column); sizing is for the burst.`,
    `- API: ${a.concurrentShare * 100}% of students have the app open in the peak hour, one page view (one request of the student-pages mix) per ${a.viewIntervalSec} s each (the api bench's pacing); average = peak / ${a.peakHourFactor}. Cost per request: the uncached student-pages mix (${mixOfSources(single.sources)}).`,
    `- Headroom: cores sized for ${a.utilisation * 100}% utilisation; ${a.coresPerInstance} core per instance; at least ${a.minInstances} instances per service and ${a.minPartitions} partitions per topic.`,
    '- Every processor and the sink consume every event (an upper bound: mastery reads attempts only but its drain rate is counted over the events it read).',
    `- Partitions: one partition is consumed by one instance, so its rate is bounded by the slowest consumer's events/s per instance (${fmt(f.slowestConsumerEventsPerInstance)}); partitions >= instances of each consumer group.`,
    `- ClickHouse: ${fmt(f.chBytesPerEvent)} B on disk per event (raw + rollups, sink bench), replication ${a.chReplicas}, ${a.chCoresPerNode} cores and ${a.chDiskGbPerNode.toLocaleString('en-US')} GB usable disk per node, ${a.retentionYears} year kept; node ingest = sink rows/s per core x ${a.chCoresPerNode}.`,
    `- PostgreSQL: ${fmt(f.pgMasteryRowsPerStudent)} topic_mastery rows per student (api bench dataset, 1,000 students x 90 days: masteryRows / students; a year will be higher); one mastery upsert per attempt. Bytes per row not measured.`,
    `- Redis: one live-session state per open student; memory per key not measured.`,
    '',
    '## Sizing',
    '',
  );
  for (const students of [10_000, 100_000, 1_000_000]) {
    const ls = loads(students, a);
    const s = size(students, ls[2]!, f, a);
    out.push(
      `### ${students.toLocaleString('en-US')} students`,
      '',
      '| load | events/s | attempts/s | API requests/s |',
      '|---|---:|---:|---:|',
      ...ls.map(
        (l) =>
          `| ${l.label} | ${fmt(l.eventsPerSec)} | ${fmt(l.attemptsPerSec)} | ${fmt(l.apiRequestsPerSec)} |`,
      ),
      '',
      `Sized for the ${ls[2]!.label} load:`,
      '',
      '| stage | cores | instances |',
      '|---|---:|---:|',
      `| ingest HTTP | ${fmt(s.cores.ingest)} | ${s.instances.ingest} |`,
      `| Kafka brokers (produce) | ${fmt(s.cores.kafka)} | - |`,
      `| ClickHouse sink | ${fmt(s.cores.sink)} | ${s.instances.sink} |`,
      `| mastery processor | ${fmt(s.cores.mastery)} | ${s.instances.mastery} |`,
      `| sessions processor | ${fmt(s.cores.sessions)} | ${s.instances.sessions} |`,
      `| analytics API | ${fmt(s.cores.api)} | ${s.instances.api} |`,
      '',
      `- Kafka partitions per topic: ${s.partitions}`,
      `- ClickHouse: ${s.chShards} shard(s) x ${a.chReplicas} replicas = ${s.chNodes} nodes; ${fmt(s.chStorageGbPerYear)} GB per year with replicas`,
      `- PostgreSQL: ~${s.pgMasteryRows.toLocaleString('en-US')} topic_mastery rows; ${fmt(s.pgWritesPerSec)} mastery writes/s at this load`,
      `- Redis: ~${s.redisLiveSessions.toLocaleString('en-US')} live sessions`,
      '',
    );
  }
  return out.join('\n');
}

function mixOfSources(rs: Result[]): string {
  const r = rs.find((x) => x.kind === 'api' && mixOf(x).startsWith('dashboard'));
  return r ? r.file : '-';
}

const capacity: Command = async (args) => {
  const { values, positionals } = parseOptions(args, {
    out: { type: 'string' },
    print: { type: 'boolean' },
  });
  // Files named on the command line are used as given, quiet or not (their load is printed beside them).
  if (positionals.length) quiet = () => true;
  const files = positionals.length
    ? positionals
    : (existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR) : [])
        .filter((f) => /^(ingest|sink|processors|api)-.*\.json$/.test(f))
        .map((f) => `${RESULTS_DIR}${f}`);
  const text = render(files.map(loadResult));
  if (values.print) process.stdout.write(text);
  else {
    const out = values.out ?? OUT;
    writeFileSync(out, text);
    process.stdout.write(`wrote ${out}\n`);
  }
  return text.includes('**Missing results**') ? 1 : 0;
};
export default capacity;
