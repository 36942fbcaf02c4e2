import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry, readWireSchemaId } from '../../../services/shared/registry.ts';
import { isolatedEnv, teardown } from '../../support/isolated.ts';

const iso = isolatedEnv('registry');

describe('schema registry (Confluent-compatible API)', () => {
  afterAll(() => teardown(iso));

  it('registers an Avro schema and round-trips a record in Confluent wire format', async () => {
    const registry = createRegistry(iso.cfg);
    const schema = JSON.stringify({
      type: 'record',
      name: 'Probe',
      namespace: 'io.studystream.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'long' },
      ],
    });
    const subject = `${iso.cfg.KAFKA_TOPIC_PREFIX}probe-value`;
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
    expect(id).toBeGreaterThan(0);
    // Registering the same schema again returns the same id.
    expect((await registry.register({ type: SchemaType.AVRO, schema }, { subject })).id).toBe(id);

    const encoded = await registry.encode(id, { id: 'abc', n: 42 });
    expect(encoded[0]).toBe(0);
    expect(readWireSchemaId(encoded)).toBe(id);
    expect(await registry.decode(encoded)).toEqual({ id: 'abc', n: 42 });
  });
});
