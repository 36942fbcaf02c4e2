import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAll } from '../../../services/cli/commands/schemas.ts';
import { createApiKey } from '../../../services/ingest/apikeys.ts';
import { openQueue } from '../../../services/jobs/runner.ts';
import { createClickHouse, createClickHouseReader } from '../../../services/shared/clickhouse.ts';
import { EventCodec } from '../../../services/shared/codec.ts';
import { loadConfig, type SharedConfig } from '../../../services/shared/config.ts';
import { createKafka, ensureTopics, topicDeclarations } from '../../../services/shared/kafka.ts';
import { createLogger } from '../../../services/shared/logger.ts';
import { createPgPool } from '../../../services/shared/postgres.ts';
import { createRedis, redisReady } from '../../../services/shared/redis.ts';
import { createRegistry } from '../../../services/shared/registry.ts';
import { studyEvent } from '../../support/ingest-events.ts';
import { isolatedEnv, provision, teardown } from '../../support/isolated.ts';
import { freePort } from '../../support/process.ts';
import {
  makePki,
  startClickHouseTls,
  startKafkaTls,
  startPostgresTls,
  startRedisTls,
  waitFor,
  type Pki,
  type TestServer,
} from '../../support/tls.ts';
import { consumeAll } from '../ingest/harness.ts';

/**
 * Issue 18, encryption in transit: every link turns TLS on by configuration and verifies the server. A throwaway
 * CA signs a certificate for 127.0.0.1; servers of the stack's own kinds run with TLS-only listeners on free ports
 * (own data directories; the shared stack is not touched): Redis 7 (tls-port), PostgreSQL 15 (ssl=on, hostssl
 * only), ClickHouse 18.16 (https_port only), Kafka 4.3 (SSL and SASL_SSL listeners). Each client connects with
 * TLS_CA_FILE set to that CA and refuses the same server when it trusts another CA. Then ingest and the analytics
 * API serve HTTPS only (TLS_CERT_FILE/TLS_KEY_FILE) while talking to Kafka and Redis over TLS.
 */

const iso = isolatedEnv('tls');
const work = `${process.env.STACK_DIR || `${process.cwd()}/.stack`}/tls-test-${iso.id}`;
const log = createLogger('test', 'warn');
const SASL_PASSWORD = randomBytes(12).toString('hex');
let pki: Pki;
const servers: TestServer[] = [];
const ports = { redis: 0, postgres: 0, clickhouse: 0, kafkaSsl: 0, kafkaSasl: 0, kafkaController: 0 };

/** The isolated configuration with overrides (the TLS settings of one client). */
const cfgWith = (env: Record<string, string>): SharedConfig => loadConfig({ ...iso.env, ...env });
const trusting = (ca: string) => ({ TLS_CA_FILE: ca });

beforeAll(async () => {
  pki = makePki(`${work}/pki`);
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  servers.push(startRedisTls(pki, `${work}/redis`, ports.redis));
  servers.push(startClickHouseTls(pki, `${work}/clickhouse`, ports.clickhouse));
  servers.push(
    startKafkaTls(
      pki,
      `${work}/kafka`,
      { ssl: ports.kafkaSsl, saslSsl: ports.kafkaSasl, controller: ports.kafkaController },
      SASL_PASSWORD,
    ),
  );
  servers.push(await startPostgresTls(pki, `/tmp/studystream-tls-pg-${iso.id}`, ports.postgres));
  const [redis, clickhouse, kafka] = servers;
  await waitFor('redis', () => ping(redisCfg(pki.ca)), redis!.log);
  await waitFor(
    'clickhouse',
    async () => {
      const reader = createClickHouseReader(chCfg(pki.ca), 'default');
      try {
        return (await reader.rows('SELECT 1 AS one')).length === 1;
      } finally {
        reader.close();
      }
    },
    clickhouse!.log,
  );
  await waitFor(
    'kafka',
    () => kafkaTopics(kafkaCfg(pki.ca)).then(() => true),
    kafka!.log,
    undefined,
    180_000,
  );
  await provision(iso, { postgres: true, clickhouse: false, kafka: false });
}, 300_000);

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  rmSync(`/tmp/studystream-tls-pg-${iso.id}`, { recursive: true, force: true });
  await teardown(iso);
}, 120_000);

const redisCfg = (ca: string) => cfgWith({ REDIS_URL: `rediss://127.0.0.1:${ports.redis}`, ...trusting(ca) });
const chCfg = (ca: string) =>
  cfgWith({ CLICKHOUSE_URL: `https://127.0.0.1:${ports.clickhouse}`, ...trusting(ca) });
