import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/shared/logger.ts';
import { simOptions, simulateCohort, utcMidnight } from '../../../services/simulator/cohort.ts';
import { FetchIngestClient, IngestSink, KafkaSink } from '../../../services/simulator/delivery.ts';
import { connectProducer, runSimulation } from '../../../services/simulator/run.ts';
import { consumeAll, startHarness, type Harness } from '../ingest/harness.ts';

/**
 * The simulator's two delivery modes put the same events on Kafka for the same seed: through the real ingest API
 * (which stamps received_at, derives the client context and drops re-sends it already accepted) and straight through
 * the shared EventProducer. Compared per event_id, modulo received_at and the client context; occurred_at is equal
 * except for clock-skewed devices, where ingest's correction (received_at − sent_at) includes the network delay.
 */
const opts = simOptions({
  seed: 'modes-agree',
  students: 8,
  days: 4,
  // Recent enough for ingest's age limit (INGEST_MAX_EVENT_AGE_DAYS), ending two days before today.
  startMs: utcMidnight(Date.now()) - 6 * 86_400_000,
  duplicateRate: 0.05,
  offlineRate: 0.4,
});
const FAMILIES = ['study-events', 'question-attempts', 'material-interactions'] as const;

let viaIngest: Harness;
let viaKafka: Harness;

beforeAll(async () => {
  viaIngest = await startHarness('simingest', { INGEST_RATE_LIMIT_PER_SEC: '1000000' });
  viaKafka = await startHarness('simkafka');
});

afterAll(async () => {
  await viaIngest?.close();
  await viaKafka?.close();
});

describe('simulate --via ingest and --via kafka', () => {
  it('produce identical Kafka contents for the same seed', async () => {
    const skewed = new Set<string>();
    let distinct = 0;
    let copies = 0;
    for (const item of simulateCohort(opts)) {
      if (item.kind !== 'batch') continue;
      copies += item.batch.events.length;
      if (!item.batch.duplicate) distinct += item.batch.events.length;
      if (item.batch.clockSkewMs !== 0) for (const e of item.batch.events) skewed.add(e.record.event_id);
    }
    expect(skewed.size).toBeGreaterThan(0);

    const server = await viaIngest.service.start(0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    const ingest = await runSimulation(
      opts,
      new IngestSink(new FetchIngestClient(`http://127.0.0.1:${port}`, viaIngest.apiKey)),
    );
    expect(ingest.results.rejected).toBe(0);
    expect(ingest.results.accepted).toBe(distinct);

    const producer = await connectProducer(viaKafka.iso.cfg, createLogger('test', 'warn'));
    try {
      await runSimulation(opts, new KafkaSink(producer, 500));
    } finally {
      await producer.disconnect();
    }

    const fromIngest = await consumeAll(viaIngest, FAMILIES, distinct, 60_000);
    const fromKafka = await consumeAll(viaKafka, FAMILIES, copies, 60_000);
    expect(fromIngest.length).toBe(distinct);
    expect(fromKafka.length).toBe(copies);

    const normalize = (m: { family: string; key: string; record: Record<string, unknown> }) => {
      const { received_at: _r, client: _c, occurred_at, ...rest } = m.record;
      return { family: m.family, key: m.key, occurred_at: occurred_at as number, rest };
    };
    const byId = new Map(fromIngest.map((m) => [m.record.event_id as string, normalize(m)]));
    const kafkaIds = new Set<string>();
    const mismatches: string[] = [];
    for (const m of fromKafka) {
      const id = m.record.event_id as string;
      kafkaIds.add(id);
      const a = byId.get(id);
      const b = normalize(m);
      if (!a) {
        mismatches.push(`missing via ingest: ${id}`);
        continue;
      }
      const tolerance = skewed.has(id) ? 5_000 : 0;
      if (Math.abs(a.occurred_at - b.occurred_at) > tolerance) mismatches.push(`occurred_at ${id}`);
      if (JSON.stringify([a.family, a.key, a.rest]) !== JSON.stringify([b.family, b.key, b.rest]))
        mismatches.push(`fields ${id}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(kafkaIds.size).toBe(byId.size);

    // per-user order of occurrence holds on both paths (one partition per student)
    for (const list of [fromIngest, fromKafka]) {
      const last = new Map<string, number>();
      const seen = new Set<string>();
      for (const m of list.filter((x) => x.family === 'question-attempts')) {
        const id = m.record.event_id as string;
        if (seen.has(id)) continue;
        seen.add(id);
        expect(m.record.occurred_at as number).toBeGreaterThanOrEqual(last.get(m.key) ?? 0);
        last.set(m.key, m.record.occurred_at as number);
      }
    }
  });
});
