import { patternsQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { addDays, histogram, meanOf, median, round, slope, utcDay, weekly } from '../compute.ts';
import { dailyActivity, hourlyHeatmap } from '../data/history.ts';
import { sessionsSince } from '../data/sessions.ts';

/** Session length buckets in minutes. */
export const SESSION_BUCKETS_MIN = [0, 15, 30, 45, 60, 90, 120];

export const studyPatterns = defineRoute({
  path: '/api/analytics/study-patterns',
  operationId: 'getStudyPatterns',
  tag: 'student',
  summary: 'Study patterns: time-of-day heatmap, session lengths, efficiency, velocity',
  description:
    'Over the last `days` days. heatmap and peakHours: events, questions and active minutes per ISO weekday ' +
    "(1 = Monday) and hour in the student's LOCAL time (each event's time_zone; events without one, from older " +
    "producers, are shifted by the student's most recent known UTC offset, else stay in UTC: localTime says which " +
    'fallback applied; ClickHouse hourly_user_local_sums). sessionLengths: finished sessions by duration (minutes, buckets ' +
    `${SESSION_BUCKETS_MIN.join(', ')}+). efficiency: questions per active hour, accuracy, mean focus score, active ` +
    'share of session time. velocity: questions, accuracy and active minutes per ISO week (zero-filled) and the ' +
    'least-squares slope of weekly questions (questions/week per week).',
  scope: 'student',
  reads: 'replica',
  query: patternsQuery,
  cache: 'study-patterns',
  response: RESPONSES.studyPatterns,
  handler: async ({ user, query, data, now }) => {
    const today = utcDay(now);
    const from = addDays(today, -(query.days - 1));
    const [local, days, sessions] = await Promise.all([
      hourlyHeatmap(data.chRows, user, from),
      dailyActivity(data.chRows, user, from, today),
      sessionsSince(data.pg, user, Date.parse(`${from}T00:00:00Z`)),
    ]);
    const cells = local.cells;
    const heatmap = cells.map((c) => ({
      weekday: c.weekday,
      hour: c.hour,
      events: c.events,
      questions: c.questions,
      activeMinutes: round(c.activeMs / 60_000, 1),
    }));
    const peak = [...cells].sort((a, b) => b.questions - a.questions || b.events - a.events).slice(0, 3);
    const minutes = sessions.map((s) => s.durationMs / 60_000);
    const questions = days.reduce((s, d) => s + d.questions, 0);
    const correct = days.reduce((s, d) => s + d.correct, 0);
    const activeMs = days.reduce((s, d) => s + d.activeMs, 0);
    const sessionMs = sessions.reduce((s, x) => s + x.durationMs, 0);
    const sessionActiveMs = sessions.reduce((s, x) => s + x.activeMs, 0);
    const weeks = weekly(days, from, today);
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      from,
      to: today,
      heatmap,
      peakHours: peak.map((c) => ({ weekday: c.weekday, hour: c.hour, questions: c.questions })),
      localTime: {
        fallbackFor: local.cellsWithoutZone > 0 ? 'events without a time zone' : null,
        fallbackOffsetMinutes: local.fallback.offsetMinutes,
        fallbackSource: local.fallback.source,
      },
      sessionLengths: {
        sessions: sessions.length,
        medianMinutes: round(median(minutes), 1),
        meanMinutes: round(meanOf(minutes), 1),
        buckets: histogram(minutes, SESSION_BUCKETS_MIN).map((b) => ({
          fromMinutes: b.from,
          toMinutes: b.to,
          count: b.count,
        })),
      },
      efficiency: {
        questions,
        activeMinutes: round(activeMs / 60_000, 1),
        questionsPerActiveHour: round(activeMs > 0 ? questions / (activeMs / 3_600_000) : null, 2),
        accuracy: round(questions > 0 ? correct / questions : null),
        meanFocusScore: round(
          meanOf(sessions.map((s) => s.focusScore).filter((f): f is number => f !== null)),
        ),
        activeShare: round(sessionMs > 0 ? sessionActiveMs / sessionMs : null),
        activeDays: days.length,
      },
      velocity: {
        weeks: weeks.map((w) => ({
          ...w,
          accuracy: round(w.questions > 0 ? w.correct / w.questions : null),
        })),
        questionsPerWeekSlope: round(slope(weeks.map((w) => w.questions)), 2),
      },
    };
  },
});
