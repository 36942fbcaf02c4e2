import { z } from 'zod';
import { defineEnv, envInt } from '../../shared/config.ts';

/** Environment of the sessions processor. */
export const sessionsEnv = defineEnv(
  'sessions',
  {
    SESSIONS_ALLOWED_LATENESS_MS: {
      default: '3600000',
      doc: "event-time lateness accepted behind the partition's watermark (max occurred_at seen); later events go to late_events",
    },
    SESSIONS_INACTIVITY_TIMEOUT_MS: {
      default: '1800000',
      doc: 'a session without SESSION_END is closed once the watermark is this far past its last event (plus the lateness)',
    },
    SESSIONS_IDLE_GAP_MS: {
      default: '300000',
      doc: 'a gap between events longer than this counts as idle, not active',
    },
    SESSIONS_GROUP_ID: {
      default: 'studystream-sessions',
      doc: 'consumer group of the sessions processor (prefixed with KAFKA_TOPIC_PREFIX)',
    },
  },
  {
    SESSIONS_ALLOWED_LATENESS_MS: envInt('SESSIONS_ALLOWED_LATENESS_MS'),
    SESSIONS_INACTIVITY_TIMEOUT_MS: envInt('SESSIONS_INACTIVITY_TIMEOUT_MS'),
    SESSIONS_IDLE_GAP_MS: envInt('SESSIONS_IDLE_GAP_MS'),
    SESSIONS_GROUP_ID: z.string().min(1),
  },
);

export type SessionsConfig = ReturnType<typeof sessionsEnv.load>;
