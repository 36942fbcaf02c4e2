import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SharedConfig } from './config.ts';

export { SchemaRegistry };

export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** A registry client for the Confluent-compatible API (Apicurio's /apis/ccompat/v7 locally). It caches schemas by id. */
export function createRegistry(cfg: Pick<SharedConfig, 'SCHEMA_REGISTRY_URL'>): SchemaRegistry {
  return new SchemaRegistry({ host: cfg.SCHEMA_REGISTRY_URL }, { forSchemaOptions: { wrapUnions: 'auto' } });
}

/** Confluent TopicNameStrategy: the value schema of topic T lives under subject "T-value". */
export const valueSubject = (topic: string): string => `${topic}-value`;

export async function readSchemaFile(file: string): Promise<string> {
  return readFile(new URL(file, `file://${SCHEMAS_DIR}`), 'utf8');
}

/** Registers an Avro schema under a subject and returns its global id. */
export async function registerAvro(
  registry: SchemaRegistry,
  subject: string,
  schema: string,
): Promise<number> {
  const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
  return id;
}

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body. */
export function readWireSchemaId(buffer: Buffer): number | undefined {
  if (buffer.length < 5 || buffer[0] !== 0) return undefined;
  return buffer.readInt32BE(1);
}
