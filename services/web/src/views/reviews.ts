import { getJson } from '../api.ts';
import { chart, PALETTE, SEQUENTIAL } from '../charts.ts';
import { card, empty, h, stat, stats, table } from '../dom.ts';
import { forgettingCurve, pct, when } from '../format.ts';
import { failure, type View } from '../view.ts';
import type { MasteryEntry } from './mastery.ts';

type ReviewTopic = {
  topicId: string;
  name: string;
  nextReviewAt: string;
  score: number;
  retrievalStrength: number;
};
type Reviews = {
  due: { count: number; topics: ReviewTopic[] };
  upcoming: { count: number; days: number; topics: ReviewTopic[] };
  calendar: Array<{ day: string; count: number }>;
};

const CURVE_DAYS = 30;

export const reviews: View = async (ctx) => {
  const [r, m] = await Promise.all([
    getJson<Reviews>('/api/analytics/reviews?days=28'),
    getJson<{ topics: MasteryEntry[] }>('/api/analytics/mastery?level=2'),
  ]);
  if (r.kind !== 'ok') return failure(r, 'Reviews', ctx);
  const d = r.data;
  const cal = d.calendar ?? [];
  const curves =
    m.kind === 'ok'
      ? m.data.topics
          .map((t) => ({ t, points: forgettingCurve(t.asOf, t.nextReviewAt, CURVE_DAYS) }))
          .filter((c) => c.points !== null)
          .sort((a, b) => b.t.attempts - a.t.attempts)
          .slice(0, 6)
      : [];
  const rows = (list: ReviewTopic[]) =>
    list.map((t) => [
      h('a', { href: `#/mastery/${encodeURIComponent(t.topicId)}` }, t.name),
      when(t.nextReviewAt),
      pct(t.score),
      pct(t.retrievalStrength),
    ]);
  return h(
    'div',
    { class: 'grid wide' },
    card(
      'Review schedule',
      stats(
        stat('Due now', String(d.due.count), 'reviews.due'),
        stat(`Upcoming (${d.upcoming.days} days)`, String(d.upcoming.count), 'reviews.upcoming'),
      ),
      cal.length
        ? chart(
            `Review calendar: reviews due per day from ${cal[0]!.day} to ${cal[cal.length - 1]!.day}, ${cal.reduce((s, c) => s + c.count, 0)} in all`,
            {
              tooltip: { formatter: (p: { value: [string, number] }) => `${p.value[0]}: ${p.value[1]} due` },
              visualMap: {
                min: 0,
                max: Math.max(1, ...cal.map((c) => c.count)),
                orient: 'horizontal',
                left: 'center',
                bottom: 0,
                inRange: { color: ['#f2f2f2', ...SEQUENTIAL.slice(0, 4).reverse()] },
                text: ['more', 'none'],
              },
              calendar: {
                range: [cal[0]!.day, cal[cal.length - 1]!.day],
                cellSize: ['auto', 22],
                top: 30,
                left: 30,
                right: 10,
                dayLabel: { firstDay: 1 },
                yearLabel: { show: false },
              },
              series: [
                { type: 'heatmap', coordinateSystem: 'calendar', data: cal.map((c) => [c.day, c.count]) },
              ],
            },
            240,
          )
        : empty('Nothing scheduled.'),
    ),
    card(
      'Due now (overdue first)',
      d.due.topics.length
        ? table(
            'Topics due for review',
            ['Topic', 'Due since', 'Score', 'Retrieval strength'],
            rows(d.due.topics),
            'due',
          )
        : empty('Nothing due: well done.'),
    ),
    card(
      'Upcoming',
      d.upcoming.topics.length
        ? table(
            'Topics due soon',
            ['Topic', 'Due', 'Score', 'Retrieval strength'],
            rows(d.upcoming.topics),
            'upcoming',
          )
        : empty('Nothing due in this window.'),
    ),
    card(
      'Forgetting curves',
      curves.length
        ? chart(
            `Estimated recall over the next ${CURVE_DAYS} days for ${curves.length} topics; recall falls to 90% on each topic's review date`,
            {
              tooltip: { trigger: 'axis' },
              legend: { type: 'scroll', top: 0 },
              grid: { left: 48, right: 16, top: 40, bottom: 36 },
              xAxis: {
                type: 'value',
                name: 'days since last study',
                nameLocation: 'middle',
                nameGap: 24,
                max: CURVE_DAYS,
              },
              yAxis: { type: 'value', min: 0.5, max: 1, axisLabel: { formatter: (v: number) => pct(v) } },
              series: curves.map((c, i) => ({
                name: c.t.name,
                type: 'line',
                showSymbol: false,
                data: c.points,
                color: PALETTE[i % PALETTE.length],
                lineStyle: { type: (['solid', 'dashed', 'dotted'] as const)[i % 3], width: 2 },
                markLine:
                  i === 0
                    ? {
                        symbol: 'none',
                        data: [{ yAxis: 0.9 }],
                        label: { formatter: 'review at 90%' },
                        lineStyle: { color: '#555' },
                      }
                    : undefined,
              })),
            },
            300,
          )
        : empty('No scheduled topics yet.'),
      h(
        'p',
        { class: 'hint' },
        'Curves follow FSRS’s power law; the stability is read from the schedule (recall is 90% on the review date).',
      ),
    ),
  );
};
