/**
 * The capacity model's arithmetic (pure): from measured per-core stage figures and stated assumptions to events/s,
 * requests/s, cores, partitions, instances and nodes for a number of students. `bench capacity` (bench/capacity.ts)
 * reads the figures from bench/results/ and prints deploy/CAPACITY.md with these numbers.
 */

/** Measured throughput of each stage per CPU core (events, rows or requests per core-second). */
export interface StageFigures {
  ingestEventsPerCore: number;
  /** Kafka broker produce records/s per core. */
  kafkaRecordsPerCore: number;
  sinkRowsPerCore: number;
  masteryEventsPerCore: number;
  sessionsEventsPerCore: number;
  /** Throughput of one instance (one partition's consumer) of the slowest consumer: bounds events/s per partition. */
  slowestConsumerEventsPerInstance: number;
  /** Analytics API requests per core-second for a page view (the student-pages mix, uncached). */
  apiRequestsPerCore: number;
  /** ClickHouse bytes on disk per event: raw tables and rollups (one replica). */
  chBytesPerEvent: number;
  /** PostgreSQL topic_mastery rows per student. */
  pgMasteryRowsPerStudent: number;
}

export interface Assumptions {
  /** Events per student per year (seed: 50K study events + 5K attempts + 2K material interactions). */
  eventsPerStudentYear: number;
  /** Question attempts per student per year (each updates mastery state in PostgreSQL). */
  attemptsPerStudentYear: number;
  /** Busiest hour's rate over the 24-hour mean. */
  peakHourFactor: number;
  /** Multiplier for the burst column over the peak hour. */
  burstFactor: number;
  /** Share of students with the app open in the peak hour. */
  concurrentShare: number;
  /** Seconds between API page views of an open student. */
  viewIntervalSec: number;
  /** Target CPU utilisation (headroom): cores = load / (per-core rate * utilisation). */
  utilisation: number;
  /** Cores per service instance. */
  coresPerInstance: number;
  /** Minimum instances of a service (availability). */
  minInstances: number;
  /** Minimum Kafka partitions per topic. */
  minPartitions: number;
  /** ClickHouse replication factor. */
  chReplicas: number;
  /** Cores per ClickHouse node. */
  chCoresPerNode: number;
  /** Usable disk per ClickHouse node (GB) and years of data kept. */
  chDiskGbPerNode: number;
  retentionYears: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  eventsPerStudentYear: 57_000,
  attemptsPerStudentYear: 5_000,
  peakHourFactor: 3,
  burstFactor: 10,
  concurrentShare: 0.1,
  viewIntervalSec: 30,
  utilisation: 0.5,
  coresPerInstance: 1,
  minInstances: 2,
  minPartitions: 12,
  chReplicas: 2,
  chCoresPerNode: 8,
  chDiskGbPerNode: 2_000,
  retentionYears: 1,
};

const SECONDS_PER_YEAR = 365 * 24 * 3600;

/**
 * Peak factors of event timestamps (ms): the busiest clock hour over the mean hour of the span they cover, and the
 * busiest hour of the day (UTC, all days summed) over the mean hour of the day.
 */
export function peakFactors(timestampsMs: Iterable<number>): { busiestHour: number; hourOfDay: number } {
  const byHour = new Map<number, number>();
  const hourOfDay = new Array<number>(24).fill(0);
  let n = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const t of timestampsMs) {
    const h = Math.floor(t / 3_600_000);
    byHour.set(h, (byHour.get(h) ?? 0) + 1);
    hourOfDay[((h % 24) + 24) % 24]!++;
    first = Math.min(first, h);
    last = Math.max(last, h);
    n++;
  }
  if (n === 0) return { busiestHour: 1, hourOfDay: 1 };
  return {
    busiestHour: Math.max(...byHour.values()) / (n / (last - first + 1)),
    hourOfDay: Math.max(...hourOfDay) / (n / 24),
  };
}

export interface Load {
  label: string;
  eventsPerSec: number;
  attemptsPerSec: number;
  apiRequestsPerSec: number;
}

