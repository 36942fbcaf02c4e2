import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { EventCodec, schemaText } from '../../../services/shared/codec.ts';
import {
  BadDataError,
  isRetriable,
  RegistryUnavailableError,
  RetriableError,
  UndecodableRecordError,
} from '../../../services/shared/errors.ts';
import type { InboundRecord } from '../../../services/stream/runtime/types.ts';
import { decodeWire } from '../../../services/stream/stateful/wire.ts';
import { SessionRowConflict } from '../../../services/stream/sessions/store.ts';

/** A registry client whose getSchema behaves as given (the codec's only call on the decode path). */
function codecWith(getSchema: (id: number) => Promise<unknown>): EventCodec {
  return new EventCodec({ getSchema } as unknown as SchemaRegistry, { KAFKA_TOPIC_PREFIX: 't.' });
}
const wire = (id: number, body: number[]): Buffer => {
  const b = Buffer.alloc(5 + body.length);
  b.writeUInt8(0, 0);
  b.writeInt32BE(id, 1);
  Buffer.from(body).copy(b, 5);
  return b;
};
const fails = (status: number | undefined, message: string) => () =>
  Promise.reject(Object.assign(new Error(message), status === undefined ? {} : { status }));

describe('error kinds', () => {
  it('carry their nature as a property and a class', () => {
    expect(new RetriableError('x').retriable).toBe(true);
    expect(new BadDataError('x').retriable).toBe(false);
    expect(isRetriable(new SessionRowConflict(2))).toBe(true);
    expect(new SessionRowConflict(2)).toBeInstanceOf(RetriableError);
    expect(isRetriable(new Error('ECONNREFUSED'))).toBe(false); // text decides nothing
  });

  it('the codec: a registry that cannot answer is retriable, an unknown schema id or bad bytes are bad data', async () => {
    // The registry client reports a request that never reached the registry as status 400 with the socket error.
    const refused = codecWith(fails(400, 'Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'));
    const down = await refused.decode('question-attempts', wire(7, [1])).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(RegistryUnavailableError);
    expect(isRetriable(down)).toBe(true);
    const busy = await codecWith(fails(503, 'unavailable'))
      .decode('question-attempts', wire(7, [1]))
      .catch((e: unknown) => e);
    expect(isRetriable(busy)).toBe(true);

    const unknown = await codecWith(fails(404, 'Schema not found'))
      .decode('question-attempts', wire(7, [1]))
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UndecodableRecordError);
    expect((unknown as Error).message).toBe('Schema not found');

    const known = codecWith(() => Promise.resolve(JSON.parse(schemaText('question-attempts'))));
    const truncated = await known.decode('question-attempts', wire(7, [2])).catch((e: unknown) => e);
    expect(truncated).toBeInstanceOf(UndecodableRecordError);
    expect(isRetriable(truncated)).toBe(false);
    expect(() => known.decodeKnown('question-attempts', Buffer.from([9, 9]))).toThrow(UndecodableRecordError);
  });

  it('the stateful decode step retries a retriable failure and dead-letters bad data', async () => {
    const record = (value: Buffer): InboundRecord => ({
      topic: 't.question-attempts',
      partition: 0,
      offset: '0',
      key: null,
      value,
      timestamp: '0',
      headers: {},
    });
    const refused = codecWith(fails(400, 'connect ECONNREFUSED'));
    await expect(decodeWire(refused, record(wire(7, [1])))).rejects.toBeInstanceOf(RegistryUnavailableError);
    const unknown = codecWith(fails(404, 'Schema not found'));
    const r = await decodeWire(unknown, record(wire(7, [1])));
    expect(r).toMatchObject({ type: 'dlq', reason: 'undecodable' });
  });
});
