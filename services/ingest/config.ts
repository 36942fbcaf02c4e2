import { trustedProxies } from './privacy.ts';
import { z } from 'zod';
import { defineEnv, devModeOn, envInt, sharedEnv } from '../shared/config.ts';
import { pgRoleSetting } from '../shared/postgres.ts';

/** Environment variables of the ingest service (on top of the shared ones), with defaults and meaning. */
export const ingestEnv = defineEnv(
  'ingest',
  {
    INGEST_MAX_BATCH_EVENTS: {
      default: '1000',
      doc: 'maximum events in one POST /v1/events/batch (413 beyond)',
    },
    INGEST_MAX_BODY_BYTES: { default: '1048576', doc: 'maximum request body in bytes (413 beyond)' },
    INGEST_RATE_LIMIT_PER_SEC: {
      default: '2000',
      doc: "events per second per API key (token bucket in Redis, burst = max(rate, batch size)); 0 disables. The default fits the seed's 10,000 students with a fifth active at once at one event per second each",
    },
    INGEST_RATE_LIMIT_REDIS_DOWN: {
      default: 'local',
      doc: 'while Redis is unreachable: local (each ingest process limits each key to the same rate on its own; with N processes a key gets up to N times it), open (no limit), closed (503 with Retry-After; clients retry)',
    },
    INGEST_KEY_LOOKUPS_PER_CLIENT_PER_SEC: {
      default: '10',
      doc: 'pre-authentication limit: API-key lookups that miss the key cache (each a PostgreSQL query) per client IP and second, burst twice that; beyond it 429 before PostgreSQL is asked. 0 disables',
    },
    INGEST_KEY_LOOKUPS_PER_SEC: {
      default: '200',
      doc: 'pre-authentication limit: API-key lookups that miss the key cache per ingest process and second (all clients), burst twice that. 0 disables',
    },
    INGEST_DEDUPE_WINDOW_SEC: {
      default: '604800',
      doc: 'how long an acknowledged event_id is remembered in Redis to answer "duplicate" (7 days)',
    },
    INGEST_SKEW_TOLERANCE_MS: {
      default: '120000',
      doc: 'batch clock skew (received_at - sent_at) beyond which every occurred_at in the batch is shifted',
    },
    INGEST_MAX_EVENT_AGE_DAYS: {
      default: '30',
      doc: 'events whose (corrected) occurred_at is older than this are rejected',
    },
    INGEST_MAX_FUTURE_MS: {
      default: '300000',
      doc: 'events whose (corrected) occurred_at is further than this in the future are rejected',
    },
    INGEST_IP_SALT: {
      default: '',
      doc: 'secret mixed into every client IP hash, with the random salt of the day (shared by the ingest instances in Redis, deleted after 48 h); required (only in development mode, STUDYSTREAM_DEV_MODE, does an empty value fall back to a fixed, public dev salt)',
    },
    INGEST_TOKEN_SECRET: {
      default: '',
      doc: 'HMAC key of the per-student ingest tokens (POST /v1/tokens, X-Ingest-Token), shared by every ingest instance; empty: derived from INGEST_IP_SALT (HKDF, its own label)',
    },
    INGEST_TOKEN_MAX_TTL_SEC: {
      default: '900',
      doc: 'longest lifetime of an ingest token in seconds (and the default); a token can be revoked earlier (`studystream token revoke --ingest`)',
    },
    INGEST_TOKEN_REVOCATION_CACHE_MS: {
      default: '5000',
      doc: 'each ingest process reloads the list of revoked ingest tokens (`studystream token revoke --ingest`, postgres/097) this often: a revoked token is refused (401 ingest_token_revoked) on every process within this bound; when PostgreSQL cannot answer by then, requests with a token get 503',
    },
    INGEST_TRUSTED_PROXIES: {
      default: '',
      doc: 'comma-separated IPs and CIDRs of the reverse proxies in front of ingest; only when the socket peer is one of them is X-Forwarded-For read, from the right, and the first address that is not a trusted proxy is the client (empty: the socket peer is the client)',
    },
    INGEST_LINGER_MS: {
      default: '3',
      doc: 'how long records of concurrent requests are collected into one Kafka sendBatch',
    },
    INGEST_PRODUCE_MAX_RECORDS: { default: '5000', doc: 'maximum records in one Kafka sendBatch' },
    INGEST_PRODUCE_CONCURRENCY: {
      default: '4',
      doc: 'idempotent producers, each with one sendBatch in flight (kafkajs serialises produce requests per producer and broker)',
    },
    INGEST_PRODUCE_TIMEOUT_MS: {
      default: '5000',
      doc: 'a request whose records Kafka has not acknowledged within this time gets 503 (the client retries)',
    },
    INGEST_APIKEY_CACHE_SEC: {
      default: '60',
      doc: 'how long a verified API key is cached in memory (an LRU of 10,000 keys; unknown keys 5 s at most)',
    },
    INGEST_PG_ROLE: {
      default: 'studystream_ingest',
      doc: 'PostgreSQL role ingest acts as (SET ROLE at connection start; created by postgres/096_service_roles.sql: reads api_keys, creates and reads pseudonyms, nothing else). Empty: the connecting user',
    },
    INGEST_WORKERS: {
      default: '1',
      doc: 'ingest processes sharing the port (node:cluster; /metrics aggregates all of them); set it to the cores ingest may use (2 workers carried 25,600 events/s against 19,200 for one on the 2-core bench machine)',
    },
  },
  {
    INGEST_MAX_BATCH_EVENTS: envInt('INGEST_MAX_BATCH_EVENTS').pipe(z.number().min(1)),
    INGEST_MAX_BODY_BYTES: envInt('INGEST_MAX_BODY_BYTES').pipe(z.number().min(1024)),
    INGEST_RATE_LIMIT_PER_SEC: envInt('INGEST_RATE_LIMIT_PER_SEC').pipe(z.number().min(0)),
    INGEST_RATE_LIMIT_REDIS_DOWN: z.enum(['local', 'open', 'closed']),
    INGEST_KEY_LOOKUPS_PER_CLIENT_PER_SEC: envInt('INGEST_KEY_LOOKUPS_PER_CLIENT_PER_SEC').pipe(
      z.number().min(0),
    ),
    INGEST_KEY_LOOKUPS_PER_SEC: envInt('INGEST_KEY_LOOKUPS_PER_SEC').pipe(z.number().min(0)),
    INGEST_DEDUPE_WINDOW_SEC: envInt('INGEST_DEDUPE_WINDOW_SEC').pipe(z.number().min(1)),
    INGEST_SKEW_TOLERANCE_MS: envInt('INGEST_SKEW_TOLERANCE_MS').pipe(z.number().min(0)),
    INGEST_MAX_EVENT_AGE_DAYS: envInt('INGEST_MAX_EVENT_AGE_DAYS').pipe(z.number().min(1)),
    INGEST_MAX_FUTURE_MS: envInt('INGEST_MAX_FUTURE_MS').pipe(z.number().min(0)),
    INGEST_IP_SALT: z.string(),
    INGEST_TOKEN_SECRET: z.string().refine((v) => v === '' || v.length >= 32, 'at least 32 bytes (or empty)'),
    INGEST_TOKEN_MAX_TTL_SEC: envInt('INGEST_TOKEN_MAX_TTL_SEC').pipe(z.number().min(60).max(86_400)),
    INGEST_TOKEN_REVOCATION_CACHE_MS: envInt('INGEST_TOKEN_REVOCATION_CACHE_MS').pipe(
      z.number().min(0).max(60_000),
    ),
    INGEST_TRUSTED_PROXIES: z.string().refine((v) => {
      try {
        trustedProxies(v);
        return true;
      } catch {
        return false;
      }
    }, 'comma-separated IP addresses or CIDRs'),
    INGEST_LINGER_MS: envInt('INGEST_LINGER_MS').pipe(z.number().min(0)),
    INGEST_PRODUCE_MAX_RECORDS: envInt('INGEST_PRODUCE_MAX_RECORDS').pipe(z.number().min(1)),
    INGEST_PRODUCE_CONCURRENCY: envInt('INGEST_PRODUCE_CONCURRENCY').pipe(z.number().min(1)),
    INGEST_PRODUCE_TIMEOUT_MS: envInt('INGEST_PRODUCE_TIMEOUT_MS').pipe(z.number().min(100)),
    INGEST_APIKEY_CACHE_SEC: envInt('INGEST_APIKEY_CACHE_SEC').pipe(z.number().min(0)),
    INGEST_PG_ROLE: pgRoleSetting,
    INGEST_WORKERS: envInt('INGEST_WORKERS').pipe(z.number().min(1).max(64)),
  },
);

