import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ASSUMPTIONS,
  loads,
  peakFactors,
  size,
  type StageFigures,
} from '../../../bench/capacity-model.ts';
import { runProfile } from '../../../bench/harness.ts';

const figures: StageFigures = {
  ingestEventsPerCore: 10_000,
  kafkaRecordsPerCore: 100_000,
  sinkRowsPerCore: 20_000,
  masteryEventsPerCore: 5_000,
  sessionsEventsPerCore: 25_000,
  slowestConsumerEventsPerInstance: 5_000,
  apiRequestsPerCore: 250,
  chBytesPerEvent: 60,
  pgMasteryRowsPerStudent: 300,
};
// Round numbers: 365 * 24 * 3600 s per year, so 31,536 events per student-year is 0.001 events/s per student.
const a = { ...DEFAULT_ASSUMPTIONS, eventsPerStudentYear: 31_536, attemptsPerStudentYear: 3_153.6 };

describe('capacity model', () => {
  it('derives average, peak-hour and burst loads from yearly rates and page views', () => {
    const [avg, peak, burst] = loads(1_000_000, a);
    expect(avg!.eventsPerSec).toBeCloseTo(1_000);
    expect(peak!.eventsPerSec).toBeCloseTo(3_000);
    expect(burst!.eventsPerSec).toBeCloseTo(30_000);
    expect(burst!.attemptsPerSec).toBeCloseTo(3_000);
    // 10% of 1M students open, one view per 30 s: 3,333/s at the peak hour, x10 in the burst, /3 on average
    expect(peak!.apiRequestsPerSec).toBeCloseTo(100_000 / 30);
    expect(burst!.apiRequestsPerSec).toBeCloseTo(1_000_000 / 30);
    expect(avg!.apiRequestsPerSec).toBeCloseTo(100_000 / 90);
  });

  it('sizes cores, instances, partitions and ClickHouse nodes with headroom', () => {
    const burst = loads(1_000_000, a)[2]!;
    const s = size(1_000_000, burst, figures, a);
    // 30,000 events/s at 50% of 10,000 per core
    expect(s.cores.ingest).toBe(6);
    expect(s.instances.ingest).toBe(6);
    expect(s.cores.mastery).toBe(12);
    expect(s.instances.mastery).toBe(12);
    expect(s.cores.sessions).toBeCloseTo(2.4);
    expect(s.instances.sessions).toBe(3);
    expect(s.cores.api).toBeCloseTo(266.7, 1);
    expect(s.instances.api).toBe(267);
    // 30,000 / (5,000 * 0.5) = 12 partitions by rate; the mastery group has 12 instances
    expect(s.partitions).toBe(12);
    // 1M * 31,536 * 60 B * 2 replicas = 3,784 GB/year; 1,892 GB per replica fits one 2,000 GB node
    expect(s.chStorageGbPerYear).toBeCloseTo(3_784.32);
    expect(s.chShards).toBe(1);
    expect(s.chNodes).toBe(2);
    expect(s.pgMasteryRows).toBe(300_000_000);
    expect(s.pgWritesPerSec).toBeCloseTo(3_000);
    expect(s.redisLiveSessions).toBe(100_000);
  });

  it('keeps minimums for small cohorts and adds shards for disk', () => {
    const small = size(1_000, loads(1_000, a)[2]!, figures, a);
    expect(small.instances.ingest).toBe(a.minInstances);
    expect(small.partitions).toBe(a.minPartitions);
    const big = size(3_000_000, loads(3_000_000, a)[2]!, figures, a);
    // 3M students: 5,676 GB per replica over 2,000 GB nodes = 3 shards
    expect(big.chShards).toBe(3);
    expect(big.chNodes).toBe(6);
    // 90,000 events/s / 2,500 per partition = 36 partitions
    expect(big.partitions).toBe(36);
  });

  it('measures the busiest hour and the busiest hour of the day against the mean', () => {
    const H = 3_600_000;
    // two days: 1 event in each hour, plus 5 more at 18:00 on day 1 and 1 more at 18:00 on day 2
    const ts = [
      ...Array.from({ length: 48 }, (_, i) => i * H + 60_000),
      ...Array.from({ length: 5 }, () => 18 * H),
      42 * H,
    ];
    const f = peakFactors(ts);
    // 54 events over 48 hours: mean 1.125/h; busiest hour 6
    expect(f.busiestHour).toBeCloseTo(6 / 1.125);
    // hour of day 18 holds 8 of 54 events; mean 2.25 per hour of the day
    expect(f.hourOfDay).toBeCloseTo(8 / 2.25);
    expect(peakFactors([])).toEqual({ busiestHour: 1, hourOfDay: 1 });
  });

  it('tells the cluster profile from the single-node one', () => {
    expect(runProfile({ KAFKA_BROKERS: '127.0.0.1:9092' })).toBe('single');
    expect(runProfile({ KAFKA_BROKERS: 'a:1,b:2,c:3' })).toBe('cluster');
    expect(runProfile({ KAFKA_BROKERS: 'a:1', STUDYSTREAM_PROFILE: 'cluster' })).toBe('cluster');
    expect(runProfile({})).toBe('single');
  });
});
