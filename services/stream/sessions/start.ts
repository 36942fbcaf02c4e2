/** Wiring of the sessions processor onto the shared runtime (for services/stream/main.ts and run-stateful.ts). */
import { subjectKeysFor } from '../../shared/subjects.ts';
import { EventCodec } from '../../shared/codec.ts';
import { topicNames } from '../../shared/kafka.ts';
import { createRegistry } from '../../shared/registry.ts';
import { invalidationChannel } from '../runtime/invalidation.ts';
import type { RunningProcessor } from '../runtime/processor.ts';
import { groupIds, runLive, type StatefulDeps } from '../stateful/start.ts';
import { sessionsEnv } from './config.ts';
import { createSessionsProcessor } from './processor.ts';

export function startSessionsProcessor(d: StatefulDeps): Promise<RunningProcessor> {
  const config = sessionsEnv.load(d.env);
  const topics = topicNames(d.cfg);
  const def = createSessionsProcessor({
    codec: new EventCodec(createRegistry(d.cfg), d.cfg, subjectKeysFor(d.cfg, d.stream.STREAM_PG_ROLE)),
    pool: d.pool,
    redis: d.redis,
    config,
    topics: [topics['study-events'], topics['question-attempts'], topics['material-interactions']],
    ...groupIds(d, config.SESSIONS_GROUP_ID),
    metrics: d.metrics,
    log: d.log,
    trace: d.trace,
    invalidateChannel: invalidationChannel(d.cfg.REDIS_KEY_PREFIX),
  });
  return runLive(def, d);
}
