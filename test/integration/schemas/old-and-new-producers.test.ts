/**
 * The time_zone schema evolution end to end on the real stack. A producer of the previous schema version (the
 * current schemas without the optional envelope field time_zone: exactly what was registered before it) and a
 * producer of the current version write to the same topics, as an app fleet does while it upgrades: each student's
 * first events come from the old app, the rest from the new one. Every consumer reads both: the ClickHouse sink
 * (all events stored, the zone and its offset for the new ones, unknown for the old ones), the stateful processors
 * (mastery and sessions: `reconcile`, the independent checking tool, finds nothing missing or differing), and the
 * local-time heatmap read applies the fallback to the old events.
 */
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openContext } from '../../../services/datatools/context.ts';
import { reconcile } from '../../../services/datatools/reconcile.ts';
import { hourlyHeatmap } from '../../../services/analytics-api/data/history.ts';
import { chQuery, clientReader, createClickHouse } from '../../../services/shared/clickhouse.ts';
import { EventCodec, schemaText } from '../../../services/shared/codec.ts';
import { createKafka, EVENT_FAMILIES, topicNames, type EventFamily } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../../services/shared/metrics.ts';
import { EventProducer } from '../../../services/shared/producer.ts';
import {
  createRegistry,
  registerSchema,
  registryRequest,
  valueSubject,
} from '../../../services/shared/registry.ts';
import { sinkEnv } from '../../../services/stream/clickhouse-sink/config.ts';
import { startClickHouseSink, type ClickHouseSink } from '../../../services/stream/clickhouse-sink/sink.ts';
import { streamEnv } from '../../../services/stream/runtime/config.ts';
import type { SimEvent } from '../../../services/simulator/types.ts';
import { isolatedEnv, provision, teardown, type IsolatedEnv } from '../../support/isolated.ts';
import { until } from '../../support/wait.ts';
import {
  cohort,
  produce,
  runEnv,
  startInProcess,
  waitCaughtUp,
  type Running,
} from '../processors/support.ts';

/** The schema before time_zone: the current one without the field (nothing else changed in that version). */
function previousSchema(family: EventFamily): string {
  const s = JSON.parse(schemaText(family)) as { fields: Array<{ name: string }> };
  const fields = s.fields.filter((f) => f.name !== 'time_zone');
  expect(fields.length).toBe(s.fields.length - 1);
  return JSON.stringify({ ...s, fields });
}

