import type { SharedConfig } from '../../services/shared/config.ts';
import { EventCodec } from '../../services/shared/codec.ts';
import { createKafka, EVENT_FAMILIES, topicNames, type EventFamily } from '../../services/shared/kafka.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { createRegistry } from '../../services/shared/registry.ts';
import { until } from './wait.ts';

/**
 * Reads every record of the three event topics of `cfg`'s namespace from the beginning, decoded through the
 * registry, until `expected` arrived, then 1.5 s more (a duplicate or an extra record would show up then).
 */
export async function readEventTopics(
  cfg: SharedConfig,
  groupId: string,
  expected: number,
): Promise<Array<{ family: EventFamily; record: Record<string, unknown> }>> {
  const log = createLogger('test', 'warn');
  const codec = new EventCodec(createRegistry(cfg), cfg);
  const consumer = createKafka(cfg, log, 'topic-reader').consumer({ groupId });
  await consumer.connect();
  const out: Array<{ family: EventFamily; record: Record<string, unknown> }> = [];
  try {
    await consumer.subscribe({ topics: EVENT_FAMILIES.map((f) => topicNames(cfg)[f]), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const family = codec.familyOfTopic(topic)!;
        out.push({ family, record: await codec.decode(family, message.value!) });
      },
    });
    await until(`${expected} records on the topics`, () => out.length >= expected);
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await consumer.disconnect();
  }
  return out;
}