const kafkaCfg = (ca: string, extra: Record<string, string> = {}) =>
  cfgWith({ KAFKA_BROKERS: `127.0.0.1:${ports.kafkaSsl}`, KAFKA_SSL: '1', ...trusting(ca), ...extra });
const pgCfg = (ca: string, ssl = '1') =>
  cfgWith({
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/postgres`,
    PG_SSL: ssl,
    ...trusting(ca),
  });

async function ping(cfg: SharedConfig): Promise<boolean> {
  const redis = createRedis(cfg, { lazy: true });
  const errors: string[] = [];
  redis.on('error', (err: Error) => errors.push(err.message));
  try {
    await redis.connect();
    await redisReady(redis, 3000);
    return (await redis.ping()) === 'PONG';
  } catch (err) {
    // ioredis reports the TLS failure as an 'error' event and then only "Connection is closed".
    throw new Error(`${(err as Error).message} (${errors.join('; ')})`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

async function kafkaTopics(cfg: SharedConfig): Promise<string[]> {
  const admin = createKafka(
    { ...cfg, KAFKA_CLIENT_ID: 'tls-test' },
    createLogger('test', 'silent'),
    'admin',
  ).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/** A TLS certificate verification failure, as node reports it. */
const UNTRUSTED = /self[- ]signed|unable to (get|verify)|certificate|UNABLE_TO|DEPTH_ZERO/i;

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { cause?: Error; code?: string; errors?: Error[] };
    return [e.message, e.code, e.cause?.message, ...(e.errors ?? []).map((x) => x.message)].join(' | ');
  }
  throw new Error('expected the connection to be refused, it succeeded');
}

describe('TLS clients verify the servers (CA made by the test)', () => {
  it('Redis: rediss:// connects and verifies; another CA is refused; plain redis:// gets no answer', async () => {
    expect(await ping(redisCfg(pki.ca))).toBe(true);
    expect(await failure(ping(redisCfg(pki.otherCa)))).toMatch(UNTRUSTED);
    expect(await failure(ping(cfgWith({ REDIS_URL: `redis://127.0.0.1:${ports.redis}` })))).toMatch(
      /not ready|closed|reset|ECONN/i,
    );
    // BullMQ (the jobs service) connects through the same options.
    const queue = openQueue({
      redisUrl: `rediss://127.0.0.1:${ports.redis}`,
      tls: trusting(pki.ca),
      prefix: `${iso.id}:bull`,
      queue: 'tls-test',
    });
    try {
      await queue.add('probe', { n: 1 });
      expect((await queue.getJobCounts('waiting')).waiting).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('PostgreSQL: PG_SSL=1 connects over TLS (pg_stat_ssl) and verifies; another CA and plain text are refused', async () => {
    const pool = createPgPool(pgCfg(pki.ca));
    try {
      const { rows } = await pool.query<{ ssl: boolean; version: string }>(
        'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(rows[0]).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    } finally {
      await pool.end();
    }
    const untrusted = createPgPool(pgCfg(pki.otherCa));
    expect(await failure(untrusted.query('SELECT 1'))).toMatch(UNTRUSTED);
    await untrusted.end();
    const plain = createPgPool(pgCfg(pki.ca, '0'));
    expect(await failure(plain.query('SELECT 1'))).toMatch(/no encryption|pg_hba|rejects/i);
    await plain.end();
  });

  it('ClickHouse 18.16 over HTTPS: both clients verify; another CA is refused', async () => {
    const ch = createClickHouse(chCfg(pki.ca), 'default');
    try {
      const rs = await ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      expect(((await rs.json()) as { v: string }[])[0]!.v).toMatch(/^18\.16\./);
    } finally {
      await ch.close();
    }
    const reader = createClickHouseReader(chCfg(pki.ca), 'default');
    expect(await reader.rows<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    reader.close();
    const bad = createClickHouseReader(chCfg(pki.otherCa), 'default');
    expect(await failure(bad.rows('SELECT 1'))).toMatch(UNTRUSTED);
    bad.close();
    const badClient = createClickHouse(chCfg(pki.otherCa), 'default');
    expect(await failure(badClient.query({ query: 'SELECT 1' }))).toMatch(UNTRUSTED);
    await badClient.close();
  });

  it('Kafka: SSL and SASL_SSL round trip; another CA and a wrong SASL password are refused', async () => {
    const cfg = kafkaCfg(pki.ca);
    const topic = `${iso.id}.tls-probe`;
    const kafka = createKafka(cfg, log, 'tls');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'over-tls' }] });
    await producer.disconnect();
    // Read it back over SASL_SSL (PLAIN over TLS).
    const sasl = kafkaCfg(pki.ca, {
      KAFKA_BROKERS: `127.0.0.1:${ports.kafkaSasl}`,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'studystream',
      KAFKA_SASL_PASSWORD: SASL_PASSWORD,
    });
    const consumer = createKafka(sasl, log, 'tls-sasl').consumer({ groupId: `${iso.id}-tls` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const value = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message over SASL_SSL within 60 s')), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(message.value!.toString());
        },
      });
    });
    await consumer.disconnect();
    expect(value).toBe('over-tls');

    const quick = { KAFKA_CLIENT_ID: 'tls-refused' };
    const noRetry = (c: SharedConfig) => createKafka({ ...c, ...quick }, createLogger('test', 'silent'), 'x');
    const untrusted = noRetry(kafkaCfg(pki.otherCa)).admin({ retry: { retries: 0 } });
    expect(await failure(untrusted.connect())).toMatch(/certificate|self[- ]signed|unable|Connection error/i);
    const wrong = noRetry({ ...sasl, KAFKA_SASL_PASSWORD: 'wrong-password' }).admin({
      retry: { retries: 0 },
    });
    expect(await failure(wrong.connect())).toMatch(/SASL|authentication|Authentication/);
  });
});

