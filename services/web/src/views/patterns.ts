import { getJson } from '../api.ts';
import { chart, SEQUENTIAL } from '../charts.ts';
import { card, empty, h, stat, stats, unavailable } from '../dom.ts';
import { firstArray, firstString, minutes } from '../format.ts';
import { failure, type View } from '../view.ts';
import type { Patterns } from './efficiency.ts';

type Dashboard = { streak: { current: number; longest: number; lastActiveDay: string | null } };

export const patterns: View = async (ctx) => {
  const [p, d, ins] = await Promise.all([
    getJson<Patterns>('/api/analytics/study-patterns?days=91'),
    getJson<Dashboard>('/api/analytics/dashboard'),
    getJson('/api/analytics/insights'),
  ]);
  if (p.kind !== 'ok') return failure(p, 'Learning patterns', ctx);
  const weeks = p.data.velocity.weeks;
  const streak = d.kind === 'ok' ? d.data.streak : null;
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Streaks',
      streak
        ? stats(
            stat('Current streak', `${streak.current} days`, 'streak.current'),
            stat('Longest streak', `${streak.longest} days`, 'streak.longest'),
            stat('Last active day', streak.lastActiveDay ?? '–', 'streak.lastActiveDay'),
          )
        : d.kind === 'ok'
          ? empty('No streak yet.')
          : failure(d, 'Streaks', ctx),
    ),
    card(
      'Weekly activity',
      weeks.length
        ? chart(
            `Active days per week over ${weeks.length} weeks; ${weeks.reduce((s, w) => s + w.activeDays, 0)} active days in all`,
            {
              tooltip: {
                formatter: (x: { value: [number, number, number] }) =>
                  `week of ${weeks[x.value[0]]!.week}: ${x.value[2]} of 7 days active`,
              },
              grid: { left: 60, right: 16, top: 10, bottom: 60 },
              xAxis: { type: 'category', data: weeks.map((w) => w.week.slice(5)), name: 'week' },
              yAxis: { type: 'category', data: ['active days'] },
              visualMap: {
                min: 0,
                max: 7,
                orient: 'horizontal',
                left: 'center',
                bottom: 0,
                inRange: { color: ['#f2f2f2', ...SEQUENTIAL.slice(0, 4).reverse()] },
              },
              series: [{ type: 'heatmap', data: weeks.map((w, i) => [i, 0, w.activeDays]) }],
            },
            170,
          )
        : empty('No activity yet.'),
      weeks.length
        ? h(
            'p',
            { 'data-k': 'weeks.active' },
            `${weeks.filter((w) => w.activeDays > 0).length} of ${weeks.length} weeks active; ${minutes(weeks.reduce((s, w) => s + w.activeMinutes, 0))} of active study.`,
          )
        : null,
    ),
    card('Insights', insights(ins)),
  );
};

function insights(r: Awaited<ReturnType<typeof getJson>>): HTMLElement {
  if (r.kind === 'unavailable') return unavailable('Insights', `HTTP ${r.status}`);
  if (r.kind === 'error') return h('p', { role: 'alert' }, `Could not load insights: ${r.message}`);
  const list = firstArray(r.data, 'insights', 'items');
  if (list.length === 0) return empty('No insights yet.');
  return h(
    'ul',
    { class: 'insights' },
    ...list.map((i) =>
      h(
        'li',
        {},
        h('strong', {}, firstString(i, 'title', 'message', 'text') ?? 'Insight'),
        firstString(i, 'evidence', 'detail', 'description')
          ? h('p', { class: 'hint' }, firstString(i, 'evidence', 'detail', 'description')!)
          : null,
      ),
    ),
  );
}
