import type { EventCodec } from '../../shared/codec.ts';
import type { EventFamily } from '../../shared/kafka.ts';
import { isRetriable } from '../../shared/errors.ts';
import { readWireSchemaId } from '../../shared/registry.ts';
import { andThen, dlq, drop, ok, type StepResult } from '../runtime/step.ts';
import { isErased } from '../../shared/subjects.ts';
import type { InboundRecord } from '../runtime/types.ts';

/**
 * The decode step shared by the stateful processors: wire bytes to the Avro record of the record's family.
 * Bad data (no value, not wire format, Avro that does not parse) is a dead letter; a registry that cannot be
 * reached is a transient failure and throws, so the runtime retries the same record instead of skipping it (the
 * codec's error kind says which, services/shared/errors.ts).
 */
export async function decodeWire(
  codec: EventCodec,
  record: InboundRecord,
): Promise<StepResult<{ family: EventFamily; value: Record<string, unknown> }>> {
  const family = codec.familyOfTopic(record.topic);
  if (family === undefined)
    return dlq('unknown_topic', new Error(`no event family for topic ${record.topic}`));
  if (record.value === null) return dlq('empty_value');
  if (readWireSchemaId(record.value) === undefined) return dlq('not_wire_format');
  try {
    const value = await codec.decode(family, record.value);
    return isErased(value) ? drop('erased_subject') : ok({ family, value });
  } catch (err) {
    if (isRetriable(err)) throw err;
    return dlq('undecodable', err);
  }
}

export const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * decodeWire without a promise per record: synchronous once the record's writer schema is cached (every record
 * but the first of each schema), the registry lookup otherwise. Same results and failure handling as decodeWire.
 */
export function decodeWireCached<T>(
  codec: EventCodec,
  record: InboundRecord,
  next: (decoded: { family: EventFamily; value: Record<string, unknown> }) => StepResult<T>,
): StepResult<T> | Promise<StepResult<T>> {
  const family = codec.familyOfTopic(record.topic);
  if (family !== undefined && record.value !== null && readWireSchemaId(record.value) !== undefined) {
    let value: Record<string, unknown> | undefined;
    try {
      value = codec.decodeKnown(family, record.value);
    } catch (err) {
      if (isRetriable(err)) throw err;
      return dlq('undecodable', err);
    }
    if (value !== undefined) return isErased(value) ? drop('erased_subject') : next({ family, value });
  }
  return decodeWire(codec, record).then((r) => andThen(r, next));
}
