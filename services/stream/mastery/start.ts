/** Wiring of the mastery processor onto the shared runtime (for services/stream/main.ts and run-stateful.ts). */
import { subjectKeysFor } from '../../shared/subjects.ts';
import { EventCodec } from '../../shared/codec.ts';
import { topicNames } from '../../shared/kafka.ts';
import { createRegistry } from '../../shared/registry.ts';
import { invalidationChannel } from '../runtime/invalidation.ts';
import type { RunningProcessor } from '../runtime/processor.ts';
import { groupIds, runLive, type StatefulDeps } from '../stateful/start.ts';
import { masteryEnv } from './config.ts';
import { loadItemCalibration } from './items.ts';
import { createMasteryProcessor } from './processor.ts';
import { TopicTree } from './taxonomy.ts';

export async function startMasteryProcessor(d: StatefulDeps): Promise<RunningProcessor> {
  const config = masteryEnv.load(d.env);
  const topics = topicNames(d.cfg);
  const def = createMasteryProcessor({
    codec: new EventCodec(createRegistry(d.cfg), d.cfg, subjectKeysFor(d.cfg, d.stream.STREAM_PG_ROLE)),
    pool: d.pool,
    redis: d.redis,
    tree: await TopicTree.load(d.pool),
    items: await loadItemCalibration(d.pool),
    config,
    topics: { attempts: topics['question-attempts'], materials: topics['material-interactions'] },
    ...groupIds(d, config.MASTERY_GROUP_ID),
    invalidateChannel: invalidationChannel(d.cfg.REDIS_KEY_PREFIX),
    metrics: d.metrics,
    log: d.log,
    trace: d.trace,
  });
  return runLive(def, d);
}
