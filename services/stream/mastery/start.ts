/**
 * Wiring of the two stateful processors onto the shared runtime (for services/stream/main.ts and the dedicated
 * entry run-stateful.ts). Each returns a running processor and a stop() that also closes what it opened.
 */
import { subjectKeysFor } from '../../shared/subjects.ts';
import { invalidationChannel } from '../runtime/invalidation.ts';
import type { Redis } from 'ioredis';
import { EventCodec } from '../../shared/codec.ts';
import type { SharedConfig } from '../../shared/config.ts';
import { topicNames, type Kafka } from '../../shared/kafka.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Registry } from '../../shared/metrics.ts';
import type { Pool } from '../../shared/postgres.ts';
import { createRegistry } from '../../shared/registry.ts';
import {
  runProcessor,
  runtimeOptionsFromEnv,
  type ProcessorDefinition,
  type RunningProcessor,
} from '../runtime/processor.ts';
import type { StreamConfig } from '../runtime/config.ts';
import { sessionsEnv } from '../sessions/config.ts';
import { createSessionsProcessor } from '../sessions/processor.ts';
import { masteryEnv } from './config.ts';
import { createMasteryProcessor } from './processor.ts';
import { TopicTree } from './taxonomy.ts';
import { loadItemCalibration } from './items.ts';

export type StatefulDeps = {
  cfg: SharedConfig;
  stream: StreamConfig;
  kafka: Kafka;
  pool: Pool;
  redis: Redis;
  log: Logger;
  metrics: Registry;
  env?: NodeJS.ProcessEnv;
  /**
   * Appended to the Kafka consumer group only (positions stay under the configured group). Kafka commits are
   * advisory for these processors, so a restart may join a new Kafka group instead of waiting for a killed
   * member's session timeout; the kill test uses it.
   */
  kafkaGroupSuffix?: string;
};

export async function startMasteryProcessor(d: StatefulDeps): Promise<RunningProcessor> {
  const config = masteryEnv.load(d.env);
  const topics = topicNames(d.cfg);
  const def = createMasteryProcessor({
    codec: new EventCodec(createRegistry(d.cfg), d.cfg, subjectKeysFor(d.cfg)),
    pool: d.pool,
    redis: d.redis,
    tree: await TopicTree.load(d.pool),
    items: await loadItemCalibration(d.pool),
    config,
    topics: { attempts: topics['question-attempts'], materials: topics['material-interactions'] },
    groupId: `${d.cfg.KAFKA_TOPIC_PREFIX}${config.MASTERY_GROUP_ID}`,
    kafkaGroupId: d.kafkaGroupSuffix
      ? `${d.cfg.KAFKA_TOPIC_PREFIX}${config.MASTERY_GROUP_ID}${d.kafkaGroupSuffix}`
      : undefined,
    invalidateChannel: invalidationChannel(d.cfg.REDIS_KEY_PREFIX),
    metrics: d.metrics,
    log: d.log,
  });
  return runLive(def, d);
}

export async function startSessionsProcessor(d: StatefulDeps): Promise<RunningProcessor> {
  const config = sessionsEnv.load(d.env);
  const topics = topicNames(d.cfg);
  const def = createSessionsProcessor({
    codec: new EventCodec(createRegistry(d.cfg), d.cfg, subjectKeysFor(d.cfg)),
    pool: d.pool,
    redis: d.redis,
    config,
    topics: [topics['study-events'], topics['question-attempts'], topics['material-interactions']],
    groupId: `${d.cfg.KAFKA_TOPIC_PREFIX}${config.SESSIONS_GROUP_ID}`,
    kafkaGroupId: d.kafkaGroupSuffix
      ? `${d.cfg.KAFKA_TOPIC_PREFIX}${config.SESSIONS_GROUP_ID}${d.kafkaGroupSuffix}`
      : undefined,
    metrics: d.metrics,
    log: d.log,
    invalidateChannel: invalidationChannel(d.cfg.REDIS_KEY_PREFIX),
  });
  return runLive(def, d);
}

/** Runs a stateful processor on the shared runtime as a live processor (stream settings, dead-letter topic). */
function runLive<T>(def: ProcessorDefinition<T>, d: StatefulDeps): Promise<RunningProcessor> {
  return runProcessor(
    def,
    runtimeOptionsFromEnv(
      d.stream,
      { kafka: d.kafka, log: d.log, metrics: d.metrics, deadLetterTopic: topicNames(d.cfg).deadLetter },
      'live',
    ),
  );
}