/** Used when INGEST_IP_SALT is empty in development mode only (public: IP hashes made with it are reversible). */
export const DEV_IP_SALT = 'studystream-dev-salt-not-secret';

export type IngestConfig = ReturnType<typeof sharedEnv.load> & ReturnType<typeof ingestEnv.load>;

/**
 * Shared and ingest settings. INGEST_IP_SALT is required outside development mode (STUDYSTREAM_DEV_MODE, refused
 * with NODE_ENV=production): ingest refuses to start rather than hash IPs with a salt written in the source.
 */
export function loadIngestConfig(
  env: NodeJS.ProcessEnv = process.env,
): IngestConfig & { ipSaltIsDefault: boolean } {
  const cfg = { ...sharedEnv.load(env), ...ingestEnv.load(env) };
  const dev = devModeOn('ingest', env, { STUDYSTREAM_DEV_MODE: cfg.STUDYSTREAM_DEV_MODE });
  const ipSaltIsDefault = cfg.INGEST_IP_SALT === '';
  if (ipSaltIsDefault && !dev) {
    throw new Error(
      'invalid configuration (ingest):\n  INGEST_IP_SALT: required (a random secret, e.g. `openssl rand -hex 32`); set STUDYSTREAM_DEV_MODE=1 to use the public development salt on a development machine',
    );
  }
  return { ...cfg, INGEST_IP_SALT: ipSaltIsDefault ? DEV_IP_SALT : cfg.INGEST_IP_SALT, ipSaltIsDefault };
}
