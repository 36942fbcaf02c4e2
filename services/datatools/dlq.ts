/**
 * Dead-letter tools: list, inspect (decoded where possible) and re-drive dead letters.
 *
 * A dead letter (services/stream/runtime/dead-letter.ts) keeps the original key and value bytes and the original
 * headers, plus dlq.* headers naming the source topic/partition/offset, the reason and the error. Re-driving
 * re-publishes the original key and value to the source topic (headers: the originals, plus dlq.redriven_from),
 * after the cause was fixed. Each dead letter is re-driven at most once: the re-drive is recorded in PostgreSQL
 * table dlq_redrives (postgres/040_dlq_redrives.sql) in a transaction that stays open until Kafka acknowledged the
 * record, so a second (or concurrent) re-drive skips it. Should the process die between the acknowledgement and
 * the commit, a later re-drive publishes it again and the processors dedupe it on event_id.
 *
 * Only to an event topic, and only what ingest would accept (redriveRefusal): the source topic header must name one
 * of this deployment's event topics (never any topic a header says), the value must be Avro in wire format that
 * decodes with that topic's family, and the record must pass ingest's validation (services/ingest/validate.ts; the
 * age and future limits excepted: the event was accepted at its time). Anything else is refused and stays a dead
 * letter.
 */
import { isErased } from '../shared/subjects.ts';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { IdempotentProducer } from '../shared/idempotent-producer.ts';
import type { EventCodec } from '../shared/codec.ts';
import type { Pool } from '../shared/postgres.ts';
import { readWireSchemaId } from '../shared/registry.ts';
import { DLQ_HEADERS } from '../stream/index.ts';
import { validateEvent, type CandidateEvent } from '../ingest/index.ts';
import { readRange, type PartitionRange } from './topic-reader.ts';

export type DeadLetter = {
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  source: { topic: string; partition: number; offset: number } | null;
  reason: string;
  error: string;
  processor: string;
  failedAt: string;
};

export const idOf = (d: { partition: number; offset: number }): string => `${d.partition}:${d.offset}`;

export function parseId(text: string): { partition: number; offset: number } {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`not a dead-letter id (partition:offset): ${text}`);
  return { partition: Number(m[1]), offset: Number(m[2]) };
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

export function toDeadLetter(partition: number, m: KafkaMessage): DeadLetter {
  const h = headerText(m.headers);
  const topic = h[DLQ_HEADERS.topic];
  const sp = h[DLQ_HEADERS.partition];
  const so = h[DLQ_HEADERS.offset];
  return {
    partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    key: m.key,
    value: m.value,
    headers: h,
    source:
      topic !== undefined && sp !== undefined && so !== undefined
        ? { topic, partition: Number(sp), offset: Number(so) }
        : null,
    reason: h[DLQ_HEADERS.reason] ?? '',
    error: h[DLQ_HEADERS.error] ?? '',
    processor: h[DLQ_HEADERS.processor] ?? '',
    failedAt: h[DLQ_HEADERS.failedAt] ?? '',
  };
}

/** Per-partition ranges of the dead-letter topic, from `fromOffset` (or the low watermark) to the end. */
export async function dlqRanges(kafka: Kafka, topic: string, fromOffset?: number): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))
      .map((o) => ({
        partition: o.partition,
        from: Math.max(Number(o.low), fromOffset ?? 0),
        to: Number(o.high),
      }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** Up to `limit` dead letters, oldest first per partition. */
export async function listDeadLetters(
  kafka: Kafka,
  topic: string,
  opts: { limit?: number; fromOffset?: number } = {},
): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  await readRange(kafka, topic, await dlqRanges(kafka, topic, opts.fromOffset), ({ partition, message }) => {
    out.push(toDeadLetter(partition, message));
    return out.length < limit;
  });
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset).slice(0, limit);
}