/** Until the sink's consumer group has committed the end offset of every partition of the event topics. */
async function waitSinkCommitted(groupId: string): Promise<void> {
  const admin = createKafka(iso.cfg, createLogger('test', 'warn'), 'test-admin').admin();
  await admin.connect();
  try {
    const topics = EVENT_FAMILIES.map((f) => topicNames(iso.cfg)[f]);
    const ends = new Map<string, number>();
    for (const topic of topics)
      for (const o of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}|${o.partition}`, Number(o.high));
    await until(
      'the sink committed every partition to its end',
      async () => {
        const committed = await admin.fetchOffsets({ groupId, topics });
        return committed.every((t) =>
          t.partitions.every((p) => {
            const end = ends.get(`${t.topic}|${p.partition}`) ?? 0;
            return end === 0 || Number(p.offset) >= end;
          }),
        );
      },
      120_000,
      250,
    );
  } finally {
    await admin.disconnect();
  }
}

let iso: IsolatedEnv;
let env: NodeJS.ProcessEnv;
let processors: Running | undefined;
let sink: ClickHouseSink | undefined;

beforeAll(async () => {
  iso = isolatedEnv('tzevolve');
  await provision(iso);
  env = { ...runEnv(iso, iso, 'tz'), SINK_GROUP_ID: `${iso.id}-sink` };
});

afterAll(async () => {
  await sink?.stop();
  await processors?.stop();
  if (!iso) return;
  const subjects = await registryRequest<string[]>(iso.cfg, 'GET', '/subjects');
  for (const s of subjects.filter((x) => x.startsWith(iso.cfg.KAFKA_TOPIC_PREFIX))) {
    await registryRequest(iso.cfg, 'DELETE', `/subjects/${encodeURIComponent(s)}`).catch(() => undefined);
    await registryRequest(iso.cfg, 'DELETE', `/subjects/${encodeURIComponent(s)}?permanent=true`).catch(
      () => undefined,
    );
  }
  await teardown(iso);
});

describe('time_zone: old-version and new-version producers on the same topics', () => {
  it('every consumer reads both versions', { timeout: 300_000 }, async () => {
    const events = cohort(9017, 5, 4);
    const firstNew = new Map<string, number>(); // per student: the instant the app was upgraded
    for (const e of events) firstNew.set(e.record.user_id, e.record.occurred_at);
    const starts = new Map<string, number>();
    for (const e of events)
      if (!starts.has(e.record.user_id)) starts.set(e.record.user_id, e.record.occurred_at);
    for (const [u, last] of firstNew) firstNew.set(u, (starts.get(u)! + last) / 2);
    const isOld = (e: SimEvent) => e.record.occurred_at < firstNew.get(e.record.user_id)!;
    const old = events.filter(isOld).map((e) => {
      const { time_zone: _zone, ...record } = e.record;
      return { family: e.family, record };
    });
    const fresh = events.filter((e) => !isOld(e));
    expect(old.length).toBeGreaterThan(200);
    expect(fresh.length).toBeGreaterThan(200);
    expect(fresh.every((e) => typeof e.record.time_zone === 'string')).toBe(true);

    // 1. The deployed fleet: the previous version registered, records written with it.
    const log = createLogger('test', 'warn');
    const kafka = createKafka(iso.cfg, log, 'test-old-producer');
    const oldIds = new Map<EventFamily, number>();
    const oldTypes = new Map<EventFamily, avro.Type>();
    for (const f of EVENT_FAMILIES) {
      const text = previousSchema(f);
      oldIds.set(f, await registerSchema(iso.cfg, valueSubject(`${iso.cfg.KAFKA_TOPIC_PREFIX}${f}`), text));
      oldTypes.set(f, avro.Type.forSchema(JSON.parse(text) as avro.Schema, { wrapUnions: 'auto' }));
    }
    const oldProducer = new EventProducer(kafka, new EventCodec(createRegistry(iso.cfg), iso.cfg), log);
    await oldProducer.connect();
    const topics = topicNames(iso.cfg);
    try {
      for (const f of EVENT_FAMILIES) {
        const messages = old
          .filter((e) => e.family === f)
          .map((e) => {
            const body = oldTypes.get(f)!.toBuffer(e.record);
            const header = Buffer.alloc(5);
            header.writeInt32BE(oldIds.get(f)!, 1);
            return { key: e.record.user_id as string, value: Buffer.concat([header, body]) };
          });
        for (let i = 0; i < messages.length; i += 2000)
          await oldProducer.producer.send({
            topic: topics[f],
            acks: -1,
            messages: messages.slice(i, i + 2000),
          });
      }
    } finally {
      await oldProducer.disconnect();
    }

    // 2. The upgraded app: the current version registers as the next version (BACKWARD) and writes the rest.
    await produce(iso.cfg, fresh);
    for (const f of EVENT_FAMILIES) {
      const versions = await registryRequest<number[]>(
        iso.cfg,
        'GET',
        `/subjects/${encodeURIComponent(valueSubject(`${iso.cfg.KAFKA_TOPIC_PREFIX}${f}`))}/versions`,
      );
      expect(versions.length).toBe(2);
    }

    // 3. The consumers, started on the mixed backlog.
    processors = await startInProcess(env);
    sink = await startClickHouseSink({
      cfg: iso.cfg,
      stream: streamEnv.load(env),
      sink: sinkEnv.load(env),
      kafka: createKafka(iso.cfg, log, 'test-sink'),
      log: createLogger('sink', 'warn'),
      metrics: createMetricsRegistry('test'),
    });
    // Within the test's 300 s, so that a stall reports the processors' positions (the c1d4382 CI run timed out here
    // with nothing said) instead of the test's timeout.
    await waitCaughtUp(env, 150_000);
    const ch = createClickHouse(iso.cfg);
    try {
      const stored = async () =>
        await chQuery<{ known: number; n: string }>(
          ch,
          `SELECT time_zone != '' AS known, uniqExact(event_id) AS n FROM
             (SELECT event_id, time_zone FROM study_events UNION ALL SELECT event_id, time_zone FROM question_attempts
              UNION ALL SELECT event_id, time_zone FROM material_interactions)
           GROUP BY known ORDER BY known`,
        );
      // The sink commits a batch's offsets only after ClickHouse acknowledged its inserts, and an INSERT returns
      // only after every materialized view of the table was written: once the sink's group has committed the end of
      // every partition, the raw tables AND the rollups (002, 004, the local-hour rollup of 020) hold everything.
      // Waiting on that commit, not on a row count, is what makes the counts below exact on the first read.
      await waitSinkCommitted(env.SINK_GROUP_ID!);
      expect((await stored()).map((r) => [Number(r.known), Number(r.n)])).toEqual([
        [0, old.length],
        [1, fresh.length],
      ]);
      // the offsets the sink stored are the zones' offsets
      const zones = await chQuery<{ tz: string; off: number }>(
        ch,
        `SELECT DISTINCT time_zone AS tz, utc_offset_min AS off FROM question_attempts WHERE time_zone != ''`,
      );
      for (const z of zones) {
        const hours = z.tz === 'Asia/Kolkata' ? 5.5 : z.tz === 'Etc/UTC' ? 0 : -Number(z.tz.slice(7));
        expect(Number(z.off)).toBe(hours * 60);
      }

      // processors: reconcile finds every session written or live with all its events, mastery applied all
      const ctx = await openContext(env, 'test');
      try {
        const r = await reconcile(ctx, { from: null, to: null });
        expect(r.history.reduce((s, h) => s + h.events, 0)).toBe(events.length);
        expect(r.sessions.missing).toBe(0);
        expect(r.sessions.differing).toBe(0);
        expect(r.mastery.applied).toBe(r.mastery.expected);
        expect(r.mastery.applied).toBeGreaterThan(100);
        expect(r.deadLetters).toEqual([]);
        expect(r.ok).toBe(true);
      } finally {
        await ctx.close();
      }

      // the local-time read: old events of a student fall back to the zone the new app reported
      const user = events[0]!.record.user_id;
      // the local-hour rollup (clickhouse/020) holds every event: written by the same inserts the sink committed
      const [rolled] = await chQuery<{ n: string }>(
        ch,
        'SELECT sum(events) AS n FROM hourly_user_local_sums',
      );
      expect(Number(rolled?.n)).toBe(events.length);
      const local = await hourlyHeatmap(clientReader(ch), user, '2025-01-01');
      const zone = fresh.find((e) => e.record.user_id === user)!.record.time_zone as string;
      const expectedOffset =
        zone === 'Asia/Kolkata' ? 330 : zone === 'Etc/UTC' ? 0 : -Number(zone.slice(7)) * 60;
      expect(local.fallback).toEqual({ offsetMinutes: expectedOffset, source: 'latest-known-zone' });
      expect(local.cells.reduce((s, c) => s + c.events, 0)).toBe(
        events.filter((e) => e.record.user_id === user).length,
      );
    } finally {
      await ch.close();
    }
  });
});