/** GET/POST over HTTPS trusting `ca`. */
function https(
  url: string,
  ca: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, ca: readFileSync(ca), agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function startTls(entry: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  return { child, output: () => output };
}

describe('HTTPS listeners (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  const serverTlsEnv = () => ({
    TLS_CERT_FILE: pki.cert,
    TLS_KEY_FILE: pki.key,
    TLS_CA_FILE: pki.ca,
    LOG_LEVEL: 'warn',
  });

  it('ingest serves HTTPS only and publishes over Kafka SSL with Redis over TLS', async () => {
    const kafkaTls = kafkaCfg(pki.ca);
    const admin = createKafka(kafkaTls, log, 'tls-topics').admin();
    await admin.connect();
    await ensureTopics(admin, topicDeclarations(kafkaTls));
    await admin.disconnect();
    await registerAll(iso.cfg, log);
    const pool = createPgPool(iso.cfg);
    const { key } = await createApiKey(pool, 'tls');
    await pool.end();
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const ingest = startTls('services/ingest/main.ts', {
      ...iso.env,
      ...serverTlsEnv(),
      INGEST_PORT: String(port),
      INGEST_IP_SALT: 'tls-test-salt',
      KAFKA_BROKERS: `127.0.0.1:${ports.kafkaSsl}`,
      KAFKA_SSL: '1',
      REDIS_URL: `rediss://127.0.0.1:${ports.redis}`,
    });
    try {
      await waitFor(
        'ingest',
        () => https(`${url}/healthz`, pki.ca).then((r) => r.status === 200),
        ingest.output,
        ingest.child,
      );
      const events = Array.from({ length: 5 }, () => studyEvent());
      const res = await https(`${url}/v1/events/batch`, pki.ca, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ events }),
      });
      expect(res.status, res.body).toBe(200);
      expect((JSON.parse(res.body) as { accepted: number }).accepted).toBe(5);
      expect(await failure(https(`${url}/healthz`, pki.otherCa))).toMatch(UNTRUSTED);
      expect(await failure(fetch(`http://127.0.0.1:${port}/healthz`))).toMatch(/fetch failed|socket|reset/i);
      const h = {
        iso: { ...iso, cfg: kafkaTls },
        codec: new EventCodec(createRegistry(iso.cfg), iso.cfg),
      } as Parameters<typeof consumeAll>[0];
      const records = await consumeAll(h, ['study-events'], 5);
      expect(records.map((r) => r.record.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    } finally {
      ingest.child.kill('SIGTERM');
    }
  });

  it('the analytics API serves HTTPS only, with its Redis (cache, invalidations) over TLS', async () => {
    await provision(iso, { postgres: false, clickhouse: true, kafka: false });
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const api = startTls('services/analytics-api/main.ts', {
      ...iso.env,
      ...serverTlsEnv(),
      API_PORT: String(port),
      REDIS_URL: `rediss://127.0.0.1:${ports.redis}`,
    });
    try {
      await waitFor(
        'analytics-api',
        () => https(`${url}/readyz`, pki.ca).then((r) => r.status === 200),
        api.output,
        api.child,
      );
      expect((await https(`${url}/healthz`, pki.ca)).status).toBe(200);
      expect(await failure(https(`${url}/healthz`, pki.otherCa))).toMatch(UNTRUSTED);
      expect(await failure(fetch(`http://127.0.0.1:${port}/healthz`))).toMatch(/fetch failed|socket|reset/i);
    } finally {
      api.child.kill('SIGTERM');
    }
  });
});