/** The dead letters with the given ids (each read where it is; missing ids are reported by the caller). */
export async function fetchDeadLetters(
  kafka: Kafka,
  topic: string,
  ids: ReadonlyArray<{ partition: number; offset: number }>,
): Promise<DeadLetter[]> {
  const wanted = new Set(ids.map(idOf));
  const byPartition = new Map<number, { from: number; to: number }>();
  for (const id of ids) {
    const r = byPartition.get(id.partition) ?? { from: id.offset, to: id.offset + 1 };
    r.from = Math.min(r.from, id.offset);
    r.to = Math.max(r.to, id.offset + 1);
    byPartition.set(id.partition, r);
  }
  const ends = await dlqRanges(kafka, topic);
  const ranges = [...byPartition].map(([partition, r]) => {
    const end = ends.find((e) => e.partition === partition);
    return { partition, from: Math.max(r.from, end?.from ?? 0), to: Math.min(r.to, end?.to ?? 0) };
  });
  const out: DeadLetter[] = [];
  await readRange(kafka, topic, ranges, ({ partition, message }) => {
    if (wanted.has(`${partition}:${message.offset}`)) out.push(toDeadLetter(partition, message));
  });
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** The value decoded with the source topic's family when it is Avro in wire format; else a text/hex preview. */
export async function decodeValue(
  codec: EventCodec,
  d: DeadLetter,
): Promise<{ decoded: Record<string, unknown> } | { raw: string; note: string }> {
  if (!d.value) return { raw: '', note: 'no value' };
  const family = d.source ? codec.familyOfTopic(d.source.topic) : undefined;
  if (family && readWireSchemaId(d.value) !== undefined) {
    try {
      return { decoded: await codec.decode(family, d.value) };
    } catch (err) {
      return {
        raw: d.value.subarray(0, 256).toString('hex'),
        note: `not decodable: ${(err as Error).message}`,
      };
    }
  }
  const text = d.value.toString('utf8');
  return /^[\x20-\x7e\s]*$/.test(text)
    ? { raw: text.slice(0, 2000), note: 'not Avro wire format (shown as text)' }
    : { raw: d.value.subarray(0, 256).toString('hex'), note: 'not Avro wire format (first bytes, hex)' };
}

/** Ids already re-driven, among `ids`. */
export async function redrivenIds(
  pool: Pool,
  dlqTopic: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await pool.query<{ id: string }>(
    `SELECT dlq_partition || ':' || dlq_offset AS id FROM dlq_redrives
     WHERE dlq_topic = $1 AND (dlq_partition || ':' || dlq_offset) = ANY($2::text[])`,
    [dlqTopic, ids],
  );
  return new Set(rows.map((r) => r.id));
}

export type RedriveOutcome = {
  id: string;
  status: 'redriven' | 'already_redriven' | 'no_source' | 'refused';
  target?: string;
  /** Why a re-drive was refused (status 'refused'). */
  reason?: string;
};

/** Why `d` may not be re-driven (see the module comment), or null when it may. */
export async function redriveRefusal(codec: EventCodec, d: DeadLetter): Promise<string | null> {
  if (!d.source) return 'no source headers';
  const family = codec.familyOfTopic(d.source.topic);
  if (!family) return `source topic ${d.source.topic} is not an event topic`;
  if (!d.value || readWireSchemaId(d.value) === undefined) return 'the value is not Avro in wire format';
  let record: Record<string, unknown>;
  try {
    record = await codec.decode(family, d.value);
  } catch (err) {
    return `the value does not decode as ${family}: ${(err as Error).message}`;
  }
  if (isErased(record)) return 'the student was deleted (delete-user): their events are never re-driven';
  const checked = validateEvent({ family, record } as CandidateEvent, {
    receivedAt: Date.now(),
    skewMs: 0,
    maxAgeMs: Number.POSITIVE_INFINITY,
    maxFutureMs: Number.POSITIVE_INFINITY,
  });
  if (!checked.ok) {
    return `fails ingest validation: ${checked.errors.map((e) => `${e.path} ${e.reason}`).join('; ')}`;
  }
  return null;
}

/** The message re-published for a dead letter: original key, value and headers (dlq.* removed), provenance added. */
export function redriveMessage(dlqTopic: string, d: DeadLetter) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.headers)) if (!k.startsWith('dlq.')) headers[k] = v;
  headers['dlq.redriven_from'] = `${dlqTopic}/${idOf(d)}`;
  return { key: d.key, value: d.value, headers };
}

/** Re-drives one dead letter at most once (see the module comment). */
export async function redriveOne(
  pool: Pool,
  producer: Pick<IdempotentProducer, 'send'>,
  codec: EventCodec,
  dlqTopic: string,
  d: DeadLetter,
): Promise<RedriveOutcome> {
  const id = idOf(d);
  if (!d.source) return { id, status: 'no_source' };
  const refusal = await redriveRefusal(codec, d);
  if (refusal) return { id, status: 'refused', reason: refusal };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query(
      `INSERT INTO dlq_redrives (dlq_topic, dlq_partition, dlq_offset, source_topic, source_partition, source_offset,
         reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING dlq_offset`,
      [dlqTopic, d.partition, d.offset, d.source.topic, d.source.partition, d.source.offset, d.reason],
    );
    if (claimed.rowCount === 0) {
      await client.query('ROLLBACK');
      return { id, status: 'already_redriven' };
    }
    const [meta] = await producer.send({
      topic: d.source.topic,
      acks: -1,
      messages: [redriveMessage(dlqTopic, d)],
    });
    const target = `${d.source.topic}/${meta?.partition ?? '?'}:${meta?.baseOffset ?? '?'}`;
    await client.query(
      'UPDATE dlq_redrives SET target = $4 WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3',
      [dlqTopic, d.partition, d.offset, target],
    );
    await client.query('COMMIT');
    return { id, status: 'redriven', target };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
