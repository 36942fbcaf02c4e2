/**
 * What both stateful processors (mastery, sessions) share when they start on the shared runtime: their
 * dependencies, their consumer group ids and running as a live processor. Each processor's own start.ts builds its
 * definition (services/stream/mastery/start.ts, services/stream/sessions/start.ts).
 */
import type { Redis } from 'ioredis';
import type { SharedConfig } from '../../shared/config.ts';
import { topicNames, type Kafka } from '../../shared/kafka.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Registry } from '../../shared/metrics.ts';
import type { Pool } from '../../shared/postgres.ts';
import type { StreamConfig } from '../runtime/config.ts';
import type { BatchTracer } from './trace.ts';
import { runtimeOptionsFromEnv, type ProcessorDefinition } from '../runtime/definition.ts';
import { runProcessor, type RunningProcessor } from '../runtime/processor.ts';

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
  /** Per-batch timestamps of both processors (bench processors --trace); absent in production. */
  trace?: BatchTracer;
};

/** The positions group (prefixed) and, with a suffix, the Kafka consumer group it joins. */
export function groupIds(
  d: StatefulDeps,
  configured: string,
): { groupId: string; kafkaGroupId: string | undefined } {
  const groupId = `${d.cfg.KAFKA_TOPIC_PREFIX}${configured}`;
  return { groupId, kafkaGroupId: d.kafkaGroupSuffix ? `${groupId}${d.kafkaGroupSuffix}` : undefined };
}

/** Runs a stateful processor on the shared runtime as a live processor (stream settings, dead-letter topic). */
export function runLive<T>(def: ProcessorDefinition<T>, d: StatefulDeps): Promise<RunningProcessor> {
  return runProcessor(
    def,
    runtimeOptionsFromEnv(
      d.stream,
      {
        kafka: d.kafka,
        log: d.log,
        metrics: d.metrics,
        deadLetterTopic: topicNames(d.cfg).deadLetter,
        startDeadlineMs: d.cfg.KAFKA_START_DEADLINE_MS,
      },
      'live',
    ),
  );
}
