/**
 * Reads a bounded range of a topic (per partition: from offset, inclusive, to offset, exclusive) with a throw-away
 * consumer group that never commits and is deleted afterwards. Used by the dead-letter tools.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export type PartitionRange = { partition: number; from: number; to: number };
export type ReadMessage = { topic: string; partition: number; message: KafkaMessage };

export async function readRange(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  onMessage: (m: ReadMessage) => boolean | void,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const open = ranges.filter((r) => r.to > r.from);
  if (open.length === 0) return;
  const groupId = `studystream-tools-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  const remaining = new Map(open.map((r) => [r.partition, r]));
  let stopRequested = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = remaining.get(batch.partition);
        if (!range || stopRequested) return;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < range.from) continue;
          if (offset >= range.to) break;
          if (onMessage({ topic, partition: batch.partition, message }) === false) stopRequested = true;
          if (stopRequested) break;
        }
        const last = Number(batch.lastOffset());
        if (stopRequested || last + 1 >= range.to) {
          remaining.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
        }
        if (stopRequested || remaining.size === 0) resolveDone();
      },
    });
    for (const r of open) consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
