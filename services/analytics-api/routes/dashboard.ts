import { dashboardQuery } from '../params.ts';
import { defineRoute } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { band, meanOf, round, streaks, utcDay } from '../compute.ts';
import { studySummary } from '../data/history.ts';
import { liveSession } from '../data/live.ts';
import { masterySummaryRows, reviewSummary, type SummaryRow } from '../data/state.ts';

const brief = (r: SummaryRow) => ({
  topicId: r.topicId,
  name: r.name,
  score: round(r.score),
  trend: r.trend,
});

/** Mastery summary over the student's studied leaf topics, plus their level-0 (system) roll-ups. */
export function masterySummary(rows: readonly SummaryRow[]) {
  const leaves = rows.filter((r) => r.level === 2 && r.attempts > 0);
  const bands = { mastered: 0, developing: 0, weak: 0 };
  const trends = { improving: 0, stable: 0, declining: 0, insufficient_data: 0 };
  for (const r of leaves) {
    bands[band(r.score)]++;
    if (r.trend && r.trend in trends) trends[r.trend as keyof typeof trends]++;
  }
  const byScore = [...leaves].sort((a, b) => a.score - b.score || a.topicId.localeCompare(b.topicId));
  return {
    topicsStudied: leaves.length,
    averageScore: round(meanOf(leaves.map((r) => r.score))),
    attempts: leaves.reduce((s, r) => s + r.attempts, 0),
    bands,
    trends,
    weakest: byScore.slice(0, 3).map(brief),
    strongest: byScore.slice(-3).reverse().map(brief),
    systems: rows
      .filter((r) => r.level === 0)
      .map((r) => ({ topicId: r.topicId, name: r.name, score: round(r.score), attempts: r.attempts })),
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
  query: dashboardQuery,
  cache: 'dashboard',
  response: RESPONSES.dashboard,
  handler: async ({ user, data, now }) => {
    const today = utcDay(now);
    const [rows, study, reviews] = await Promise.all([
      masterySummaryRows(data.pg, user),
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
