import { subjectKeysFor } from '../../shared/subjects.ts';
import { isErased } from '../../shared/subjects.ts';
import { allSettledOrThrow } from '../../shared/async.ts';
import type { SharedConfig } from '../../shared/config.ts';
import { createClickHouse, type ClickHouseClient } from '../../shared/clickhouse.ts';
import { EventCodec } from '../../shared/codec.ts';
import { isRetriable } from '../../shared/errors.ts';
import { EVENT_FAMILIES, topicNames, type EventFamily, type Kafka } from '../../shared/kafka.ts';
import type { Logger } from '../../shared/logger.ts';
import { Counter, type Registry } from '../../shared/metrics.ts';
import type { Redis } from '../../shared/redis.ts';
import { createRegistry, readWireSchemaId } from '../../shared/registry.ts';
import { invalidationChannel, publishInvalidations } from '../runtime/invalidation.ts';
import {
  runtimeOptionsFromEnv,
  type ProcessorDefinition,
  type RuntimeOptions,
} from '../runtime/definition.ts';
import { runProcessor, type RunningProcessor } from '../runtime/processor.ts';
import { dlq, drop, ok, type StepResult } from '../runtime/step.ts';
import type { FlushBatch, InboundRecord } from '../runtime/types.ts';
import type { StreamConfig } from '../runtime/config.ts';
import type { SinkConfig } from './config.ts';
import { mapRecord, serialiseRow, type MappedRow, type RawTable, type SerialisedRow } from './rows.ts';
import { RawEventStore, type InsertReport } from './store.ts';

/**
 * The ClickHouse sink: one consumer group over the three event topics, Avro decoding through the registry (writer
 * schemas cached by id), rows written to the raw tables exactly once per event_id, offsets committed only after
 * ClickHouse acknowledged the insert. While ClickHouse is down the runtime pauses fetching and retries with backoff.
 */

/**
 * The sink's decoding step: wire format, registry lookup, Avro, mapping, the row then serialised right away (see
 * SerialisedRow). Bad data becomes a dead letter, never a throw.
 */
export function serialisingSinkDecoder(codec: EventCodec) {
  return decoder(codec, serialiseRow);
}

/**
 * Synchronous once the writer schema of a record is cached (every record but the first of each schema): no
 * promise per record. A transient failure throws (synchronously or through the promise), the runtime retries.
 */
function decoder<V>(
  codec: EventCodec,
  finish: (mapped: MappedRow) => V,
): (record: InboundRecord) => StepResult<V> | Promise<StepResult<V>> {
  const families = new Map<string, EventFamily | undefined>();
  const toStep = (family: EventFamily, decoded: Record<string, unknown>): StepResult<V> => {
    if (isErased(decoded)) return drop('erased_subject'); // deleted student (shared/subjects.ts)
    const mapped = mapRecord(family, decoded);
    return mapped.ok ? ok(finish(mapped.value)) : dlq('invalid', new Error(mapped.error));
  };
  const slow = async (family: EventFamily, value: Buffer): Promise<StepResult<V>> => {
    let decoded: Record<string, unknown>;
    try {
      decoded = await codec.decode(family, value);
    } catch (err) {
      if (isRetriable(err)) throw err;
      return dlq('undecodable', err);
    }
    return toStep(family, decoded);
  };
  return (record) => {
    let family = families.get(record.topic);
    if (family === undefined && !families.has(record.topic)) {
      family = codec.familyOfTopic(record.topic);
      families.set(record.topic, family);
    }
    if (!family) return dlq('unknown_topic', new Error(`no event family for topic ${record.topic}`));
    if (!record.value) return dlq('empty_value', new Error('record has no value'));
    if (readWireSchemaId(record.value) === undefined) {
      return dlq('not_avro', new Error('not Confluent wire format (missing magic byte or too short)'));
    }
    let decoded: Record<string, unknown> | undefined;
    try {
      decoded = codec.decodeKnown(family, record.value);
    } catch (err) {
      if (isRetriable(err)) throw err;
      return dlq('undecodable', err);
    }
    return decoded === undefined ? slow(family, record.value) : toStep(family, decoded);
  };
}

export type ClickHouseSink = {
  processor: RunningProcessor;
  clickhouse: ClickHouseClient;
  stop(): Promise<void>;
};

export type SinkDeps = {
  cfg: SharedConfig;
  stream: StreamConfig;
  sink: SinkConfig;
  kafka: Kafka;
  log: Logger;
  metrics: Registry;
  /** Set: the students of every inserted batch are announced to API caches (study figures, patterns). */
  redis?: Redis;
  /** Overrides of runtime options (tests use small batches and short backoffs). */
  runtime?: Partial<Pick<RuntimeOptions, 'policy' | 'backoff' | 'stopGraceMs'>>;
};

