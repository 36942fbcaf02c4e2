import { dashboardQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { DEVELOPING, MASTERED, round, streaks, utcDay } from '../compute.ts';
import { studySummary } from '../data/history.ts';
import { liveSession } from '../data/live.ts';
import { masterySummaryData, type MasterySummaryData, type SummaryTopic } from '../data/mastery-summary.ts';
import { reviewSummary } from '../data/reviews.ts';

const brief = (r: SummaryTopic) => ({
  topicId: r.topicId,
  name: r.name,
  score: round(r.score),
  pCorrect: round(r.pCorrect),
  trend: r.trend,
});

/** Mastery summary over the student's studied leaf topics, plus their level-0 (system) roll-ups. */
export function masterySummary(d: MasterySummaryData) {
  const bands = { mastered: 0, developing: 0, weak: 0 };
  const trends = { improving: 0, stable: 0, declining: 0, insufficient_data: 0 };
  let n = 0;
  let scoreSum = 0;
  let attempts = 0;
  let pSum = 0;
  let pN = 0;
  for (const g of d.groups) {
    pSum += g.pCorrectSum;
    pN += g.pCorrectN;
    bands[g.band] += g.n;
    if (g.trend && g.trend in trends) trends[g.trend as keyof typeof trends] += g.n;
    n += g.n;
    scoreSum += g.scoreSum;
    attempts += g.attempts;
  }
  return {
    topicsStudied: n,
    averageScore: round(n === 0 ? null : scoreSum / n),
    averagePCorrect: round(pN === 0 ? null : pSum / pN),
    attempts,
    bands,
    trends,
    weakest: d.weakest.map(brief),
    strongest: d.strongest.map(brief),
    systems: d.systems.map((r) => ({
      topicId: r.topicId,
      name: r.name,
      score: round(r.score),
      pCorrect: round(r.pCorrect),
      attempts: r.attempts,
    })),
  };
}

export const dashboard = defineRoute({
  path: '/api/analytics/dashboard',
  operationId: 'getDashboard',
  tag: 'student',
  summary: 'Dashboard: mastery summary, study stats, streak, reviews due, live session',
  description:
    'Mastery summary over studied leaf topics (bands: mastered >= 0.8, developing >= 0.5, weak), study figures for ' +
    'today / last 7 / last 30 UTC days (ClickHouse daily rollups), the current and longest streak of active days ' +
    '(within the last 365 days; today counts once it has activity, until then the streak ending yesterday is ' +
    'current), topics due for review now and in the next 7 days, and the live session if one is open.',
  scope: 'student',
  reads: 'replica',
  query: dashboardQuery,
  cache: 'dashboard',
  response: RESPONSES.dashboard,
  handler: async ({ user, data, now }) => {
    const today = utcDay(now);
    const [rows, study, reviews] = await Promise.all([
      masterySummaryData(data.pg, user, { mastered: MASTERED, developing: DEVELOPING }),
      studySummary(data.chRows, user, today),
      reviewSummary(data.pg, user, now, now + 7 * 86_400_000, 5),
    ]);
    const { activeDays, ...windows } = study;
    return {
      user,
      generatedAt: new Date(now).toISOString(),
      mastery: masterySummary(rows),
      study: windows,
      streak: streaks(activeDays, today),
      reviews: { dueNow: reviews.dueCount, dueNext7Days: reviews.upcomingCount, next: reviews.next },
    };
  },
  fresh: async ({ user, data }) => {
    const live = await liveSession(data.redis, user, data.redisTimeoutMs);
    return { liveSession: live.session, liveSessionAvailable: live.available };
  },
});
