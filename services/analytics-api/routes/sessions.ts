import { sessionsQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { round } from '../compute.ts';
import { liveSession } from '../data/live.ts';
import { recentSessions } from '../data/sessions.ts';

export const sessions = defineRoute({
  path: '/api/analytics/sessions',
  operationId: 'getSessions',
  tag: 'student',
  summary: 'Recent finished sessions and the live one',
  description:
    'Finished sessions (study_sessions, newest first, up to `limit`) with active/idle time, pauses, focus score and ' +
    "answers; `live` is the open session from the sessions processor's Redis state (null when none, " +
    '`liveAvailable: false` when Redis could not be read).',
  scope: 'student',
  reads: 'replica',
  query: sessionsQuery,
  cache: 'sessions',
  response: RESPONSES.sessions,
  handler: async ({ user, query, data, now }) => {
    const recent = await recentSessions(data.pg, user, query.limit);
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      recent: recent.map((s) => ({
        ...s,
        focusScore: round(s.focusScore),
        accuracy: round(s.questionsAnswered > 0 ? s.questionsCorrect / s.questionsAnswered : null),
      })),
    };
  },
  fresh: async ({ user, data }) => {
    const live = await liveSession(data.redis, user, data.redisTimeoutMs);
    return { live: live.session, liveAvailable: live.available };
  },
});
