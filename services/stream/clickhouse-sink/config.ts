import { z } from 'zod';
import { defineEnv, envInt } from '../../shared/config.ts';

/** Environment of the ClickHouse sink. */
export const sinkEnv = defineEnv(
  'clickhouse-sink',
  {
    SINK_GROUP_ID: { default: 'studystream-clickhouse-sink', doc: 'consumer group of the ClickHouse sink' },
    SINK_DEDUP_WINDOW_S: {
      default: '86400',
      doc: 'seconds added on both sides of a batch time range when checking which event_ids are already stored',
    },
  },
  {
    SINK_GROUP_ID: z.string().min(1),
    SINK_DEDUP_WINDOW_S: envInt('SINK_DEDUP_WINDOW_S'),
  },
);

export type SinkConfig = ReturnType<typeof sinkEnv.load>;