const countersCache = new WeakMap<Registry, { skipped: Counter<string>; inserted: Counter<string> }>();
function sinkCounters(registry: Registry) {
  let c = countersCache.get(registry);
  if (!c) {
    c = {
      skipped: new Counter({
        name: 'sink_duplicates_skipped_total',
        help: 'rows not inserted because their event_id was already stored or repeated in the batch',
        labelNames: ['table', 'where'],
        registers: [registry],
      }),
      inserted: new Counter({
        name: 'sink_rows_inserted_total',
        help: 'rows inserted into the raw tables',
        labelNames: ['table'],
        registers: [registry],
      }),
    };
    countersCache.set(registry, c);
  }
  return c;
}

/**
 * The sink's processor definition: serialising decoder, per-table existence check (external data) and insert.
 * The live sink, `replay --processor clickhouse-sink` and `rebuild --store clickhouse` all run this one
 * definition; only the store's database and the group differ.
 */
export function clickHouseSinkDefinition(d: {
  codec: EventCodec;
  store: RawEventStore;
  groupId: string;
  topics: string[];
  metrics: Registry;
  invalidate?: { redis: Redis; channel: string; log: Logger };
}): ProcessorDefinition<SerialisedRow> {
  const { skipped, inserted } = sinkCounters(d.metrics);
  const handleBatch = async (batch: FlushBatch<SerialisedRow>): Promise<void> => {
    const byTable = new Map<RawTable, SerialisedRow[]>();
    for (const { value } of batch.items) {
      const list = byTable.get(value.table);
      if (list) list.push(value);
      else byTable.set(value.table, [value]);
    }
    // Every table's write settles before the batch fails: a retry must never run its existence check while an
    // insert of the failed attempt is still in flight (it would not see those rows yet and insert them again).
    const reports: InsertReport[] = await allSettledOrThrow(
      [...byTable].map(([table, rows]) => d.store.writeSerialised(table, rows)),
    );
    for (const r of reports) {
      inserted.inc({ table: r.table }, r.inserted);
      skipped.inc({ table: r.table, where: 'batch' }, r.duplicatesInBatch);
      skipped.inc({ table: r.table, where: 'stored' }, r.alreadyStored);
    }
    // Acknowledged by ClickHouse: API caches of the students with new rows are stale now (once per batch).
    const changed = new Set(reports.filter((r) => r.inserted > 0).map((r) => r.table));
    if (d.invalidate && changed.size > 0) {
      const users = batch.items.filter((i) => changed.has(i.value.table)).map((i) => i.value.user_id);
      await publishInvalidations(d.invalidate.redis, d.invalidate.channel, users, d.invalidate.log);
    }
  };
  return {
    name: 'clickhouse-sink',
    groupId: d.groupId,
    topics: d.topics,
    decode: serialisingSinkDecoder(d.codec),
    handleBatch,
    offsets: { mode: 'kafka' },
    fromBeginning: true,
  };
}

export async function startClickHouseSink(deps: SinkDeps): Promise<ClickHouseSink> {
  const { cfg, log } = deps;
  const clickhouse = createClickHouse(cfg);
  const store = new RawEventStore(clickhouse, deps.sink.SINK_DEDUP_WINDOW_S);
  const codec = new EventCodec(createRegistry(cfg), cfg, subjectKeysFor(cfg, deps.stream.STREAM_PG_ROLE));
  const topics = topicNames(cfg);
  const base = runtimeOptionsFromEnv(deps.stream, {
    kafka: deps.kafka,
    log,
    metrics: deps.metrics,
    deadLetterTopic: topics.deadLetter,
    startDeadlineMs: cfg.KAFKA_START_DEADLINE_MS,
  });
  const processor = await runProcessor<SerialisedRow>(
    clickHouseSinkDefinition({
      codec,
      store,
      groupId: deps.sink.SINK_GROUP_ID,
      topics: EVENT_FAMILIES.map((f) => topics[f]),
      metrics: deps.metrics,
      invalidate: deps.redis && {
        redis: deps.redis,
        channel: invalidationChannel(cfg.REDIS_KEY_PREFIX),
        log,
      },
    }),
    {
      ...base,
      ...deps.runtime,
      policy: { ...base.policy, ...deps.runtime?.policy },
      backoff: { ...base.backoff, ...deps.runtime?.backoff },
    },
  );
  return {
    processor,
    clickhouse,
    async stop() {
      await processor.stop();
      await clickhouse.close();
    },
  };
}
