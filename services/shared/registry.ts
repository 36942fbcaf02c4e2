import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
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

/** A registry HTTP error with its status (e.g. 409 for an incompatible schema, 404 for an unknown subject). */
export class RegistryHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** One call to the Confluent-compatible REST API; JSON in and out, non-2xx as RegistryHttpError. */
export async function registryRequest<T>(
  cfg: Pick<SharedConfig, 'SCHEMA_REGISTRY_URL'>,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${cfg.SCHEMA_REGISTRY_URL.replace(/\/$/, '')}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok)
    throw new RegistryHttpError(
      res.status,
      `registry ${method} ${path}: ${res.status} ${text.slice(0, 300)}`,
    );
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

/** Registers a schema version under a subject (409 when the subject's compatibility rule refuses it). */
export async function registerSchema(
  cfg: Pick<SharedConfig, 'SCHEMA_REGISTRY_URL'>,
  subject: string,
  schema: string,
): Promise<number> {
  const { id } = await registryRequest<{ id: number }>(cfg, 'POST', `/subjects/${enc(subject)}/versions`, {
    schema,
    schemaType: 'AVRO',
  });
  return id;
}

export async function setCompatibility(
  cfg: Pick<SharedConfig, 'SCHEMA_REGISTRY_URL'>,
  subject: string,
  level: 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE',
): Promise<void> {
  await registryRequest(cfg, 'PUT', `/config/${enc(subject)}`, { compatibility: level });
}

/** Whether `schema` is compatible with the subject's latest version; undefined when the subject does not exist. */
export async function isCompatibleWithLatest(
  cfg: Pick<SharedConfig, 'SCHEMA_REGISTRY_URL'>,
  subject: string,
  schema: string,
): Promise<{ compatible: boolean; messages: string[] } | undefined> {
  try {
    const r = await registryRequest<{ is_compatible: boolean; messages?: string[] }>(
      cfg,
      'POST',
      `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`,
      { schema, schemaType: 'AVRO' },
    );
    return { compatible: r.is_compatible, messages: r.messages ?? [] };
  } catch (err) {
    if (err instanceof RegistryHttpError && err.status === 404) return undefined;
    throw err;
  }
}
