import { randomBytes } from 'node:crypto';
import { loadConfig, type SharedConfig } from '../../services/shared/config.ts';
import { createKafka, ensureTopics, topicDeclarations } from '../../services/shared/kafka.ts';
import { createLogger } from '../../services/shared/logger.ts';
import {
  dropClickHouseDatabase,
  migrateClickHouse,
  migratePostgres,
} from '../../services/shared/migrations.ts';
import { createPgPool } from '../../services/shared/postgres.ts';
import { Redis } from 'ioredis';
import { loadTaxonomy } from '../../postgres/taxonomy/load.ts';

/**
 * Integration tests share one local stack. Each test file gets its own namespace: a Kafka topic prefix,
 * a ClickHouse database, a PostgreSQL schema and a Redis key prefix, all derived from one random id.
 */
export type IsolatedEnv = { id: string; cfg: SharedConfig; env: NodeJS.ProcessEnv };

export function isolatedEnv(label = 't'): IsolatedEnv {
  const id = `${label.replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    KAFKA_TOPIC_PREFIX: `${id}.`,
    KAFKA_PARTITIONS: process.env.TEST_KAFKA_PARTITIONS ?? '3',
    CLICKHOUSE_DATABASE: `test_${id}`,
    PG_SCHEMA: `test_${id}`,
    REDIS_KEY_PREFIX: `test:${id}:`,
    // The services refuse to start without secrets outside development mode; each namespace gets its own.
    JWT_SECRET: process.env.JWT_SECRET || randomBytes(32).toString('hex'),
    INGEST_IP_SALT: process.env.INGEST_IP_SALT || randomBytes(16).toString('hex'),
    OPS_TOKEN: process.env.OPS_TOKEN || randomBytes(16).toString('hex'),
    // Plain user ids on the topics, so tests may read them with a plain codec; the deletion and pseudonym tests
    // turn pseudonyms on (the services' default).
    STUDYSTREAM_PSEUDONYMS: process.env.STUDYSTREAM_PSEUDONYMS ?? '0',
    SUBJECT_CACHE_MS: process.env.SUBJECT_CACHE_MS ?? '1000',
  };
  return { id, cfg: loadConfig(env), env };
}

/** Creates what `migrate` creates, inside the isolated namespace. Pick the parts a test needs. */
export async function provision(
  iso: IsolatedEnv,
  parts: { postgres?: boolean; clickhouse?: boolean; kafka?: boolean } = {
    postgres: true,
    clickhouse: true,
    kafka: true,
  },
): Promise<void> {
  if (parts.postgres) {
    const pool = createPgPool(iso.cfg);
    try {
      await migratePostgres(pool, iso.cfg.PG_SCHEMA);
      await loadTaxonomy(pool);
    } finally {
      await pool.end();
    }
  }
  if (parts.clickhouse) await migrateClickHouse(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
  if (parts.kafka) {
    const admin = createKafka(iso.cfg, createLogger('test', 'warn'), 'test').admin();
    await admin.connect();
    try {
      await ensureTopics(admin, topicDeclarations(iso.cfg));
    } finally {
      await admin.disconnect();
    }
  }
}

/** Drops everything the namespace created (topics, database, schema). and Redis keys). */
export async function teardown(iso: IsolatedEnv): Promise<void> {
  const log = createLogger('test', 'warn');
  const admin = createKafka(iso.cfg, log, 'test').admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(iso.cfg.KAFKA_TOPIC_PREFIX));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
  // On the cluster profile, on every node.
  await dropClickHouseDatabase(iso.cfg, iso.cfg.CLICKHOUSE_DATABASE);
  const pool = createPgPool(iso.cfg);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${iso.cfg.PG_SCHEMA} CASCADE`);
  } finally {
    await pool.end();
  }
  await deleteSubjects(iso.cfg.SCHEMA_REGISTRY_URL, iso.cfg.KAFKA_TOPIC_PREFIX);
  const redis = new Redis(iso.cfg.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${iso.cfg.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The registry caps its subject count, so every test removes the subjects its prefix created (soft, then hard). */
async function deleteSubjects(registryUrl: string, prefix: string): Promise<void> {
  const res = await fetch(`${registryUrl}/subjects`);
  if (!res.ok) return;
  const subjects = ((await res.json()) as string[]).filter((s) => s.startsWith(prefix));
  for (const subject of subjects) {
    const path = `${registryUrl}/subjects/${encodeURIComponent(subject)}`;
    await fetch(path, { method: 'DELETE' });
    await fetch(`${path}?permanent=true`, { method: 'DELETE' });
  }
}
