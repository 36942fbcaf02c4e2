import { subjectKeysFor } from '../shared/subjects.ts';
import type { SharedConfig } from '../shared/config.ts';
import { EventCodec } from '../shared/codec.ts';
import { createKafka, ensureTopics, topicDeclarations } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { EventProducer } from '../shared/producer.ts';
import { createRegistry } from '../shared/registry.ts';
import { simulateCohort } from './cohort.ts';
import { countBatch, emptyStats, type RunStats, type Sink } from './delivery.ts';
import { Progress } from './progress.ts';
import { TruthWriter } from './truth.ts';
import type { SimOptions } from './types.ts';

export interface RunResult {
  stats: RunStats;
  results: Sink['results'];
  elapsedMs: number;
  eventsPerSecond: number;
}

/** Generates the cohort and pushes every request into the sink, writing the ground truth alongside. */
export async function runSimulation(
  opts: SimOptions,
  sink: Sink,
  extra: { truthFile?: string; progress?: Progress } = {},
): Promise<RunResult> {
  const started = performance.now();
  const stats = emptyStats();
  const truth = extra.truthFile ? new TruthWriter(extra.truthFile) : undefined;
  const progress = extra.progress;
  const items = simulateCohort({
    ...opts,
    onDay: (done, total) => progress?.update(done, total, stats.eventsSent),
  });
  try {
    for (const item of items) {
      if (item.kind === 'batch') {
        countBatch(stats, item.batch);
        await sink.deliver(item.batch);
      } else {
        if (item.truth.type === 'attempt') stats.attempts++;
        else stats.students++;
        if (truth) await truth.write(item.truth);
      }
    }
    await sink.close();
  } finally {
    await truth?.close();
  }
  const elapsedMs = performance.now() - started;
  return {
    stats,
    results: sink.results,
    elapsedMs,
    eventsPerSecond: Math.round((stats.eventsSent / elapsedMs) * 1_000),
  };
}

/** A connected EventProducer for the simulator (topics ensured, schemas registered idempotently). */
export async function connectProducer(cfg: SharedConfig, log: Logger): Promise<EventProducer> {
  const kafka = createKafka(cfg, log, 'simulator');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicDeclarations(cfg));
  } finally {
    await admin.disconnect();
  }
  const codec = new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg));
  await codec.registerAll();
  const producer = new EventProducer(kafka, codec, log);
  await producer.connect({ log, deadlineMs: cfg.KAFKA_START_DEADLINE_MS });
  return producer;
}

export function formatSummary(r: RunResult, via: string): string {
  const s = r.stats;
  const lines = [
    `simulated ${s.students} students via ${via}: ${s.eventsSent.toLocaleString('en-US')} events sent in ${(r.elapsedMs / 1_000).toFixed(1)} s (${r.eventsPerSecond.toLocaleString('en-US')} events/s)`,
    ...Object.entries(s.events).map(
      ([f, n]) => `  ${f.padEnd(22)} ${n.toLocaleString('en-US').padStart(12)}`,
    ),
    `  ${'duplicates sent'.padEnd(22)} ${s.duplicatesSent.toLocaleString('en-US').padStart(12)}`,
    `  ${'question attempts'.padEnd(22)} ${s.attempts.toLocaleString('en-US').padStart(12)}`,
    `  ${'requests (batches)'.padEnd(22)} ${s.batches.toLocaleString('en-US').padStart(12)}  offline ${s.offlineBatches}, clock-skewed ${s.skewedBatches}`,
    `  results: accepted ${r.results.accepted}, duplicate ${r.results.duplicate}, rejected ${r.results.rejected}`,
  ];
  return `${lines.join('\n')}\n`;
}
