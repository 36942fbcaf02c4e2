import { reviewsQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { addDays, round, utcDay } from '../compute.ts';
import { reviewSchedule } from '../data/reviews.ts';

const DAY_MS = 86_400_000;

export const reviews = defineRoute({
  path: '/api/analytics/reviews',
  operationId: 'getReviewSchedule',
  tag: 'student',
  summary: 'Review schedule: topics due now, upcoming reviews, calendar counts',
  description:
    'Leaf topics whose next review (from the configured scheduler) is due now (overdue first), those due within ' +
    'the next `days` days, and a zero-filled calendar of counts per UTC day from today (overdue topics count on ' +
    'today). Lists are cut at `limit`; counts are complete.',
  scope: 'student',
  reads: 'replica',
  query: reviewsQuery,
  cache: 'reviews',
  response: RESPONSES.reviews,
  handler: async ({ user, query, data, now }) => {
    const today = utcDay(now);
    const endDay = addDays(today, query.days);
    // Upcoming = due within the next `days` days (through the end of the last calendar day).
    const until = Math.min(now + query.days * DAY_MS, Date.parse(`${endDay}T00:00:00Z`) - 1);
    const s = await reviewSchedule(data.pg, user, now, until, query.limit);
    const counts = new Map(s.calendar.map((c) => [c.day, c.count]));
    const calendar = [];
    for (let d = today; d < endDay; d = addDays(d, 1)) calendar.push({ day: d, count: counts.get(d) ?? 0 });
    const view = (i: (typeof s.due)[number]) => ({
      ...i,
      score: round(i.score),
      retrievalStrength: round(i.retrievalStrength),
    });
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      due: { count: s.dueCount, topics: s.due.map(view) },
      upcoming: { count: s.upcomingCount, days: query.days, topics: s.upcoming.map(view) },
      calendar,
    };
  },
});