/** Average, peak-hour and burst (peak x burstFactor) loads for a number of students. */
export function loads(students: number, a: Assumptions): Load[] {
  const avgEvents = (students * a.eventsPerStudentYear) / SECONDS_PER_YEAR;
  const avgAttempts = (students * a.attemptsPerStudentYear) / SECONDS_PER_YEAR;
  const peakRps = (students * a.concurrentShare) / a.viewIntervalSec;
  return [
    // Off-peak API load: the same share of open students scaled down by the peak factor.
    {
      label: 'average',
      eventsPerSec: avgEvents,
      attemptsPerSec: avgAttempts,
      apiRequestsPerSec: peakRps / a.peakHourFactor,
    },
    {
      label: 'peak hour',
      eventsPerSec: avgEvents * a.peakHourFactor,
      attemptsPerSec: avgAttempts * a.peakHourFactor,
      apiRequestsPerSec: peakRps,
    },
    {
      label: `${a.burstFactor}x peak`,
      eventsPerSec: avgEvents * a.peakHourFactor * a.burstFactor,
      attemptsPerSec: avgAttempts * a.peakHourFactor * a.burstFactor,
      apiRequestsPerSec: peakRps * a.burstFactor,
    },
  ];
}

export interface Sizing {
  cores: Record<'ingest' | 'kafka' | 'sink' | 'mastery' | 'sessions' | 'api', number>;
  instances: Record<'ingest' | 'sink' | 'mastery' | 'sessions' | 'api', number>;
  partitions: number;
  chShards: number;
  chNodes: number;
  chStorageGbPerYear: number;
  pgMasteryRows: number;
  pgWritesPerSec: number;
  redisLiveSessions: number;
}

const coresFor = (rate: number, perCore: number, a: Assumptions) =>
  Math.ceil((rate / (perCore * a.utilisation)) * 10) / 10;

/** Sizing for one load (normally the burst load, so the average and the peak hour run at low utilisation). */
export function size(students: number, load: Load, f: StageFigures, a: Assumptions): Sizing {
  const cores = {
    ingest: coresFor(load.eventsPerSec, f.ingestEventsPerCore, a),
    kafka: coresFor(load.eventsPerSec, f.kafkaRecordsPerCore, a),
    sink: coresFor(load.eventsPerSec, f.sinkRowsPerCore, a),
    mastery: coresFor(load.eventsPerSec, f.masteryEventsPerCore, a),
    sessions: coresFor(load.eventsPerSec, f.sessionsEventsPerCore, a),
    api: coresFor(load.apiRequestsPerSec, f.apiRequestsPerCore, a),
  };
  const inst = (c: number) => Math.max(a.minInstances, Math.ceil(c / a.coresPerInstance));
  const instances = {
    ingest: inst(cores.ingest),
    sink: inst(cores.sink),
    mastery: inst(cores.mastery),
    sessions: inst(cores.sessions),
    api: inst(cores.api),
  };
  // A partition is read by one consumer instance: its rate is bounded by the slowest consumer's per-instance rate.
  const byRate = Math.ceil(load.eventsPerSec / (f.slowestConsumerEventsPerInstance * a.utilisation));
  const partitions = Math.max(a.minPartitions, byRate, instances.mastery, instances.sessions, instances.sink);
  const chStorageGbPerYear = (students * a.eventsPerStudentYear * f.chBytesPerEvent * a.chReplicas) / 1e9;
  const shardsByIngest = Math.ceil(
    load.eventsPerSec / (f.sinkRowsPerCore * a.chCoresPerNode * a.utilisation),
  );
  const shardsByDisk = Math.ceil((chStorageGbPerYear * a.retentionYears) / a.chReplicas / a.chDiskGbPerNode);
  const chShards = Math.max(1, shardsByIngest, shardsByDisk);
  return {
    cores,
    instances,
    partitions,
    chShards,
    chNodes: chShards * a.chReplicas,
    chStorageGbPerYear,
    pgMasteryRows: students * f.pgMasteryRowsPerStudent,
    pgWritesPerSec: load.attemptsPerSec,
    redisLiveSessions: Math.ceil(students * a.concurrentShare),
  };
}
