import { z } from 'zod';
import { defineEnv, envInt } from '../../shared/config.ts';

/** Environment of the sessions processor. */
export const sessionsEnv = defineEnv(
  'sessions',
  {
    SESSIONS_GRACE_MS: {
      default: '600000',
      doc: 'a live session is written this long after it is due (its last event, plus the inactivity timeout without SESSION_END), waiting for stragglers; events later still amend the written row',
    },
    SESSIONS_INACTIVITY_TIMEOUT_MS: {
      default: '1800000',
      doc: "a session without SESSION_END is due this long after its last event (by the student's own clock or the processing clock)",
    },
    SESSIONS_CLOSE_QUIET_MS: {
      default: '10000',
      doc: 'a due session is written only once no record has changed it for this long (processing time): a backlog or replay writes each session once, not once per batch',
    },
    SESSIONS_CLOSE_BATCH: {
      default: '200',
      doc: "due sessions written per step at most (a batch closes its partitions' due sessions up to this many; the sweep takes steps of this size until none is left), so no step blocks the process for long",
    },
    SESSIONS_SWEEP_INTERVAL_MS: {
      default: '30000',
      doc: 'how often the processor closes the due sessions of its partitions that no new record closes (quiet students): a session is written at most this long after it is due',
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
    SESSIONS_GRACE_MS: envInt('SESSIONS_GRACE_MS'),
    SESSIONS_INACTIVITY_TIMEOUT_MS: envInt('SESSIONS_INACTIVITY_TIMEOUT_MS'),
    SESSIONS_CLOSE_QUIET_MS: envInt('SESSIONS_CLOSE_QUIET_MS'),
    SESSIONS_CLOSE_BATCH: envInt('SESSIONS_CLOSE_BATCH').pipe(z.number().min(1)),
    SESSIONS_SWEEP_INTERVAL_MS: envInt('SESSIONS_SWEEP_INTERVAL_MS'),
    SESSIONS_IDLE_GAP_MS: envInt('SESSIONS_IDLE_GAP_MS'),
    SESSIONS_GROUP_ID: z.string().min(1),
  },
);

export type SessionsConfig = ReturnType<typeof sessionsEnv.load>;
