import { z } from 'zod';

/**
 * Shared environment variables, with its default and meaning.
 * `studystream config` prints this table; the README's env var section is copied from it.
 */
const SHARED_ENV = {
  LOG_LEVEL: { default: 'info', doc: 'pino log level (trace, debug, info, warn, error)' },
  LOG_FORMAT: {
    default: 'auto',
    doc: 'log lines: json, pretty (pino-pretty, a dev dependency), or auto (pretty when stdout is a terminal)',
  },
  KAFKA_BROKERS: { default: '127.0.0.1:9092', doc: 'comma-separated Kafka bootstrap servers' },
  KAFKA_CLIENT_ID: { default: 'studystream', doc: 'kafkajs client id prefix' },
  KAFKA_TOPIC_PREFIX: { default: '', doc: 'prefix for every topic name (tests use it to isolate runs)' },
  KAFKA_PARTITIONS: { default: '12', doc: 'partitions per event topic when topics are created' },
  KAFKA_REPLICATION_FACTOR: { default: '1', doc: 'replication factor when topics are created' },
  KAFKA_RETRY_MAX_MS: {
    default: '30000',
    doc: "longest wait between two retries of a kafkajs request (kafkajs' maxRetryTime); the cluster profile sets 1000 so a producer retrying against a killed leader finds its successor within a second of the failover",
  },
  KAFKA_CONNECTION_TIMEOUT_MS: {
    default: '5000',
    doc: "how long kafkajs waits for a TCP connection to a broker (kafkajs' default, 1000, is shorter than the event-loop stalls of a busy 2-core machine: a connect that completed in time timed out anyway)",
  },
  KAFKA_START_DEADLINE_MS: {
    default: '120000',
    doc: 'how long a service retries its start-up steps against Kafka (producer and consumer connect, subscribe) on retriable errors before it exits',
  },
  KAFKA_EVENT_RETENTION_MS: {
    default: '-1',
    doc: 'retention of event topics in ms (-1 keeps everything: topics are the source of truth for replays)',
  },
  KAFKA_DLQ_RETENTION_MS: {
    default: '2592000000',
    doc: 'retention of the dead-letter topic in ms (30 days)',
  },
  SCHEMA_REGISTRY_URL: {
    default: 'http://127.0.0.1:8081/apis/ccompat/v7',
    doc: 'Confluent-compatible schema registry base URL',
  },
  CLICKHOUSE_URL: { default: 'http://127.0.0.1:8123', doc: 'ClickHouse HTTP endpoint' },
  CLICKHOUSE_DATABASE: { default: 'studystream', doc: 'ClickHouse database holding raw events and rollups' },
  CLICKHOUSE_USER: { default: 'default', doc: 'ClickHouse user' },
  CLICKHOUSE_PASSWORD: { default: '', doc: 'ClickHouse password' },
  CLICKHOUSE_CLUSTER: {
    default: '',
    doc: 'cluster profile: the <remote_servers> cluster of the Distributed tables (empty: one server); migrations then create replicated local tables plus Distributed tables on every node of CLICKHOUSE_CLUSTER_NODES',
  },
  CLICKHOUSE_CLUSTER_NODES: {
    default: '',
    doc: 'cluster profile: comma-separated HTTP URLs of every ClickHouse node (migrations run on each; deploy/cluster.sh writes them)',
  },
  DATABASE_URL: {
    default: 'postgres://studystream:studystream@127.0.0.1:5432/studystream',
    doc: 'PostgreSQL connection string',
  },
  PG_SCHEMA: { default: 'public', doc: 'PostgreSQL schema holding the serving tables' },
  PG_POOL_MAX: { default: '10', doc: 'PostgreSQL pool size per process' },
  REDIS_URL: { default: 'redis://127.0.0.1:6379/0', doc: 'Redis connection URL' },
  REDIS_KEY_PREFIX: { default: 'ss:', doc: 'prefix for every Redis key (tests use it to isolate runs)' },
  INGEST_PORT: { default: '8080', doc: 'ingest HTTP port' },
  API_PORT: { default: '8090', doc: 'analytics API HTTP port' },
  HTTP_HOST: { default: '127.0.0.1', doc: 'address the HTTP services bind to' },
  SHUTDOWN_TIMEOUT_MS: { default: '15000', doc: 'grace period for a clean shutdown before exit' },
  OPS_TOKEN: {
    default: '',
    doc: "bearer token for /metrics and /readyz's dependency error text on the ingest and API ports (Prometheus: `authorization: {credentials: ...}`); empty: /metrics answers 403 there, except in development mode (open). The stream's ops port stays open",
  },
  TLS_CERT_FILE: {
    default: '',
    doc: 'PEM certificate (chain) of the HTTP services; with TLS_KEY_FILE the ingest, API, stream and jobs ports serve HTTPS only. Empty: plain HTTP (the development default)',
  },
  TLS_KEY_FILE: { default: '', doc: 'PEM private key for TLS_CERT_FILE' },
  TLS_CA_FILE: {
    default: '',
    doc: 'PEM CA bundle the TLS clients (Kafka, PostgreSQL, Redis, ClickHouse) verify servers against; empty: the system CAs. Verification is always on',
  },
  KAFKA_SSL: {
    default: '0',
    doc: 'Kafka over TLS (listener protocol SSL, or SASL_SSL with KAFKA_SASL_MECHANISM)',
  },
  KAFKA_SASL_MECHANISM: {
    default: '',
    doc: 'SASL over TLS for Kafka: plain, scram-sha-256 or scram-sha-512 (needs KAFKA_SSL=1); empty: no SASL',
  },
  KAFKA_SASL_USERNAME: { default: '', doc: 'Kafka SASL user name' },
  KAFKA_SASL_PASSWORD: { default: '', doc: 'Kafka SASL password' },
  PG_SSL: {
    default: '0',
    doc: 'PostgreSQL over TLS with full verification (CA and host name; like sslmode=verify-full). Redis: use a rediss:// REDIS_URL; ClickHouse: an https:// CLICKHOUSE_URL',
  },
  STUDYSTREAM_DEV_MODE: {
    default: '0',
    doc: 'development mode (1; `npm start` sets it and says so): the API and ingest fall back to fixed, public development secrets when JWT_SECRET / INGEST_IP_SALT are unset. Off, they refuse to start without them; refused with NODE_ENV=production',
  },
  STUDYSTREAM_PSEUDONYMS: {
    default: '1',
    doc: 'producers write a random per-student pseudonym (PostgreSQL subject_keys) instead of the user id on the event topics, and consumers resolve it; `delete-user` destroys it (crypto-shredding). 0: plain ids on the topics (deleted students are still dropped by consumers through erased_subjects, but the topics keep their id)',
  },
  SUBJECT_CACHE_MS: {
    default: '10000',
    doc: 'how long a process caches pseudonym lookups (both directions); the bound after a deletion during which a running process may still attribute the student, which `delete-user` waits out',
  },
} as const satisfies Record<string, { default: string; doc: string }>;

