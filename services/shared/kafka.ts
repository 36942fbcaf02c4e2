import { createRequire } from 'node:module';
import { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import { backoffDelay, type BackoffOptions } from './async.ts';
import type { SharedConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { kafkaTls, type TlsSettings } from './tls.ts';

/** @public kafkajs types the services use */
export type { Admin, Consumer, Producer, EachBatchPayload, KafkaMessage } from 'kafkajs';
export { Kafka };

// We use kafkajs' default (Java-compatible murmur2) partitioner on purpose; its one-time notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/**
 * kafkajs 2.2.4 (its last release) schedules its request-queue check with `throttledUntil - Date.now()`, which is
 * hugely negative when the broker never throttled (throttledUntil = -1): Node 24 clamps it to 1 ms and prints a
 * TimeoutNegativeWarning once per process (seen in `studystream migrate`). Same behaviour, delay clamped at 0.
 */
export type KafkajsRequestQueue = {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
};
const kafkajsRequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: KafkajsRequestQueue;
};
export const KAFKAJS_CHECK_PENDING_INTERVAL_MS = 10; // kafkajs' CHECK_PENDING_REQUESTS_INTERVAL
kafkajsRequestQueue.prototype.scheduleCheckPendingRequests = function (this: KafkajsRequestQueue) {
  if (this.throttleCheckTimeoutId) return;
  let delay = this.throttledUntil - Date.now();
  if (this.pending.length > 0 && delay <= 0) delay = KAFKAJS_CHECK_PENDING_INTERVAL_MS;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(0, delay),
  );
};

/** The event families; each has one topic and one Avro record schema in schemas/<family>.avsc. */
export const EVENT_FAMILIES = ['study-events', 'question-attempts', 'material-interactions'] as const;
export type EventFamily = (typeof EVENT_FAMILIES)[number];

/** Every topic the engine uses, declared once: the migrate command creates or verifies them. */
/**
 * The one key of a topic-partition, for maps and for stored fields (the sessions processor's Redis positions hash):
 * Kafka topic names cannot contain '|'.
 */
export const topicPartitionKey = (topic: string, partition: number): string => `${topic}|${partition}`;

export function topicNames(cfg: Pick<SharedConfig, 'KAFKA_TOPIC_PREFIX'>) {
  const p = cfg.KAFKA_TOPIC_PREFIX;
  return {
    'study-events': `${p}study-events`,
    'question-attempts': `${p}question-attempts`,
    'material-interactions': `${p}material-interactions`,
    deadLetter: `${p}dead-letter`,
  };
}

export function topicDeclarations(
  cfg: Pick<
    SharedConfig,
    | 'KAFKA_TOPIC_PREFIX'
    | 'KAFKA_PARTITIONS'
    | 'KAFKA_REPLICATION_FACTOR'
    | 'KAFKA_EVENT_RETENTION_MS'
    | 'KAFKA_DLQ_RETENTION_MS'
  >,
): ITopicConfig[] {
  const names = topicNames(cfg);
  const base = { numPartitions: cfg.KAFKA_PARTITIONS, replicationFactor: cfg.KAFKA_REPLICATION_FACTOR };
  const events = EVENT_FAMILIES.map((family) => ({
    ...base,
    topic: names[family],
    configEntries: [
      { name: 'retention.ms', value: String(cfg.KAFKA_EVENT_RETENTION_MS) },
      { name: 'retention.bytes', value: '-1' },
      { name: 'min.insync.replicas', value: String(Math.min(2, cfg.KAFKA_REPLICATION_FACTOR)) },
    ],
  }));
  return [
    ...events,
    {
      ...base,
      topic: names.deadLetter,
      configEntries: [{ name: 'retention.ms', value: String(cfg.KAFKA_DLQ_RETENTION_MS) }],
    },
  ];
}

/** Creates missing topics; existing ones are left as they are. Returns the names it created. */
export async function ensureTopics(admin: Admin, topics: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs notices that are expected here and say nothing actionable, dropped where kafkajs logs enter pino:
 * - "Limiting retries for the idempotent producer may invalidate EoS guarantees", logged by every idempotent
 *   producer we create (ingest, the processors' dead-letter producers, dlq redrive) because retries are bounded
 *   (8) on purpose: when they run out, ingest answers 503 and the client resends with the same event_id, and every
 *   store dedupes on event_id, so nothing relies on Kafka's exactly-once.
 */
export const KNOWN_HARMLESS_KAFKAJS = [
  /^Limiting retries for the idempotent producer may invalidate EoS guarantees$/,
];

/** A kafkajs client that logs through pino; over TLS (and SASL) when configured (shared/tls.ts). */
export function createKafka(
  cfg: Pick<SharedConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> &
    Partial<Pick<SharedConfig, 'KAFKA_RETRY_MAX_MS' | 'KAFKA_CONNECTION_TIMEOUT_MS'>> &
    TlsSettings,
  log: Logger,
  clientSuffix = '',
): Kafka {
  return new Kafka({
    clientId: clientSuffix ? `${cfg.KAFKA_CLIENT_ID}-${clientSuffix}` : cfg.KAFKA_CLIENT_ID,
    brokers: cfg.KAFKA_BROKERS,
    ...kafkaTls(cfg),
    connectionTimeout: cfg.KAFKA_CONNECTION_TIMEOUT_MS ?? 5000,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: cfg.KAFKA_RETRY_MAX_MS ?? 30_000 },
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        if (KNOWN_HARMLESS_KAFKAJS.some((re) => re.test(message))) return;
        log[levelNames[level] ?? 'info']({ kafka: namespace, ...extra }, message);
      },
  });
}

/**
 * Whether a kafkajs failure may pass if tried again: kafkajs marks its errors `retriable`; a
 * KafkaJSNumberOfRetriesExceeded is marked non-retriable, but it only ever wraps retriable errors kafkajs gave up on.
 * Non-retriable failures (authentication, authorization, unknown topic when auto-creation is off) end at once.
 */
export function isTransientKafkaError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'KafkaJSNumberOfRetriesExceeded') return true;
  return (err as Error & { retriable?: unknown }).retriable === true;
}

export type KafkaStartRetry = {
  log: Logger;
  /** How long the step is retried, from its first attempt (KAFKA_START_DEADLINE_MS). */
  deadlineMs: number;
  backoff?: BackoffOptions;
  /** Ends the retries early (the service is stopping): the last failure is thrown. */
  stopping?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
};

const START_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5000, factor: 2, jitter: 0.2 };

/**
 * Runs a start-up step against Kafka (a producer's or consumer's connect, a subscribe) until it succeeds, retrying
 * transient failures with backoff until the deadline. kafkajs does not retry all of them itself: an idempotent
 * producer's connect asks the controller broker for a producer id and gives up on the first connection timeout to it
 * (eosManager.initProducerId bails on a KafkaJSConnectionError), which ended a processor instance at start-up on a
 * busy machine (test/cluster/rebalance-storm; regression test: test/integration/stream/start-survives-slow-connect).
 */
export async function retryKafkaStart<T>(
  what: string,
  step: () => Promise<T>,
  opts: KafkaStartRetry,
): Promise<T> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const startedAt = now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      const waitMs = backoffDelay(opts.backoff ?? START_BACKOFF, attempt, opts.random);
      const late = now() - startedAt + waitMs > opts.deadlineMs;
      if (!isTransientKafkaError(err) || late || opts.stopping?.()) throw err;
      opts.log.warn({ err, what, attempt: attempt + 1, waitMs }, 'Kafka start-up step failed; retrying');
      await sleep(waitMs);
    }
  }
}
