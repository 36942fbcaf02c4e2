import { z } from 'zod';
import { defineEnv, envInt } from '../../shared/config.ts';
import { pgRoleSetting } from '../../shared/postgres.ts';

/** Environment of the stream processors' shared runtime (batching, retries, the ops port). */
export const streamEnv = defineEnv(
  'stream',
  {
    STREAM_BATCH_MAX_RECORDS: { default: '100000', doc: 'flush a processor batch at this many records' },
    STREAM_BATCH_MAX_WAIT_MS: {
      default: '1000',
      doc: 'flush a processor batch when its oldest record waited this long',
    },
    STREAM_LIVE_BATCH_MAX_WAIT_MS: {
      default: '200',
      doc: 'flush wait of the live-state processors (sessions, mastery): a dashboard waits for it, the sink does not',
    },
    STREAM_PAUSE_AT_RECORDS: {
      default: '200000',
      doc: 'pause fetching while this many records wait in memory (back-pressure while the store is slow or down)',
    },
    STREAM_RETRY_INITIAL_MS: {
      default: '250',
      doc: 'first retry delay after a failed flush (doubles each attempt)',
    },
    STREAM_RETRY_MAX_MS: {
      default: '30000',
      doc: 'longest retry delay after failed flushes (retries never give up)',
    },
    STREAM_FETCH_MAX_BYTES: { default: '52428800', doc: 'kafkajs maxBytes per fetch' },
    STREAM_FETCH_MAX_BYTES_PER_PARTITION: {
      default: '4194304',
      doc: 'kafkajs maxBytesPerPartition per fetch',
    },
    STREAM_PORT: {
      default: '8095',
      doc: 'HTTP port of the stream service (/healthz, /readyz, /metrics); 0 picks a free port',
    },
    STREAM_PROCESSORS: {
      default: 'clickhouse-sink,sessions,mastery',
      doc: 'processors this stream process runs (deploy them together or as separate processes)',
    },
    STREAM_PG_ROLE: {
      default: 'studystream_stream',
      doc: "PostgreSQL role the processors act as (SET ROLE at connection start; created by postgres/096_service_roles.sql: the processors' own tables, read access to the taxonomy, item calibration and pseudonyms; no DELETE, no API keys or audit log). Empty: the connecting user",
    },
    STREAM_KAFKA_GROUP_SUFFIX: {
      default: '',
      doc: "appended to the Kafka group of the PostgreSQL-position processors only (their stored positions stay); lets a restart skip a killed member's session timeout",
    },
  },
  {
    STREAM_BATCH_MAX_RECORDS: envInt('STREAM_BATCH_MAX_RECORDS'),
    STREAM_BATCH_MAX_WAIT_MS: envInt('STREAM_BATCH_MAX_WAIT_MS'),
    STREAM_LIVE_BATCH_MAX_WAIT_MS: envInt('STREAM_LIVE_BATCH_MAX_WAIT_MS'),
    STREAM_PAUSE_AT_RECORDS: envInt('STREAM_PAUSE_AT_RECORDS'),
    STREAM_RETRY_INITIAL_MS: envInt('STREAM_RETRY_INITIAL_MS'),
    STREAM_RETRY_MAX_MS: envInt('STREAM_RETRY_MAX_MS'),
    STREAM_FETCH_MAX_BYTES: envInt('STREAM_FETCH_MAX_BYTES'),
    STREAM_FETCH_MAX_BYTES_PER_PARTITION: envInt('STREAM_FETCH_MAX_BYTES_PER_PARTITION'),
    STREAM_PORT: envInt('STREAM_PORT'),
    STREAM_PROCESSORS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(['clickhouse-sink', 'sessions', 'mastery'])).min(1)),
    STREAM_PG_ROLE: pgRoleSetting,
    STREAM_KAFKA_GROUP_SUFFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only'),
  },
);

export type StreamConfig = ReturnType<typeof streamEnv.load>;
