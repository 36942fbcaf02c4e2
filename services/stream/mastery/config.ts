import { z } from 'zod';
import { defineEnv, envInt } from '../../shared/config.ts';

/** Environment of the mastery processor. */
export const masteryEnv = defineEnv(
  'mastery',
  {
    MASTERY_SCHEDULER: {
      default: 'fsrs',
      doc: 'scheduler driving next_review_at and retrieval_strength (fsrs|sm2; both are always computed; `npm run eval` compares them)',
    },
    MASTERY_ALLOWED_LATENESS_MS: {
      default: '3600000',
      doc: "how far (event time) an answer may lag the student's latest event on the same topic and still be scheduled in order",
    },
    MASTERY_GROUP_ID: {
      default: 'studystream-mastery',
      doc: 'consumer group of the mastery processor (prefixed with KAFKA_TOPIC_PREFIX)',
    },
  },
  {
    MASTERY_SCHEDULER: z.enum(['fsrs', 'sm2']),
    MASTERY_ALLOWED_LATENESS_MS: envInt('MASTERY_ALLOWED_LATENESS_MS'),
    MASTERY_GROUP_ID: z.string().min(1),
  },
);

export type MasteryConfig = ReturnType<typeof masteryEnv.load>;
