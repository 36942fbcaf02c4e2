import { subjectKeysFor } from '../shared/subjects.ts';
import { DailySaltHasher } from './ip-salt.ts';
import { LocalBuckets, LookupLimiter } from './limits.ts';
import type { ServerType } from '@hono/node-server';
import { EventCodec } from '../shared/codec.ts';
import { closeServer, listen, opsAccess } from '../shared/http.ts';
import { createKafka, retryKafkaStart } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { createMetricsRegistry } from '../shared/metrics.ts';
import { asRole, createPgPool } from '../shared/postgres.ts';
import { EventProducer } from '../shared/producer.ts';
import { createRedis } from '../shared/redis.ts';
import { createRegistry } from '../shared/registry.ts';
import { serverTls } from '../shared/tls.ts';
import { PgAuthenticator } from './apikeys.ts';
import { PgTokenRevocations } from '../shared/token-revocations.ts';
import { createIngestApp } from './app.ts';
import type { IngestConfig } from './config.ts';
import { createIngestMetrics } from './metrics.ts';
import { BatchingPublisher } from './publisher.ts';
import { RedisDedupe, RedisRateLimiter } from './redis-scripts.ts';

/**
 * Wires the ingest service from configuration: Kafka producer (idempotent, acks=all) behind the batching
 * publisher, registry codec, PostgreSQL API keys, Redis rate limit and dedupe, the Hono app. `start` listens;
 * `close` stops accepting, drains the publisher, flushes and disconnects the producer, closes the clients.
 */
export async function buildIngest(cfg: IngestConfig, log: Logger) {
  const registry = createMetricsRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const kafka = createKafka(cfg, log, 'ingest');
  const schemaRegistry = createRegistry(cfg);
  const codec = new EventCodec(schemaRegistry, cfg, subjectKeysFor(cfg, cfg.INGEST_PG_ROLE));
  // kafkajs allows one produce request in flight per idempotent producer and broker, so several producers
  // pipeline requests; each sendBatch uses an idle one (a request's records always go through one producer).
  const producers = Array.from(
    { length: cfg.INGEST_PRODUCE_CONCURRENCY },
    () => new EventProducer(kafka, codec, log, () => metrics.producerRenewals.inc()),
  );
  const idle = [...producers];
  const admin = kafka.admin();
  // Its least-privilege role (postgres/096): API keys and pseudonyms only.
  const pool = createPgPool(cfg, asRole(cfg.INGEST_PG_ROLE));
  const redis = createRedis(cfg);

  await codec.resolveWriterIds();
  const retry = { log, deadlineMs: cfg.KAFKA_START_DEADLINE_MS };
  await Promise.all(producers.map((p) => p.connect(retry)));
  await retryKafkaStart('admin connect', () => admin.connect(), retry);

  const send = async (events: Parameters<EventProducer['publish']>[0]) => {
    const producer = idle.pop()!; // the publisher never runs more sends than there are producers
    try {
      return await producer.publish(events);
    } finally {
      idle.push(producer);
    }
  };
  const publisher = new BatchingPublisher(send, {
    lingerMs: cfg.INGEST_LINGER_MS,
    maxRecords: cfg.INGEST_PRODUCE_MAX_RECORDS,
    concurrency: cfg.INGEST_PRODUCE_CONCURRENCY,
    timeoutMs: cfg.INGEST_PRODUCE_TIMEOUT_MS,
    onBatch: (records, seconds, ok) => {
      metrics.produceBatchSize.observe(records);
      metrics.produceLatency.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
    },
  });
  const { app, stopAccepting } = createIngestApp({
    cfg,
    log,
    registry,
    metrics,
    auth: new PgAuthenticator(
      pool,
      cfg.INGEST_APIKEY_CACHE_SEC,
      new LookupLimiter(cfg.INGEST_KEY_LOOKUPS_PER_CLIENT_PER_SEC, cfg.INGEST_KEY_LOOKUPS_PER_SEC),
    ),
    ipHasher: new DailySaltHasher(redis, cfg.INGEST_IP_SALT, log),
    revocations: new PgTokenRevocations(pool, 'ingest', cfg.INGEST_TOKEN_REVOCATION_CACHE_MS),
    rateLimitRedisDown: {
      mode: cfg.INGEST_RATE_LIMIT_REDIS_DOWN,
      local: new LocalBuckets({
        rate: cfg.INGEST_RATE_LIMIT_PER_SEC,
        capacity: Math.max(cfg.INGEST_RATE_LIMIT_PER_SEC, cfg.INGEST_MAX_BATCH_EVENTS),
      }),
    },
    rateLimiter: new RedisRateLimiter(redis, cfg.INGEST_RATE_LIMIT_PER_SEC, cfg.INGEST_MAX_BATCH_EVENTS),
    dedupe: new RedisDedupe(
      redis,
      cfg.INGEST_DEDUPE_WINDOW_SEC,
      Math.ceil((cfg.INGEST_PRODUCE_TIMEOUT_MS * 2) / 1000) + 30,
    ),
    publisher,
    opsToken: opsAccess(cfg),
    checks: [
      { name: 'kafka', check: () => admin.describeCluster() },
      { name: 'redis', check: () => redis.ping() },
      { name: 'postgres', check: () => pool.query('SELECT 1') },
      {
        name: 'registry',
        check: async () => {
          const res = await fetch(`${cfg.SCHEMA_REGISTRY_URL}/subjects`, {
            signal: AbortSignal.timeout(2000),
          });
          if (!res.ok) throw new Error(`registry answered ${res.status}`);
        },
      },
    ],
  });

  let server: ServerType | undefined;
  return {
    app,
    metrics,
    registry,
    async start(port = cfg.INGEST_PORT, host = cfg.HTTP_HOST): Promise<ServerType> {
      server = await listen(app as never, port, host, serverTls(cfg));
      return server;
    },
    /** Closers in shutdown order. */
    closers: [
      {
        name: 'http',
        close: async () => {
          stopAccepting();
          if (server) await closeServer(server);
        },
      },
      { name: 'publisher', close: () => publisher.drain() },
      { name: 'producer', close: () => Promise.all(producers.map((p) => p.disconnect())) },
      { name: 'kafka-admin', close: () => admin.disconnect() },
      { name: 'redis', close: () => redis.quit() },
      { name: 'postgres', close: () => pool.end() },
    ] as Array<{ name: string; close: () => Promise<unknown> }>,
  };
}

export type IngestService = Awaited<ReturnType<typeof buildIngest>>;

/** Runs the closers in order (for tests; main.ts registers them with Shutdown). */
export async function closeIngest(service: IngestService): Promise<void> {
  for (const c of service.closers) await c.close();
}