export interface EnvSpec {
  default: string;
  doc: string;
}

const declared: Array<{ group: string; spec: Record<string, EnvSpec> }> = [];

/** Every env var declared so far, grouped by the module that declared it (for `studystream config` and the README). */
export function declaredEnv(): ReadonlyArray<{ group: string; spec: Record<string, EnvSpec> }> {
  return declared;
}

export const envInt = (name: string) =>
  z
    .string()
    .regex(/^-?\d+$/, `${name} must be an integer`)
    .transform((v) => Number.parseInt(v, 10));

export const envBool = (name: string) =>
  z
    .enum(['true', 'false', '1', '0'], { message: `${name} must be true or false` })
    .transform((v) => v === 'true' || v === '1');

/**
 * Declares a group of environment variables with documented defaults and a zod shape that parses them.
 * `load()` applies the defaults and throws one readable error listing every invalid variable.
 */
export function defineEnv<
  S extends Record<string, EnvSpec>,
  Z extends { [K in keyof S]: z.ZodType<unknown, string> },
>(group: string, spec: S, shape: Z) {
  declared.push({ group, spec });
  const schema = z.object(shape);
  return {
    spec,
    load(env: NodeJS.ProcessEnv = process.env): z.infer<typeof schema> {
      const raw: Record<string, string> = {};
      for (const [name, s] of Object.entries(spec)) raw[name] = env[name] ?? s.default;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
        throw new Error(`invalid configuration (${group}):\n  ${lines.join('\n  ')}`);
      }
      return parsed.data;
    },
  };
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const sharedEnv = defineEnv('shared', SHARED_ENV, {
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']),
  KAFKA_BROKERS: z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
  KAFKA_CLIENT_ID: z.string().min(1),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only'),
  KAFKA_PARTITIONS: envInt('KAFKA_PARTITIONS'),
  KAFKA_REPLICATION_FACTOR: envInt('KAFKA_REPLICATION_FACTOR'),
  KAFKA_RETRY_MAX_MS: envInt('KAFKA_RETRY_MAX_MS'),
  KAFKA_CONNECTION_TIMEOUT_MS: envInt('KAFKA_CONNECTION_TIMEOUT_MS').pipe(z.number().min(100)),
  KAFKA_START_DEADLINE_MS: envInt('KAFKA_START_DEADLINE_MS').pipe(z.number().min(0)),
  KAFKA_EVENT_RETENTION_MS: envInt('KAFKA_EVENT_RETENTION_MS'),
  KAFKA_DLQ_RETENTION_MS: envInt('KAFKA_DLQ_RETENTION_MS'),
  SCHEMA_REGISTRY_URL: z.url(),
  CLICKHOUSE_URL: z.url(),
  CLICKHOUSE_DATABASE: z.string().regex(identifier, 'identifier only'),
  CLICKHOUSE_USER: z.string(),
  CLICKHOUSE_PASSWORD: z.string(),
  CLICKHOUSE_CLUSTER: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'identifier or empty'),
  CLICKHOUSE_CLUSTER_NODES: z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
  DATABASE_URL: z.string().min(1),
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case identifier only'),
  PG_POOL_MAX: envInt('PG_POOL_MAX'),
  REDIS_URL: z.string().min(1),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, : _ - only'),
  INGEST_PORT: envInt('INGEST_PORT'),
  API_PORT: envInt('API_PORT'),
  HTTP_HOST: z.string().min(1),
  SHUTDOWN_TIMEOUT_MS: envInt('SHUTDOWN_TIMEOUT_MS'),
  OPS_TOKEN: z.string(),
  TLS_CERT_FILE: z.string(),
  TLS_KEY_FILE: z.string(),
  TLS_CA_FILE: z.string(),
  KAFKA_SSL: envBool('KAFKA_SSL'),
  KAFKA_SASL_MECHANISM: z.enum(['', 'plain', 'scram-sha-256', 'scram-sha-512']),
  KAFKA_SASL_USERNAME: z.string(),
  KAFKA_SASL_PASSWORD: z.string(),
  PG_SSL: envBool('PG_SSL'),
  STUDYSTREAM_DEV_MODE: envBool('STUDYSTREAM_DEV_MODE'),
  STUDYSTREAM_PSEUDONYMS: envBool('STUDYSTREAM_PSEUDONYMS'),
  SUBJECT_CACHE_MS: envInt('SUBJECT_CACHE_MS').pipe(z.number().min(0).max(300_000)),
});

export type SharedConfig = ReturnType<typeof sharedEnv.load>;

/**
 * Development mode (STUDYSTREAM_DEV_MODE=1, or the API's API_DEV_MODE=1): the only state in which a service may
 * use a secret written in the source. Never with NODE_ENV=production (throws: a production start must not
 * silently run with public secrets).
 */
export function devModeOn(group: string, env: NodeJS.ProcessEnv, flags: Record<string, boolean>): boolean {
  const on = Object.entries(flags).filter(([, v]) => v);
  if (on.length > 0 && env.NODE_ENV === 'production') {
    throw new Error(
      `invalid configuration (${group}):\n  ${on.map(([k]) => k).join(', ')}: development mode is not allowed with NODE_ENV=production`,
    );
  }
  return on.length > 0;
}

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): SharedConfig => sharedEnv.load(env);
